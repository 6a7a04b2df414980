package collect

import (
	"context"
	"errors"
	"math/rand/v2"
	"sync"
	"sync/atomic"
	"time"

	"github.com/crmlink/crmlink"
)

// Config configures a Collector.
type Config struct {
	Store interface {
		crmlink.HitStore
		Counter(ctx context.Context, id crmlink.CounterID) (*crmlink.Counter, error)
	}
	Clock    crmlink.Clock
	Enricher *Enricher
	// MaxBatch is the most hits one transaction stores; MaxWait the
	// longest a batch waits for more hits after its first; Linger how long
	// it waits for the next hit once none is queued. A batch closes at the
	// first of the three: under load hits keep coming and batches grow;
	// a lone hit waits Linger only. Defaults 2000, 20ms and 1ms.
	MaxBatch int
	MaxWait  time.Duration
	Linger   time.Duration
}

// maxLookup is the most ClientIDs one query of the store looks up.
const maxLookup = 1000

// Collector places hits in sessions and stores them in batches.
type Collector struct {
	cfg  Config
	in   chan *pending
	done chan struct{}
	// lookups are ClientIDs the collector does not remember, to look up
	// in the store many at a time.
	lookups    chan *lookup
	lookupDone chan struct{}
	// coming counts hits being validated, enriched and placed: on their
	// way to the writer. A batch waits Linger for more only while some
	// are coming.
	coming atomic.Int64

	mu       sync.Mutex
	qmu      sync.Mutex // held while a hit is placed and queued
	lastID   uint64     // the latest session id made
	sessions map[sessionKey]*sessionState
	counters map[crmlink.CounterID]*counterEntry
	// imports counts the session imports under way by counter, and epochs
	// how many began: a hit placed in an earlier epoch than its counter's
	// when it is stored loses the attribution it was given (Importing).
	// Both are guarded by mu.
	imports  map[crmlink.CounterID]int
	epochs   map[crmlink.CounterID]uint64
	stopOnce sync.Once
	// wmu is held while the writer checks a batch's epochs and stores it.
	wmu sync.Mutex
}

type sessionKey struct {
	counter crmlink.CounterID
	client  uint64
}

type sessionState struct {
	id        uint64
	start     time.Time
	last      time.Time
	pageViews int
	source    crmlink.TrafficSource
	// attr is the session's attribution, when the collector knows it: the
	// next session of the ClientID follows from it (NextAttribution).
	attr crmlink.SessionAttribution
}

type counterEntry struct {
	c       *crmlink.Counter
	fetched time.Time
}

type lookup struct {
	key  sessionKey
	done chan lookupAnswer
}

type lookupAnswer struct {
	last *crmlink.Session
	err  error
}

type pending struct {
	hit   crmlink.SessionHit
	epoch uint64 // the counter's import epoch when the hit was placed
	done  chan error
}

// New starts a collector; Close stops it.
func New(cfg Config) *Collector {
	if cfg.MaxBatch <= 0 {
		cfg.MaxBatch = 2000
	}
	if cfg.MaxWait <= 0 {
		cfg.MaxWait = 20 * time.Millisecond
	}
	if cfg.Linger <= 0 {
		cfg.Linger = time.Millisecond
	}
	c := &Collector{cfg: cfg, in: make(chan *pending, cfg.MaxBatch), done: make(chan struct{}),
		lookups: make(chan *lookup, maxLookup), lookupDone: make(chan struct{}),
		sessions: map[sessionKey]*sessionState{}, counters: map[crmlink.CounterID]*counterEntry{},
		imports: map[crmlink.CounterID]int{}, epochs: map[crmlink.CounterID]uint64{}}
	go c.write()
	go c.lookup()
	return c
}

// Close stores what is queued and stops the writer.
func (c *Collector) Close() {
	c.stopOnce.Do(func() {
		close(c.lookups)
		<-c.lookupDone
		close(c.in)
		<-c.done
	})
}

