package cli

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"runtime"
	"runtime/debug"
	"time"

	"github.com/crmlink/crmlink"
	"github.com/crmlink/crmlink/crm"
	_ "github.com/crmlink/crmlink/duckdb" // the embedded engine
	"github.com/crmlink/crmlink/gen"
	crmhttp "github.com/crmlink/crmlink/http"
	"github.com/crmlink/crmlink/sessionfile"
	"github.com/crmlink/crmlink/store"
	"github.com/crmlink/crmlink/traffic"
)

// GenFlags are a generated data set's shape, as gen, demo and the
// benchmarks take it from their flags.
type GenFlags struct {
	Seed                                           uint64
	Sessions, Contacts, Orders, SimpleOrders, Days int
	Site                                           string // the site's host
	TimeZone                                       string // the counter's IANA time zone
}

// Register adds the data set's flags (--seed, --sessions, --contacts,
// --orders, --simple-orders, --days, --site, --timezone) with the
// command's defaults for the counts.
func (g *GenFlags) Register(fs interface {
	Uint64Var(*uint64, string, uint64, string)
	IntVar(*int, string, int, string)
	StringVar(*string, string, string, string)
}, sessions, contacts, orders, days int) {
	fs.Uint64Var(&g.Seed, "seed", 1, "random seed: the same seed gives the same files")
	fs.IntVar(&g.Sessions, "sessions", sessions, "number of sessions")
	fs.IntVar(&g.Contacts, "contacts", contacts, "number of CRM contacts")
	fs.IntVar(&g.Orders, "orders", orders, "number of full CRM orders")
	fs.IntVar(&g.SimpleOrders, "simple-orders", -1, "number of simple orders (default: orders/20)")
	fs.IntVar(&g.Days, "days", days, "days of data, ending today")
	fs.StringVar(&g.Site, "site", "shop.example", "the site's host")
	fs.StringVar(&g.TimeZone, "timezone", "Europe/Moscow", "the counter's time zone")
}

// Config is the generator's configuration for writing the data set into
// out, its days ending at now; a wrong flag is a usage error. A negative
// SimpleOrders means a twentieth of Orders.
func (g *GenFlags) Config(out string, now time.Time) (gen.Config, error) {
	if g.Sessions < 0 || g.Contacts < 0 || g.Orders < 0 {
		return gen.Config{}, Usagef("--sessions, --contacts and --orders must not be negative")
	}
	if g.Days < 1 || g.Days > 3650 {
		return gen.Config{}, Usagef("--days %d: want 1 to 3650", g.Days)
	}
	loc, err := time.LoadLocation(g.TimeZone)
	if err != nil || g.TimeZone == "Local" {
		return gen.Config{}, Usagef("--timezone %q is not an IANA time zone", g.TimeZone)
	}
	simple := g.SimpleOrders
	if simple < 0 {
		simple = g.Orders / 20
	}
	return gen.Config{Out: out, Seed: g.Seed, Sessions: g.Sessions, Contacts: g.Contacts, Orders: g.Orders,
		SimpleOrders: simple, Days: g.Days, End: now, Site: g.Site, Location: loc}, nil
}

// CreateCounter makes the counter that generated data belongs to.
func (g *GenFlags) CreateCounter(ctx context.Context, st crmlink.Store, name string) (*crmlink.Counter, error) {
	c := &crmlink.Counter{Name: name, Site: g.Site, TimeZone: g.TimeZone, Currency: "RUB"}
	if err := c.Normalize(); err != nil {
		return nil, err
	}
	return c, st.CreateCounter(ctx, c)
}

// StoreHeap is what a store does with Go's heap where an upload leaves it
// mostly garbage, for a command and a server alike. Reading an upload, a
// collection a chunk keeps the heap near one chunk's worth, where a
// server's GOGC would let it grow to five times what is live: the peak
// does not grow with the file. Before a queued upload is applied, the
// garbage is given back to the system, so that it does not add to
// DuckDB's peak.
var StoreHeap = store.Heap{ChunkRead: runtime.GC, BeforeApply: debug.FreeOSMemory}

