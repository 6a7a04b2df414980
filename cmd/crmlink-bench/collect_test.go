package main

import (
	"encoding/json"
	"log/slog"
	"math/rand/v2"
	"os"
	"os/exec"
	"reflect"
	"strings"
	"testing"
	"time"
)

// TestBenchCollect runs a short `crmlink-bench collect` against a child
// server, on a store with a history of imported sessions: every hit it
// acknowledged is in the store afterwards, beyond what the history holds.
func TestBenchCollect(t *testing.T) {
	if testing.Short() {
		t.Skip("runs a server under load")
	}
	out, _ := runBench(t, []string{"history: 2000 sessions generated and imported", "hits/s", "latency: p50", "errors: none", "accepted = stored", "CPU per hit: server"},
		"collect", "--history", "2000", "--duration", "1s", "--clients", "300", "--concurrency", "8", "--dir", t.TempDir(),
		"--serve-binary", testServeBinary(t))
	t.Log(out)
}

// TestBenchCollectWrk sends with wrk, as GoatCounter's reference figure
// was measured: the script's hits are accepted and each leaves its fact.
// CI installs wrk and sets CRMLINK_REQUIRE_WRK, so that there the test
// cannot skip.
func TestBenchCollectWrk(t *testing.T) {
	if testing.Short() {
		t.Skip("runs a server under load")
	}
	if _, err := exec.LookPath("wrk"); err != nil {
		if os.Getenv("CRMLINK_REQUIRE_WRK") != "" {
			t.Fatal("wrk is not on the PATH, and CRMLINK_REQUIRE_WRK is set")
		}
		t.Skip("wrk is not installed")
	}
	out, _ := runBench(t, []string{"wrk:   2 threads and 8 connections", "collect (wrk, 2 threads): 8 connections", "errors: none",
		"accepted vs stored: accepted (2xx)", "accepted = stored", "CPU per hit: server"},
		"collect", "--loader", "wrk", "--duration", "1s", "--clients", "300", "--concurrency", "8", "--dir", t.TempDir(),
		"--serve-binary", testServeBinary(t))
	t.Log(out)
}

func TestParseWrkLine(t *testing.T) {
	line := "crmlink-wrk requests=100 status=2 timeout=1 connect=0 read=0 write=0 sent_pv=90 sent_goal=8 sent_purchase=3 p50=1500 p99=7000 max=9000 duration=1000000"
	r, err := parseWrkLine(line)
	if err != nil {
		t.Fatal(err)
	}
	if r.requests != 100 || r.status != 2 || r.timeouts != 1 || r.sent != (facts{pageViews: 90, goals: 8, purchases: 3}) ||
		r.p50 != 1500*time.Microsecond || r.p99 != 7*time.Millisecond || r.max != 9*time.Millisecond || r.elapsed != time.Second {
		t.Errorf("parseWrkLine = %+v", r)
	}
	for _, tc := range []struct{ line, msg string }{
		{strings.Replace(line, " p99=7000", "", 1), "no p99"},
		{strings.Replace(line, "p99=7000", "p99=7ms", 1), `p99="7ms": want a count`},
		{strings.Replace(line, "p99=7000", "p99=-1", 1), `p99="-1": want a count`},
		{line + " extra=1", `unknown field "extra"`},
	} {
		if _, err := parseWrkLine(tc.line); err == nil || !strings.Contains(err.Error(), tc.msg) {
			t.Errorf("parseWrkLine(%q) = %v; want an error naming %q", tc.line, err, tc.msg)
		}
	}
}

// TestWrkCompare: the store must hold every fact wrk counted an answer
// for; more only by the hits in flight at the end, and no kind more than
// was sent.
func TestWrkCompare(t *testing.T) {
	r := &wrkResult{connections: 4, requests: 100, status: 2, sent: facts{pageViews: 95, goals: 6, purchases: 3}}
	for _, tc := range []struct {
		stored facts
		msg    string // "" for no error
	}{
		{facts{pageViews: 90, goals: 5, purchases: 3}, ""},
		{facts{pageViews: 92, goals: 6, purchases: 3}, ""},
		{facts{pageViews: 89, goals: 5, purchases: 3}, "acknowledged hits are missing from the store: 1"},
		{facts{pageViews: 95, goals: 6, purchases: 3}, "6 hits more than wrk counted answers, and at most 4"},
		{facts{pageViews: 90, goals: 7, purchases: 1}, "more hits of a kind than were sent"},
		{facts{pageViews: 90, goals: 5, purchases: 3, sharedIDs: 1}, "share another session's id"},
	} {
		var out strings.Builder
		err := r.compare(&out, tc.stored)
		if tc.msg == "" && err != nil || tc.msg != "" && (err == nil || !strings.Contains(err.Error(), tc.msg)) {
			t.Errorf("compare(%+v) = %v; want %q\n%s", tc.stored, err, tc.msg, out.String())
		}
	}
}

