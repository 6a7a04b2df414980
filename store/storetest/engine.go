package storetest

import (
	"context"
	"testing"
	"time"

	"github.com/crmlink/crmlink"
	"github.com/crmlink/crmlink/hitlog"
	"github.com/crmlink/crmlink/store"
)

// EngineOpener opens the engine whose files are in dir, creating them when
// the directory is empty, as a process opens its store again after a stop
// or a crash. The caller closes the engine.
type EngineOpener func(t *testing.T, clock crmlink.Clock, dir string) crmlink.Engine

// RunEngine runs the cases that need the engine itself rather than a
// Store: its write ports, and what survives a stop or a crash of the
// process in front of it. The stores it makes are package store's, the
// engine behind the shared pipelines.
func RunEngine(t *testing.T, open EngineOpener) {
	t.Run("HitPortRecordsBatches", func(t *testing.T) { testHitPort(t, open) })
	t.Run("HitLogAfterCrash", func(t *testing.T) { testHitLogAfterCrash(t, open) })
}

// testHitPort: ApplyHits applies its batches and records the last
// number, which survives a reopening with the batches' sessions.
func testHitPort(t *testing.T, open EngineOpener) {
	ctx := context.Background()
	dir := t.TempDir()
	clock := &crmlink.FixedClock{T: Epoch}
	e := open(t, clock, dir)
	c := MustCounter(t, e, "Shop", "UTC")
	if n, err := e.HitsApplied(ctx); err != nil || n != 0 {
		t.Fatalf("a new engine has applied %d, %v", n, err)
	}
	first := openHit(c, 5, 50, Epoch, crmlink.TrafficSource{Kind: crmlink.SourceDirect})
	batches := [][]crmlink.SessionHit{{first}, {nextHit(first, crmlink.HitPageview, Epoch.Add(time.Minute), 2)}}
	if err := e.ApplyHits(ctx, 7, batches); err != nil {
		t.Fatal(err)
	}
	if n, err := e.HitsApplied(ctx); err != nil || n != 7 {
		t.Errorf("applied %d, %v; want 7", n, err)
	}
	if err := e.Close(); err != nil {
		t.Fatal(err)
	}
	e = open(t, clock, dir)
	defer e.Close()
	if n, err := e.HitsApplied(ctx); err != nil || n != 7 {
		t.Errorf("reopened: applied %d, %v; want 7", n, err)
	}
	ss, err := e.ClientSessions(ctx, c.ID, 5)
	if err != nil || len(ss) != 1 || ss[0].ID != 50 || ss[0].PageViews != 2 {
		t.Errorf("reopened: sessions %+v, %v; want session 50 with 2 page views", ss, err)
	}
}

// testHitLogAfterCrash: batches a process acknowledged and died before
// applying are applied when the store opens, once; log files of batches
// already applied are passed over.
func testHitLogAfterCrash(t *testing.T, open EngineOpener) {
	ctx := context.Background()
	dir := t.TempDir()
	clock := &crmlink.FixedClock{T: Epoch}
	e := open(t, clock, dir)
	c := MustCounter(t, e, "Shop", "UTC")
	logDir := store.HitLogDir(e.LocalDir())
	if e.LocalDir() == "" {
		e.Close()
		t.Skip("the engine keeps no local files: nothing survives the process")
	}
	if err := e.Close(); err != nil {
		t.Fatal(err)
	}
	first := openHit(c, 5, 50, Epoch, crmlink.TrafficSource{Kind: crmlink.SourceDirect})
	batches := [][]crmlink.SessionHit{{first}, {nextHit(first, crmlink.HitPageview, Epoch.Add(time.Minute), 2)}}
	check := func(when string) {
		t.Helper()
		st, err := store.New(ctx, open(t, clock, dir), store.Config{Clock: clock})
		if err != nil {
			t.Fatal(err)
		}
		defer st.Close()
		ss, err := st.ClientSessions(ctx, c.ID, 5)
		if err != nil || len(ss) != 1 || ss[0].PageViews != 2 {
			t.Errorf("%s: sessions %+v, %v; want one with 2 page views", when, ss, err)
		}
	}
	if err := hitlog.Append(logDir, batches...); err != nil {
		t.Fatal(err)
	}
	check("after a crash before applying")
	// The same numbers again: files of batches already applied.
	if err := hitlog.Append(logDir, batches...); err != nil {
		t.Fatal(err)
	}
	check("with files of applied batches left")
}