// OpenStore opens the store a URL names for a command that runs once: the
// uploads queued before a stop or a crash are applied before it returns,
// so that the command sees them, and is not stopped halfway through one.
func OpenStore(ctx context.Context, url string, clock crmlink.Clock) (crmlink.Store, error) {
	st, err := store.Open(ctx, url, store.Config{Clock: clock, Heap: StoreHeap})
	if err != nil {
		return nil, err
	}
	if err := st.SyncUploads(ctx); err != nil {
		st.Close()
		return nil, err
	}
	return st, nil
}

// CreateToken makes a token for a counter (0: all counters) and returns
// its secret, which is shown once: the store keeps only its hash.
func CreateToken(ctx context.Context, st crmlink.Store, id crmlink.CounterID, sc crmlink.Scope, name string) (string, error) {
	if id != 0 {
		if _, err := st.Counter(ctx, id); err != nil {
			return "", err
		}
	}
	secret := crmhttp.NewTokenSecret()
	err := st.CreateToken(ctx, &crmlink.Token{Hash: crmhttp.HashToken(secret), CounterID: id, Scope: sc, Name: name})
	return secret, err
}

// ImportSessions reads a session file into the store: the path the CLI,
// the demo and the benchmarks share with the HTTP endpoint. source names
// who imported it in the uploading's record.
func ImportSessions(ctx context.Context, st interface {
	crmlink.CounterStore
	crmlink.SessionStore
}, id crmlink.CounterID, format sessionfile.Format, in io.Reader, clock crmlink.Clock, source string) (*crmlink.Upload, error) {
	c, err := st.Counter(ctx, id)
	if err != nil {
		return nil, err
	}
	loc, err := c.Location()
	if err != nil {
		return nil, err
	}
	up := &crmlink.Upload{CounterID: id, Format: format.UploadFormat(), Source: source}
	rd, err := sessionfile.NewReader(in, sessionfile.Options{Format: format, Location: loc, Site: c.Site,
		Classifier: traffic.New(), Now: clock.Now()})
	if err != nil {
		return up, err
	}
	return up, st.ImportSessions(ctx, up, rd)
}

// UploadCSV reads a CRM CSV of entity (the API's name: contacts, orders,
// simple_orders, offline_conversions, expenses) into the store as up: the path the
// CLI, the demo and the benchmarks share with the HTTP endpoints.
func UploadCSV(ctx context.Context, st crmlink.Store, up *crmlink.Upload, entity string, in io.Reader, opt crm.Options, clock crmlink.Clock) error {
	c, err := st.Counter(ctx, up.CounterID)
	if err != nil {
		return err
	}
	if opt.Location, err = c.Location(); err != nil {
		return err
	}
	opt.Now = clock.Now()
	if entity == "offline_conversions" {
		rd, err := crm.NewOfflineCSV(in, opt)
		if err != nil {
			return err
		}
		return st.UploadOfflineConversions(ctx, up, rd)
	}
	if entity == "expenses" {
		rd, err := crm.NewExpensesCSV(in, opt)
		if err != nil {
			return err
		}
		return st.UploadExpenses(ctx, up, &crmlink.ExpenseUpload{Provider: "crmlink CLI"}, rd)
	}
	if entity == "contacts" {
		rd, err := crm.NewContactCSV(in, opt)
		if err != nil {
			return err
		}
		return st.UploadContacts(ctx, up, rd)
	}
	ms, err := st.StatusMappings(ctx, c.ID)
	if err != nil {
		return err
	}
	opt.Statuses = crmlink.NewStatusResolver(ms)
	opt.Partial = up.MergeMode == crmlink.MergeUpdate || up.MergeMode == crmlink.MergeAppend
	var rd *crm.OrderReader
	if entity == "simple_orders" {
		up.Entity = crmlink.EntitySimpleOrders
		rd, err = crm.NewSimpleOrderCSV(in, opt)
	} else {
		rd, err = crm.NewOrderCSV(in, opt)
	}
	if err != nil {
		return err
	}
	return st.UploadOrders(ctx, up, rd)
}

// SetGeneratedStatuses sets the generator's status mapping, from its file
// in dir, on a counter.
func SetGeneratedStatuses(ctx context.Context, st crmlink.Store, c *crmlink.Counter, dir string) error {
	raw, err := os.ReadFile(filepath.Join(dir, gen.OrderStatusesFile))
	if err != nil {
		return err
	}
	var mapping struct {
		OrderStatuses []crmlink.StatusMapping `json:"order_statuses"`
	}
	if err := json.Unmarshal(raw, &mapping); err != nil {
		return fmt.Errorf("%s: %w", gen.OrderStatusesFile, err)
	}
	return st.SetStatusMappings(ctx, c.ID, mapping.OrderStatuses)
}

