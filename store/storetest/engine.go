package storetest

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
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
	t.Run("QueueAcrossClose", func(t *testing.T) { testQueueAcrossClose(t, open) })
	t.Run("QueueAfterCrash", func(t *testing.T) { testQueueAfterCrash(t, open) })
	t.Run("QueueAppliedOnce", func(t *testing.T) { testQueueAppliedOnce(t, open) })
}

// testQueueAfterCrash: uploads accepted and never applied before a crash
// show as queued when the store opens again, reports count their wait,
// and they are applied in the order accepted; the spools of an upload
// whose acceptance the crash cut short are removed.
func testQueueAfterCrash(t *testing.T, open EngineOpener) {
	ctx := context.Background()
	dir := t.TempDir()
	clock := &crmlink.FixedClock{T: Epoch}
	st := openStoreWith(t, open, store.Config{Clock: clock, HoldQueue: true}, dir)
	c := MustCounter(t, st, "Shop", "UTC")
	importSessions(t, st, c, plainSession(1, 11, day.Add(-time.Hour)))
	simple := func(o crmlink.Order) crmlink.Order {
		o.UniqID, o.Fields = "", o.Fields&^crmlink.FieldCustomer|crmlink.FieldClientIDs
		o.IDs = crmlink.CustomerIDs{ClientIDs: []uint64{11}}
		return o
	}
	var ups []*crmlink.Upload
	for _, orders := range [][]crmlink.Order{
		{simple(order("S-1", "", crmlink.StatusPaid, "100", day)), simple(order("S-2", "", crmlink.StatusPaid, "50", day))},
		{simple(order("S-1", "", crmlink.StatusCancelled, "100", day))},
	} {
		up := &crmlink.Upload{Entity: crmlink.EntitySimpleOrders, Format: "CSV"}
		if err := acceptOrders(t, st, c, up, orders...); err != nil {
			t.Fatal(err)
		}
		ups = append(ups, up)
	}
	if got, err := st.Upload(ctx, c.ID, ups[0].ID); err != nil || !got.Queued || got.Status != crmlink.UploadPassed || got.Rows != 2 {
		t.Errorf("an upload queued and not applied: %+v, %v", got, err)
	}
	if list, err := st.Uploads(ctx, c.ID, time.Time{}, 10); err != nil || len(list) < 2 || !list[0].Queued {
		t.Errorf("uploads while queued: %v, %v", list, err)
	}
	st.Close() // as a crash would leave it: two uploads queued
	// and the spools of an upload whose acceptance the crash cut short
	e := open(t, clock, dir)
	orphan := filepath.Join(store.UploadQueueDir(e.LocalDir()), "12345")
	e.Close()
	if err := os.MkdirAll(orphan, 0o750); err != nil {
		t.Fatal(err)
	}
	later := &crmlink.FixedClock{T: Epoch.Add(90 * time.Second)}
	st = openStoreWith(t, open, store.Config{Clock: later, HoldQueue: true}, dir)
	defer st.Close()
	if _, err := os.Stat(orphan); !os.IsNotExist(err) {
		t.Errorf("the spools of an upload never accepted are still there: %v", err)
	}
	if got, err := st.Upload(ctx, c.ID, ups[0].ID); err != nil || !got.Queued {
		t.Errorf("an upload queued at opening: %+v, %v", got, err)
	}
	q := &crmlink.ReportQuery{CounterID: c.ID, Date1: Epoch.AddDate(0, 0, -30), Date2: Epoch,
		Metrics: []crmlink.Metric{{Name: "ym:s:visits", Field: crmlink.MetVisits}}}
	if res, err := st.Report(ctx, q); err != nil || res.DataLag != 90*time.Second {
		t.Errorf("a report with uploads queued for 90 s: %+v, %v; want a data lag of 90 s", res, err)
	}
	syncUploads(t, st)
	if res, err := st.Report(ctx, q); err != nil || res.DataLag != 0 {
		t.Errorf("a report with nothing queued: %+v, %v; want no data lag", res, err)
	}
	for _, up := range ups {
		if got, err := st.Upload(ctx, c.ID, up.ID); err != nil || got.Status != crmlink.UploadPassed || got.Queued || got.Linked != up.Rows {
			t.Errorf("upload %s after reopening: %+v, %v", up.ID, got, err)
		}
	}
	// Applied in the order accepted: the cancellation comes last.
	if o, versions, err := st.Order(ctx, c.ID, "S-1"); err != nil || o.StatusType != crmlink.StatusCancelled || len(versions) != 2 {
		t.Errorf("S-1: %+v, %d versions, %v; want CANCELLED with 2", o, len(versions), err)
	}
}

