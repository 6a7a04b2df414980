// Package store holds what every store engine shares beyond the contract
// (storetest): the registry of engines by URL scheme (Open), Store, which
// puts the shared pipelines in front of an engine, and Reopening, a store
// that opens its engine again by itself after the engine failed.
package store

import (
	"context"
	"errors"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"

	"github.com/crmlink/crmlink"
)

// Reopening is a crmlink.Store over an engine's store that it opens
// again, by itself, once the engine has failed for good (DuckDB refuses
// every statement after a write to its files failed in a checkpoint,
// which a full disk causes). A server keeps running meanwhile: every call
// answers an error of kind Unavailable that says why, until the store is
// open again; /healthz says so too. What the engine had acknowledged
// survives, since opening a store is what a restart does: the hit log and
// the upload queue are read and applied again.
//
// The engine's errors are classified by its Classify method (when it has
// one) before they are returned: an error marked crmlink.ErrStoreFailed
// starts the reopening. A probe (Check) every few seconds finds a failure
// that no call saw, such as one in the engine's own background work.
type Reopening struct {
	open func(ctx context.Context) (crmlink.Store, error)
	log  *slog.Logger
	// See ReopeningConfig.
	probeEvery, retryMin, retryMax time.Duration

	mu     sync.RWMutex
	cur    *generation // nil while the store is being opened again
	broken error       // why, while cur is nil
	closed bool

	life    context.Context // ends at Close
	endLife context.CancelFunc
	bg      sync.WaitGroup // the prober and the reopening
}

// generation is one opening of the engine's store.
type generation struct {
	st       crmlink.Store
	classify func(error) error
	// ctx ends when the generation is retired: calls in flight on it end
	// at once (their statements are interrupted).
	ctx    context.Context
	cancel context.CancelFunc
	calls  sync.WaitGroup
	failed atomic.Bool
}

// ReopeningConfig configures a Reopening; zero durations take defaults.
type ReopeningConfig struct {
	// Open opens the engine's store; it is called again after a failure.
	Open func(ctx context.Context) (crmlink.Store, error)
	Log  *slog.Logger
	// ProbeEvery is how often the store is checked (default 5 s).
	ProbeEvery time.Duration
	// RetryMin and RetryMax bound the wait between attempts to open the
	// store again, which doubles from the first to the second (default
	// 0.5 s and 5 s).
	RetryMin, RetryMax time.Duration
}

// NewReopening opens the store with cfg.Open and keeps it open.
func NewReopening(ctx context.Context, cfg ReopeningConfig) (*Reopening, error) {
	st, err := cfg.Open(ctx)
	if err != nil {
		return nil, err
	}
	r := &Reopening{open: cfg.Open, log: cfg.Log, probeEvery: cfg.ProbeEvery, retryMin: cfg.RetryMin, retryMax: cfg.RetryMax}
	if r.log == nil {
		r.log = slog.New(slog.DiscardHandler)
	}
	if r.probeEvery <= 0 {
		r.probeEvery = 5 * time.Second
	}
	if r.retryMin <= 0 {
		r.retryMin = 500 * time.Millisecond
	}
	if r.retryMax < r.retryMin {
		r.retryMax = max(5*time.Second, r.retryMin)
	}
	r.life, r.endLife = context.WithCancel(context.Background())
	r.cur = newGeneration(st)
	r.bg.Add(1)
	go r.probe()
	return r, nil
}

func newGeneration(st crmlink.Store) *generation {
	g := &generation{st: st, classify: func(err error) error { return err }}
	if c, ok := st.(interface{ Classify(error) error }); ok {
		g.classify = c.Classify
	}
	g.ctx, g.cancel = context.WithCancel(context.Background())
	return g
}

// Current returns the engine's store now open, or nil while it is being
// opened again. Tests and benchmarks reach the engine through it.
func (r *Reopening) Current() crmlink.Store {
	r.mu.RLock()
	defer r.mu.RUnlock()
	if r.cur == nil {
		return nil
	}
	return r.cur.st
}

