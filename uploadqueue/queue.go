// Package uploadqueue accepts orders uploads and applies them in the
// background, for any engine (crmlink.QueuePort).
//
// Accept reads and validates an upload's rows, spools them in chunks
// (package spool) into a directory of its own, fsyncs each chunk and has
// the engine check it (CheckOrders: the customers it names), then writes
// the upload's manifest, fsynced: from then on the upload is accepted and
// survives a crash. The queue applies the accepted uploads in the order
// accepted, each by one ApplyUpload, which the engine makes atomically
// visible and applied once; only then are its manifest and spools
// removed. A crash in between leaves the manifest, and the upload is
// applied again when the queue opens, which the engine makes a no-op.
// Uploads are applied in the background after each acceptance and when
// the queue opens, at once when asked (Sync), and again a while after an
// application failed for a cause that passes (a full disk).
package uploadqueue

import (
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/crmlink/crmlink"
	"github.com/crmlink/crmlink/internal/durable"
	"github.com/crmlink/crmlink/spool"
)

// retryDelay is how long after an application that could not finish the
// queue is tried again.
const retryDelay = 5 * time.Second

// manifestName is the file, in an upload's directory, that makes it
// accepted.
const manifestName = "upload.json"

// Port is what the queue needs of an engine.
type Port interface {
	crmlink.QueuePort
	Counter(ctx context.Context, id crmlink.CounterID) (*crmlink.Counter, error)
}

// Config configures a Queue.
type Config struct {
	// Dir keeps the accepted uploads; "" keeps them in a temporary
	// directory that Close removes, for an engine that lives only as long
	// as the process.
	Dir   string
	Clock crmlink.Clock
	Log   *slog.Logger
	// ChunkRows is how many rows a spooled chunk holds; 0 is
	// spool.ChunkRows.
	ChunkRows int
	// ChunkRead, if set, is called after each chunk an upload is read
	// into (the process's heap policy).
	ChunkRead func()
}

// manifest is what an upload's manifest file holds: the upload as
// accepted and its chunks, their paths relative to its directory.
type manifest struct {
	Seq    uint64              `json:"seq"`
	Upload *crmlink.Upload     `json:"upload"`
	Chunks []crmlink.SpoolFile `json:"chunks"`
}

// Queue accepts orders uploads and applies them.
type Queue struct {
	port      Port
	dir       string
	temporary bool // dir is the queue's own, removed at Close
	clock     crmlink.Clock
	log       *slog.Logger
	chunkRows int
	chunkRead func()

	// pendingMu guards pending, the accepted uploads not yet applied, and
	// seq, the last sequence number given.
	pendingMu sync.Mutex
	pending   []*manifest
	seq       uint64

	// mu lets one Sync apply the queue at a time.
	mu sync.Mutex
	// life ends at Close: the background applications run under it, and
	// so stop at once; the upload being applied stays queued.
	life    context.Context
	endLife context.CancelFunc
	// lifeMu guards closing, after which no application starts; wg
	// counts the background applications, which Close waits for.
	lifeMu  sync.Mutex
	closing bool
	wg      sync.WaitGroup
	// retryAt is when the queue is applied again after an application
	// that could not finish, in Unix nanoseconds; 0: no retry is due.
	retryAt   atomic.Int64
	stopRetry chan struct{}
	retryDone chan struct{}
	closeOnce sync.Once
}

// Open opens the queue kept in cfg.Dir: the uploads accepted before a
// stop or a crash are pending again, and the spools of uploads that were
// never accepted are removed. It applies nothing until Kick or Sync.
func Open(port Port, cfg Config) (*Queue, error) {
	q := &Queue{port: port, dir: cfg.Dir, clock: cfg.Clock, log: cfg.Log, chunkRows: cfg.ChunkRows, chunkRead: cfg.ChunkRead,
		stopRetry: make(chan struct{}), retryDone: make(chan struct{})}
	if q.clock == nil {
		q.clock = crmlink.SystemClock{}
	}
	if q.log == nil {
		q.log = slog.New(slog.DiscardHandler)
	}
	if q.chunkRows <= 0 {
		q.chunkRows = spool.ChunkRows
	}
	if q.dir == "" {
		dir, err := os.MkdirTemp("", "crmlink-uploads-")
		if err != nil {
			return nil, fmt.Errorf("upload queue: %w", err)
		}
		q.dir, q.temporary = dir, true
	} else if err := os.MkdirAll(q.dir, 0o750); err != nil {
		return nil, fmt.Errorf("upload queue: %w", err)
	}
	if err := q.load(); err != nil {
		return nil, fmt.Errorf("upload queue: %w", err)
	}
	q.life, q.endLife = context.WithCancel(context.Background())
	go q.retrier()
	return q, nil
}

