package main

import (
	"context"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"syscall"
	"time"
)

// benchServer is `crmlink serve` in a child process on a free loopback
// port, so that its memory and CPU are its own.
type benchServer struct {
	cmd     *exec.Cmd
	base    string // http://127.0.0.1:port
	stopped bool
}

// startBenchServer starts the server on storeURL and waits until it
// answers. It logs warnings, or what CRMLINK_LOG_LEVEL asks (debug shows
// each upload step); a CPU profile asked of the bench (CRMLINK_CPUPROFILE)
// is the bench's own, and the server writes its own to FILE.serve.
func startBenchServer(ctx context.Context, storeURL string, e *env) (*benchServer, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	addr := ln.Addr().String()
	ln.Close()
	self, err := os.Executable()
	if err != nil {
		return nil, err
	}
	level := e.getenv("CRMLINK_LOG_LEVEL")
	if level == "" {
		level = "warn"
	}
	cmd := exec.CommandContext(ctx, self, "serve", "--addr", addr, "--store", storeURL, "--log-level", level)
	cmd.Stderr = e.stderr
	cmd.Env = os.Environ()
	if p := e.getenv("CRMLINK_CPUPROFILE"); p != "" {
		cmd.Env = append(cmd.Env, "CRMLINK_CPUPROFILE="+p+".serve")
	}
	if err := cmd.Start(); err != nil {
		return nil, err
	}
	s := &benchServer{cmd: cmd, base: "http://" + addr}
	if err := waitHealthy(ctx, s.base); err != nil {
		s.stop()
		return nil, err
	}
	return s, nil
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

func waitHealthy(ctx context.Context, base string) error {
	for i := 0; ; i++ {
		req, _ := http.NewRequestWithContext(ctx, "GET", base+"/healthz", nil)
		resp, err := http.DefaultClient.Do(req)
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return nil
			}
		}
		if i == 100 || ctx.Err() != nil {
			return fmt.Errorf("the server did not start: %v", err)
		}
		time.Sleep(100 * time.Millisecond)
	}
}
