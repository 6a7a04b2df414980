package main

import (
	"runtime"
	"runtime/debug"
	"testing"
)

// TestTuneRuntime: serve's runtime settings apply, once however often it
// runs, and the environment's win.
func TestTuneRuntime(t *testing.T) {
	procs, gc, limit := runtime.GOMAXPROCS(0), debug.SetGCPercent(100), debug.SetMemoryLimit(-1)
	t.Cleanup(func() {
		runtime.GOMAXPROCS(procs)
		debug.SetGCPercent(gc)
		debug.SetMemoryLimit(limit)
	})
	debug.SetGCPercent(100)
	none := func(string) string { return "" }
	tuneRuntime(none)
	tuneRuntime(none)
	if got := runtime.GOMAXPROCS(0); got != defaultProcs+1 {
		t.Errorf("GOMAXPROCS %d, want %d", got, defaultProcs+1)
	}
	if got := debug.SetGCPercent(400); got != 400 {
		t.Errorf("GOGC %d, want 400", got)
	}
	if got := debug.SetMemoryLimit(-1); got != 256<<20 {
		t.Errorf("GOMEMLIMIT %d, want %d", got, 256<<20)
	}

	runtime.GOMAXPROCS(defaultProcs)
	debug.SetGCPercent(100)
	debug.SetMemoryLimit(limit)
	tuneRuntime(func(string) string { return "set" })
	if got := runtime.GOMAXPROCS(0); got != defaultProcs {
		t.Errorf("GOMAXPROCS set by the environment: %d, want %d", got, defaultProcs)
	}
	if got := debug.SetGCPercent(100); got != 100 {
		t.Errorf("GOGC set by the environment: %d, want 100", got)
	}
	if got := debug.SetMemoryLimit(-1); got != limit {
		t.Errorf("GOMEMLIMIT set by the environment: %d, want %d", got, limit)
	}
}
