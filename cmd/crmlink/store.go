package main

import (
	"context"
	"errors"
	"log/slog"
	"time"

	"github.com/crmlink/crmlink"
	_ "github.com/crmlink/crmlink/duckdb" // the embedded engine
	"github.com/crmlink/crmlink/internal/cli"
	"github.com/crmlink/crmlink/store"
)

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
			st, err := store.Open(ctx, url, store.Config{Clock: clock, Log: log, Heap: cli.StoreHeap})
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
