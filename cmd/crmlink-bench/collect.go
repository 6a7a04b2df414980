package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"math/rand/v2"
	"net"
	"net/url"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"sort"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/crmlink/crmlink"
	"github.com/crmlink/crmlink/duckdb"
	"github.com/crmlink/crmlink/gen"
	"github.com/crmlink/crmlink/internal/cli"
	"github.com/crmlink/crmlink/sessionfile"
)

// collectBench is `crmlink-bench collect`: simulated visitors send the
// tag's hits to /collect/{counter} over loopback, each with its own
// ClientID kept across its hits, and the bench reports hits/s, latency and
// whether every acknowledged hit is in the store.
type collectBench struct {
	base        string // the server's URL
	counter     crmlink.CounterID
	site        string
	duration    time.Duration
	concurrency int
	clients     int
	maxHits     int64
	timeout     time.Duration
	seed        uint64
	loader      string // "go" (run, in this process) or "wrk" (runWrk)
	history     int    // sessions imported into the fresh store first
}

func benchCollectCmd(ctx context.Context, args []string, e *cli.Env) error {
	fs := flags("collect", e)
	serverURL := fs.String("url", "", "send to this server (default: start `crmlink serve` on 127.0.0.1 with a fresh store)")
	serveBin := serveBinaryFlag(fs)
	counter := fs.String("counter", "", "the counter to send to (required with --url)")
	duration := fs.Duration("duration", 20*time.Second, "how long to send")
	concurrency := fs.Int("concurrency", 50, "requests in flight (connections)")
	clients := fs.Int("clients", 20000, "distinct visitors (ClientIDs)")
	maxHits := fs.Int64("max-hits", 10_000_000, "stop after this many hits even before --duration")
	timeout := fs.Duration("timeout", 10*time.Second, "a request's timeout")
	seed := fs.Uint64("seed", 1, "random seed")
	site := fs.String("site", "shop.example", "the site's host (a new counter's, and the pages')")
	tmp := fs.String("dir", os.TempDir(), "where to put the fresh store")
	storeOpts := fs.String("store-options", "", "DuckDB settings for the fresh store, as URL query: memory_limit=1GB&threads=2")
	history := fs.Int("history", 0, "sessions to generate and import into the fresh store before the hits: the collector on a site with a past")
	loader := fs.String("loader", "go", "the load generator: go (this program's own) or wrk (wrk on the PATH, with the same hits; the tool GoatCounter's reference figure was measured with)")
	pos, err := cli.Parse(fs, args)
	if err != nil {
		return err
	}
	if len(pos) > 0 {
		return cli.Usagef("collect takes no arguments, got %q", pos)
	}
	if *duration <= 0 || *concurrency < 1 || *clients < 1 || *maxHits < 1 {
		return cli.Usagef("collect: --duration, --concurrency, --clients and --max-hits must be positive")
	}
	if *history < 0 {
		return cli.Usagef("collect: --history must not be negative")
	}
	if *clients < *concurrency {
		return cli.Usagef("collect: --clients %d: want at least --concurrency (%d), each visitor's hits go one at a time", *clients, *concurrency)
	}
	switch *loader {
	case "go":
	case "wrk":
		set := false
		fs.Visit(func(f *flag.Flag) { set = set || f.Name == "max-hits" })
		if set {
			return cli.Usagef("collect: --max-hits: wrk is bounded by --duration only")
		}
		if *duration < time.Second {
			return cli.Usagef("collect: --duration %s: wrk runs whole seconds, want at least 1s", *duration)
		}
	default:
		return cli.Usagef("collect: --loader %q: want go or wrk", *loader)
	}
	b := &collectBench{site: *site, duration: *duration, concurrency: *concurrency, clients: *clients,
		maxHits: *maxHits, timeout: *timeout, seed: *seed, loader: *loader, history: *history}
	fmt.Fprintf(e.Stdout, "machine: %s/%s, %d CPUs, %s\n", runtime.GOOS, runtime.GOARCH, runtime.NumCPU(), runtime.Version())
	if *serverURL != "" {
		if *counter == "" {
			return cli.Usagef("collect: --url needs --counter")
		}
		if *history > 0 {
			return cli.Usagef("collect: --history fills a fresh store, not the one at --url")
		}
		if *serveBin != "" {
			return cli.Usagef("collect: --serve-binary starts a server of its own, not the one at --url")
		}
		if b.counter, err = crmlink.ParseCounterID(*counter); err != nil {
			return cli.Usagef("collect: --counter %q: %v", *counter, err)
		}
		b.base = strings.TrimRight(*serverURL, "/")
		res, err := b.send(ctx, e.Stdout)
		if err != nil {
			return err
		}
		res.print(e.Stdout)
		fmt.Fprintf(e.Stdout, "stored: not counted (the store belongs to the server at %s)\n", b.base)
		return nil
	}
	if *counter != "" {
		return cli.Usagef("collect: --counter goes with --url (a fresh store gets its own counter)")
	}
	dir, err := os.MkdirTemp(*tmp, "crmlink-bench-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(dir)
	bin, err := serveBinary(ctx, *serveBin, dir, e)
	if err != nil {
		return err
	}
	return b.withChild(ctx, dir, *storeOpts, bin, e)
}

// withChild runs the bench against a child `bin serve` on a fresh store,
// then stops it gracefully and counts what its store holds.
func (b *collectBench) withChild(ctx context.Context, dir, storeOpts, bin string, e *cli.Env) error {
	storeURL := benchStoreURL(dir, storeOpts)
	st, err := duckdb.Open(ctx, storeURL, e.Clock)
	if err != nil {
		return err
	}
	c := &crmlink.Counter{Name: "Bench", Site: b.site, TimeZone: "Europe/Moscow", Currency: "RUB"}
	err = c.Normalize()
	if err == nil {
		err = st.CreateCounter(ctx, c)
	}
	// The facts the history holds, which the hits' are counted beyond.
	var base facts
	if err == nil && b.history > 0 {
		if err = b.importHistory(ctx, st, c, dir, e); err == nil {
			base, err = countStored(ctx, st, c.ID)
		}
	}
	if cerr := st.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return err
	}
	b.counter, b.site = c.ID, c.Site
	srv, err := startBenchServer(ctx, bin, storeURL, e, nil)
	if err != nil {
		return err
	}
	defer srv.stop()
	b.base = srv.base
	server0, ok0 := procCPU(srv.cmd.Process.Pid)
	loader0, ok1 := procCPU(os.Getpid())
	res, err := b.send(ctx, e.Stdout)
	if err != nil {
		return err
	}
	server1, ok2 := procCPU(srv.cmd.Process.Pid)
	loader1, ok3 := procCPU(os.Getpid())
	rss := srv.peakRSS()
	took, werr := srv.stop()
	res.print(e.Stdout)
	if ok0 && ok1 && ok2 && ok3 {
		// CPU time per hit moves less with the machine's speed than hits/s
		// do: the figure to compare builds by. The load generator's is
		// this process's, and wrk's when it sent.
		server, loader := server1-server0, loader1-loader0+res.childCPU()
		perHit := func(d time.Duration) float64 { return float64(d.Microseconds()) / float64(res.hits()) }
		fmt.Fprintf(e.Stdout, "CPU per hit: server %.1f µs, load generator %.1f µs (%.2f and %.2f cores)\n",
			perHit(server), perHit(loader), server.Seconds()/res.took().Seconds(), loader.Seconds()/res.took().Seconds())
	}
	fmt.Fprintf(e.Stdout, "server: peak RSS %s; graceful shutdown %s\n", rss, took.Round(time.Millisecond))
	if werr != nil {
		return fmt.Errorf("the server did not stop cleanly: %w", werr)
	}
	st, err = duckdb.Open(ctx, storeURL, e.Clock)
	if err != nil {
		return err
	}
	defer st.Close()
	stored, err := countStored(ctx, st, b.counter)
	if err != nil {
		return err
	}
	return res.compare(e.Stdout, stored.minus(base))
}

