package main

import (
	"context"
	"errors"
	"log/slog"
	"strings"
	"time"

	"github.com/crmlink/crmlink"
	"github.com/crmlink/crmlink/duckdb"
	"github.com/crmlink/crmlink/store"
)

// engineConfig is what every store engine is opened with.
type engineConfig struct {
	clock crmlink.Clock
	log   *slog.Logger // nil: the engine logs nothing
}

// storeOpeners is the registry of store engines by URL scheme.
var storeOpeners = map[string]func(ctx context.Context, url string, c engineConfig) (crmlink.Store, error){
	"duckdb": func(ctx context.Context, url string, c engineConfig) (crmlink.Store, error) {
		var opts []duckdb.Option
		if c.log != nil {
			opts = append(opts, duckdb.WithLogger(c.log))
		}
		return duckdb.Open(ctx, url, c.clock, opts...)
	},
}

// openEngine opens the store a URL names, as its engine opens it: the
// uploads queued before a stop or a crash are applied in the background.
func openEngine(ctx context.Context, url string, c engineConfig) (crmlink.Store, error) {
	scheme, _, ok := strings.Cut(url, "://")
	if !ok {
		return nil, crmlink.Errorf(crmlink.KindInvalid, "store URL %q: want scheme://..., like duckdb:///var/lib/crmlink/crmlink.db", url)
	}
	open, ok := storeOpeners[scheme]
	if !ok {
		return nil, crmlink.Errorf(crmlink.KindInvalid, "store URL %q: unknown store %q (known: duckdb)", url, scheme)
	}
	return open(ctx, url, c)
}

// openStore opens the store a URL names for a command that runs once: the
// uploads queued before a stop or a crash are applied before it returns,
// so that the command sees them, and is not stopped halfway through one.
func openStore(ctx context.Context, url string, clock crmlink.Clock) (crmlink.Store, error) {
	st, err := openEngine(ctx, url, engineConfig{clock: clock})
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
			st, err := openEngine(ctx, url, engineConfig{clock: clock, log: log})
			if !errors.Is(err, duckdb.ErrInUse) || time.Now().After(deadline) {
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
