package main

import (
	"context"
	"errors"
	"log/slog"
	"runtime"
	"runtime/debug"
	"time"

	"github.com/crmlink/crmlink"
	_ "github.com/crmlink/crmlink/duckdb" // the embedded engine
	"github.com/crmlink/crmlink/store"
)

// openStore opens the store a URL names for a command that runs once: the
// uploads queued before a stop or a crash are applied before it returns,
// so that the command sees them, and is not stopped halfway through one.
func openStore(ctx context.Context, url string, clock crmlink.Clock) (crmlink.Store, error) {
	st, err := store.Open(ctx, url, store.Config{Clock: clock, Heap: heap})
	if err != nil {
		return nil, err
	}
	if err := st.SyncUploads(ctx); err != nil {
		st.Close()
		return nil, err
	}
	return st, nil
}

// inUseWait is how long a server waits for a store file that another
// process holds: a supervisor may start it again while the old process is
// still closing the store.
const inUseWait = 15 * time.Second

// openServing opens the store for a server: it returns before the queued
// uploads are applied, so that the server listens at once, and it opens
// the store again by itself once the store failed (store.Reopening).
func openServing(ctx context.Context, url string, clock crmlink.Clock, log *slog.Logger) (*store.Reopening, error) {
	open := func(ctx context.Context) (crmlink.Store, error) {
		deadline := time.Now().Add(inUseWait)
		for waited := false; ; waited = true {
			st, err := store.Open(ctx, url, store.Config{Clock: clock, Log: log, Heap: heap})
			if !errors.Is(err, crmlink.ErrInUse) || time.Now().After(deadline) {
				return st, err
			}
			if !waited {
				log.Warn("the store is in use by another process: waiting for it", "store", url, "for", inUseWait.String())
			}
			select {
			case <-ctx.Done():
				return nil, err
			case <-time.After(250 * time.Millisecond):
			}
		}
	}
	return store.NewReopening(ctx, store.ReopeningConfig{Open: open, Log: log})
}

// heap is what a store does with Go's heap where an upload leaves it
// mostly garbage. Reading an upload, a collection a chunk keeps the heap
// near one chunk's worth, where a server's GOGC would let it grow to five
// times what is live: the peak does not grow with the file. Before a
// queued upload is applied, the garbage is given back to the system, so
// that it does not add to DuckDB's peak.
var heap = store.Heap{ChunkRead: runtime.GC, BeforeApply: debug.FreeOSMemory}