// importHistory generates --history sessions of the last 90 days and
// imports them, as a site with a past would have them.
func (b *collectBench) importHistory(ctx context.Context, st *duckdb.Store, c *crmlink.Counter, dir string, e *cli.Env) error {
	loc, err := c.Location()
	if err != nil {
		return err
	}
	cfg := gen.Config{Out: filepath.Join(dir, "history"), Seed: b.seed, Sessions: b.history, Days: 90, End: e.Clock.Now(),
		Site: c.Site, Location: loc}
	start := time.Now()
	if _, err := gen.Generate(ctx, cfg); err != nil {
		return err
	}
	defer os.RemoveAll(cfg.Out)
	f, err := os.Open(filepath.Join(cfg.Out, gen.SessionsFile))
	if err != nil {
		return err
	}
	defer f.Close()
	if _, err := cli.ImportSessions(ctx, st, c.ID, sessionfile.FormatCSV, f, e.Clock, "bench"); err != nil {
		return err
	}
	if err := st.Checkpoint(ctx); err != nil {
		return err
	}
	fmt.Fprintf(e.Stdout, "history: %d sessions generated and imported in %s\n", b.history, time.Since(start).Round(time.Millisecond))
	return nil
}

// minus is what f holds beyond base.
func (f facts) minus(base facts) facts {
	return facts{pageViews: f.pageViews - base.pageViews, goals: f.goals - base.goals, purchases: f.purchases - base.purchases,
		identities: f.identities - base.identities, sharedIDs: f.sharedIDs - base.sharedIDs}
}