// load reads the manifests of the uploads accepted and not applied, and
// removes the directories of uploads whose acceptance did not finish.
func (q *Queue) load() error {
	entries, err := os.ReadDir(q.dir)
	if err != nil {
		return err
	}
	for _, e := range entries {
		dir := filepath.Join(q.dir, e.Name())
		b, err := os.ReadFile(filepath.Join(dir, manifestName))
		if errors.Is(err, os.ErrNotExist) {
			os.RemoveAll(dir) // spooled, never accepted
			continue
		}
		if err != nil {
			return err
		}
		var m manifest
		if err := json.Unmarshal(b, &m); err != nil {
			return fmt.Errorf("%s: %w", filepath.Join(dir, manifestName), err)
		}
		m.Upload.Queued = true
		q.pending = append(q.pending, &m)
		q.seq = max(q.seq, m.Seq)
	}
	slices.SortFunc(q.pending, func(a, b *manifest) int { return cmp.Compare(a.Seq, b.Seq) })
	return nil
}

// Accept reads, validates and spools an orders upload, has the engine
// check it, and queues it durably; the caller kicks the queue. An upload
// that fails is recorded as failed (RecordUpload) and its error returned.
// up.Queued says the upload was accepted.
func (q *Queue) Accept(ctx context.Context, up *crmlink.Upload, r crmlink.OrderReader) error {
	if _, err := q.port.Counter(ctx, up.CounterID); err != nil {
		return err
	}
	up.Start(crmlink.EntityOrders, q.clock.Now())
	dir := filepath.Join(q.dir, up.ID)
	if err := os.Mkdir(dir, 0o750); err != nil {
		return fmt.Errorf("accept orders: %w", err)
	}
	accepted := false
	defer func() {
		if !accepted {
			os.RemoveAll(dir)
		}
	}()
	c := q.newChunker(ctx, dir, up)
	n, readErr := spool.PumpParallel(ctx, c, r.Next, func(w *spool.Writer, o *crmlink.Order) { spool.WriteOrder(w, up, o) })
	chunks, rejected, checkErr := c.finish(readErr)
	up.Finished = q.clock.Now()
	if readErr != nil {
		if checkErr != nil && ctx.Err() == nil {
			// Checking a failing file's customers failed: it is refused
			// with the errors found so far.
			q.log.Error("accept orders: check", "upload", up.ID, "err", checkErr)
		}
		return q.record(ctx, up, up.FailRead(r, n, readErr, rejected))
	}
	if checkErr != nil {
		return fmt.Errorf("accept orders: %w", checkErr)
	}
	if rejected.Total > 0 {
		up.Fail(n-rejected.BadRows, rejected)
		return q.record(ctx, up, rejected)
	}
	up.Pass(r, n)
	m := &manifest{Upload: up, Chunks: chunks}
	if err := q.accept(dir, m); err != nil {
		return fmt.Errorf("accept orders: %w", err)
	}
	accepted, up.Queued = true, true
	return nil
}

// record records a failed upload and returns its error.
func (q *Queue) record(ctx context.Context, up *crmlink.Upload, err error) error {
	if ctx.Err() != nil {
		return err
	}
	if rerr := q.port.RecordUpload(ctx, up); rerr != nil {
		return errors.Join(err, rerr)
	}
	return err
}

// accept writes an upload's manifest durably, which makes it accepted,
// and adds it to the pending uploads.
func (q *Queue) accept(dir string, m *manifest) error {
	q.pendingMu.Lock()
	defer q.pendingMu.Unlock()
	q.seq++
	m.Seq = q.seq
	b, err := json.Marshal(m)
	if err != nil {
		return err
	}
	tmp := filepath.Join(dir, manifestName+".tmp")
	if err := os.WriteFile(tmp, b, 0o640); err != nil {
		return err
	}
	if err := durable.Sync(tmp); err != nil {
		return err
	}
	if err := os.Rename(tmp, filepath.Join(dir, manifestName)); err != nil {
		return err
	}
	if err := errors.Join(durable.Sync(dir), durable.Sync(q.dir)); err != nil {
		return err
	}
	held := *m
	up := *m.Upload
	up.Queued = true
	held.Upload = &up
	q.pending = append(q.pending, &held)
	return nil
}