func TestBenchCollectFlags(t *testing.T) {
	for _, tc := range []struct {
		args []string
		msg  string
	}{
		{[]string{"collect", "--url", "http://127.0.0.1:1"}, "--url needs --counter"},
		{[]string{"collect", "--counter", "1"}, "--counter goes with --url"},
		{[]string{"collect", "--concurrency", "0"}, "must be positive"},
		{[]string{"collect", "--clients", "10", "--concurrency", "50"}, "want at least --concurrency"},
		{[]string{"collect", "--loader", "ab"}, `--loader "ab": want go or wrk`},
		{[]string{"collect", "--history", "-1"}, "--history must not be negative"},
		{[]string{"collect", "--url", "http://127.0.0.1:1", "--counter", "1", "--history", "5"}, "--history fills a fresh store"},
		{[]string{"collect", "--url", "http://127.0.0.1:1", "--counter", "1", "--serve-binary", "crmlink"}, "--serve-binary starts a server of its own"},
		{[]string{"collect", "--serve-binary", "/does/not/exist/crmlink", "--dir", t.TempDir()}, `--serve-binary "/does/not/exist/crmlink"`},
		{[]string{"collect", "--loader", "wrk", "--max-hits", "5"}, "wrk is bounded by --duration only"},
		{[]string{"collect", "--loader", "wrk", "--duration", "500ms"}, "want at least 1s"},
	} {
		if code, _, errs := runIn(tc.args...); code != 2 || !strings.Contains(errs, tc.msg) {
			t.Errorf("crmlink-bench %s: exit %d, stderr %q; want 2 naming %q", strings.Join(tc.args, " "), code, errs, tc.msg)
		}
	}
}

// TestBenchUpload runs a small `crmlink-bench upload` against a child
// server, built from ./cmd/crmlink as when no --serve-binary is given: it
// reports the rows, and the server's upload steps.
func TestBenchUpload(t *testing.T) {
	if testing.Short() {
		t.Skip("builds crmlink and runs its server")
	}
	_, errs := runBench(t, []string{"upload orders over HTTP: 3000 rows", "answered in", "applied (", "server's upload steps: probe ", "link ", "commit "},
		"upload", "--sessions", "2000", "--contacts", "500", "--orders", "3000", "--dir", t.TempDir())
	if !strings.Contains(errs, "building ./cmd/crmlink for the server") {
		t.Errorf("the build of the server's binary was not said on stderr:\n%s", errs)
	}
	if strings.Contains(errs, `"upload step"`) || strings.Contains(errs, `"level":"DEBUG"`) {
		t.Errorf("debug lines reached stderr:\n%s", errs)
	}
}

// TestUploadSteps: the server's log lines are summed by step, whole or in
// pieces, and passed on from the asked level up.
func TestUploadSteps(t *testing.T) {
	var out strings.Builder
	u := &uploadSteps{min: slog.LevelWarn, out: &out}
	for _, p := range []string{
		`{"level":"DEBUG","msg":"upload step","step":"probe","ms":120}` + "\n" + `{"level":"INFO","msg":"request"}` + "\n",
		`{"level":"DEBUG","msg":"upload step","st`, `ep":"link","ms":300}` + "\n",
		`{"level":"DEBUG","msg":"upload step","step":"probe","ms":80}` + "\n",
		`{"level":"WARN","msg":"slow"}` + "\n" + "panic: not JSON\n",
	} {
		u.Write([]byte(p))
	}
	if got, want := u.String(), "probe 200ms, link 300ms"; got != want {
		t.Errorf("steps %q, want %q", got, want)
	}
	if got, want := out.String(), `{"level":"WARN","msg":"slow"}`+"\npanic: not JSON\n"; got != want {
		t.Errorf("passed on %q, want %q", got, want)
	}
}

// TestCollectResultWindows: the rate of each whole window is printed in
// order, the warm-up and the partial last second left out: 10 s windows
// for a run of 30 s or more, 5 s ones for a shorter run.
func TestCollectResultWindows(t *testing.T) {
	run := func(rates ...int64) string {
		r := &collectResult{perSecond: append(append([]int64{5}, rates...), 7)}
		var out strings.Builder
		r.print(&out)
		return out.String()
	}
	steps := func(n int, values ...int64) []int64 { // each value n times
		var out []int64
		for _, v := range values {
			for range n {
				out = append(out, v)
			}
		}
		return out
	}
	long := run(append(steps(10, 100, 150, 200), 900)...) // 31 whole seconds
	if !strings.Contains(long, "per 10 s, in order: 100/s 150/s 200/s\n") {
		t.Errorf("31 s:\n%s", long)
	}
	if !strings.Contains(long, "per second: min 100, median 150, max 900\n") {
		t.Errorf("31 s:\n%s", long)
	}
	short := run(append(steps(5, 100, 150, 200), 900)...) // 16 whole seconds
	if !strings.Contains(short, "per 5 s, in order: 100/s 150/s 200/s\n") {
		t.Errorf("16 s:\n%s", short)
	}
	if tiny := run(steps(9, 100)...); strings.Contains(tiny, "in order") {
		t.Errorf("9 s printed windows:\n%s", tiny)
	}
}

