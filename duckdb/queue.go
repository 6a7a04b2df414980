package duckdb

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"time"

	"github.com/crmlink/crmlink"
	"github.com/crmlink/crmlink/internal/durable"
)

// An orders upload can be accepted before it is applied (AcceptOrders),
// which is how the upload API takes orders:
// its rows are read, validated and spooled into a directory of its own
// beside the database, each chunk fsynced and its customers checked
// against the contacts; a row in upload_queue then records it, and the
// upload is answered. ApplyQueued applies one upload in one transaction
// with the code UploadOrders runs, and deletes its row in that
// transaction; package uploadqueue calls it in the order accepted, also
// for what a crash left queued. Until applied, Upload and Uploads return
// it with Queued set.
//
// Contacts uploads stay synchronous: an orders upload's check of its
// customers then sees every contact accepted before it, and contacts are
// never deleted, so the check still holds when the orders are applied.

// queuedChunk is one spooled chunk of a queued upload. Path is the file's
// name in the upload's directory, so that the store can move.
type queuedChunk struct {
	Path    string `json:"path"`
	MaxLine int    `json:"max_line"`
	Rows    int    `json:"rows"`
}

// uploadsDir is where accepted uploads keep their spools.
func (s *Store) uploadsDir() string {
	if s.path == "" {
		return filepath.Join(s.spoolDir, "crmlink-uploads")
	}
	return s.path + ".uploads"
}

// AcceptOrders validates and spools an orders upload and queues it to be
// applied, then returns; ApplyQueued applies it (package uploadqueue calls
// it). An upload that fails validation is recorded as failed, as
// UploadOrders records it. An upload that skips invalid rows
// (up.SkipInvalid) is applied before AcceptOrders returns: which of its
// orders name a known contact is decided when it is applied.
func (s *Store) AcceptOrders(ctx context.Context, up *crmlink.Upload, r crmlink.OrderReader) error {
	if up.SkipInvalid {
		return s.UploadOrders(ctx, up, r)
	}
	if _, err := s.Counter(ctx, up.CounterID); err != nil {
		return err
	}
	s.uploadStart(up, crmlink.EntityOrders)
	simple := up.Entity == crmlink.EntitySimpleOrders
	dir := filepath.Join(s.uploadsDir(), up.ID)
	if err := os.MkdirAll(dir, 0o750); err != nil {
		return fmt.Errorf("accept orders: %w", err)
	}
	accepted := false
	defer func() {
		if !accepted {
			os.RemoveAll(dir)
		}
	}()
	// A row may change an order that an upload queued before it creates:
	// the caller has applied those first (crmlink.CRMStore), so that the
	// check below sees every order the counter will have.
	partial := up.PartialRows()
	var chunks []queuedChunk
	var rejected crmlink.ValidationError // rows that name an unknown contact or order
	cid := int64(up.CounterID)
	check := func(tx *sql.Tx, c *spool) error {
		if simple && !partial {
			return nil
		}
		v, err := checkOrders(ctx, tx, cid, "(SELECT * FROM "+readSpool(c, columnsStruct(orderColumns))+")", simple, partial)
		if err != nil {
			return err
		}
		rejected.Merge(v)
		return nil
	}
	// The loader's transaction only reads: the contacts, for each chunk.
	l := s.newLoader(ctx, "orders", func(tx *sql.Tx, c *spool) error {
		s.chunkRead()
		if err := durable.Sync(c.path); err != nil {
			return err
		}
		chunks = append(chunks, queuedChunk{Path: filepath.Base(c.path), MaxLine: c.maxLine, Rows: c.rows})
		return check(tx, c)
	})
	l.dir, l.keep = dir, true
	l.whenFailing(r, func(tx *sql.Tx, c *spool) error {
		s.chunkRead()
		return check(tx, c)
	})
	n, readErr := pumpParallel(ctx, l, r.Next, orderSpooler(up))
	tx, done, err := s.readDone(ctx, "accept orders", up, l, r, n, readErr, &rejected)
	if done {
		return err
	}
	tx.Rollback() // it only read
	if rejected.Total > 0 {
		return s.recordFailedImport(ctx, s.db, up, n-rejected.BadRows, &rejected)
	}
	if err := durable.Sync(dir); err != nil {
		return fmt.Errorf("accept orders: %w", err)
	}
	if err := durable.Sync(s.uploadsDir()); err != nil {
		return fmt.Errorf("accept orders: %w", err)
	}
	upJSON, err := json.Marshal(up)
	if err != nil {
		return err
	}
	chunksJSON, err := json.Marshal(chunks)
	if err != nil {
		return err
	}
	// Not under writeMu: an upload being applied must not hold up the
	// next one's answer. The row is new, so it conflicts with no other
	// writer's.
	// caller: AcceptOrders (queue)
	if _, err := s.db.ExecContext(ctx, `INSERT INTO upload_queue (id, seq, counter_id, upload, chunks)
		VALUES (?, nextval('upload_queue_seq'), ?, ?, ?)`, up.ID, cid, string(upJSON), string(chunksJSON)); err != nil {
		return fmt.Errorf("accept orders: %w", err)
	}
	accepted, up.Queued = true, true
	return nil
}

