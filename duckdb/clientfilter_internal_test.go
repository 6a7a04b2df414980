package duckdb

import (
	"context"
	"path/filepath"
	"testing"
	"time"

	"github.com/crmlink/crmlink"
)

// TestClientFilterBuild: a counter's filter of ClientIDs is built without
// waiting for the store's writers (an upload being applied holds writeMu
// for seconds, and every new visitor's hits would wait behind it), and a
// ClientID whose session is being inserted while the filter is built is
// in the filter once built.
func TestClientFilterBuild(t *testing.T) {
	ctx := context.Background()
	st, err := Open(ctx, "duckdb://"+filepath.Join(t.TempDir(), "crmlink.db"), &crmlink.FixedClock{T: time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	c := &crmlink.Counter{Name: "Shop", Site: "shop.example", TimeZone: "UTC", Currency: "RUB"}
	if err := c.Normalize(); err != nil {
		t.Fatal(err)
	}
	if err := st.CreateCounter(ctx, c); err != nil {
		t.Fatal(err)
	}

	// A writer that is not inserting sessions holds the write lock.
	st.writeMu.Lock()
	done := make(chan error, 1)
	go func() {
		_, err := st.LastSessions(ctx, c.ID, []uint64{1})
		done <- err
	}()
	select {
	case err := <-done:
		if err != nil {
			t.Fatal(err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("a look-up waited for the write lock to build the filter")
	}
	st.writeMu.Unlock()
	st.filterMu.Lock()
	st.filters = nil
	st.filterMu.Unlock()

	// A writer inserting a session holds sessionsMu and has noted its
	// ClientID only once the build began: the build must take it in.
	st.sessionsMu.Lock()
	built := make(chan *clientFilter, 1)
	go func() {
		f, err := st.buildClientFilter(ctx, c.ID)
		if err != nil {
			t.Error(err)
		}
		built <- f
	}()
	for {
		st.filterMu.Lock()
		b := st.building[c.ID]
		st.filterMu.Unlock()
		if b != nil {
			break
		}
		time.Sleep(time.Millisecond)
	}
	st.noteClient(c.ID, 4242)
	st.sessionsMu.Unlock()
	if f := <-built; f == nil || !f.mayHave(4242) {
		t.Error("a ClientID noted while the filter was built is not in it")
	}
}
