package store

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"path/filepath"
	"slices"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/crmlink/crmlink"
	"github.com/crmlink/crmlink/hitlog"
	"github.com/crmlink/crmlink/report"
	"github.com/crmlink/crmlink/uploadqueue"
	"github.com/shopspring/decimal"
)

// Config configures the opening of a store.
type Config struct {
	Clock crmlink.Clock
	// Log gets the store's background failures and, at debug level, the
	// steps of uploads (default: discarded).
	Log *slog.Logger
	// HoldQueue (tests) leaves accepted uploads queued until SyncUploads,
	// as a crash would leave them.
	HoldQueue bool
	// ChunkRows (tests) is how many rows an upload is spooled and applied
	// in at a time, by the upload queue and by engines that read in
	// chunks (and link in slices), so that tests cross their boundaries
	// with small files; 0 leaves each its default.
	ChunkRows int
	// Heap is what the program, which owns the process's memory settings
	// (GOGC, GOMEMLIMIT), has a store do with Go's heap where an upload
	// leaves it mostly garbage.
	Heap Heap
}

// Heap holds the calls a store makes at the points where an upload leaves
// Go's heap mostly garbage; nil ones are not made.
type Heap struct {
	// ChunkRead follows the reading of each chunk of an accepted upload.
	ChunkRead func()
	// BeforeApply precedes the application of a queued upload, when the
	// engine's own memory is about to grow.
	BeforeApply func()
}

// OpenFunc opens an engine's store at a URL of its scheme.
type OpenFunc func(ctx context.Context, url string, cfg Config) (crmlink.Engine, error)

var (
	enginesMu sync.RWMutex
	engines   = map[string]OpenFunc{}
)

// Register makes an engine openable by the scheme of its URLs ("duckdb"
// for duckdb://...). Engines register in their package's init, so that a
// program chooses its engines by importing them.
func Register(scheme string, open OpenFunc) {
	enginesMu.Lock()
	defer enginesMu.Unlock()
	if _, dup := engines[scheme]; dup {
		panic("store: engine " + scheme + " registered twice")
	}
	engines[scheme] = open
}

// Schemes lists the registered engines' URL schemes.
func Schemes() []string {
	enginesMu.RLock()
	defer enginesMu.RUnlock()
	var out []string
	for s := range engines {
		out = append(out, s)
	}
	sort.Strings(out)
	return out
}

// Open opens the store at url with the engine its scheme names.
func Open(ctx context.Context, url string, cfg Config) (*Store, error) {
	scheme, _, ok := strings.Cut(url, "://")
	if !ok {
		return nil, crmlink.Errorf(crmlink.KindInvalid, "store URL %q: want scheme://..., like duckdb:///var/lib/crmlink/crmlink.db", url)
	}
	enginesMu.RLock()
	open := engines[scheme]
	enginesMu.RUnlock()
	if open == nil {
		return nil, crmlink.Errorf(crmlink.KindInvalid, "store URL %q: unknown store %q (known: %s)", url, scheme,
			strings.Join(Schemes(), ", "))
	}
	e, err := open(ctx, url, cfg)
	if err != nil {
		return nil, err
	}
	return New(ctx, e, cfg)
}

// Store is a crmlink.Store made of an engine and the pipelines in front of
// it: the tag's hits reach the engine through the hit log (package
// hitlog), accepted uploads are applied by the upload queue (package
// uploadqueue), and reports are planned and assembled by package report.
// Everything else is the engine's.
type Store struct {
	crmlink.Engine
	hits    *hitlog.Log
	uploads *uploadqueue.Queue
	clock   crmlink.Clock
	// holdQueue: see Config.HoldQueue.
	holdQueue bool
}

var _ crmlink.Store = (*Store)(nil)

// New puts the pipelines in front of an open engine: the hit log, whose
// batches from before a stop or a crash it applies, and the upload queue,
// which it starts applying. The Store owns the engine: its Close closes
// it, and so does a failing New.
func New(ctx context.Context, e crmlink.Engine, cfg Config) (*Store, error) {
	hitDir, uploadDir := "", ""
	if d := e.LocalDir(); d != "" {
		hitDir, uploadDir = HitLogDir(d), UploadQueueDir(d)
	}
	hits, err := hitlog.Open(ctx, e, hitlog.Config{Dir: hitDir, Clock: cfg.Clock, Log: cfg.Log})
	if err != nil {
		e.Close()
		return nil, fmt.Errorf("open store: %w", err)
	}
	uploads, err := uploadqueue.Open(e, uploadqueue.Config{Dir: uploadDir, Clock: cfg.Clock, Log: cfg.Log,
		ChunkRows: cfg.ChunkRows, ChunkRead: cfg.Heap.ChunkRead})
	if err != nil {
		hits.Close()
		e.Close()
		return nil, fmt.Errorf("open store: %w", err)
	}
	// The uploads queued before a stop or a crash are applied in the
	// background, after the hits logged before them (the sessions came
	// before the orders that link to them): meanwhile they show as not
	// applied, and reports count them in their DataLag.
	s := &Store{Engine: e, hits: hits, uploads: uploads, clock: cfg.Clock, holdQueue: cfg.HoldQueue}
	if !cfg.HoldQueue {
		s.uploads.Kick()
	}
	return s, nil
}