// chunker is the spool.Sink of an upload being accepted: it writes rows
// into chunks of chunkRows, and hands each full chunk to a goroutine that
// makes it durable and has the engine check it while the next one fills.
type chunker struct {
	q      *Queue
	ctx    context.Context
	dir    string
	up     *crmlink.Upload
	cur    *spool.Writer
	files  chan *spool.Writer
	done   chan struct{}
	chunks []crmlink.SpoolFile
	// Set by the checking goroutine, read after done.
	rejected crmlink.ValidationError
	err      error
}

func (q *Queue) newChunker(ctx context.Context, dir string, up *crmlink.Upload) *chunker {
	c := &chunker{q: q, ctx: ctx, dir: dir, up: up, files: make(chan *spool.Writer, 1), done: make(chan struct{})}
	go c.check()
	return c
}

// check makes each chunk durable and has the engine check it. After an
// error it only drains the chunks.
func (c *chunker) check() {
	defer close(c.done)
	for w := range c.files {
		if c.err != nil {
			continue
		}
		f := w.File()
		if err := durable.Sync(f.Path); err != nil {
			c.err = err
			continue
		}
		if c.q.chunkRead != nil {
			c.q.chunkRead()
		}
		v, err := c.q.port.CheckOrders(c.ctx, c.up, f)
		if err != nil {
			c.err = err
			continue
		}
		if v != nil {
			c.rejected.Merge(v)
		}
		f.Path = filepath.Base(f.Path)
		c.chunks = append(c.chunks, f)
	}
}

// Row returns the chunk the next row goes to (spool.Sink).
func (c *chunker) Row() (*spool.Writer, error) {
	if c.cur == nil {
		w, err := spool.Create(c.dir, "orders")
		if err != nil {
			return nil, err
		}
		c.cur = w
	}
	return c.cur, nil
}

// RowDone hands the current chunk on once it is full (spool.Sink).
func (c *chunker) RowDone() error {
	if c.cur.Rows() < c.q.chunkRows {
		return nil
	}
	return c.flush()
}

func (c *chunker) flush() error {
	if err := c.ctx.Err(); err != nil {
		return err
	}
	w := c.cur
	c.cur = nil
	if err := w.Close(); err != nil {
		return err
	}
	c.files <- w
	return nil
}

// finish hands on the last chunk, when reading ended well or with row
// errors (whose answer lists the store's errors too), and waits for the
// checks. It returns the chunks, the rows the engine refused, and the
// error of making a chunk durable or checking it.
func (c *chunker) finish(readErr error) ([]crmlink.SpoolFile, *crmlink.ValidationError, error) {
	var v *crmlink.ValidationError
	var flushErr error
	if c.cur != nil {
		if readErr == nil || errors.As(readErr, &v) {
			flushErr = c.flush()
		} else {
			c.cur.Close()
		}
	}
	close(c.files)
	<-c.done
	return c.chunks, &c.rejected, errors.Join(flushErr, c.err)
}

// Kick applies the queue in the background, unless the queue is closing.
func (q *Queue) Kick() {
	q.lifeMu.Lock()
	defer q.lifeMu.Unlock()
	if q.closing {
		return
	}
	q.wg.Add(1)
	go func() {
		defer q.wg.Done()
		if err := q.Sync(q.life); err != nil && q.life.Err() == nil {
			q.log.Error("apply queued uploads", "err", err)
		}
	}()
}

// Sync applies every pending upload, in the order they were accepted, and
// returns once none is left or one could not be applied.
func (q *Queue) Sync(ctx context.Context) error {
	q.mu.Lock()
	defer q.mu.Unlock()
	for {
		q.pendingMu.Lock()
		var m *manifest
		if len(q.pending) > 0 {
			m = q.pending[0]
		}
		q.pendingMu.Unlock()
		if m == nil {
			return nil
		}
		if err := q.apply(ctx, m); err != nil {
			return err
		}
	}
}