// LoadDemo generates g's data set into dir and loads it into st as a
// user's data would go: a counter, the sessions, then the CRM's files. It
// tells its progress on stderr.
func LoadDemo(ctx context.Context, st crmlink.Store, g *GenFlags, dir string, e *Env) (*crmlink.Counter, error) {
	gcfg, err := g.Config(dir, e.Clock.Now())
	if err != nil {
		return nil, err
	}
	fmt.Fprintf(e.Stderr, "demo: generating %s, %s, %s into %s ...\n",
		Plural(g.Sessions, "session", ""), Plural(g.Contacts, "contact", ""), Plural(g.Orders, "order", ""), dir)
	if _, err := gen.Generate(ctx, gcfg); err != nil {
		return nil, err
	}
	c, err := g.CreateCounter(ctx, st, "Demo shop")
	if err != nil {
		return nil, err
	}
	f, err := os.Open(filepath.Join(dir, gen.SessionsFile))
	if err != nil {
		return nil, err
	}
	start := time.Now()
	up, err := ImportSessions(ctx, st, c.ID, sessionfile.FormatCSV, f, e.Clock, "CLI")
	f.Close()
	if err != nil {
		return nil, fmt.Errorf("demo: import sessions: %w", err)
	}
	fmt.Fprintf(e.Stderr, "demo: imported %s in %s\n", Plural(up.Accepted, "session", ""), time.Since(start).Round(time.Millisecond))
	if err := demoCRM(ctx, st, c, dir, e); err != nil {
		return nil, err
	}
	// Two segments to start from, as a user would save them.
	for _, sg := range []crmlink.Segment{
		{Name: "Paid at least twice", Expression: "cdp:c:paidOrders>=2"},
		{Name: "Customers back from ads in 30 days", Expression: "cdp:c:paidOrders>=1 AND ym:s:lastsignTrafficSource=='ad' AND ym:s:daysAgo<30"},
	} {
		sg.CounterID = c.ID
		if err := st.CreateSegment(ctx, &sg); err != nil {
			return nil, fmt.Errorf("demo: segment: %w", err)
		}
	}
	return c, nil
}

// demoCRM loads the generated CRM files the way a user's would go: the
// status mapping, then contacts, orders, simple orders and the ad spend as
// CSV uploads.
func demoCRM(ctx context.Context, st crmlink.Store, c *crmlink.Counter, dir string, e *Env) error {
	if err := SetGeneratedStatuses(ctx, st, c, dir); err != nil {
		return err
	}
	for _, f := range []struct{ file, entity, noun string }{
		{gen.ContactsFile, "contacts", "contact"}, {gen.OrdersFile, "orders", "order"}, {gen.SimpleOrdersFile, "simple_orders", "simple order"},
	} {
		in, err := os.Open(filepath.Join(dir, f.file))
		if err != nil {
			return err
		}
		start := time.Now()
		up := &crmlink.Upload{CounterID: c.ID, Format: "CSV", Source: "CLI", MergeMode: crmlink.MergeSave}
		err = UploadCSV(ctx, st, up, f.entity, in, crm.Options{}, e.Clock)
		in.Close()
		if err != nil {
			return fmt.Errorf("demo: upload %s: %w", f.file, err)
		}
		fmt.Fprintf(e.Stderr, "demo: uploaded %s in %s\n", Plural(up.Accepted, f.noun, ""), time.Since(start).Round(time.Millisecond))
	}
	// The ad spend, as a business would upload its platforms' statistics.
	in, err := os.Open(filepath.Join(dir, gen.ExpensesFile))
	if err != nil {
		return err
	}
	defer in.Close()
	start := time.Now()
	up := &crmlink.Upload{CounterID: c.ID, Format: "CSV", Source: "CLI"}
	if err := UploadCSV(ctx, st, up, "expenses", in, crm.Options{}, e.Clock); err != nil {
		return fmt.Errorf("demo: upload %s: %w", gen.ExpensesFile, err)
	}
	fmt.Fprintf(e.Stderr, "demo: uploaded %s in %s\n", Plural(up.Accepted, "row of ad spend", "rows of ad spend"), time.Since(start).Round(time.Millisecond))
	return nil
}