// removeUnqueuedSpools removes the spool directories of uploads that are
// not in the queue: a crash between spooling and queueing leaves them.
func (s *Store) removeUnqueuedSpools(ctx context.Context) error {
	left, err := os.ReadDir(s.uploadsDir())
	if err != nil {
		return nil // no directory: nothing was ever spooled
	}
	queued := map[string]bool{}
	// caller: Open (spools of queued uploads)
	rows, err := s.db.QueryContext(ctx, `SELECT id FROM upload_queue`)
	if err != nil {
		return err
	}
	defer rows.Close()
	for rows.Next() {
		var id string
		if err := rows.Scan(&id); err != nil {
			return err
		}
		queued[id] = true
	}
	if err := rows.Err(); err != nil {
		return err
	}
	for _, e := range left {
		if !queued[e.Name()] {
			os.RemoveAll(filepath.Join(s.uploadsDir(), e.Name()))
		}
	}
	return nil
}

// DataLag is how long the oldest queued upload of a counter has waited
// (package store adds the hits logged and not applied).
func (s *Store) DataLag(ctx context.Context, counter crmlink.CounterID) (time.Duration, error) {
	now := s.clock.Now()
	var since time.Time
	var upJSON string
	// caller: Report (data lag)
	err := s.db.QueryRowContext(ctx, `SELECT upload FROM upload_queue WHERE counter_id = ? ORDER BY seq LIMIT 1`, int64(counter)).Scan(&upJSON)
	switch {
	case err == nil:
		up, err := decodeQueued(upJSON)
		if err != nil {
			return 0, fmt.Errorf("data lag: %w", err)
		}
		since = up.Created
	case !isNoRows(err):
		return 0, fmt.Errorf("data lag: %w", err)
	}
	if since.IsZero() || !now.After(since) {
		return 0, nil
	}
	return now.Sub(since), nil
}

// orderSpooler writes an order to a spool in orderColumns' order.
func orderSpooler(up *crmlink.Upload) func(sp *spool, o *crmlink.Order) {
	return func(sp *spool, o *crmlink.Order) {
		id := o.ID
		if id == "" {
			// A simple order without an id can never be updated: it gets
			// one no CRM id can take.
			id = "~" + up.ID + ":" + strconv.Itoa(o.Line)
		}
		updated := o.Updated
		if updated.IsZero() {
			updated = up.Created // SPEC.md §1: the upload time when absent
		}
		sp.int(int64(o.Line))
		sp.str(id)
		sp.int(int64(o.Fields | crmlink.FieldUpdated))
		sp.str(o.UniqID)
		sp.micros(o.Created)
		sp.micros(updated)
		sp.micros(o.Finished)
		sp.str(o.Status)
		sp.str(string(o.StatusType))
		sp.decimal(o.Revenue, true)
		sp.decimal(o.Cost.Decimal, o.Cost.Valid)
		sp.str(o.Currency)
		sp.products(o.Products)
		sp.goals(o.Goals)
		if len(o.Attrs) > 0 {
			sp.json(o.Attrs)
		} else {
			sp.str("{}")
		}
		spoolIDs(sp, &o.IDs)
	}
}

// NextQueued returns the oldest queued upload's id. See
// crmlink.QueuePort.
func (s *Store) NextQueued(ctx context.Context) (string, error) {
	var id string
	// caller: NextQueued
	err := s.db.QueryRowContext(ctx, `SELECT id FROM upload_queue ORDER BY seq LIMIT 1`).Scan(&id)
	if isNoRows(err) {
		return "", nil
	}
	if err != nil {
		return "", fmt.Errorf("upload queue: %w", err)
	}
	return id, nil
}

// ApplyQueued applies one queued upload. See crmlink.QueuePort.
func (s *Store) ApplyQueued(ctx context.Context, id string) error {
	var upJSON, chunksJSON string
	// caller: ApplyQueued
	err := s.db.QueryRowContext(ctx, `SELECT upload, chunks FROM upload_queue WHERE id = ?`, id).Scan(&upJSON, &chunksJSON)
	if isNoRows(err) {
		return nil // applied already
	}
	if err != nil {
		return fmt.Errorf("apply upload %s: %w", id, err)
	}
	var up crmlink.Upload
	var chunks []queuedChunk
	if err := errors.Join(json.Unmarshal([]byte(upJSON), &up), json.Unmarshal([]byte(chunksJSON), &chunks)); err != nil {
		return fmt.Errorf("apply upload %s: %w", id, err)
	}
	return s.applyQueued(ctx, &up, chunks)
}

