package duckdb_test

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"testing"
	"time"

	"github.com/crmlink/crmlink"
	"github.com/crmlink/crmlink/duckdb"
	"github.com/crmlink/crmlink/store"
	"github.com/crmlink/crmlink/store/storetest"
)

// TestLastSessions looks up many ClientIDs at once, ClientIDs above the
// largest BIGINT among them, and returns each one's latest session.
func TestLastSessions(t *testing.T) {
	ctx := context.Background()
	st := openTemp(t, &crmlink.FixedClock{T: storetest.Epoch})
	c := storetest.MustCounter(t, st, "Shop", "UTC")
	const big = uint64(1<<63 + 12345)
	t0 := storetest.Epoch
	hit := func(client, session uint64, start time.Time, pv int, src crmlink.SourceKind) crmlink.SessionHit {
		return crmlink.SessionHit{Hit: crmlink.Hit{CounterID: c.ID, ClientID: client, Time: start, Kind: crmlink.HitPageview,
			URL: "https://shop.example/", Source: crmlink.TrafficSource{Kind: src}},
			SessionID: session, New: true, Start: start, PageViews: pv}
	}
	if err := st.WriteHits(ctx, []crmlink.SessionHit{
		hit(7, 70, t0, 1, crmlink.SourceDirect),
		hit(7, 71, t0.Add(time.Hour), 2, crmlink.SourceOrganic),
		hit(big, 90, t0, 3, crmlink.SourceSocial),
	}); err != nil {
		t.Fatal(err)
	}
	if err := st.SyncHits(ctx); err != nil {
		t.Fatal(err)
	}
	got, err := st.LastSessions(ctx, c.ID, []uint64{7, big, 8})
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 2 || got[7] == nil || got[7].ID != 71 || got[7].PageViews != 2 || got[7].Source.Kind != crmlink.SourceOrganic ||
		!got[7].Start.Equal(t0.Add(time.Hour)) || got[big] == nil || got[big].ID != 90 || got[big].ClientID != big {
		t.Errorf("LastSessions = %+v", got)
	}
	if got, err := st.LastSessions(ctx, c.ID+1, []uint64{7}); err != nil || len(got) != 0 {
		t.Errorf("another counter's: %+v, %v", got, err)
	}
	// ClientIDs that get sessions after the store has built its filter of
	// ClientIDs, by hits and by an import, are found too.
	if err := st.WriteHits(ctx, []crmlink.SessionHit{hit(8, 80, t0, 1, crmlink.SourceDirect)}); err != nil {
		t.Fatal(err)
	}
	if err := st.ImportSessions(ctx, &crmlink.Upload{CounterID: c.ID},
		&storetest.SliceReader{Sessions: []crmlink.Session{storetest.Session(95, 9, t0)}}); err != nil {
		t.Fatal(err)
	}
	if err := st.SyncHits(ctx); err != nil {
		t.Fatal(err)
	}
	got, err = st.LastSessions(ctx, c.ID, []uint64{8, 9, 10})
	if err != nil || len(got) != 2 || got[8] == nil || got[8].ID != 80 || got[9] == nil || got[9].ID != 95 {
		t.Errorf("after more sessions: %+v, %v", got, err)
	}
}

// TestClientFilter: a ClientID added is always a maybe; others rarely.
func TestClientFilter(t *testing.T) {
	f := duckdb.NewClientFilter(100_000)
	for i := uint64(0); i < 100_000; i++ {
		f.Add(1772362800_000000000 + i*7919)
	}
	for i := uint64(0); i < 100_000; i++ {
		if !f.MayHave(1772362800_000000000 + i*7919) {
			t.Fatalf("ClientID %d added, not found", i)
		}
	}
	maybes := 0
	for i := uint64(0); i < 100_000; i++ {
		if f.MayHave(1772362900_000000000 + i*7919) {
			maybes++
		}
	}
	if maybes > 1000 {
		t.Errorf("%d of 100000 ClientIDs never added are maybes", maybes)
	}
	t.Logf("false maybes: %d of 100000", maybes)
}