// apply applies one pending upload, or records it as failed when the
// failure is its own; then it is no longer pending, and its files go.
func (q *Queue) apply(ctx context.Context, m *manifest) error {
	up := *m.Upload
	up.Queued = false
	dir := filepath.Join(q.dir, up.ID)
	chunks := slices.Clone(m.Chunks)
	for i := range chunks {
		chunks[i].Path = filepath.Join(dir, chunks[i].Path)
	}
	if err := q.port.ApplyUpload(ctx, &up, chunks); err != nil {
		if ctx.Err() != nil {
			return err // stopping: the upload stays queued
		}
		if errors.Is(err, crmlink.ErrNoSpace) || errors.Is(err, crmlink.ErrStoreFailed) {
			// Not the upload's fault: it stays queued and is tried again
			// once the disk has room or the store is open again.
			q.retryAt.Store(time.Now().Add(retryDelay).UnixNano())
			return err
		}
		failed := *m.Upload
		failed.Queued = false
		failed.Status, failed.Linked, failed.Unlinked = crmlink.UploadFailed, 0, nil
		failed.Errors = []crmlink.RowError{{Reason: "the upload could not be applied: " + err.Error() + "; send it again"}}
		failed.ErrorsTotal = 1
		if rerr := q.port.RecordUpload(ctx, &failed); rerr != nil {
			q.retryAt.Store(time.Now().Add(retryDelay).UnixNano())
			return errors.Join(err, rerr)
		}
		q.log.Error("queued upload failed", "upload", up.ID, "err", err)
	}
	q.pendingMu.Lock()
	q.pending = slices.DeleteFunc(q.pending, func(p *manifest) bool { return p == m })
	q.pendingMu.Unlock()
	if err := os.Remove(filepath.Join(dir, manifestName)); err != nil && !errors.Is(err, os.ErrNotExist) {
		q.log.Error("remove applied upload", "upload", up.ID, "err", err)
	}
	os.RemoveAll(dir)
	return nil
}

// Upload returns a pending upload of a counter, or nil.
func (q *Queue) Upload(counter crmlink.CounterID, id string) *crmlink.Upload {
	q.pendingMu.Lock()
	defer q.pendingMu.Unlock()
	for _, m := range q.pending {
		if m.Upload.CounterID == counter && m.Upload.ID == id {
			up := *m.Upload
			return &up
		}
	}
	return nil
}

// Uploads returns a counter's pending uploads created before before, in
// the order accepted.
func (q *Queue) Uploads(counter crmlink.CounterID, before time.Time) []*crmlink.Upload {
	q.pendingMu.Lock()
	defer q.pendingMu.Unlock()
	var out []*crmlink.Upload
	for _, m := range q.pending {
		if m.Upload.CounterID == counter && m.Upload.Created.Before(before) {
			up := *m.Upload
			out = append(out, &up)
		}
	}
	return out
}

// WaitingSince is when the oldest pending upload of a counter was
// created; zero when none is pending.
func (q *Queue) WaitingSince(counter crmlink.CounterID) time.Time {
	q.pendingMu.Lock()
	defer q.pendingMu.Unlock()
	var since time.Time
	for _, m := range q.pending {
		if c := m.Upload.Created; m.Upload.CounterID == counter && (since.IsZero() || c.Before(since)) {
			since = c
		}
	}
	return since
}

// retrier applies the queue again, every second, once a retry is due.
func (q *Queue) retrier() {
	defer close(q.retryDone)
	t := time.NewTicker(time.Second)
	defer t.Stop()
	for {
		select {
		case <-q.stopRetry:
			return
		case <-t.C:
			at := q.retryAt.Load()
			if at != 0 && time.Now().UnixNano() >= at && q.retryAt.CompareAndSwap(at, 0) {
				q.Kick()
			}
		}
	}
}

// Close stops the background applications and waits for them: an upload
// being applied stops and stays queued, to be applied when the queue
// opens again.
func (q *Queue) Close() {
	q.closeOnce.Do(func() {
		q.lifeMu.Lock()
		q.closing = true
		q.lifeMu.Unlock()
		q.endLife()
		q.wg.Wait()
		close(q.stopRetry)
		<-q.retryDone
		if q.temporary {
			os.RemoveAll(q.dir)
		}
	})
}