// counter returns a counter, cached for a minute.
func (c *Collector) counter(ctx context.Context, id crmlink.CounterID) (*crmlink.Counter, error) {
	now := c.cfg.Clock.Now()
	c.mu.Lock()
	e := c.counters[id]
	c.mu.Unlock()
	if e != nil && now.Sub(e.fetched) < time.Minute {
		if e.c == nil {
			return nil, crmlink.Errorf(crmlink.KindNotFound, "no counter %d", id)
		}
		return e.c, nil
	}
	cnt, err := c.cfg.Store.Counter(ctx, id)
	if crmlink.KindOf(err) == crmlink.KindNotFound {
		// Remembered too, for a minute: hits to a counter that does not
		// exist (a typo, or garbage) must not cost a query each.
		c.mu.Lock()
		c.counters[id] = &counterEntry{fetched: now}
		c.mu.Unlock()
		return nil, err
	}
	if err != nil {
		return nil, err
	}
	c.mu.Lock()
	c.counters[id] = &counterEntry{c: cnt, fetched: now}
	c.mu.Unlock()
	return cnt, nil
}

// Collect enriches a hit, places it in its session and waits until its
// batch is stored. A nil error means the hit is durable.
func (c *Collector) Collect(ctx context.Context, w *Wire, counter crmlink.CounterID, r *Request) error {
	c.coming.Add(1)
	queued := false
	defer func() {
		if !queued {
			c.coming.Add(-1)
		}
	}()
	h, err := w.Validate(counter)
	if err != nil {
		return err
	}
	cnt, err := c.counter(ctx, counter)
	if err != nil {
		return err
	}
	r.Site = cnt.Site
	r.Webdriver = w.Webdriver
	h.Time = c.cfg.Clock.Now().UTC()
	c.cfg.Enricher.Enrich(h, r)
	last, known, err := c.remembered(ctx, h)
	if err != nil {
		return err
	}
	// Placing and queueing happen together, so that hits reach the writer
	// in the order they were placed: a hit that continues a session never
	// goes to the store before the hit that opened it.
	c.qmu.Lock()
	sh, epoch := c.place(h, cnt, last, known)
	p := &pending{hit: sh, epoch: epoch, done: make(chan error, 1)}
	select {
	case c.in <- p:
		queued = true
		c.coming.Add(-1)
	case <-ctx.Done():
		c.qmu.Unlock()
		return ctx.Err()
	}
	c.qmu.Unlock()
	select {
	case err := <-p.done:
		return err
	case <-ctx.Done():
		return ctx.Err()
	}
}

// remembered returns the ClientID's latest stored session when the
// collector does not remember the ClientID (a restart, another day).
func (c *Collector) remembered(ctx context.Context, h *crmlink.Hit) (*crmlink.Session, bool, error) {
	k := sessionKey{h.CounterID, h.ClientID}
	c.mu.Lock()
	_, known := c.sessions[k]
	c.mu.Unlock()
	if known {
		return nil, true, nil
	}
	last, err := c.lastSession(ctx, k)
	return last, false, err
}

