// Package gen generates a realistic synthetic data set for one site: the
// sessions of its visitors, the contacts and orders of its CRM, and the truth
// about which session each order came from. The same generator serves the
// tests, the benchmarks and `crmlink demo`.
//
// Files written (CSV with a header row, comma-delimited, UTF-8, cells quoted
// only when they hold a comma; times "yyyy-MM-dd HH:mm:ss" in
// Config.Location):
//
//	sessions.csv         session_id,client_id,start,duration,page_views,landing_url,referrer,
//	                     device,os,browser,country,region,city,user_id,purchase_ids
//	contacts.csv         uniq_id,name,create_date_time,update_date_time,client_ids,emails,phones,user_ids
//	orders.csv           id,client_uniq_id,client_type,create_date_time,update_date_time,
//	                     finish_date_time,order_status,revenue,cost,products
//	simple_orders.csv    id,create_date_time,order_status,revenue,cost,client_ids,emails,phones,goals
//	order_statuses.json  {"order_statuses":[{"id":"new","humanized":"New","type":"IN_PROGRESS"},...]}
//	truth.csv            order_id,session_id,client_id,linkable
//	expenses.csv         Date,UTMSource,UTMMedium,UTMCampaign,Expenses,Clicks (expenses.go)
//
// Sessions come visitor by visitor, each visitor's sessions in time order
// over all its devices; the order and contact files are in order of creation
// (ids are numbered that way). truth.csv names, for every full order and
// then every simple order, the session the order truly came from (empty for
// customers who never visited) and whether the CRM data identifies it
// (linkable=1: the contact's or simple order's client_ids hold that
// session's ClientID, or the session's purchase_ids hold the order id). A
// simple order without an id is named "simple_orders.csv:<line>" (the header
// is line 1).
//
// Everything is a pure function of the Config: the same Config gives
// byte-identical files, whatever the number of cores. Memory holds a few
// bytes per visitor and some tens per contact and order, never the sessions
// themselves: a visitor's sessions are recomputed from its seed wherever
// they are needed and streamed to disk.
package gen

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/crmlink/crmlink"
)

// Config says what to generate.
type Config struct {
	Out          string // directory, created if missing
	Seed         uint64
	Sessions     int // exact number of sessions written
	Contacts     int // exact number of contacts
	Orders       int // exact number of full orders (orders.csv)
	SimpleOrders int // exact number of simple orders (simple_orders.csv)
	// Days is the length of the window the sessions are spread over, ending
	// at End.
	Days int
	// End is the "now" of the data set: nothing happens after it.
	End  time.Time
	Site string // the site's host, e.g. "shop.example"
	// Location is the counter's time zone; all CSV times are written in it.
	// Nil means UTC.
	Location *time.Location
}

// Summary tells what Generate wrote.
type Summary struct {
	Sessions     int
	Clients      int // distinct ClientIDs in the sessions
	Visitors     int // people behind the ClientIDs; one owns 1 to 3 of them
	Contacts     int
	Orders       int
	SimpleOrders int
	Files        []string // paths of the files written, in Out
}

// Names of the files Generate writes in Config.Out.
const (
	SessionsFile      = "sessions.csv"
	ContactsFile      = "contacts.csv"
	OrdersFile        = "orders.csv"
	SimpleOrdersFile  = "simple_orders.csv"
	OrderStatusesFile = "order_statuses.json"
	TruthFile         = "truth.csv"
)

// Limits that keep ids inside their formats.
const (
	maxSessions = 1_000_000_000
	maxRecords  = 100_000_000
	maxDays     = 3650
)

// Generate writes the data set described by cfg into cfg.Out. Files are
// written under temporary names and renamed when all are complete, so a
// cancelled run leaves no half-written data set behind.
func Generate(ctx context.Context, cfg Config) (Summary, error) {
	return generate(ctx, cfg, hooks{})
}

// hooks let tests watch the generator from inside.
type hooks struct {
	// session is called with each session's id and the traffic source kind
	// it was built to have, from several goroutines at once.
	session func(id uint64, kind crmlink.SourceKind)
}