// unavailable is the error of a call made while the store is being
// opened again. r.mu is held.
func (r *Reopening) unavailable() error {
	if r.closed {
		return crmlink.Errorf(crmlink.KindUnavailable, "the store is closed: the server is stopping")
	}
	why := ""
	if errors.Is(r.broken, crmlink.ErrNoSpace) {
		why = " (its disk is full)"
	}
	return errors.Join(crmlink.Errorf(crmlink.KindUnavailable,
		"the store failed and is being opened again%s: try again in a minute", why), crmlink.ErrStoreFailed)
}

// enter starts a call on the current generation: its context ends with
// the caller's or the generation's, and done must be called at its end.
func (r *Reopening) enter(ctx context.Context) (*generation, context.Context, func(), error) {
	r.mu.RLock()
	g := r.cur
	if g == nil {
		err := r.unavailable()
		r.mu.RUnlock()
		return nil, nil, nil, err
	}
	g.calls.Add(1)
	r.mu.RUnlock()
	ctx, cancel := context.WithCancel(ctx)
	stop := context.AfterFunc(g.ctx, cancel)
	return g, ctx, func() {
		stop()
		cancel()
		g.calls.Done()
	}, nil
}

// after classifies a call's error, and starts opening the store again
// when it says the store failed.
func (r *Reopening) after(g *generation, err error) error {
	if err == nil {
		return nil
	}
	if g.ctx.Err() != nil {
		// Retired while the call ran: what failed is the old store's.
		r.mu.RLock()
		defer r.mu.RUnlock()
		return errors.Join(r.unavailable(), err)
	}
	err = g.classify(err)
	if errors.Is(err, crmlink.ErrStoreFailed) {
		r.fail(g, err)
	}
	return err
}

// fail retires a generation that failed and opens the store again, once.
func (r *Reopening) fail(g *generation, cause error) {
	if !g.failed.CompareAndSwap(false, true) {
		return
	}
	r.mu.Lock()
	if r.closed || r.cur != g {
		r.mu.Unlock()
		return
	}
	r.cur, r.broken = nil, cause
	r.bg.Add(1)
	r.mu.Unlock()
	r.log.Error("the store failed: opening it again", "err", cause)
	go r.reopen(g)
}

// reopen closes a retired generation and opens the store until it opens.
func (r *Reopening) reopen(g *generation) {
	defer r.bg.Done()
	g.cancel()
	g.calls.Wait()
	if err := g.st.Close(); err != nil {
		r.log.Warn("closing the failed store", "err", err)
	}
	wait := r.retryMin
	for attempt := 1; ; attempt++ {
		select {
		case <-r.life.Done():
			return
		case <-time.After(wait):
		}
		wait = min(2*wait, r.retryMax)
		st, err := r.open(r.life)
		if err != nil {
			r.log.Warn("the store does not open yet", "attempt", attempt, "err", err)
			r.mu.Lock()
			r.broken = g.classify(err)
			r.mu.Unlock()
			continue
		}
		r.mu.Lock()
		if r.closed {
			r.mu.Unlock()
			st.Close()
			return
		}
		r.cur, r.broken = newGeneration(st), nil
		r.mu.Unlock()
		r.log.Info("the store is open again", "attempts", attempt)
		return
	}
}

// probe checks the store every probeEvery until Close.
func (r *Reopening) probe() {
	defer r.bg.Done()
	t := time.NewTicker(r.probeEvery)
	defer t.Stop()
	for {
		select {
		case <-r.life.Done():
			return
		case <-t.C:
		}
		ctx, cancel := context.WithTimeout(r.life, r.probeEvery)
		// A failure starts the reopening (after); a store being opened
		// again answers at once.
		r.Check(ctx)
		cancel()
	}
}

// Close stops opening the store again and closes it, after the calls in
// flight.
func (r *Reopening) Close() error {
	r.mu.Lock()
	if r.closed {
		r.mu.Unlock()
		return nil
	}
	r.closed = true
	g := r.cur
	r.cur = nil
	r.mu.Unlock()
	r.endLife()
	r.bg.Wait()
	if g == nil {
		return nil
	}
	g.calls.Wait()
	return g.st.Close()
}

// call runs f on the current generation's store.
func call[T any](r *Reopening, ctx context.Context, f func(context.Context, crmlink.Store) (T, error)) (T, error) {
	g, ctx, done, err := r.enter(ctx)
	if err != nil {
		var zero T
		return zero, err
	}
	defer done()
	v, err := f(ctx, g.st)
	return v, r.after(g, err)
}