// place puts a hit in its ClientID's session: the current one, unless the
// counter's idle timeout passed or the hit brings a new external source.
// A new session is attributed from the ClientID's previous one, when the
// collector knows it (or knows there is none) and no import of the
// counter's sessions is under way. It returns the counter's import epoch
// too.
func (c *Collector) place(h *crmlink.Hit, cnt *crmlink.Counter, last *crmlink.Session, known bool) (crmlink.SessionHit, uint64) {
	k := sessionKey{h.CounterID, h.ClientID}
	c.mu.Lock()
	defer c.mu.Unlock()
	st := c.sessions[k] // another hit of this ClientID may have got here first
	// The ClientID has no session at all: neither remembered (nor
	// forgotten since it was) nor stored.
	none := st == nil && !known && last == nil
	if st == nil && !known && last != nil {
		st = &sessionState{id: last.ID, start: last.Start, last: last.Start.Add(last.Duration), pageViews: last.PageViews, source: last.Source,
			attr: last.Attribution}
	}
	timeout := cnt.SessionTimeout
	if timeout <= 0 {
		timeout = crmlink.DefaultSessionTimeout
	}
	fresh := st == nil || h.Time.Sub(st.last) > timeout ||
		(h.Kind == crmlink.HitPageview && h.External && !sameSource(st.source, h.Source))
	sh := crmlink.SessionHit{Hit: *h}
	if fresh {
		id := c.newSessionID(h.Time)
		var attr crmlink.SessionAttribution
		switch {
		case c.imports[h.CounterID] > 0:
		case none:
			attr = crmlink.NextAttribution(nil, id, h.Source)
		case st != nil && st.attr.Known() && (h.Time.After(st.start) || h.Time.Equal(st.start) && id > st.id):
			attr = crmlink.NextAttribution(&st.attr, id, h.Source)
		}
		st = &sessionState{id: id, start: h.Time, source: h.Source, attr: attr}
		sh.New, sh.Attribution = true, attr
	}
	if h.Kind == crmlink.HitPageview {
		st.pageViews++
	}
	st.last = h.Time
	c.sessions[k] = st
	sh.SessionID, sh.Start, sh.Duration, sh.PageViews = st.id, st.start, h.Time.Sub(st.start), st.pageViews
	return sh, c.epochs[h.CounterID]
}

// Importing tells the collector that an import of a counter's sessions
// begins, and returns the function that tells it the import ended. An
// import changes the attribution of the ClientIDs' later sessions, which
// the collector derives from what it remembers: from now on it gives the
// counter's new sessions no attribution (the engine derives it from the
// stored sessions), neither to hits placed earlier and stored after this
// call, nor to those placed until the import ends; the ClientIDs it
// remembers stay without one until it forgets them. The caller then has
// the store apply the hits stored before (SyncHits), so that the import
// mends their sessions.
func (c *Collector) Importing(counter crmlink.CounterID) (end func()) {
	c.wmu.Lock() // no batch is being stored
	c.mu.Lock()
	c.imports[counter]++
	c.epochs[counter]++
	for k, st := range c.sessions {
		if k.counter == counter {
			st.attr = crmlink.SessionAttribution{}
		}
	}
	c.mu.Unlock()
	c.wmu.Unlock()
	var once sync.Once
	return func() {
		once.Do(func() {
			c.mu.Lock()
			c.imports[counter]--
			c.mu.Unlock()
		})
	}
}

// lastSession asks the lookup loop for a ClientID's latest stored session.
func (c *Collector) lastSession(ctx context.Context, k sessionKey) (*crmlink.Session, error) {
	l := &lookup{key: k, done: make(chan lookupAnswer, 1)}
	select {
	case c.lookups <- l:
	case <-ctx.Done():
		return nil, ctx.Err()
	}
	select {
	case a := <-l.done:
		return a.last, a.err
	case <-ctx.Done():
		return nil, ctx.Err()
	}
}

// lookup looks up the ClientIDs queued while its previous query ran, in
// one query per counter: a query of the store costs about the same for
// one ClientID as for a thousand.
func (c *Collector) lookup() {
	defer close(c.lookupDone)
	batch := make([]*lookup, 0, maxLookup)
	for first := range c.lookups {
		batch = append(batch[:0], first)
	drain:
		for len(batch) < maxLookup {
			select {
			case l, ok := <-c.lookups:
				if !ok {
					break drain
				}
				batch = append(batch, l)
			default:
				break drain
			}
		}
		byCounter := map[crmlink.CounterID][]uint64{}
		for _, l := range batch {
			byCounter[l.key.counter] = append(byCounter[l.key.counter], l.key.client)
		}
		found := map[crmlink.CounterID]map[uint64]*crmlink.Session{}
		errs := map[crmlink.CounterID]error{}
		for id, clients := range byCounter {
			found[id], errs[id] = c.cfg.Store.LastSessions(context.Background(), id, clients)
		}
		for _, l := range batch {
			if err := errs[l.key.counter]; err != nil {
				l.done <- lookupAnswer{err: err}
			} else {
				l.done <- lookupAnswer{last: found[l.key.counter][l.key.client]}
			}
		}
	}
}