// testQueueAppliedOnce: an upload whose application the engine committed
// while the crash left it queued (its manifest not yet removed) is not
// applied again when the store opens: ApplyUpload is idempotent by upload.
func testQueueAppliedOnce(t *testing.T, open EngineOpener) {
	ctx := context.Background()
	dir := t.TempDir()
	clock := &crmlink.FixedClock{T: Epoch}
	st := openStoreWith(t, open, store.Config{Clock: clock, HoldQueue: true}, dir)
	c := MustCounter(t, st, "Shop", "UTC")
	uploadContacts(t, st, c, crmlink.MergeSave, crmlink.Contact{UniqID: "C1", Fields: crmlink.FieldName})
	up := &crmlink.Upload{}
	if err := acceptOrders(t, st, c, up, order("O1", "C1", crmlink.StatusInProgress, "10", day)); err != nil {
		t.Fatal(err)
	}
	// What the crash leaves: the upload's files as they were when it was
	// accepted, put back after the engine applied it.
	upDir := filepath.Join(store.UploadQueueDir(st.LocalDir()), up.ID)
	saved := filepath.Join(t.TempDir(), "saved")
	if err := os.CopyFS(saved, os.DirFS(upDir)); err != nil {
		t.Fatal(err)
	}
	syncUploads(t, st)
	if err := st.Close(); err != nil {
		t.Fatal(err)
	}
	if err := os.CopyFS(upDir, os.DirFS(saved)); err != nil {
		t.Fatal(err)
	}
	st = openStore(t, open, clock, dir)
	defer st.Close()
	syncUploads(t, st)
	if o, versions, err := st.Order(ctx, c.ID, "O1"); err != nil || len(versions) != 1 {
		t.Errorf("O1 after its upload was left queued: %+v, %d versions, %v; want 1", o, len(versions), err)
	}
	list, err := st.Uploads(ctx, c.ID, time.Time{}, 10)
	n := 0
	for _, u := range list {
		if u.ID == up.ID {
			n++
			if u.Queued || u.Status != crmlink.UploadPassed {
				t.Errorf("the upload: %+v", u)
			}
		}
	}
	if err != nil || n != 1 {
		t.Errorf("the upload is listed %d times (%v), want once", n, err)
	}
	if left, err := os.ReadDir(store.UploadQueueDir(st.LocalDir())); err != nil || len(left) != 0 {
		t.Errorf("left in the queue's directory: %v, %v", left, err)
	}
}

// testQueueAcrossClose: uploads accepted and not yet applied when the
// store closes (their application stopped, or not begun) are applied once
// the store opens again, each once, in the order accepted.
func testQueueAcrossClose(t *testing.T, open EngineOpener) {
	ctx := context.Background()
	dir := t.TempDir()
	clock := &crmlink.FixedClock{T: Epoch}
	st := openStore(t, open, clock, dir)
	c := MustCounter(t, st, "Shop", "UTC")
	uploadContacts(t, st, c, crmlink.MergeSave, crmlink.Contact{UniqID: "C1", Fields: crmlink.FieldName})
	// A larger upload first, so that the two after it are likely still
	// queued when the store closes.
	var many []crmlink.Order
	for i := range 200 {
		many = append(many, order(fmt.Sprint("M-", i), "C1", crmlink.StatusInProgress, "1", day))
	}
	var ids []string
	for _, os := range [][]crmlink.Order{many, {order("O1", "C1", crmlink.StatusInProgress, "10", day)},
		{order("O1", "C1", crmlink.StatusPaid, "12", day)}} {
		up := &crmlink.Upload{}
		if err := acceptOrders(t, st, c, up, os...); err != nil {
			t.Fatal(err)
		}
		ids = append(ids, up.ID)
	}
	if err := st.Close(); err != nil {
		t.Fatal(err)
	}
	st = openStore(t, open, clock, dir)
	defer st.Close()
	syncUploads(t, st)
	for _, id := range ids {
		if up, err := st.Upload(ctx, c.ID, id); err != nil || up.Queued || up.Status != crmlink.UploadPassed {
			t.Errorf("upload %s after reopening: %+v, %v", id, up, err)
		}
	}
	o, versions, err := st.Order(ctx, c.ID, "O1")
	if err != nil || o.StatusType != crmlink.StatusPaid || len(versions) != 2 {
		t.Errorf("O1 after reopening: %+v, %d versions, %v; want PAID with 2 versions", o, len(versions), err)
	}
	if _, versions, err := st.Order(ctx, c.ID, "M-199"); err != nil || len(versions) != 1 {
		t.Errorf("M-199 after reopening: %d versions, %v; want 1", len(versions), err)
	}
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
	batches := visitBatches(c)
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
	batches := visitBatches(c)
	check := func(when string) {
		t.Helper()
		st := openStore(t, open, clock, dir)
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

// openStore opens the engine in dir behind package store's pipelines;
// the caller closes it.
func openStore(t *testing.T, open EngineOpener, clock crmlink.Clock, dir string) *store.Store {
	t.Helper()
	return openStoreWith(t, open, store.Config{Clock: clock}, dir)
}

// openStoreWith is openStore with the pipelines configured by cfg.
func openStoreWith(t *testing.T, open EngineOpener, cfg store.Config, dir string) *store.Store {
	t.Helper()
	st, err := store.New(context.Background(), open(t, cfg.Clock, dir), cfg)
	if err != nil {
		t.Fatal(err)
	}
	return st
}

// visitBatches are two batches of one visit of ClientID 5 at Epoch: the
// page view that opens session 50, and a second page view a minute later.
func visitBatches(c *crmlink.Counter) [][]crmlink.SessionHit {
	first := openHit(c, 5, 50, Epoch, crmlink.TrafficSource{Kind: crmlink.SourceDirect})
	return [][]crmlink.SessionHit{{first}, {nextHit(first, crmlink.HitPageview, Epoch.Add(time.Minute), 2)}}
}