// do runs f on the current generation's store.
func do(r *Reopening, ctx context.Context, f func(context.Context, crmlink.Store) error) error {
	_, err := call(r, ctx, func(ctx context.Context, st crmlink.Store) (struct{}, error) { return struct{}{}, f(ctx, st) })
	return err
}

var _ crmlink.Store = (*Reopening)(nil)

// The methods below run the engine's own on the store open now, and
// answer Unavailable while it is being opened again: see crmlink.Store.

// Check probes the current store; while it is being opened again, it
// answers why.
func (r *Reopening) Check(ctx context.Context) error {
	return do(r, ctx, func(ctx context.Context, st crmlink.Store) error { return st.Check(ctx) })
}

func (r *Reopening) CreateCounter(ctx context.Context, c *crmlink.Counter) error {
	return do(r, ctx, func(ctx context.Context, st crmlink.Store) error { return st.CreateCounter(ctx, c) })
}

func (r *Reopening) Counter(ctx context.Context, id crmlink.CounterID) (*crmlink.Counter, error) {
	return call(r, ctx, func(ctx context.Context, st crmlink.Store) (*crmlink.Counter, error) { return st.Counter(ctx, id) })
}

func (r *Reopening) Counters(ctx context.Context) ([]*crmlink.Counter, error) {
	return call(r, ctx, func(ctx context.Context, st crmlink.Store) ([]*crmlink.Counter, error) { return st.Counters(ctx) })
}

func (r *Reopening) UpdateCounter(ctx context.Context, c *crmlink.Counter) error {
	return do(r, ctx, func(ctx context.Context, st crmlink.Store) error { return st.UpdateCounter(ctx, c) })
}

func (r *Reopening) CreateToken(ctx context.Context, t *crmlink.Token) error {
	return do(r, ctx, func(ctx context.Context, st crmlink.Store) error { return st.CreateToken(ctx, t) })
}

func (r *Reopening) TokenByHash(ctx context.Context, hash string) (*crmlink.Token, error) {
	return call(r, ctx, func(ctx context.Context, st crmlink.Store) (*crmlink.Token, error) { return st.TokenByHash(ctx, hash) })
}

func (r *Reopening) Tokens(ctx context.Context, counter crmlink.CounterID) ([]*crmlink.Token, error) {
	return call(r, ctx, func(ctx context.Context, st crmlink.Store) ([]*crmlink.Token, error) { return st.Tokens(ctx, counter) })
}

func (r *Reopening) RevokeToken(ctx context.Context, hash string) error {
	return do(r, ctx, func(ctx context.Context, st crmlink.Store) error { return st.RevokeToken(ctx, hash) })
}

func (r *Reopening) ImportSessions(ctx context.Context, up *crmlink.Upload, rd crmlink.SessionReader) error {
	return do(r, ctx, func(ctx context.Context, st crmlink.Store) error { return st.ImportSessions(ctx, up, rd) })
}

func (r *Reopening) SessionStats(ctx context.Context, counter crmlink.CounterID) (crmlink.SessionStats, error) {
	return call(r, ctx, func(ctx context.Context, st crmlink.Store) (crmlink.SessionStats, error) {
		return st.SessionStats(ctx, counter)
	})
}

func (r *Reopening) ClientSessions(ctx context.Context, counter crmlink.CounterID, clientID uint64) ([]crmlink.Session, error) {
	return call(r, ctx, func(ctx context.Context, st crmlink.Store) ([]crmlink.Session, error) {
		return st.ClientSessions(ctx, counter, clientID)
	})
}

func (r *Reopening) Upload(ctx context.Context, counter crmlink.CounterID, id string) (*crmlink.Upload, error) {
	return call(r, ctx, func(ctx context.Context, st crmlink.Store) (*crmlink.Upload, error) {
		return st.Upload(ctx, counter, id)
	})
}

func (r *Reopening) Uploads(ctx context.Context, counter crmlink.CounterID, before time.Time, limit int) ([]*crmlink.Upload, error) {
	return call(r, ctx, func(ctx context.Context, st crmlink.Store) ([]*crmlink.Upload, error) {
		return st.Uploads(ctx, counter, before, limit)
	})
}