func (c *Config) normalize() error {
	c.Site = strings.ToLower(strings.TrimSpace(c.Site))
	if c.Location == nil {
		c.Location = time.UTC
	}
	switch {
	case c.Out == "":
		return crmlink.Errorf(crmlink.KindInvalid, "gen: an output directory is required")
	case c.Sessions < 0 || c.Sessions > maxSessions:
		return crmlink.Errorf(crmlink.KindInvalid, "gen: sessions must be between 0 and %d", maxSessions)
	case c.Contacts < 0 || c.Contacts > maxRecords:
		return crmlink.Errorf(crmlink.KindInvalid, "gen: contacts must be between 0 and %d", maxRecords)
	case c.Orders < 0 || c.Orders > maxRecords:
		return crmlink.Errorf(crmlink.KindInvalid, "gen: orders must be between 0 and %d", maxRecords)
	case c.SimpleOrders < 0 || c.SimpleOrders > maxRecords:
		return crmlink.Errorf(crmlink.KindInvalid, "gen: simple orders must be between 0 and %d", maxRecords)
	case c.Orders > 0 && c.Contacts == 0:
		return crmlink.Errorf(crmlink.KindInvalid, "gen: full orders need contacts to belong to")
	case c.Days < 1 || c.Days > maxDays:
		return crmlink.Errorf(crmlink.KindInvalid, "gen: days must be between 1 and %d", maxDays)
	case !validSite(c.Site):
		return crmlink.Errorf(crmlink.KindInvalid, "gen: site %q is not a host name (like shop.example)", c.Site)
	}
	// ClientIDs start with a 10-digit unix second, cookies and contacts go
	// back up to two years before the window.
	early := c.End.Unix() - int64(c.Days)*86400 - 2*365*86400
	if c.End.IsZero() || early < 1_000_000_000 || c.End.Unix() > 9_999_999_999 {
		return crmlink.Errorf(crmlink.KindInvalid, "gen: end %s is out of range (2005 to 2286)", c.End)
	}
	return nil
}

func validSite(s string) bool {
	if s == "" || len(s) > 253 {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !(c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '-' || c == '.' || c == ':') {
			return false
		}
	}
	return true
}

// generator holds the per-visitor, per-contact and per-order state: small
// numbers, no sessions.
type generator struct {
	cfg    Config
	hooks  hooks
	seeds  seeds
	w0     int64 // the window is [w0, end]
	end    int64
	counts []uint16 // sessions of each visitor

	batches []batch

	contactOf []int32 // visitor → contact, -1 for none
	visitorOf []int32 // contact → visitor, -1 for never visited
	cflags    []uint8
	cmask     []uint8     // devices whose ClientIDs the contact carries; maskUnknown until planned
	cclients  [][3]uint64 // ClientIDs of the contacts planned with their orders, 0 for none
	ocount    []uint32
	ccreate   []int64
	cupdate   []int64
	rankOf    []int32 // contact → position in contacts.csv
	byRank    []int32

	orders       []order
	fullByTime   []int32
	simpleByTime []int32
	purchases    []int32 // e-commerce orders by (visitor, session, time)

	persons personTable

	day0     int64    // the window's first local day, in days since 1970-01-01
	adClicks []uint32 // ad sessions by local day and ad key (expenses.go)
}

// batch is a run of visitors whose sessions are generated as one unit of
// work.
type batch struct {
	first, end int   // visitors [first, end)
	base       int64 // global index of the first session
}

const batchSessions = 8192

func newGenerator(cfg Config, h hooks) *generator {
	return &generator{
		cfg:   cfg,
		hooks: h,
		seeds: newSeeds(cfg.Seed),
		end:   cfg.End.Unix(),
		w0:    cfg.End.Unix() - int64(cfg.Days)*86400,
	}
}

func generate(ctx context.Context, cfg Config, h hooks) (Summary, error) {
	if err := cfg.normalize(); err != nil {
		return Summary{}, err
	}
	g := newGenerator(cfg, h)
	g.planCounts()
	g.pickContacts()
	g.planOrderCounts()
	if err := g.planOrders(ctx); err != nil {
		return Summary{}, err
	}
	g.planContactTimes()

	if err := os.MkdirAll(cfg.Out, 0o755); err != nil {
		return Summary{}, fmt.Errorf("gen: %w", err)
	}
	// sessions.csv is most of the bytes and writing it is bound by the
	// kernel's copy into the page cache, so the CRM files are generated and
	// written at the same time by another goroutine.
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	sessFiles, crmFiles := &fileSet{dir: cfg.Out}, &fileSet{dir: cfg.Out}
	defer sessFiles.cleanup()
	defer crmFiles.cleanup()
	crmDone := make(chan error, 1)
	go func() {
		err := g.buildPersons(ctx, g.personKeys())
		for _, f := range []struct {
			name string
			fill func(context.Context, *bufio.Writer) error
		}{
			{ContactsFile, g.writeContacts},
			{OrdersFile, g.writeOrders},
			{SimpleOrdersFile, g.writeSimpleOrders},
			{OrderStatusesFile, writeStatuses},
			{TruthFile, g.writeTruth},
		} {
			if err == nil {
				err = crmFiles.writeBuffered(ctx, f.name, f.fill)
			}
		}
		if err != nil {
			cancel()
		}
		crmDone <- err
	}()
	clients := 0
	err := sessFiles.write(SessionsFile, func(f *os.File) (err error) {
		clients, err = g.writeSessions(ctx, f)
		return err
	})
	if err == nil {
		err = sessFiles.writeBuffered(ctx, ExpensesFile, g.writeExpenses)
	}
	if err != nil {
		cancel()
	}
	err = firstError(err, <-crmDone)
	if err == nil {
		err = sessFiles.commit()
	}
	if err == nil {
		err = crmFiles.commit()
	}
	if err != nil {
		return Summary{}, err
	}
	return Summary{
		Sessions:     cfg.Sessions,
		Clients:      clients,
		Visitors:     len(g.counts),
		Contacts:     cfg.Contacts,
		Orders:       cfg.Orders,
		SimpleOrders: cfg.SimpleOrders,
		Files:        append(sessFiles.final, crmFiles.final...),
	}, nil
}

