package main

import (
	"strings"
	"testing"
)

// TestBenchCollect runs a short `bench collect` against a child server:
// every hit it acknowledged is in the store afterwards.
func TestBenchCollect(t *testing.T) {
	if testing.Short() {
		t.Skip("runs a server under load")
	}
	t.Setenv("CRMLINK_TEST_MAIN", "1") // the child `serve` is this test binary
	c := newCLI(t)
	code, out, errs := c.run("bench", "collect", "--duration", "1s", "--clients", "300", "--concurrency", "8", "--dir", t.TempDir())
	if code != 0 {
		t.Fatalf("bench collect: exit %d: %s\n%s", code, errs, out)
	}
	for _, want := range []string{"hits/s", "latency: p50", "errors: none", "accepted = stored"} {
		if !strings.Contains(out, want) {
			t.Errorf("bench collect printed no %q:\n%s", want, out)
		}
	}
	t.Log(out)
}

func TestBenchCollectFlags(t *testing.T) {
	c := newCLI(t)
	for _, tc := range []struct {
		args []string
		msg  string
	}{
		{[]string{"bench", "collect", "--url", "http://127.0.0.1:1"}, "--url needs --counter"},
		{[]string{"bench", "collect", "--counter", "1"}, "--counter goes with --url"},
		{[]string{"bench", "collect", "--concurrency", "0"}, "must be positive"},
		{[]string{"bench", "collect", "--clients", "10", "--concurrency", "50"}, "want at least --concurrency"},
	} {
		if code, _, errs := c.run(tc.args...); code != 2 || !strings.Contains(errs, tc.msg) {
			t.Errorf("crmlink %s: exit %d, stderr %q; want 2 naming %q", strings.Join(tc.args, " "), code, errs, tc.msg)
		}
	}
}
