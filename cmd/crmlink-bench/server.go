package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/crmlink/crmlink/internal/cli"
)

// benchServer is `crmlink serve` in a child process on a free loopback
// port, so that its memory and CPU are its own.
type benchServer struct {
	cmd     *exec.Cmd
	base    string // http://127.0.0.1:port
	stopped bool
}

// servePackage is the product binary's package, which serveBinary builds.
const servePackage = "github.com/crmlink/crmlink/cmd/crmlink"

// serveBinary returns the crmlink binary whose server a benchmark
// measures: path (--serve-binary), looked up on the PATH when it has no
// slash; or, when path is "", crmlink built from this module's source into
// dir. The build runs the go command on the PATH in the working directory,
// so it works where `go run ./cmd/crmlink-bench` does, in the repository;
// it takes seconds with a warm build cache, and says so on stderr.
func serveBinary(ctx context.Context, path, dir string, e *cli.Env) (string, error) {
	if path != "" {
		bin, err := exec.LookPath(path)
		if err != nil {
			return "", cli.Usagef("--serve-binary %q: %v", path, err)
		}
		return bin, nil
	}
	gobin, err := exec.LookPath("go")
	if err != nil {
		return "", errors.New("no go command on the PATH to build crmlink with: name a crmlink binary with --serve-binary")
	}
	bin := filepath.Join(dir, "crmlink")
	fmt.Fprintln(e.Stderr, "crmlink-bench: building ./cmd/crmlink for the server (--serve-binary names a built one) ...")
	out, err := exec.CommandContext(ctx, gobin, "build", "-o", bin, servePackage).CombinedOutput()
	if err != nil {
		return "", fmt.Errorf("go build %s: %v: %s\n(run crmlink-bench from the repository, or name a crmlink binary with --serve-binary)",
			servePackage, err, bytes.TrimSpace(out))
	}
	return bin, nil
}

// startBenchServer starts bin's server on storeURL and waits until it
// answers. It logs warnings, or what CRMLINK_LOG_LEVEL asks (debug shows
// each upload step); a CPU or allocation profile asked of the bench
// (CRMLINK_CPUPROFILE, CRMLINK_MEMPROFILE) is the bench's own, and the
// server writes its own to FILE.serve. With steps, the server logs at
// debug level, steps sums the upload steps, and only what the level asked
// for reaches the bench's stderr.
func startBenchServer(ctx context.Context, bin, storeURL string, e *cli.Env, steps *uploadSteps) (*benchServer, error) {
	s, err := launchBenchServer(ctx, bin, storeURL, e, steps)
	if err != nil {
		return nil, err
	}
	if err := cli.WaitHealthy(ctx, s.base); err != nil {
		s.stop()
		return nil, err
	}
	return s, nil
}

// launchBenchServer starts `bin serve` as startBenchServer does, without
// waiting.
func launchBenchServer(ctx context.Context, bin, storeURL string, e *cli.Env, steps *uploadSteps) (*benchServer, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	addr := ln.Addr().String()
	ln.Close()
	level := e.Getenv("CRMLINK_LOG_LEVEL")
	if level == "" {
		level = "warn"
	}
	var stderr io.Writer = e.Stderr
	if steps != nil {
		var min slog.Level
		if err := min.UnmarshalText([]byte(level)); err != nil {
			return nil, cli.Usagef("CRMLINK_LOG_LEVEL %q: want debug, info, warn or error", level)
		}
		steps.min, steps.out, level = min, e.Stderr, "debug"
		stderr = steps
	}
	cmd := exec.CommandContext(ctx, bin, "serve", "--addr", addr, "--store", storeURL, "--log-level", level)
	cmd.Stderr = stderr
	cmd.Env = os.Environ()
	for _, name := range []string{"CRMLINK_CPUPROFILE", "CRMLINK_MEMPROFILE"} {
		if p := e.Getenv(name); p != "" {
			cmd.Env = append(cmd.Env, name+"="+p+".serve")
		}
	}
	if err := cmd.Start(); err != nil {
		return nil, err
	}
	return &benchServer{cmd: cmd, base: "http://" + addr}, nil
}

// peakRSS is the server's peak resident memory so far.
func (s *benchServer) peakRSS() string { return procPeakRSS(s.cmd.Process.Pid) }

// stop shuts the server down gracefully (its shutdown writes a
// checkpoint) and says how long it took; a second call does nothing.
func (s *benchServer) stop() (time.Duration, error) {
	if s.stopped {
		return 0, nil
	}
	s.stopped = true
	start := time.Now()
	s.cmd.Process.Signal(syscall.SIGTERM)
	err := s.cmd.Wait()
	return time.Since(start), err
}

// uploadSteps reads a bench server's JSON log lines: it sums the time of
// each upload step (the store logs them at debug level), and passes on the
// lines at or above min.
type uploadSteps struct {
	min slog.Level
	out io.Writer

	mu    sync.Mutex
	part  []byte
	order []string
	ms    map[string]int64
}

func (u *uploadSteps) Write(p []byte) (int, error) {
	u.mu.Lock()
	defer u.mu.Unlock()
	u.part = append(u.part, p...)
	for {
		i := bytes.IndexByte(u.part, '\n')
		if i < 0 {
			return len(p), nil
		}
		u.line(u.part[:i+1])
		u.part = u.part[i+1:]
	}
}

func (u *uploadSteps) line(l []byte) {
	var rec struct {
		Level string `json:"level"`
		Msg   string `json:"msg"`
		Step  string `json:"step"`
		MS    int64  `json:"ms"`
	}
	var level slog.Level
	if json.Unmarshal(l, &rec) != nil || level.UnmarshalText([]byte(rec.Level)) != nil {
		u.out.Write(l) // not a log line: the child's own output
		return
	}
	if rec.Msg == "upload step" {
		if u.ms == nil {
			u.ms = map[string]int64{}
		}
		if _, ok := u.ms[rec.Step]; !ok {
			u.order = append(u.order, rec.Step)
		}
		u.ms[rec.Step] += rec.MS
	}
	if level >= u.min {
		u.out.Write(l)
	}
}

// String lists the steps in the order they first came, with their summed
// times.
func (u *uploadSteps) String() string {
	u.mu.Lock()
	defer u.mu.Unlock()
	parts := make([]string, 0, len(u.order))
	for _, s := range u.order {
		parts = append(parts, fmt.Sprintf("%s %s", s, (time.Duration(u.ms[s])*time.Millisecond).Round(10*time.Millisecond)))
	}
	return strings.Join(parts, ", ")
}
