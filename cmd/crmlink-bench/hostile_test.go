package main

import "testing"

// TestBenchHostile runs `crmlink-bench hostile` small: a 20 MB JSON field
// is refused with 413, and every held-back hit is let go at the deadline.
func TestBenchHostile(t *testing.T) {
	if testing.Short() {
		t.Skip("runs two servers, and waits for the hits' read deadline")
	}
	runBench(t, []string{"a JSON upload with one 20 MB string field: answered 413",
		"20 hits holding back their bodies: 20 held open, 20 answered and let go"},
		"hostile", "--json-mb", "20", "--slow", "20", "--dir", t.TempDir(), "--serve-binary", testServeBinary(t))
}
