package main

import "testing"

// TestBenchRestart runs `bench restart` small: the crash with an upload
// queued, the restart, the stop while applying and the last start.
func TestBenchRestart(t *testing.T) {
	if testing.Short() {
		t.Skip("runs three servers")
	}
	t.Setenv("CRMLINK_TEST_MAIN", "1") // the child `serve` is this test binary
	runBench(t, []string{"then killed the server (SIGKILL) with them queued", "restart: answering /healthz",
		"stopped in", "started again: answering /healthz"},
		"restart", "--orders", "20000", "--contacts", "2000", "--sessions", "2000", "--dir", t.TempDir())
}

// TestBenchHostile runs `bench hostile` small: a 20 MB JSON field is
// refused with 413, and every held-back hit is let go at the deadline.
func TestBenchHostile(t *testing.T) {
	if testing.Short() {
		t.Skip("runs two servers, and waits for the hits' read deadline")
	}
	t.Setenv("CRMLINK_TEST_MAIN", "1")
	runBench(t, []string{"a JSON upload with one 20 MB string field: answered 413",
		"20 hits holding back their bodies: 20 held open, 20 answered and let go"},
		"hostile", "--json-mb", "20", "--slow", "20", "--dir", t.TempDir())
}
