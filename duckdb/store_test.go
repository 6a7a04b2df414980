package duckdb_test

import (
	"context"
	"path/filepath"
	"testing"

	"github.com/crmlink/crmlink"
	"github.com/crmlink/crmlink/duckdb"
	"github.com/crmlink/crmlink/store"
	"github.com/crmlink/crmlink/store/storetest"
)

// openTemp opens a fresh store: the DuckDB engine behind package store's
// pipelines.
func openTemp(t *testing.T, clock crmlink.Clock) crmlink.Store {
	t.Helper()
	s, err := store.Open(context.Background(), "duckdb://"+filepath.Join(t.TempDir(), "crmlink.db"), store.Config{Clock: clock})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

// openAt opens the store file at path, at storetest.Epoch; the caller
// closes it, as a test of reopening does.
func openAt(t *testing.T, path string) *store.Store {
	t.Helper()
	st, err := store.Open(context.Background(), "duckdb://"+path, store.Config{Clock: &crmlink.FixedClock{T: storetest.Epoch}})
	if err != nil {
		t.Fatal(err)
	}
	return st
}

// engine is the DuckDB engine of a store from openTemp or openAt, or the
// engine itself.
func engine(st any) *duckdb.Store {
	if s, ok := st.(*store.Store); ok {
		return s.Engine.(*duckdb.Store)
	}
	return st.(*duckdb.Store)
}

func TestContract(t *testing.T) {
	storetest.Run(t, openTemp)
}

func TestContractEngine(t *testing.T) {
	storetest.RunEngine(t, func(t *testing.T, clock crmlink.Clock, dir string) crmlink.Engine {
		e, err := duckdb.Open(context.Background(), "duckdb://"+filepath.Join(dir, "crmlink.db"), clock)
		if err != nil {
			t.Fatal(err)
		}
		return e
	})
}

func TestParseURL(t *testing.T) {
	for _, tc := range []struct {
		in, path string
		ok       bool
	}{
		{"duckdb:///var/lib/crmlink/db", "/var/lib/crmlink/db", true},
		{"duckdb://./crmlink-data/crmlink.db", "crmlink-data/crmlink.db", true},
		{"duckdb://data.db", "data.db", true},
		{"duckdb://:memory:", "", true},
		{"duckdb:///tmp/x.db?memory_limit=2GB", "/tmp/x.db", true},
		{"duckdb://", "", false},
		{"clickhouse://localhost:9000/db", "", false},
		{"/tmp/x.db", "", false},
		{"duckdb:///tmp/x.db?bad-name=1", "", false},
	} {
		path, _, err := duckdb.ParseURL(tc.in)
		if (err == nil) != tc.ok || path != tc.path {
			t.Errorf("ParseURL(%q) = %q, %v; want %q, ok=%v", tc.in, path, err, tc.path, tc.ok)
		}
		if err != nil && crmlink.KindOf(err) != crmlink.KindInvalid {
			t.Errorf("ParseURL(%q) error kind %v, want invalid", tc.in, crmlink.KindOf(err))
		}
	}
}

// TestReopen checks that data and the migration record survive a restart,
// and that a second process cannot open a file in use.
func TestReopen(t *testing.T) {
	ctx := context.Background()
	url := "duckdb://" + filepath.Join(t.TempDir(), "sub", "crmlink.db")
	clock := &crmlink.FixedClock{T: storetest.Epoch}
	s, err := duckdb.Open(ctx, url, clock)
	if err != nil {
		t.Fatal(err)
	}
	c := storetest.MustCounter(t, s, "Shop", "Europe/Moscow")
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	s, err = duckdb.Open(ctx, url, clock)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	got, err := s.Counter(ctx, c.ID)
	if err != nil || got.TimeZone != "Europe/Moscow" {
		t.Fatalf("after reopen: %+v, %v", got, err)
	}
	var n int
	if err := engine(s).DB().QueryRowContext(ctx, `SELECT count(*) FROM schema_migrations`).Scan(&n); err != nil || n < 1 {
		t.Errorf("schema_migrations has %d rows, %v", n, err)
	}
}

// TestContractSmallChunks runs the contract with imports and uploads
// spooled and applied two rows at a time: every behaviour must hold across chunk boundaries too.
func TestContractSmallChunks(t *testing.T) {
	storetest.Run(t, func(t *testing.T, clock crmlink.Clock) crmlink.Store {
		s, err := store.Open(context.Background(), "duckdb://"+filepath.Join(t.TempDir(), "crmlink.db"), store.Config{Clock: clock, ChunkRows: 2})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { s.Close() })
		return s
	})
}

// TestDefaultSettings: the store's DuckDB defaults apply unless the store
// URL sets them.
func TestDefaultSettings(t *testing.T) {
	ctx := context.Background()
	for _, tc := range []struct {
		query, order, background string
	}{
		{"", "false", "true"},
		{"?allocator_background_threads=false&preserve_insertion_order=true", "true", "false"},
	} {
		s, err := duckdb.Open(ctx, "duckdb://"+filepath.Join(t.TempDir(), "crmlink.db")+tc.query, &crmlink.FixedClock{})
		if err != nil {
			t.Fatal(err)
		}
		var order, background string
		err = engine(s).DB().QueryRowContext(ctx, `SELECT current_setting('preserve_insertion_order')::VARCHAR,
			current_setting('allocator_background_threads')::VARCHAR`).Scan(&order, &background)
		s.Close()
		if err != nil || order != tc.order || background != tc.background {
			t.Errorf("URL %q: preserve_insertion_order %s, allocator_background_threads %s (%v); want %s, %s",
				tc.query, order, background, err, tc.order, tc.background)
		}
	}
}

func TestAccuracy(t *testing.T) {
	storetest.RunAccuracy(t, openTemp)
}