// firstError returns the error that stopped the run: one that is not the
// cancellation it caused in the other goroutine, when there is one.
func firstError(errs ...error) error {
	var first error
	for _, err := range errs {
		if err == nil {
			continue
		}
		if !errors.Is(err, context.Canceled) {
			return err
		}
		if first == nil {
			first = err
		}
	}
	return first
}

// planCounts draws the number of sessions of each visitor until they add up
// to exactly cfg.Sessions: a power law, so most visitors come once and a few
// come often. A visitor has at most 20 sessions a day of the window, which
// always fit with the session timeout between them.
func (g *generator) planCounts() {
	r := newRNG().seed(g.seeds.counts, 0)
	capN := min(g.cfg.Days*20, 2000)
	// P(n >= k) = k^-1.8: n is the largest k with tail[k] >= u.
	tail := make([]float64, capN+2)
	for k := 1; k < len(tail); k++ {
		tail[k] = math.Pow(float64(k), -1.8)
	}
	total := 0
	g.counts = make([]uint16, 0, g.cfg.Sessions/2+1)
	var cur batch
	for total < g.cfg.Sessions {
		u := 1 - r.Float64()
		n := 1
		for n < capN && u <= tail[n+1] {
			n++
		}
		n = min(n, g.cfg.Sessions-total)
		g.counts = append(g.counts, uint16(n))
		total += n
		if int64(total)-cur.base >= batchSessions {
			cur.end = len(g.counts)
			g.batches = append(g.batches, cur)
			cur = batch{first: cur.end, base: int64(total)}
		}
	}
	if cur.first < len(g.counts) {
		cur.end = len(g.counts)
		g.batches = append(g.batches, cur)
	}
}

// sessionID turns a session's global index into its id: unique, positive,
// 19 digits like Metrica's visit ids, and scattered.
func (g *generator) sessionID(index int64) uint64 {
	return 1<<62 | permute(uint64(index), 1<<62, g.seeds.session)
}

// fileSet writes files under temporary names and renames them all at once.
type fileSet struct {
	dir   string
	temps []string
	final []string
}

func (s *fileSet) write(name string, fill func(f *os.File) error) error {
	path := filepath.Join(s.dir, name)
	tmp := path + ".part"
	f, err := os.Create(tmp)
	if err != nil {
		return fmt.Errorf("gen: %w", err)
	}
	s.temps = append(s.temps, tmp)
	s.final = append(s.final, path)
	err = fill(f)
	if cerr := f.Close(); err == nil && cerr != nil {
		err = cerr
	}
	if err != nil {
		if errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) {
			return err
		}
		return fmt.Errorf("gen: write %s: %w", name, err)
	}
	return nil
}

func (s *fileSet) writeBuffered(ctx context.Context, name string, fill func(context.Context, *bufio.Writer) error) error {
	return s.write(name, func(f *os.File) error {
		w := bufio.NewWriterSize(f, 1<<20)
		if err := fill(ctx, w); err != nil {
			return err
		}
		return w.Flush()
	})
}

func (s *fileSet) commit() error {
	for i, tmp := range s.temps {
		if err := os.Rename(tmp, s.final[i]); err != nil {
			return fmt.Errorf("gen: %w", err)
		}
	}
	s.temps = nil
	return nil
}

func (s *fileSet) cleanup() {
	for _, tmp := range s.temps {
		os.Remove(tmp)
	}
}
