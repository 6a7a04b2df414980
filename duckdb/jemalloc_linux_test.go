package duckdb

import (
	"context"
	"path/filepath"
	"testing"

	"github.com/crmlink/crmlink"
)

// TestAllocatorConf: DuckDB's jemalloc runs with our configuration, which
// it reads after its own (jemalloc_linux.go), and reports its statistics.
func TestAllocatorConf(t *testing.T) {
	for name, want := range map[string]int64{"opt.narenas": 1, "opt.dirty_decay_ms": 200, "opt.muzzy_decay_ms": 0} {
		if got, ok := allocatorOpt(name); !ok || got != want {
			t.Errorf("%s = %d (read: %v), want %d", name, got, ok, want)
		}
	}
	s, err := Open(context.Background(), "duckdb://"+filepath.Join(t.TempDir(), "crmlink.db"), &crmlink.FixedClock{})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	allocated, resident, ok := allocatorStats()
	if !ok || allocated <= 0 || resident < allocated {
		t.Errorf("allocator stats: allocated %d, resident %d (read: %v)", allocated, resident, ok)
	}
}