// HitLogDir is where the store whose engine keeps its local files in
// localDir keeps its hit log.
func HitLogDir(localDir string) string { return filepath.Join(localDir, "hits") }

// UploadQueueDir is where the store whose engine keeps its local files in
// localDir keeps the orders uploads it accepted and has not applied.
func UploadQueueDir(localDir string) string { return filepath.Join(localDir, "uploads") }

// WriteHits makes a batch of hits durable in the hit log. See
// crmlink.HitStore.
func (s *Store) WriteHits(ctx context.Context, hits []crmlink.SessionHit) error {
	return s.hits.Write(ctx, hits)
}

// AcceptOrders accepts and queues an orders upload (package uploadqueue),
// then applies the queue in the background. An upload whose rows may be
// partial may change orders an upload queued before it creates: those are
// applied first, so that its check sees every order the counter will
// have. An upload with on_error=skip is applied at once, by the engine's
// UploadOrders. See crmlink.Store.
func (s *Store) AcceptOrders(ctx context.Context, up *crmlink.Upload, r crmlink.OrderReader) error {
	if up.SkipInvalid {
		return s.Engine.UploadOrders(ctx, up, r)
	}
	if up.PartialRows() {
		if err := s.uploads.Sync(ctx); err != nil {
			return err
		}
	}
	if err := s.uploads.Accept(ctx, up, r); err != nil {
		return err
	}
	if !s.holdQueue {
		s.uploads.Kick()
	}
	return nil
}

// Upload returns one upload: an accepted one not yet applied from the
// queue, the others from the engine. See crmlink.UploadStore.
func (s *Store) Upload(ctx context.Context, counter crmlink.CounterID, id string) (*crmlink.Upload, error) {
	// The queue first: it lets an upload go only once the engine has
	// recorded it.
	if up := s.uploads.Upload(counter, id); up != nil {
		return up, nil
	}
	return s.Engine.Upload(ctx, counter, id)
}

// Uploads lists a counter's uploads, newest first: the queue's and the
// engine's. See crmlink.UploadStore.
func (s *Store) Uploads(ctx context.Context, counter crmlink.CounterID, before time.Time, limit int) ([]*crmlink.Upload, error) {
	if before.IsZero() {
		before = time.Date(9999, 1, 1, 0, 0, 0, 0, time.UTC)
	}
	if limit <= 0 {
		limit = 100
	}
	// The queue first, as in Upload; an upload applied in between is in
	// both lists, and the engine's record of it is kept.
	queued := s.uploads.Uploads(counter, before)
	applied, err := s.Engine.Uploads(ctx, counter, before, limit)
	if err != nil {
		return nil, err
	}
	// Newest first: the queued uploads, last accepted first, then the
	// applied ones, sorted by time (ties keep this order).
	out := make([]*crmlink.Upload, 0, len(queued)+len(applied))
	for _, q := range slices.Backward(queued) {
		if !slices.ContainsFunc(applied, func(u *crmlink.Upload) bool { return u.ID == q.ID }) {
			out = append(out, q)
		}
	}
	out = append(out, applied...)
	slices.SortStableFunc(out, func(a, b *crmlink.Upload) int { return b.Created.Compare(a.Created) })
	return out[:min(len(out), limit)], nil
}

// SyncUploads applies every queued upload now, in the order accepted.
func (s *Store) SyncUploads(ctx context.Context) error { return s.uploads.Sync(ctx) }

// SyncHits returns once the engine has applied every hit written before.
func (s *Store) SyncHits(ctx context.Context) error { return s.hits.Sync(ctx) }

// Report plans the query (package report), has the engine aggregate it,
// and assembles the answer. Its DataLag is how long the oldest data
// accepted and not yet applied has waited: the counter's oldest queued
// upload, or the oldest hit of the hit log.
func (s *Store) Report(ctx context.Context, q *crmlink.ReportQuery) (*crmlink.ReportResult, error) {
	p, err := report.NewPlan(q)
	if err != nil {
		return nil, err
	}
	groups, err := s.Engine.Aggregate(ctx, p)
	if err != nil {
		return nil, err
	}
	var unlinked []decimal.Decimal
	if p.Unlinked {
		if unlinked, err = s.Engine.UnlinkedTotals(ctx, p); err != nil {
			return nil, err
		}
	}
	res := report.Assemble(p, groups, unlinked)
	for _, since := range []time.Time{s.uploads.WaitingSince(q.CounterID), s.hits.WaitingSince()} {
		if !since.IsZero() {
			res.DataLag = max(res.DataLag, s.clock.Now().Sub(since))
		}
	}
	return res, nil
}

// Check probes the engine, and the disk the hit log writes to.
func (s *Store) Check(ctx context.Context) error {
	if err := s.Engine.Check(ctx); err != nil {
		return err
	}
	if err := s.hits.Probe(); err != nil {
		return s.Classify(fmt.Errorf("health probe: %w", err))
	}
	return nil
}

// Classify is the engine's classification of its errors (see Reopening),
// when it has one.
func (s *Store) Classify(err error) error {
	if c, ok := s.Engine.(interface{ Classify(error) error }); ok {
		return c.Classify(err)
	}
	return err
}

// Close stops the queue's application (the upload being applied stays
// queued), applies the logged hits, and closes the hit log and the
// engine.
func (s *Store) Close() error {
	s.uploads.Close()
	return errors.Join(s.hits.Close(), s.Engine.Close())
}