func (r *Reopening) UploadContacts(ctx context.Context, up *crmlink.Upload, rd crmlink.ContactReader) error {
	return do(r, ctx, func(ctx context.Context, st crmlink.Store) error { return st.UploadContacts(ctx, up, rd) })
}

func (r *Reopening) UploadOrders(ctx context.Context, up *crmlink.Upload, rd crmlink.OrderReader) error {
	return do(r, ctx, func(ctx context.Context, st crmlink.Store) error { return st.UploadOrders(ctx, up, rd) })
}

func (r *Reopening) AcceptOrders(ctx context.Context, up *crmlink.Upload, rd crmlink.OrderReader) error {
	return do(r, ctx, func(ctx context.Context, st crmlink.Store) error { return st.AcceptOrders(ctx, up, rd) })
}

func (r *Reopening) SyncUploads(ctx context.Context) error {
	return do(r, ctx, func(ctx context.Context, st crmlink.Store) error { return st.SyncUploads(ctx) })
}

func (r *Reopening) Contact(ctx context.Context, counter crmlink.CounterID, uniqID string) (*crmlink.Contact, error) {
	return call(r, ctx, func(ctx context.Context, st crmlink.Store) (*crmlink.Contact, error) {
		return st.Contact(ctx, counter, uniqID)
	})
}

func (r *Reopening) CustomerOrders(ctx context.Context, counter crmlink.CounterID, uniqID string, limit int) ([]crmlink.CustomerOrder, error) {
	return call(r, ctx, func(ctx context.Context, st crmlink.Store) ([]crmlink.CustomerOrder, error) {
		return st.CustomerOrders(ctx, counter, uniqID, limit)
	})
}

func (r *Reopening) Order(ctx context.Context, counter crmlink.CounterID, id string) (*crmlink.Order, []crmlink.OrderVersion, error) {
	var versions []crmlink.OrderVersion
	o, err := call(r, ctx, func(ctx context.Context, st crmlink.Store) (*crmlink.Order, error) {
		o, v, err := st.Order(ctx, counter, id)
		versions = v
		return o, err
	})
	return o, versions, err
}

func (r *Reopening) StatusMappings(ctx context.Context, counter crmlink.CounterID) ([]crmlink.StatusMapping, error) {
	return call(r, ctx, func(ctx context.Context, st crmlink.Store) ([]crmlink.StatusMapping, error) {
		return st.StatusMappings(ctx, counter)
	})
}

func (r *Reopening) SetStatusMappings(ctx context.Context, counter crmlink.CounterID, m []crmlink.StatusMapping) error {
	return do(r, ctx, func(ctx context.Context, st crmlink.Store) error { return st.SetStatusMappings(ctx, counter, m) })
}

func (r *Reopening) UploadOfflineConversions(ctx context.Context, up *crmlink.Upload, rd crmlink.OfflineConversionReader) error {
	return do(r, ctx, func(ctx context.Context, st crmlink.Store) error { return st.UploadOfflineConversions(ctx, up, rd) })
}

func (r *Reopening) OfflineConversions(ctx context.Context, counter crmlink.CounterID, uploadID string) ([]crmlink.OfflineConversion, error) {
	return call(r, ctx, func(ctx context.Context, st crmlink.Store) ([]crmlink.OfflineConversion, error) {
		return st.OfflineConversions(ctx, counter, uploadID)
	})
}

func (r *Reopening) Relink(ctx context.Context, counter crmlink.CounterID) (crmlink.LinkStats, error) {
	return call(r, ctx, func(ctx context.Context, st crmlink.Store) (crmlink.LinkStats, error) { return st.Relink(ctx, counter) })
}

func (r *Reopening) RelinkUpload(ctx context.Context, counter crmlink.CounterID, uploadID string) (crmlink.LinkStats, error) {
	return call(r, ctx, func(ctx context.Context, st crmlink.Store) (crmlink.LinkStats, error) {
		return st.RelinkUpload(ctx, counter, uploadID)
	})
}

