package main

import (
	"bufio"
	"bytes"
	"context"
	_ "embed"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"time"
)

// wrkScript is the Lua script wrk sends the tag's hits with.
//
//go:embed collect.lua
var wrkScript []byte

// wrkResult is what a wrk run reports: wrk's own counts and latencies,
// through the script's done line, and how much CPU wrk used.
type wrkResult struct {
	connections, threads int
	clients              int
	// requests are the answers wrk counted; status those of them with a
	// status of 400 or more.
	requests, status                           int64
	timeouts, connectErrs, readErrs, writeErrs int64
	sent                                       facts // hits of each kind the script made, answered or not
	p50, p99, max                              time.Duration
	elapsed                                    time.Duration
	cpu                                        time.Duration // wrk's user and system time
}

// runWrk sends the tag's hits with wrk, as GoatCounter's reference figure
// was measured: wrk's threads (one per CPU, as there), this many
// connections, for the duration.
func (b *collectBench) runWrk(ctx context.Context, out io.Writer) (*wrkResult, error) {
	bin, err := exec.LookPath("wrk")
	if err != nil {
		return nil, errors.New("collect --loader wrk: wrk is not on the PATH (on Debian: apt-get install wrk)")
	}
	dir, err := os.MkdirTemp("", "crmlink-wrk-")
	if err != nil {
		return nil, err
	}
	defer os.RemoveAll(dir)
	script := filepath.Join(dir, "collect.lua")
	if err := os.WriteFile(script, wrkScript, 0o600); err != nil {
		return nil, err
	}
	threads := min(runtime.NumCPU(), b.concurrency)
	seconds := int((b.duration + time.Second - 1) / time.Second)
	cmd := exec.CommandContext(ctx, bin, "-t", strconv.Itoa(threads), "-c", strconv.Itoa(b.concurrency),
		"-d", strconv.Itoa(seconds)+"s", "--timeout", strconv.Itoa(max(1, int(b.timeout/time.Second)))+"s",
		"-s", script, b.base,
		"--", b.counter.String(), b.site, strconv.Itoa(b.clients), strconv.FormatUint(b.seed, 10), strconv.Itoa(threads))
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		return nil, fmt.Errorf("wrk: %v: %s", err, strings.TrimSpace(stderr.String()))
	}
	var res *wrkResult
	sc := bufio.NewScanner(&stdout)
	for sc.Scan() {
		line := sc.Text()
		if strings.HasPrefix(line, "crmlink-wrk ") {
			if res, err = parseWrkLine(line); err != nil {
				return nil, err
			}
			continue
		}
		fmt.Fprintf(out, "wrk: %s\n", line)
	}
	if res == nil {
		return nil, fmt.Errorf("wrk printed no summary line: %s", strings.TrimSpace(stderr.String()))
	}
	res.connections, res.threads, res.clients = b.concurrency, threads, b.clients
	res.cpu = cmd.ProcessState.UserTime() + cmd.ProcessState.SystemTime()
	if res.requests == 0 {
		return nil, errors.New("collect: wrk got no answer")
	}
	return res, nil
}

// parseWrkLine reads the script's done line: "crmlink-wrk" and name=value
// pairs, every one of them there.
func parseWrkLine(line string) (*wrkResult, error) {
	r := &wrkResult{}
	var p50, p99, maxUS, durUS int64
	fields := map[string]*int64{
		"requests": &r.requests, "status": &r.status, "timeout": &r.timeouts, "connect": &r.connectErrs,
		"read": &r.readErrs, "write": &r.writeErrs, "sent_pv": &r.sent.pageViews, "sent_goal": &r.sent.goals,
		"sent_purchase": &r.sent.purchases, "p50": &p50, "p99": &p99, "max": &maxUS, "duration": &durUS,
	}
	seen := map[string]bool{}
	for _, f := range strings.Fields(strings.TrimPrefix(line, "crmlink-wrk ")) {
		name, value, _ := strings.Cut(f, "=")
		dst, ok := fields[name]
		if !ok {
			return nil, fmt.Errorf("wrk summary line: unknown field %q in %q", name, line)
		}
		n, err := strconv.ParseInt(value, 10, 64)
		if err != nil || n < 0 {
			return nil, fmt.Errorf("wrk summary line: %s=%q: want a count", name, value)
		}
		*dst, seen[name] = n, true
	}
	for name := range fields {
		if !seen[name] {
			return nil, fmt.Errorf("wrk summary line: no %s in %q", name, line)
		}
	}
	r.p50, r.p99, r.max = time.Duration(p50)*time.Microsecond, time.Duration(p99)*time.Microsecond, time.Duration(maxUS)*time.Microsecond
	r.elapsed = time.Duration(durUS) * time.Microsecond
	return r, nil
}