func TestParseProcCPU(t *testing.T) {
	// A command with spaces and a parenthesis; utime 1234 and stime 56
	// ticks.
	stat := "4242 (crm link) x) S 1 4242 4242 0 -1 4194560 1000 0 0 0 1234 56 0 0 20 0 9 0 100 0 0"
	if d, ok := parseProcCPU(stat); !ok || d != 12900*time.Millisecond {
		t.Errorf("parseProcCPU = %v, %v; want 12.9s", d, ok)
	}
	for _, bad := range []string{"", "4242 (crmlink", "4242 (crmlink) S 1 2", "4242 (crmlink) S 1 4242 4242 0 -1 4194560 1000 0 0 0 x 56 0"} {
		if d, ok := parseProcCPU(bad); ok {
			t.Errorf("parseProcCPU(%q) = %v, want not ok", bad, d)
		}
	}
	if d, ok := procCPU(os.Getpid()); !ok || d < 0 {
		t.Errorf("procCPU(self) = %v, %v", d, ok)
	}
}

// runBench runs `crmlink-bench ARGS` in process: it must succeed and
// print each of wants. It returns what went to stdout and stderr.
func runBench(t *testing.T, wants []string, args ...string) (out, errs string) {
	t.Helper()
	code, out, errs := runIn(args...)
	if code != 0 {
		t.Fatalf("bench %s: exit %d: %s\n%s", args[0], code, errs, out)
	}
	for _, want := range wants {
		if !strings.Contains(out, want) {
			t.Errorf("bench %s printed no %q:\n%s", args[0], want, out)
		}
	}
	return out, errs
}

func FuzzParseWrkLine(f *testing.F) {
	f.Add("crmlink-wrk requests=100 status=2 timeout=1 connect=0 read=0 write=0 sent_pv=90 sent_goal=8 sent_purchase=3 p50=1500 p99=7000 max=9000 duration=1000000")
	f.Add("crmlink-wrk requests=1 requests=x")
	f.Fuzz(func(t *testing.T, line string) {
		r, err := parseWrkLine(line)
		if err != nil {
			return
		}
		if r.requests < 0 || r.status < 0 || r.sent.pageViews < 0 || r.p99 < 0 || r.elapsed < 0 {
			t.Errorf("parseWrkLine(%q) = %+v: a negative count", line, r)
		}
	})
}

// TestBenchHitJSON: the hand-written JSON of the load generator's hits
// says what json.Marshal says, for every kind of hit it makes and for
// strings that need escaping.
func TestBenchHitJSON(t *testing.T) {
	vs := newVisitors(50, 7, time.Date(2026, 11, 1, 0, 0, 0, 0, time.UTC))
	rng := rand.New(rand.NewPCG(7, 7))
	hits := []*benchHit{
		{ClientID: "1", Kind: "pv", URL: "https://a.example/\"q\"\\\n\t\x01é—😀", Title: "<b>&</b>"},
		{ClientID: "2", Kind: "purchase", URL: "https://a.example/", Purchase: &benchPurchase{ID: "A\"1", Revenue: 1e21 + 0.5, Currency: "RUB"}},
		{ClientID: "3", Kind: "purchase", URL: "https://a.example/", Purchase: &benchPurchase{ID: "A", Revenue: 0.000001, Currency: "RUB"}},
	}
	for i := 0; i < 3000; i++ {
		v := &vs[rng.IntN(len(vs))]
		h := v.next(rng, "shop.example")
		v.accepted(h)
		hits = append(hits, h)
	}
	kinds := map[string]bool{}
	for _, h := range hits {
		kinds[h.Kind] = true
		want, err := json.Marshal(h)
		if err != nil {
			t.Fatal(err)
		}
		got := h.appendJSON(nil)
		var g, w any
		if err := json.Unmarshal(got, &g); err != nil {
			t.Fatalf("appendJSON: %v in %s", err, got)
		}
		if err := json.Unmarshal(want, &w); err != nil {
			t.Fatal(err)
		}
		if !reflect.DeepEqual(g, w) {
			t.Fatalf("appendJSON = %s\njson.Marshal = %s", got, want)
		}
	}
	if len(kinds) != 4 {
		t.Errorf("kinds made: %v; want pv, goal, params and purchase", kinds)
	}
}