func (r *Reopening) UnlinkedOrders(ctx context.Context, q crmlink.UnlinkedQuery) ([]crmlink.UnlinkedOrder, error) {
	return call(r, ctx, func(ctx context.Context, st crmlink.Store) ([]crmlink.UnlinkedOrder, error) {
		return st.UnlinkedOrders(ctx, q)
	})
}

func (r *Reopening) OrderLink(ctx context.Context, counter crmlink.CounterID, orderID string) (*crmlink.OrderLink, error) {
	return call(r, ctx, func(ctx context.Context, st crmlink.Store) (*crmlink.OrderLink, error) {
		return st.OrderLink(ctx, counter, orderID)
	})
}

func (r *Reopening) Goals(ctx context.Context, counter crmlink.CounterID) ([]crmlink.Goal, error) {
	return call(r, ctx, func(ctx context.Context, st crmlink.Store) ([]crmlink.Goal, error) { return st.Goals(ctx, counter) })
}

func (r *Reopening) GoalReaches(ctx context.Context, counter crmlink.CounterID, orderID string) ([]crmlink.GoalReach, error) {
	return call(r, ctx, func(ctx context.Context, st crmlink.Store) ([]crmlink.GoalReach, error) {
		return st.GoalReaches(ctx, counter, orderID)
	})
}

func (r *Reopening) SessionGoalReaches(ctx context.Context, counter crmlink.CounterID, sessions []uint64) ([]crmlink.GoalReach, error) {
	return call(r, ctx, func(ctx context.Context, st crmlink.Store) ([]crmlink.GoalReach, error) {
		return st.SessionGoalReaches(ctx, counter, sessions)
	})
}

func (r *Reopening) CreateUser(ctx context.Context, u *crmlink.User) error {
	return do(r, ctx, func(ctx context.Context, st crmlink.Store) error { return st.CreateUser(ctx, u) })
}

func (r *Reopening) User(ctx context.Context, name string) (*crmlink.User, error) {
	return call(r, ctx, func(ctx context.Context, st crmlink.Store) (*crmlink.User, error) { return st.User(ctx, name) })
}

func (r *Reopening) Users(ctx context.Context, counter crmlink.CounterID) ([]*crmlink.User, error) {
	return call(r, ctx, func(ctx context.Context, st crmlink.Store) ([]*crmlink.User, error) { return st.Users(ctx, counter) })
}

func (r *Reopening) SetUserPassword(ctx context.Context, name, hash string) error {
	return do(r, ctx, func(ctx context.Context, st crmlink.Store) error { return st.SetUserPassword(ctx, name, hash) })
}

func (r *Reopening) DeleteUser(ctx context.Context, name string) error {
	return do(r, ctx, func(ctx context.Context, st crmlink.Store) error { return st.DeleteUser(ctx, name) })
}

func (r *Reopening) CreateWebSession(ctx context.Context, s *crmlink.WebSession) error {
	return do(r, ctx, func(ctx context.Context, st crmlink.Store) error { return st.CreateWebSession(ctx, s) })
}

func (r *Reopening) WebSession(ctx context.Context, hash string, now time.Time) (*crmlink.WebSession, error) {
	return call(r, ctx, func(ctx context.Context, st crmlink.Store) (*crmlink.WebSession, error) {
		return st.WebSession(ctx, hash, now)
	})
}

func (r *Reopening) DeleteWebSession(ctx context.Context, hash string) error {
	return do(r, ctx, func(ctx context.Context, st crmlink.Store) error { return st.DeleteWebSession(ctx, hash) })
}

func (r *Reopening) WriteHits(ctx context.Context, hits []crmlink.SessionHit) error {
	return do(r, ctx, func(ctx context.Context, st crmlink.Store) error { return st.WriteHits(ctx, hits) })
}

func (r *Reopening) SyncHits(ctx context.Context) error {
	return do(r, ctx, func(ctx context.Context, st crmlink.Store) error { return st.SyncHits(ctx) })
}

func (r *Reopening) LastSessions(ctx context.Context, counter crmlink.CounterID, clientIDs []uint64) (map[uint64]*crmlink.Session, error) {
	return call(r, ctx, func(ctx context.Context, st crmlink.Store) (map[uint64]*crmlink.Session, error) {
		return st.LastSessions(ctx, counter, clientIDs)
	})
}

