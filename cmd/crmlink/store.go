package main

import (
	"context"
	"strings"

	"github.com/crmlink/crmlink"
	"github.com/crmlink/crmlink/duckdb"
)

// storeOpeners is the registry of store engines by URL scheme.
var storeOpeners = map[string]func(ctx context.Context, url string, clock crmlink.Clock) (crmlink.Store, error){
	"duckdb": func(ctx context.Context, url string, clock crmlink.Clock) (crmlink.Store, error) {
		return duckdb.Open(ctx, url, clock)
	},
}

// openStore opens the store a URL names.
func openStore(ctx context.Context, url string, clock crmlink.Clock) (crmlink.Store, error) {
	scheme, _, ok := strings.Cut(url, "://")
	if !ok {
		return nil, crmlink.Errorf(crmlink.KindInvalid, "store URL %q: want scheme://..., like duckdb:///var/lib/crmlink/crmlink.db", url)
	}
	open, ok := storeOpeners[scheme]
	if !ok {
		return nil, crmlink.Errorf(crmlink.KindInvalid, "store URL %q: unknown store %q (known: duckdb)", url, scheme)
	}
	return open(ctx, url, clock)
}