// applyQueued applies one queued upload in one transaction, which also
// takes it off the queue. An upload that cannot be applied is recorded as
// failed and taken off the queue, so that it does not hold the others.
func (s *Store) applyQueued(ctx context.Context, up *crmlink.Upload, chunks []queuedChunk) error {
	s.writeMu.Lock()
	defer s.writeMu.Unlock()
	if s.heap.BeforeApply != nil {
		s.heap.BeforeApply()
	}
	dequeue := func(tx *sql.Tx) error {
		// caller: applyQueued (dequeue)
		_, err := tx.ExecContext(ctx, `DELETE FROM upload_queue WHERE id = ?`, up.ID)
		return err
	}
	applyErr := func() error {
		counter, err := s.Counter(ctx, up.CounterID)
		if err != nil {
			return err
		}
		tx, err := s.db.BeginTx(ctx, nil)
		if err != nil {
			return err
		}
		ap := &orderApply{s: s, up: up, counter: counter, now: up.Created,
			simple: up.Entity == crmlink.EntitySimpleOrders, currency: counter.Currency}
		for _, c := range chunks {
			sp := &spool{path: filepath.Join(s.uploadsDir(), up.ID, c.Path), maxLine: c.MaxLine, rows: c.Rows}
			if err := ap.chunk(ctx, tx, "(SELECT * FROM "+readSpool(sp, columnsStruct(orderColumns))+")"); err != nil {
				tx.Rollback()
				return err
			}
		}
		if err := errors.Join(ap.finish(ctx, tx), dequeue(tx)); err != nil {
			tx.Rollback()
			return err
		}
		t0 := time.Now()
		if err := tx.Commit(); err != nil {
			return err
		}
		s.step(ctx, up, "commit", t0)
		return nil
	}()
	if applyErr != nil {
		if ctx.Err() != nil {
			return applyErr // stopping: the upload stays queued
		}
		if err := Classify(applyErr); errors.Is(err, crmlink.ErrNoSpace) || errors.Is(err, crmlink.ErrStoreFailed) {
			// Not the upload's fault: it stays queued, to be applied once
			// the disk has room or the store is open again.
			return err
		}
		up.Status, up.Linked, up.Unlinked = crmlink.UploadFailed, 0, nil
		up.Errors = []crmlink.RowError{{Reason: "the upload could not be applied: " + outOfMemory(applyErr).Error() + "; send it again"}}
		up.ErrorsTotal = 1
		if err := s.inTxLocked(ctx, s.db, func(tx *sql.Tx) error {
			if err := insertUpload(ctx, tx, up); err != nil {
				return err
			}
			return dequeue(tx)
		}); err != nil {
			return errors.Join(applyErr, err)
		}
		s.log.Error("queued upload failed", "upload", up.ID, "err", applyErr)
	}
	os.RemoveAll(filepath.Join(s.uploadsDir(), up.ID))
	return nil
}

// queuedUpload returns an upload of the queue, or not found.
func queuedUpload(ctx context.Context, tx *sql.Tx, counter crmlink.CounterID, id string) (*crmlink.Upload, error) {
	var upJSON string
	// caller: Upload (queued)
	err := tx.QueryRowContext(ctx, `SELECT upload FROM upload_queue WHERE counter_id = ? AND id = ?`, int64(counter), id).Scan(&upJSON)
	if isNoRows(err) {
		return nil, notFound("uploading", id)
	}
	if err != nil {
		return nil, fmt.Errorf("upload %s: %w", id, err)
	}
	up, err := decodeQueued(upJSON)
	if err != nil {
		return nil, fmt.Errorf("upload %s: %w", id, err)
	}
	return up, nil
}

// decodeQueued reads an upload of the queue from its JSON.
func decodeQueued(upJSON string) (*crmlink.Upload, error) {
	var up crmlink.Upload
	if err := json.Unmarshal([]byte(upJSON), &up); err != nil {
		return nil, err
	}
	up.Queued = true
	return &up, nil
}

// queuedUploads returns a counter's queued uploads created before before.
func queuedUploads(ctx context.Context, tx *sql.Tx, counter crmlink.CounterID, before time.Time) ([]*crmlink.Upload, error) {
	// caller: Uploads (queued)
	rows, err := tx.QueryContext(ctx, `SELECT upload FROM upload_queue WHERE counter_id = ? ORDER BY seq`, int64(counter))
	if err != nil {
		return nil, fmt.Errorf("uploads: %w", err)
	}
	defer rows.Close()
	var out []*crmlink.Upload
	for rows.Next() {
		var upJSON string
		if err := rows.Scan(&upJSON); err != nil {
			return nil, fmt.Errorf("uploads: %w", err)
		}
		up, err := decodeQueued(upJSON)
		if err != nil {
			return nil, fmt.Errorf("uploads: %w", err)
		}
		if up.Created.Before(before) {
			out = append(out, up)
		}
	}
	return out, rows.Err()
}

// chunkRead makes the heap.ChunkRead call, if any.
func (s *Store) chunkRead() {
	if s.heap.ChunkRead != nil {
		s.heap.ChunkRead()
	}
}