// BenchmarkWriteHits stores batches of 50 and 500 hits as the collector
// makes them under load: most continue sessions, 6% open one, 2% reach a
// goal, 2% buy, over a store of 20,000 sessions.
func BenchmarkWriteHits(b *testing.B) {
	// log: what the collector waits for (the batch made durable); apply:
	// that and applying it to sessions, goals and purchases.
	for _, n := range []int{50, 500} {
		b.Run(fmt.Sprint("log/", n), func(b *testing.B) { benchWriteHits(b, n, false) })
		b.Run(fmt.Sprint("apply/", n), func(b *testing.B) { benchWriteHits(b, n, true) })
	}
}

func benchWriteHits(b *testing.B, size int, apply bool) {
	ctx := context.Background()
	st := openBench(b)
	c := storetest.MustCounter(b, st, "Shop", "UTC")
	t0 := storetest.Epoch
	visitors := 20000
	if v := os.Getenv("BENCH_VISITORS"); v != "" {
		visitors, _ = strconv.Atoi(v)
	}
	var batch []crmlink.SessionHit
	for i := 0; i < visitors; i++ {
		batch = append(batch, crmlink.SessionHit{Hit: crmlink.Hit{CounterID: c.ID, ClientID: uint64(1000 + i), Time: t0, Kind: crmlink.HitPageview,
			URL: "https://shop.example/", Source: crmlink.TrafficSource{Kind: crmlink.SourceDirect}},
			SessionID: uint64(1_000_000 + i), New: true, Start: t0, PageViews: 1})
		if len(batch) == 2000 {
			if err := st.WriteHits(ctx, batch); err != nil {
				b.Fatal(err)
			}
			batch = batch[:0]
		}
	}
	next := visitors
	pv := map[int]int{}
	b.ResetTimer()
	for n := 0; n < b.N; n++ {
		batch = batch[:0]
		for j := 0; j < size; j++ {
			v := (n*size + j) * 7919 % visitors
			pv[v]++
			h := crmlink.SessionHit{Hit: crmlink.Hit{CounterID: c.ID, ClientID: uint64(1000 + v), Time: t0.Add(time.Second), Kind: crmlink.HitPageview,
				URL: "https://shop.example/item"}, SessionID: uint64(1_000_000 + v), Start: t0, Duration: time.Second, PageViews: 1 + pv[v]}
			switch j % 50 {
			case 0, 1, 2:
				h = crmlink.SessionHit{Hit: crmlink.Hit{CounterID: c.ID, ClientID: uint64(1000 + next), Time: t0, Kind: crmlink.HitPageview,
					URL: "https://shop.example/", Source: crmlink.TrafficSource{Kind: crmlink.SourceOrganic, Engine: "Google"}},
					SessionID: uint64(1_000_000 + next), New: true, Start: t0, PageViews: 1}
				next++
			case 3:
				h.Kind, h.Goal, h.PageViews = crmlink.HitGoal, "add_to_cart", pv[v]
			case 4:
				h.Kind, h.PageViews = crmlink.HitPurchase, pv[v]
				h.Purchase = &crmlink.Purchase{ID: fmt.Sprint("P-", n, "-", j)}
			}
			batch = append(batch, h)
		}
		if err := st.WriteHits(ctx, batch); err != nil {
			b.Fatal(err)
		}
		if apply {
			if err := st.SyncHits(ctx); err != nil {
				b.Fatal(err)
			}
		}
	}
}

// BenchmarkTxFloor is the least a write transaction costs: one row.
func BenchmarkTxFloor(b *testing.B) {
	ctx := context.Background()
	st := openBench(b)
	if _, err := engine(st).DB().ExecContext(ctx, `CREATE TABLE t (a BIGINT)`); err != nil {
		b.Fatal(err)
	}
	for n := 0; n < b.N; n++ {
		tx, err := engine(st).DB().BeginTx(ctx, nil)
		if err != nil {
			b.Fatal(err)
		}
		if _, err := tx.ExecContext(ctx, `INSERT INTO t VALUES (?)`, n); err != nil {
			b.Fatal(err)
		}
		if err := tx.Commit(); err != nil {
			b.Fatal(err)
		}
	}
}

func openBench(b *testing.B) *store.Store {
	s, err := store.Open(context.Background(), "duckdb://"+filepath.Join(b.TempDir(), "crmlink.db")+os.Getenv("BENCH_STORE_OPTS"),
		store.Config{Clock: &crmlink.FixedClock{T: storetest.Epoch}})
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { s.Close() })
	return s
}