func (r *wrkResult) accepted() int64         { return r.requests - r.status }
func (r *wrkResult) hits() int64             { return r.requests }
func (r *wrkResult) took() time.Duration     { return r.elapsed }
func (r *wrkResult) childCPU() time.Duration { return r.cpu }

func (r *wrkResult) print(w io.Writer) {
	fmt.Fprintf(w, "collect (wrk, %d threads): %d connections, %d visitors: %d hits in %s: %.0f hits/s (2xx: %d, %.0f/s)\n",
		r.threads, r.connections, r.clients, r.requests, r.elapsed.Round(time.Millisecond),
		float64(r.requests)/r.elapsed.Seconds(), r.accepted(), float64(r.accepted())/r.elapsed.Seconds())
	fmt.Fprintf(w, "latency: p50 %s, p99 %s, max %s\n", r.p50, r.p99, r.max)
	fmt.Fprintf(w, "sent by kind (answered or not): goal %d, purchase %d, pv %d\n", r.sent.goals, r.sent.purchases, r.sent.pageViews)
	if r.status+r.timeouts+r.connectErrs+r.readErrs+r.writeErrs == 0 {
		fmt.Fprintln(w, "errors: none")
		return
	}
	fmt.Fprintf(w, "errors: status ≥ 400: %d, timeout: %d, connect: %d, read: %d, write: %d\n",
		r.status, r.timeouts, r.connectErrs, r.readErrs, r.writeErrs)
}

// compare checks the store against what wrk counted. Each answered 2xx hit
// leaves one fact (a page view, a goal reach or a purchase), so the store
// holds at least as many facts as wrk counted 2xx answers, and at most
// one more per connection (the hits in flight when wrk stopped, whose
// answers it does not count) and per timeout or broken connection; and no
// kind more than the script sent.
func (r *wrkResult) compare(w io.Writer, stored facts) error {
	total := stored.pageViews + stored.goals + stored.purchases
	fmt.Fprintf(w, "accepted vs stored: accepted (2xx) %d; stored %d (page views %d, goal reaches %d, purchases %d)\n",
		r.accepted(), total, stored.pageViews, stored.goals, stored.purchases)
	if stored.sharedIDs > 0 {
		return fmt.Errorf("%d sessions share another session's id", stored.sharedIDs)
	}
	if total < r.accepted() {
		return fmt.Errorf("acknowledged hits are missing from the store: %d", r.accepted()-total)
	}
	if stored.pageViews > r.sent.pageViews || stored.goals > r.sent.goals || stored.purchases > r.sent.purchases {
		return fmt.Errorf("the store holds more hits of a kind than were sent (sent: page views %d, goals %d, purchases %d)",
			r.sent.pageViews, r.sent.goals, r.sent.purchases)
	}
	unanswered := int64(r.connections) + r.timeouts + r.readErrs + r.writeErrs
	if extra := total - r.accepted(); extra > unanswered {
		return fmt.Errorf("the store holds %d hits more than wrk counted answers, and at most %d were unanswered", extra, unanswered)
	} else if extra > 0 {
		fmt.Fprintf(w, "accepted = stored, but for %d hits in flight when wrk stopped (wrk does not count their answers)\n", extra)
		return nil
	}
	fmt.Fprintln(w, "accepted = stored")
	return nil
}