// facts are the countable facts the hits leave: every page view adds one
// to its session's page_views, every goal hit a goal reach, every purchase
// hit (its id unique) a purchase, every visitor's one email two hashed
// identities.
type facts struct {
	pageViews, goals, purchases, identities int64
	// sharedIDs are sessions whose id another session has too (stored
	// only): the collector's ids must be unique.
	sharedIDs int64
}

func countStored(ctx context.Context, st *duckdb.Store, counter crmlink.CounterID) (facts, error) {
	var f facts
	id := int64(counter)
	for _, q := range []struct {
		sql string
		dst *int64
	}{
		{`SELECT coalesce(sum(page_views), 0) FROM sessions WHERE counter_id = ?`, &f.pageViews},
		{`SELECT count(*) FROM goal_reaches WHERE counter_id = ?`, &f.goals},
		{`SELECT count(*) FROM site_purchases WHERE counter_id = ?`, &f.purchases},
		{`SELECT count(*) FROM site_identities WHERE counter_id = ?`, &f.identities},
		{`SELECT count(*) - count(DISTINCT session_id) FROM sessions WHERE counter_id = ?`, &f.sharedIDs},
	} {
		if err := st.DB().QueryRowContext(ctx, q.sql, id).Scan(q.dst); err != nil {
			return f, fmt.Errorf("count stored hits: %w", err)
		}
	}
	return f, nil
}

// collectResult is what the load generator saw.
type collectResult struct {
	concurrency, clients int
	elapsed              time.Duration
	sent                 int64
	accepted             facts
	acceptedHits         int64
	byKind               map[string]int64 // accepted hits by t
	errors               map[string]int64 // by status or transport error
	latencies            []uint32         // µs, of every answered request
	perSecond            []int64          // answers by second
}

// windowSeconds is the window in which print averages a run of n whole
// seconds, or 0 for a run too short to show a trend.
func windowSeconds(n int) int {
	switch {
	case n >= 30:
		return 10
	case n >= 10:
		return 5
	}
	return 0
}