func sameSource(a, b crmlink.TrafficSource) bool {
	return a.Kind == b.Kind && a.Engine == b.Engine && a.UTMSource == b.UTMSource && a.UTMMedium == b.UTMMedium &&
		a.UTMCampaign == b.UTMCampaign && a.UTMContent == b.UTMContent && a.UTMTerm == b.UTMTerm && a.ClickID == b.ClickID
}

// newSessionID makes an id that grows with time (the start's milliseconds
// in the high bits): recent sessions sit together in the store, which
// finds them without reading older ones. The low bits are random, but
// never at or below the previous id: a thousand sessions opened in one
// millisecond would otherwise share an id about one time in three, and a
// hit of one would count in the other. The caller holds c.mu.
func (c *Collector) newSessionID(t time.Time) uint64 {
	id := uint64(t.UnixMilli())<<20 | rand.Uint64N(1<<20)
	if id <= c.lastID {
		id = c.lastID + 1
	}
	c.lastID = id
	return id
}

// write stores queued hits in batches: one transaction per batch, every
// waiting hit answered when it commits.
func (c *Collector) write() {
	defer close(c.done)
	batch := make([]*pending, 0, c.cfg.MaxBatch)
	hits := make([]crmlink.SessionHit, 0, c.cfg.MaxBatch)
	timer := time.NewTimer(time.Hour)
	timer.Stop()
	for first := range c.in {
		batch = append(batch[:0], first)
		deadline := time.Now().Add(c.cfg.MaxWait)
	fill:
		for len(batch) < c.cfg.MaxBatch {
			// What is queued joins without waiting.
			select {
			case p, ok := <-c.in:
				if !ok {
					break fill
				}
				batch = append(batch, p)
				continue
			default:
			}
			// Then the next hit, if one is on its way and comes within
			// Linger: when none is, waiting would only delay the answers.
			if c.coming.Load() == 0 {
				break
			}
			wait := min(c.cfg.Linger, time.Until(deadline))
			if wait <= 0 {
				break
			}
			timer.Reset(wait)
			select {
			case p, ok := <-c.in:
				timer.Stop()
				if !ok {
					break fill
				}
				batch = append(batch, p)
			case <-timer.C:
				break fill
			}
		}
		c.wmu.Lock()
		hits = hits[:0]
		c.mu.Lock()
		for _, p := range batch {
			h := p.hit
			if p.epoch != c.epochs[h.CounterID] {
				h.Attribution = crmlink.SessionAttribution{} // placed before an import began
			}
			hits = append(hits, h)
		}
		c.mu.Unlock()
		err := c.cfg.Store.WriteHits(context.Background(), hits)
		c.wmu.Unlock()
		if err != nil {
			// The sessions these hits opened were not stored: forget them,
			// so the ClientIDs' next hits start from the store's state.
			c.mu.Lock()
			for _, p := range batch {
				delete(c.sessions, sessionKey{p.hit.CounterID, p.hit.ClientID})
			}
			c.mu.Unlock()
			why := ""
			if crmlink.KindOf(err) != crmlink.KindInternal {
				why = " (" + crmlink.MessageOf(err) + ")"
			}
			err = errors.Join(crmlink.Errorf(crmlink.KindUnavailable, "hits not stored%s; send again", why), err)
		}
		for _, p := range batch {
			p.done <- err
		}
	}
}

// Forget drops sessions idle for longer than the longest timeout, so the
// collector's memory follows the live visitors; the store remembers the
// rest.
func (c *Collector) Forget(idle time.Duration) int {
	now := c.cfg.Clock.Now()
	c.mu.Lock()
	defer c.mu.Unlock()
	n := 0
	for k, st := range c.sessions {
		if now.Sub(st.last) > idle {
			delete(c.sessions, k)
			n++
		}
	}
	return n
}