func (r *Reopening) Report(ctx context.Context, q *crmlink.ReportQuery) (*crmlink.ReportResult, error) {
	return call(r, ctx, func(ctx context.Context, st crmlink.Store) (*crmlink.ReportResult, error) { return st.Report(ctx, q) })
}

func (r *Reopening) Clients(ctx context.Context, q *crmlink.ClientsQuery) (*crmlink.ClientsResult, error) {
	return call(r, ctx, func(ctx context.Context, st crmlink.Store) (*crmlink.ClientsResult, error) { return st.Clients(ctx, q) })
}

func (r *Reopening) CreateSegment(ctx context.Context, sg *crmlink.Segment) error {
	return do(r, ctx, func(ctx context.Context, st crmlink.Store) error { return st.CreateSegment(ctx, sg) })
}

func (r *Reopening) Segment(ctx context.Context, counter crmlink.CounterID, id crmlink.SegmentID) (*crmlink.Segment, error) {
	return call(r, ctx, func(ctx context.Context, st crmlink.Store) (*crmlink.Segment, error) {
		return st.Segment(ctx, counter, id)
	})
}

func (r *Reopening) Segments(ctx context.Context, counter crmlink.CounterID) ([]*crmlink.Segment, error) {
	return call(r, ctx, func(ctx context.Context, st crmlink.Store) ([]*crmlink.Segment, error) {
		return st.Segments(ctx, counter)
	})
}

func (r *Reopening) UpdateSegment(ctx context.Context, sg *crmlink.Segment) error {
	return do(r, ctx, func(ctx context.Context, st crmlink.Store) error { return st.UpdateSegment(ctx, sg) })
}

func (r *Reopening) DeleteSegment(ctx context.Context, counter crmlink.CounterID, id crmlink.SegmentID) error {
	return do(r, ctx, func(ctx context.Context, st crmlink.Store) error { return st.DeleteSegment(ctx, counter, id) })
}

func (r *Reopening) SegmentSize(ctx context.Context, p *crmlink.SegmentPlan) (crmlink.SegmentSize, error) {
	return call(r, ctx, func(ctx context.Context, st crmlink.Store) (crmlink.SegmentSize, error) {
		return st.SegmentSize(ctx, p)
	})
}

func (r *Reopening) SegmentMembers(ctx context.Context, p *crmlink.SegmentPlan, offset, limit int) ([]crmlink.SegmentMember, error) {
	return call(r, ctx, func(ctx context.Context, st crmlink.Store) ([]crmlink.SegmentMember, error) {
		return st.SegmentMembers(ctx, p, offset, limit)
	})
}

func (r *Reopening) SegmentAudience(ctx context.Context, p *crmlink.SegmentPlan, each func(m *crmlink.AudienceMember) error) error {
	return do(r, ctx, func(ctx context.Context, st crmlink.Store) error { return st.SegmentAudience(ctx, p, each) })
}

func (r *Reopening) RecordSegmentExport(ctx context.Context, e *crmlink.SegmentExport) error {
	return do(r, ctx, func(ctx context.Context, st crmlink.Store) error { return st.RecordSegmentExport(ctx, e) })
}

func (r *Reopening) SegmentExports(ctx context.Context, counter crmlink.CounterID, segment crmlink.SegmentID, limit int) ([]crmlink.SegmentExport, error) {
	return call(r, ctx, func(ctx context.Context, st crmlink.Store) ([]crmlink.SegmentExport, error) {
		return st.SegmentExports(ctx, counter, segment, limit)
	})
}

func (r *Reopening) SetAudienceTarget(ctx context.Context, t *crmlink.AudienceTarget) error {
	return do(r, ctx, func(ctx context.Context, st crmlink.Store) error { return st.SetAudienceTarget(ctx, t) })
}

func (r *Reopening) AudienceTarget(ctx context.Context, counter crmlink.CounterID, platform string) (*crmlink.AudienceTarget, error) {
	return call(r, ctx, func(ctx context.Context, st crmlink.Store) (*crmlink.AudienceTarget, error) {
		return st.AudienceTarget(ctx, counter, platform)
	})
}

