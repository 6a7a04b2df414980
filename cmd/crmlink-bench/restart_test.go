package main

import "testing"

// TestBenchRestart runs `crmlink-bench restart` small: the crash with an
// upload queued, the restart, the stop while applying and the last start.
func TestBenchRestart(t *testing.T) {
	if testing.Short() {
		t.Skip("runs three servers")
	}
	runBench(t, []string{"then killed the server (SIGKILL) with them queued", "restart: answering /healthz",
		"stopped in", "started again: answering /healthz"},
		"restart", "--orders", "20000", "--contacts", "2000", "--sessions", "2000", "--dir", t.TempDir(),
		"--serve-binary", testServeBinary(t))
}
