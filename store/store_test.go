package store_test

import (
	"context"
	"strings"
	"testing"

	"github.com/crmlink/crmlink"
	_ "github.com/crmlink/crmlink/duckdb" // registers duckdb://
	"github.com/crmlink/crmlink/store"
	"github.com/crmlink/crmlink/store/storetest"
)

// TestOpen: a URL opens the engine its scheme names; an unknown scheme or
// a URL without one is refused, naming what is known.
func TestOpen(t *testing.T) {
	ctx := context.Background()
	cfg := store.Config{Clock: &crmlink.FixedClock{T: storetest.Epoch}}
	st, err := store.Open(ctx, "duckdb://:memory:", cfg)
	if err != nil {
		t.Fatal(err)
	}
	c := storetest.MustCounter(t, st, "Shop", "UTC")
	hit := crmlink.SessionHit{Hit: crmlink.Hit{CounterID: c.ID, ClientID: 5, Time: storetest.Epoch, Kind: crmlink.HitPageview,
		URL: "https://shop.example/", Source: crmlink.TrafficSource{Kind: crmlink.SourceDirect}},
		SessionID: 50, New: true, Start: storetest.Epoch, PageViews: 1}
	if err := st.WriteHits(ctx, []crmlink.SessionHit{hit}); err != nil {
		t.Fatal(err)
	}
	if err := st.SyncHits(ctx); err != nil {
		t.Fatal(err)
	}
	if ss, err := st.ClientSessions(ctx, c.ID, 5); err != nil || len(ss) != 1 || ss[0].ID != 50 {
		t.Errorf("the hit's session: %+v, %v", ss, err)
	}
	if err := st.Close(); err != nil {
		t.Fatal(err)
	}
	for url, want := range map[string]string{
		"postgres://db": `unknown store "postgres" (known: duckdb)`,
		"nonsense":      "want scheme://",
	} {
		_, err := store.Open(ctx, url, cfg)
		if err == nil || crmlink.KindOf(err) != crmlink.KindInvalid || !strings.Contains(err.Error(), want) {
			t.Errorf("Open(%q) = %v; want an invalid-kind error naming %q", url, err, want)
		}
	}
}

// TestRegisterTwice: a scheme belongs to one engine.
func TestRegisterTwice(t *testing.T) {
	defer func() {
		if recover() == nil {
			t.Error("registering duckdb again did not panic")
		}
	}()
	store.Register("duckdb", nil)
}