func (r *Reopening) SetSegmentPush(ctx context.Context, p *crmlink.SegmentPush) error {
	return do(r, ctx, func(ctx context.Context, st crmlink.Store) error { return st.SetSegmentPush(ctx, p) })
}

func (r *Reopening) SegmentPushes(ctx context.Context, counter crmlink.CounterID) ([]crmlink.SegmentPush, error) {
	return call(r, ctx, func(ctx context.Context, st crmlink.Store) ([]crmlink.SegmentPush, error) {
		return st.SegmentPushes(ctx, counter)
	})
}

func (r *Reopening) UploadExpenses(ctx context.Context, up *crmlink.Upload, x *crmlink.ExpenseUpload, rd crmlink.ExpenseReader) error {
	return do(r, ctx, func(ctx context.Context, st crmlink.Store) error { return st.UploadExpenses(ctx, up, x, rd) })
}

func (r *Reopening) DeleteExpenses(ctx context.Context, up *crmlink.Upload, x *crmlink.ExpenseUpload, rd crmlink.ExpenseReader) error {
	return do(r, ctx, func(ctx context.Context, st crmlink.Store) error { return st.DeleteExpenses(ctx, up, x, rd) })
}

func (r *Reopening) ExpenseUploadInfo(ctx context.Context, counter crmlink.CounterID, uploadID string) (*crmlink.ExpenseUpload, error) {
	return call(r, ctx, func(ctx context.Context, st crmlink.Store) (*crmlink.ExpenseUpload, error) {
		return st.ExpenseUploadInfo(ctx, counter, uploadID)
	})
}

func (r *Reopening) ExpenseDays(ctx context.Context, counter crmlink.CounterID, from, to time.Time) ([]crmlink.ExpenseDay, error) {
	return call(r, ctx, func(ctx context.Context, st crmlink.Store) ([]crmlink.ExpenseDay, error) {
		return st.ExpenseDays(ctx, counter, from, to)
	})
}

func (r *Reopening) Conversions(ctx context.Context, q crmlink.ConversionQuery, each func(c *crmlink.Conversion) error) error {
	return do(r, ctx, func(ctx context.Context, st crmlink.Store) error { return st.Conversions(ctx, q, each) })
}

func (r *Reopening) SaveSchemaAttributes(ctx context.Context, counter crmlink.CounterID, entity string, attrs []crmlink.SchemaAttribute) error {
	return do(r, ctx, func(ctx context.Context, st crmlink.Store) error {
		return st.SaveSchemaAttributes(ctx, counter, entity, attrs)
	})
}

func (r *Reopening) SchemaAttributes(ctx context.Context, counter crmlink.CounterID, entity string) ([]crmlink.SchemaAttribute, error) {
	return call(r, ctx, func(ctx context.Context, st crmlink.Store) ([]crmlink.SchemaAttribute, error) {
		return st.SchemaAttributes(ctx, counter, entity)
	})
}

func (r *Reopening) SaveProducts(ctx context.Context, counter crmlink.CounterID, items []crmlink.ProductItem) error {
	return do(r, ctx, func(ctx context.Context, st crmlink.Store) error { return st.SaveProducts(ctx, counter, items) })
}

func (r *Reopening) Products(ctx context.Context, counter crmlink.CounterID) ([]crmlink.ProductItem, error) {
	return call(r, ctx, func(ctx context.Context, st crmlink.Store) ([]crmlink.ProductItem, error) {
		return st.Products(ctx, counter)
	})
}

func (r *Reopening) CreateGoal(ctx context.Context, g *crmlink.Goal) error {
	return do(r, ctx, func(ctx context.Context, st crmlink.Store) error { return st.CreateGoal(ctx, g) })
}

func (r *Reopening) UpdateGoal(ctx context.Context, g *crmlink.Goal) error {
	return do(r, ctx, func(ctx context.Context, st crmlink.Store) error { return st.UpdateGoal(ctx, g) })
}

func (r *Reopening) DeleteGoal(ctx context.Context, counter crmlink.CounterID, id int64) error {
	return do(r, ctx, func(ctx context.Context, st crmlink.Store) error { return st.DeleteGoal(ctx, counter, id) })
}