func (r *collectResult) print(w io.Writer) {
	fmt.Fprintf(w, "collect: %d connections, %d visitors: %d hits in %s: %.0f hits/s (2xx: %d, %.0f/s)\n",
		r.concurrency, r.clients, r.sent, r.elapsed.Round(time.Millisecond), float64(r.sent)/r.elapsed.Seconds(),
		r.acceptedHits, float64(r.acceptedHits)/r.elapsed.Seconds())
	if len(r.perSecond) > 2 {
		// Whole seconds, the first (warm-up) and last (partial) aside.
		mid := slices.Clone(r.perSecond[1 : len(r.perSecond)-1])
		slices.Sort(mid)
		fmt.Fprintf(w, "per second: min %d, median %d, max %d\n", mid[0], mid[len(mid)/2], mid[len(mid)-1])
		// Whether the rate held: the mean of each whole window, in order;
		// 10 s windows once there are three, else 5 s ones.
		whole := r.perSecond[1 : len(r.perSecond)-1]
		if win := windowSeconds(len(whole)); win > 0 {
			fmt.Fprintf(w, "per %d s, in order:", win)
			for i := 0; i+win <= len(whole); i += win {
				var sum int64
				for _, n := range whole[i : i+win] {
					sum += n
				}
				fmt.Fprintf(w, " %d/s", sum/int64(win))
			}
			fmt.Fprintln(w)
		}
	}
	if n := len(r.latencies); n > 0 {
		slices.Sort(r.latencies)
		p := func(q float64) time.Duration {
			return time.Duration(r.latencies[min(n-1, int(q*float64(n)))]) * time.Microsecond
		}
		fmt.Fprintf(w, "latency: p50 %s, p95 %s, p99 %s, max %s\n", p(0.50), p(0.95), p(0.99),
			time.Duration(r.latencies[n-1])*time.Microsecond)
	}
	kinds := make([]string, 0, len(r.byKind))
	for k := range r.byKind {
		kinds = append(kinds, k)
	}
	sort.Strings(kinds)
	var parts []string
	for _, k := range kinds {
		parts = append(parts, fmt.Sprintf("%s %d", k, r.byKind[k]))
	}
	fmt.Fprintf(w, "accepted by kind: %s\n", strings.Join(parts, ", "))
	if len(r.errors) == 0 {
		fmt.Fprintln(w, "errors: none")
		return
	}
	keys := make([]string, 0, len(r.errors))
	for k := range r.errors {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	parts = parts[:0]
	for _, k := range keys {
		parts = append(parts, fmt.Sprintf("%s: %d", k, r.errors[k]))
	}
	fmt.Fprintf(w, "errors: %s\n", strings.Join(parts, ", "))
}

// compare prints accepted against stored, fact by fact.
func (r *collectResult) compare(w io.Writer, stored facts) error {
	a := r.accepted
	fmt.Fprintln(w, "accepted vs stored:")
	diff := false
	for _, x := range []struct {
		name string
		a, s int64
	}{
		{"page views (sum of sessions' page_views)", a.pageViews, stored.pageViews},
		{"goal reaches", a.goals, stored.goals},
		{"purchases", a.purchases, stored.purchases},
		{"identities (2 per accepted email)", a.identities, stored.identities},
	} {
		verdict := "="
		if x.s != x.a {
			verdict = fmt.Sprintf("differ by %+d", x.s-x.a)
			diff = true
		}
		fmt.Fprintf(w, "  %-42s accepted %8d, stored %8d  %s\n", x.name, x.a, x.s, verdict)
	}
	if stored.sharedIDs > 0 {
		fmt.Fprintf(w, "  sessions sharing another session's id: %d (should be none)\n", stored.sharedIDs)
	}
	if !diff {
		fmt.Fprintln(w, "accepted = stored")
		return nil
	}
	// More stored than accepted is a hit the client gave up on (a timeout)
	// after the server had stored it; less is a lost acknowledged hit.
	if stored.pageViews < a.pageViews || stored.goals < a.goals || stored.purchases < a.purchases || stored.identities < a.identities {
		return errors.New("acknowledged hits are missing from the store")
	}
	fmt.Fprintln(w, "accepted != stored: the store holds more than was acknowledged (requests that failed on the client's side after the server stored them)")
	return nil
}

// loadRun is one run of a load generator.
type loadRun interface {
	print(w io.Writer)
	// compare prints what was accepted against what the store holds, and
	// fails when an acknowledged hit is missing.
	compare(w io.Writer, stored facts) error
	hits() int64             // the requests sent and answered (or failed)
	took() time.Duration     // from the first request to the last answer
	childCPU() time.Duration // CPU used by a load generator in a process of its own
}

// send runs the load generator --loader names.
func (b *collectBench) send(ctx context.Context, out io.Writer) (loadRun, error) {
	if b.loader == "wrk" {
		res, err := b.runWrk(ctx, out)
		if err != nil {
			return nil, err
		}
		return res, nil
	}
	res, err := b.run(ctx)
	if err != nil {
		return nil, err
	}
	return res, nil
}

func (r *collectResult) hits() int64             { return r.sent }
func (r *collectResult) took() time.Duration     { return r.elapsed }
func (r *collectResult) childCPU() time.Duration { return 0 }

// run sends hits until --duration or --max-hits.
func (b *collectBench) run(ctx context.Context) (*collectResult, error) {
	u, err := url.Parse(b.base)
	if err != nil || u.Scheme != "http" || u.Host == "" {
		return nil, fmt.Errorf("collect: --url %q: want http://host:port", b.base)
	}
	endpoint := u.Path + "/collect/" + b.counter.String()

	visitors := newVisitors(b.clients, b.seed, time.Now())
	// At --duration no new hit starts; those in flight finish (within
	// --timeout), so that every hit the server stored has its answer.
	var sent atomic.Int64
	start := time.Now()
	deadline := start.Add(b.duration)
	seconds := int(b.duration/time.Second) + 2
	perSecond := make([]atomic.Int64, seconds)
	workers := make([]*collectWorker, b.concurrency)
	var wg sync.WaitGroup
	for i := range workers {
		w := &collectWorker{b: b, client: newRawClient(u.Host, b.timeout), endpoint: endpoint,
			rng:    rand.New(rand.NewPCG(b.seed, uint64(i)+1)),
			errors: map[string]int64{}, byKind: map[string]int64{}}
		// Each worker owns its visitors, so a visitor's hits go one after
		// another, as a browser's do.
		for j := i; j < len(visitors); j += b.concurrency {
			w.visitors = append(w.visitors, &visitors[j])
		}
		workers[i] = w
		wg.Add(1)
		go func() {
			defer wg.Done()
			for ctx.Err() == nil && time.Now().Before(deadline) && sent.Add(1) <= b.maxHits {
				w.one(ctx, start, perSecond)
			}
		}()
	}
	wg.Wait()
	for _, w := range workers {
		w.client.close()
	}
	res := &collectResult{concurrency: b.concurrency, clients: b.clients, elapsed: time.Since(start),
		errors: map[string]int64{}, byKind: map[string]int64{}}
	for _, w := range workers {
		res.sent += w.sent
		res.acceptedHits += w.acceptedHits
		res.accepted.pageViews += w.accepted.pageViews
		res.accepted.goals += w.accepted.goals
		res.accepted.purchases += w.accepted.purchases
		res.accepted.identities += w.accepted.identities
		for k, v := range w.errors {
			res.errors[k] += v
		}
		for k, v := range w.byKind {
			res.byKind[k] += v
		}
		res.latencies = append(res.latencies, w.latencies...)
	}
	last := min(int(res.elapsed/time.Second)+1, seconds)
	for i := 0; i < last; i++ {
		res.perSecond = append(res.perSecond, perSecond[i].Load())
	}
	if res.sent == 0 {
		return nil, errors.New("collect: no hit was sent")
	}
	return res, nil
}

type collectWorker struct {
	b        *collectBench
	client   *rawClient
	endpoint string
	rng      *rand.Rand
	visitors []*visitor
	body     []byte

	sent, acceptedHits int64
	accepted           facts
	byKind             map[string]int64
	errors             map[string]int64
	latencies          []uint32
}

// one sends one visitor's next hit and records the answer.
func (w *collectWorker) one(ctx context.Context, start time.Time, perSecond []atomic.Int64) {
	v := w.visitors[w.rng.IntN(len(w.visitors))]
	h := v.next(w.rng, w.b.site)
	method, target, body := "POST", w.endpoint, []byte(nil)
	headers := []string{"User-Agent", v.ua, "Origin", "https://" + w.b.site,
		"Accept-Language", "ru-RU,ru;q=0.9,en-US;q=0.8,en;q=0.7"}
	if w.rng.IntN(100) < 3 {
		// The GIF fallback of browsers without sendBeacon.
		method, target = "GET", w.endpoint+"?"+h.query().Encode()
	} else {
		w.body = h.appendJSON(w.body[:0])
		body = w.body
		headers = append(headers, "Content-Type", "text/plain;charset=UTF-8")
	}
	t0 := time.Now()
	code, err := w.client.do(method, target, headers, body)
	if err != nil {
		if ctx.Err() != nil {
			return // interrupted: not the server's failure
		}
		w.sent++
		var ne net.Error
		if errors.As(err, &ne) && ne.Timeout() {
			w.errors["timeout"]++
		} else {
			w.errors["transport error"]++
		}
		v.failed(h)
		return
	}
	el := time.Since(t0)
	w.sent++
	w.latencies = append(w.latencies, uint32(min(el/time.Microsecond, 1<<32-1)))
	if s := int(time.Since(start) / time.Second); s < len(perSecond) {
		perSecond[s].Add(1)
	}
	if code/100 != 2 {
		w.errors[strconv.Itoa(code)]++
		v.failed(h)
		return
	}
	w.acceptedHits++
	w.byKind[h.Kind]++
	switch h.Kind {
	case "pv":
		w.accepted.pageViews++
	case "goal":
		w.accepted.goals++
	case "purchase":
		w.accepted.purchases++
	case "params":
		if h.Params["email"] != nil {
			w.accepted.identities += 2 // MD5 and SHA-256 of the email
		}
	}
	v.accepted(h)
}

// benchHit is a hit as the tag sends it.
type benchHit struct {
	ClientID string         `json:"cid"`
	Kind     string         `json:"t"`
	URL      string         `json:"url"`
	Referrer string         `json:"ref,omitempty"`
	Title    string         `json:"title,omitempty"`
	Goal     string         `json:"goal,omitempty"`
	Params   map[string]any `json:"params,omitempty"`
	Purchase *benchPurchase `json:"purchase,omitempty"`
}

type benchPurchase struct {
	ID       string  `json:"id"`
	Revenue  float64 `json:"revenue"`
	Currency string  `json:"currency"`
}

// appendJSON appends the hit as the tag's JSON: what json.Marshal gives,
// written by hand because on two shared cores the load generator's CPU is
// taken from the server's (json.Marshal was a tenth of the generator's).
func (h *benchHit) appendJSON(b []byte) []byte {
	b = append(b, `{"cid":`...)
	b = appendJSONString(b, h.ClientID)
	b = append(b, `,"t":`...)
	b = appendJSONString(b, h.Kind)
	b = append(b, `,"url":`...)
	b = appendJSONString(b, h.URL)
	for _, f := range []struct{ name, v string }{{`,"ref":`, h.Referrer}, {`,"title":`, h.Title}, {`,"goal":`, h.Goal}} {
		if f.v != "" {
			b = append(b, f.name...)
			b = appendJSONString(b, f.v)
		}
	}
	if h.Params != nil {
		// A visitor's one params hit: rare enough for json.Marshal.
		p, _ := json.Marshal(h.Params)
		b = append(b, `,"params":`...)
		b = append(b, p...)
	}
	if p := h.Purchase; p != nil {
		b = append(b, `,"purchase":{"id":`...)
		b = appendJSONString(b, p.ID)
		b = append(b, `,"revenue":`...)
		b = strconv.AppendFloat(b, p.Revenue, 'f', -1, 64)
		b = append(b, `,"currency":`...)
		b = appendJSONString(b, p.Currency)
		b = append(b, '}')
	}
	return append(b, '}')
}

// appendJSONString appends s as a JSON string; s is valid UTF-8, which
// JSON carries as it is.
func appendJSONString(b []byte, s string) []byte {
	const hex = "0123456789abcdef"
	b = append(b, '"')
	for i := 0; i < len(s); i++ {
		switch c := s[i]; {
		case c == '"' || c == '\\':
			b = append(b, '\\', c)
		case c < 0x20:
			b = append(b, '\\', 'u', '0', '0', hex[c>>4], hex[c&0xf])
		default:
			b = append(b, c)
		}
	}
	return append(b, '"')
}

// query is the hit as the GIF fallback's query.
func (h *benchHit) query() url.Values {
	q := url.Values{"cid": {h.ClientID}, "t": {h.Kind}, "url": {h.URL}}
	if h.Referrer != "" {
		q.Set("ref", h.Referrer)
	}
	if h.Title != "" {
		q.Set("title", h.Title)
	}
	if h.Goal != "" {
		q.Set("goal", h.Goal)
	}
	if h.Params != nil {
		b, _ := json.Marshal(h.Params)
		q.Set("params", string(b))
	}
	if h.Purchase != nil {
		b, _ := json.Marshal(h.Purchase)
		q.Set("purchase", string(b))
	}
	return q
}

// visitor is a simulated browser: a ClientID, a user agent, and the visit
// it is in.
type visitor struct {
	cid       string
	n         int
	ua        string
	email     string
	emailDone bool // an accepted params hit carried the email
	left      int  // hits left in the current visit
	page      string
	purchases int
}

var benchUserAgents = []struct {
	ua     string
	weight int
}{
	{"Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/124.0.0.0 Safari/537.36", 22},
	{"Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/122.0.0.0 YaBrowser/24.4.0.0 Safari/537.36", 10},
	{"Mozilla/5.0 (Windows NT 10.0; Win64; x64; rv:125.0) Gecko/20100101 Firefox/125.0", 4},
	{"Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/124.0.0.0 Safari/537.36 Edg/124.0.0.0", 4},
	{"Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.4 Safari/605.1.15", 5},
	{"Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/124.0.0.0 Safari/537.36", 2},
	{"Mozilla/5.0 (iPhone; CPU iPhone OS 17_4 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.4 Mobile/15E148 Safari/604.1", 16},
	{"Mozilla/5.0 (Linux; Android 10; K) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/124.0.0.0 Mobile Safari/537.36", 20},
	{"Mozilla/5.0 (Linux; Android 14; SAMSUNG SM-S918B) AppleWebKit/537.36 (KHTML, like Gecko) SamsungBrowser/24.0 Chrome/117.0.0.0 Mobile Safari/537.36", 5},
	{"Mozilla/5.0 (iPad; CPU OS 17_4 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.4 Mobile/15E148 Safari/604.1", 3},
	{"Mozilla/5.0 (Linux; arm_64; Android 13; SM-A546E) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/122.0.6261.156 YaBrowser/24.4.1.156.00 SA/3 Mobile Safari/537.36", 6},
	// Robots that run scripts: stored apart, counted the same.
	{"Mozilla/5.0 (compatible; YandexBot/3.0; +http://yandex.com/bots)", 1},
	{"Mozilla/5.0 (Linux; Android 6.0.1; Nexus 5X Build/MMB29P) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/124.0.6367.201 Mobile Safari/537.36 (compatible; Googlebot/2.1; +http://www.google.com/bot.html)", 1},
}

func newVisitors(n int, seed uint64, now time.Time) []visitor {
	rng := rand.New(rand.NewPCG(seed, 0))
	total := 0
	for _, u := range benchUserAgents {
		total += u.weight
	}
	vs := make([]visitor, n)
	for i := range vs {
		// Metrica-like ClientIDs: the first visit's Unix time, then random
		// digits; the index keeps them distinct.
		first := now.Add(-time.Duration(rng.Int64N(int64(90 * 24 * time.Hour)))).Unix()
		cid := uint64(first)*1_000_000_000 + uint64(rng.IntN(10_000))*100_000 + uint64(i%100_000)
		r := rng.IntN(total)
		ua := ""
		for _, u := range benchUserAgents {
			if r -= u.weight; r < 0 {
				ua = u.ua
				break
			}
		}
		vs[i] = visitor{cid: strconv.FormatUint(cid, 10), n: i, ua: ua,
			email: fmt.Sprintf("%s.%d@%s", benchNames[rng.IntN(len(benchNames))], i, benchMailHosts[rng.IntN(len(benchMailHosts))])}
	}
	// Distinct ClientIDs, whatever the random draws.
	seen := make(map[string]bool, n)
	for i := range vs {
		for seen[vs[i].cid] {
			c, _ := strconv.ParseUint(vs[i].cid, 10, 64)
			vs[i].cid = strconv.FormatUint(c+100_000, 10)
		}
		seen[vs[i].cid] = true
	}
	return vs
}

var benchNames = []string{"anna", "ivan", "olga", "petr", "maria", "sergey", "elena", "dmitry", "natalia", "alexey"}
var benchMailHosts = []string{"gmail.com", "yandex.ru", "mail.ru", "example.com", "bk.ru"}

var benchCategories = []string{"phones", "laptops", "tv", "audio", "kitchen", "garden", "toys", "books", "sport", "beauty"}

var benchSearchQueries = []string{"купить смартфон", "ноутбук недорого", "телевизор 55", "наушники беспроводные", "кофемашина"}

var benchGoals = []string{"add_to_cart", "callback", "form_submit", "phone_click", "subscribe", "chat_open"}

// landing is one way a visit starts: its page and referrer.
func benchLanding(rng *rand.Rand, site string) (page, ref string) {
	page = benchPage(rng, site)
	sep := "?"
	if strings.Contains(page, "?") {
		sep = "&"
	}
	switch r := rng.IntN(100); {
	case r < 16: // Yandex search
		ref = "https://yandex.ru/search/?text=" + url.QueryEscape(benchSearchQueries[rng.IntN(len(benchSearchQueries))]) + "&lr=213"
	case r < 28: // Google search
		ref = "https://www.google.com/"
	case r < 30:
		ref = "https://www.bing.com/"
	case r < 42: // Yandex Direct
		page += sep + "utm_source=yandex&utm_medium=cpc&utm_campaign=" + benchCategories[rng.IntN(len(benchCategories))] +
			"_search&utm_content=" + strconv.Itoa(rng.IntN(1000)) + "&utm_term=" + url.QueryEscape(benchSearchQueries[rng.IntN(len(benchSearchQueries))]) +
			"&yclid=" + strconv.FormatUint(rng.Uint64()>>12, 10)
		ref = "https://yandex.ru/"
	case r < 46: // Google Ads
		page += sep + "utm_source=google&utm_medium=cpc&utm_campaign=brand&gclid=Cj0KCQjw" + strconv.FormatUint(rng.Uint64(), 36)
		ref = "https://www.google.com/"
	case r < 50: // a newsletter
		page += sep + "utm_source=newsletter&utm_medium=email&utm_campaign=weekly_" + strconv.Itoa(rng.IntN(52))
	case r < 55:
		ref = "https://vk.com/"
	case r < 58:
		ref = "https://t.me/"
	case r < 60:
		ref = "https://dzen.ru/a/" + strconv.FormatUint(rng.Uint64(), 36)
	case r < 67: // another site's link
		ref = []string{"https://habr.com/ru/articles/", "https://pikabu.ru/story/", "https://otzovik.com/reviews/"}[rng.IntN(3)] + strconv.Itoa(rng.IntN(900000))
	default: // typed, a bookmark, an app
	}
	return page, ref
}

func benchPage(rng *rand.Rand, site string) string {
	base := "https://" + site
	switch r := rng.IntN(100); {
	case r < 15:
		return base + "/"
	case r < 40:
		return base + "/catalog/" + benchCategories[rng.IntN(len(benchCategories))] + "/?page=" + strconv.Itoa(1+rng.IntN(5))
	case r < 85:
		return base + "/item/" + strconv.Itoa(10000+rng.IntN(50000)) + "-" + benchCategories[rng.IntN(len(benchCategories))]
	case r < 92:
		return base + "/search?q=" + url.QueryEscape(benchSearchQueries[rng.IntN(len(benchSearchQueries))])
	case r < 96:
		return base + "/cart"
	default:
		return base + "/blog/" + strconv.Itoa(rng.IntN(300))
	}
}

// next is the visitor's next hit: a visit's landing, then pages inside the
// site, a few goals, a form with the email, and sometimes a purchase.
func (v *visitor) next(rng *rand.Rand, site string) *benchHit {
	h := &benchHit{ClientID: v.cid}
	if v.left <= 0 {
		page, ref := benchLanding(rng, site)
		v.left = 1 + rng.IntN(8)
		h.Kind, h.URL, h.Referrer, h.Title = "pv", page, ref, "Магазин — "+benchCategories[rng.IntN(len(benchCategories))]
		return h
	}
	h.URL = v.page
	switch r := rng.IntN(100); {
	case r < 8:
		h.Kind, h.Goal = "goal", benchGoals[rng.IntN(len(benchGoals))]
	case r < 11 && !v.emailDone:
		h.Kind = "params"
		h.Params = map[string]any{"email": v.email, "form": "callback", "user": map[string]any{"plan": "gold", "age": 30 + v.n%30}}
	case r < 13:
		v.purchases++
		h.Kind = "purchase"
		h.URL = "https://" + site + "/checkout/thanks"
		h.Purchase = &benchPurchase{ID: fmt.Sprintf("ORD-%d-%d", v.n, v.purchases), Revenue: float64(500+rng.IntN(50000)) + 0.9, Currency: "RUB"}
	default:
		h.Kind, h.Referrer = "pv", v.page
		h.URL = benchPage(rng, site)
		h.Title = "Магазин — " + benchCategories[rng.IntN(len(benchCategories))]
	}
	return h
}

func (v *visitor) accepted(h *benchHit) {
	v.left--
	if h.Kind == "pv" {
		v.page = h.URL
	}
	if h.Kind == "params" {
		v.emailDone = true
	}
}

// failed: the browser moves on; a failed email is sent again later.
func (v *visitor) failed(h *benchHit) {
	v.left--
	if h.Kind == "pv" {
		v.page = h.URL
	}
}
