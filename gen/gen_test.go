package gen

import (
	"bytes"
	"context"
	"encoding/csv"
	"encoding/json"
	"errors"
	"math/rand/v2"
	"os"
	"path/filepath"
	"regexp"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/crmlink/crmlink"
)

func testConfig(t testing.TB) Config {
	t.Helper()
	loc, err := time.LoadLocation("Europe/Berlin")
	if err != nil {
		t.Fatal(err)
	}
	return Config{
		Out:          t.TempDir(),
		Seed:         42,
		Sessions:     30_000,
		Contacts:     1_500,
		Orders:       2_500,
		SimpleOrders: 150,
		Days:         30,
		// The window crosses the switch to summer time (2025-03-30).
		End:      time.Date(2025, 4, 5, 18, 30, 0, 0, loc),
		Site:     "shop.example",
		Location: loc,
	}
}

func mustGenerate(t testing.TB, cfg Config) Summary {
	t.Helper()
	s, err := Generate(context.Background(), cfg)
	if err != nil {
		t.Fatalf("Generate: %v", err)
	}
	return s
}

var allFiles = []string{SessionsFile, ExpensesFile, ContactsFile, OrdersFile, SimpleOrdersFile, OrderStatusesFile, TruthFile}

func TestReproducible(t *testing.T) {
	cfg := testConfig(t)
	mustGenerate(t, cfg)

	// Same config on one core: byte-identical.
	cfg2 := cfg
	cfg2.Out = t.TempDir()
	prev := runtime.GOMAXPROCS(1)
	mustGenerate(t, cfg2)
	runtime.GOMAXPROCS(prev)
	for _, name := range allFiles {
		a, b := readFile(t, cfg.Out, name), readFile(t, cfg2.Out, name)
		if !bytes.Equal(a, b) {
			t.Errorf("%s differs between two runs with the same config", name)
		}
	}

	// Another seed: different data.
	cfg3 := cfg
	cfg3.Out, cfg3.Seed = t.TempDir(), 43
	mustGenerate(t, cfg3)
	for _, name := range []string{SessionsFile, ContactsFile, OrdersFile, SimpleOrdersFile, TruthFile, ExpensesFile} {
		if bytes.Equal(readFile(t, cfg.Out, name), readFile(t, cfg3.Out, name)) {
			t.Errorf("%s is the same for seeds 42 and 43", name)
		}
	}
}

func readFile(t testing.TB, dir, name string) []byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(dir, name))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// readCSV parses a whole file with encoding/csv and checks its header.
func readCSV(t testing.TB, dir, name, header string) [][]string {
	t.Helper()
	r := csv.NewReader(bytes.NewReader(readFile(t, dir, name)))
	rows, err := r.ReadAll()
	if err != nil {
		t.Fatalf("%s: %v", name, err)
	}
	if got := strings.Join(rows[0], ","); got != header {
		t.Fatalf("%s header = %q, want %q", name, got, header)
	}
	return rows[1:]
}

type testSession struct {
	id, client uint64
	start      time.Time
	dur        time.Duration
	purchases  []string
	userID     string
	line       int
}

func TestDataSet(t *testing.T) {
	cfg := testConfig(t)
	sum := mustGenerate(t, cfg)
	checkDataSet(t, cfg, sum)
}

// TestEdgeSizes checks odd shapes: no sessions, more contacts than
// visitors, a one-day window, UTC.
func TestEdgeSizes(t *testing.T) {
	end := time.Date(2024, 12, 31, 23, 59, 59, 0, time.UTC)
	for _, cfg := range []Config{
		{Sessions: 0, Contacts: 50, Orders: 80, SimpleOrders: 10, Days: 7},
		{Sessions: 40, Contacts: 200, Orders: 300, SimpleOrders: 30, Days: 1},
		{Sessions: 5000, Contacts: 0, Orders: 0, SimpleOrders: 25, Days: 2},
		{Sessions: 1, Contacts: 1, Orders: 1, SimpleOrders: 1, Days: 1},
		{Sessions: 3000, Contacts: 10, Orders: 500, SimpleOrders: 0, Days: 3},
	} {
		cfg.Out, cfg.Seed, cfg.End, cfg.Site = t.TempDir(), 7, end, "Shop.Example"
		sum := mustGenerate(t, cfg)
		cfg.Site, cfg.Location = "shop.example", time.UTC
		checkDataSet(t, cfg, sum)
	}
}

// checkDataSet reads every file back and checks what a user of the data
// set relies on.
func checkDataSet(t *testing.T, cfg Config, sum Summary) {
	t.Helper()
	loc := cfg.Location
	end := cfg.End.Truncate(time.Second)
	w0 := end.Add(-time.Duration(cfg.Days) * 24 * time.Hour)
	parseTime := func(file string, line int, s string) time.Time {
		tm, err := time.ParseInLocation(time.DateTime, s, loc)
		if err != nil {
			t.Fatalf("%s line %d: bad time %q", file, line, s)
		}
		return tm
	}
	if sum.Sessions != cfg.Sessions || sum.Contacts != cfg.Contacts || sum.Orders != cfg.Orders || sum.SimpleOrders != cfg.SimpleOrders {
		t.Errorf("summary %+v does not match config", sum)
	}
	for i, name := range allFiles {
		if sum.Files[i] != filepath.Join(cfg.Out, name) {
			t.Errorf("summary files = %v", sum.Files)
		}
	}
	if left, _ := filepath.Glob(filepath.Join(cfg.Out, "*.part")); len(left) > 0 {
		t.Errorf("temporary files left: %v", left)
	}

	// Which visitor owns each ClientID, from the generator's own plan.
	g := newGenerator(cfg, hooks{})
	if err := g.cfg.normalize(); err != nil {
		t.Fatal(err)
	}
	g.planCounts()
	if len(g.counts) != sum.Visitors {
		t.Fatalf("visitors = %d, summary says %d", len(g.counts), sum.Visitors)
	}
	owner := map[uint64]int{}
	var p plan
	z := newZone(loc)
	for v := range g.counts {
		g.plan(&p, newRNG(), newRNG(), z, v)
		for j := range p.ndev {
			owner[p.devs[j].clientID] = v
		}
	}
	if len(owner) != sum.Clients {
		t.Errorf("clients = %d, summary says %d", len(owner), sum.Clients)
	}

	// Sessions.
	rows := readCSV(t, cfg.Out, SessionsFile, strings.TrimSuffix(sessionsHeader, "\n"))
	if len(rows) != cfg.Sessions {
		t.Fatalf("sessions.csv has %d rows, want %d", len(rows), cfg.Sessions)
	}
	sessions := map[uint64]*testSession{}
	byVisitor := map[int][]*testSession{}
	clients := map[uint64]bool{}
	purchaseSession := map[string]*testSession{}
	devices := map[string]bool{"desktop": true, "mobile": true, "tablet": true, "tv": true}
	for i, row := range rows {
		line := i + 2
		s := &testSession{line: line}
		var err1, err2 error
		s.id, err1 = strconv.ParseUint(row[0], 10, 64)
		s.client, err2 = strconv.ParseUint(row[1], 10, 64)
		if err1 != nil || err2 != nil || s.id == 0 || s.client == 0 {
			t.Fatalf("sessions.csv line %d: bad ids %q %q", line, row[0], row[1])
		}
		if len(row[1]) < 11 || len(row[1]) > 19 {
			t.Errorf("sessions.csv line %d: ClientID %s is not a unix second and up to 9 digits", line, row[1])
		}
		if sessions[s.id] != nil {
			t.Fatalf("sessions.csv line %d: session id %d repeats", line, s.id)
		}
		sessions[s.id] = s
		clients[s.client] = true
		s.start = parseTime(SessionsFile, line, row[2])
		if s.start.Before(w0) || s.start.After(end) {
			t.Errorf("sessions.csv line %d: start %s outside the window", line, row[2])
		}
		dur, _ := strconv.Atoi(row[3])
		pv, _ := strconv.Atoi(row[4])
		s.dur = time.Duration(dur) * time.Second
		if dur < 0 || dur > 1800 || pv < 1 || pv > 20 {
			t.Errorf("sessions.csv line %d: duration %s, page views %s", line, row[3], row[4])
		}
		if s.start.Add(s.dur).After(end) {
			t.Errorf("sessions.csv line %d: ends after End", line)
		}
		if !strings.HasPrefix(row[5], "https://shop.example/") {
			t.Errorf("sessions.csv line %d: landing %q", line, row[5])
		}
		if !devices[row[7]] || row[8] == "" || row[9] == "" {
			t.Errorf("sessions.csv line %d: device %q %q %q", line, row[7], row[8], row[9])
		}
		s.userID = row[13]
		if row[14] != "" {
			s.purchases = strings.Split(row[14], ",")
			for _, id := range s.purchases {
				purchaseSession[id] = s
			}
		}
		v, ok := owner[s.client]
		if !ok {
			t.Fatalf("sessions.csv line %d: ClientID %d belongs to no planned visitor", line, s.client)
		}
		byVisitor[v] = append(byVisitor[v], s)
	}
	if len(clients) != sum.Clients {
		t.Errorf("sessions carry %d ClientIDs, summary says %d", len(clients), sum.Clients)
	}
	// A visitor's sessions, over all its devices, are a session timeout
	// apart.
	for v, list := range byVisitor {
		slices.SortFunc(list, func(a, b *testSession) int { return a.start.Compare(b.start) })
		for i := 1; i < len(list); i++ {
			if gap := list[i].start.Sub(list[i-1].start.Add(list[i-1].dur)); gap < 30*time.Minute {
				t.Fatalf("visitor %d: sessions on lines %d and %d are %s apart", v, list[i-1].line, list[i].line, gap)
			}
		}
	}
	// next returns the visitor's session after s, or nil.
	next := func(s *testSession) *testSession {
		list := byVisitor[owner[s.client]]
		i := slices.Index(list, s)
		if i+1 < len(list) {
			return list[i+1]
		}
		return nil
	}

	// Contacts.
	rows = readCSV(t, cfg.Out, ContactsFile, "uniq_id,name,create_date_time,update_date_time,client_ids,emails,phones,user_ids")
	if len(rows) != cfg.Contacts {
		t.Fatalf("contacts.csv has %d rows, want %d", len(rows), cfg.Contacts)
	}
	type testContact struct {
		clients map[uint64]bool
		userID  string
		visitor int
	}
	contacts := map[string]*testContact{}
	emails := map[string]bool{}
	phoneRE := regexp.MustCompile(`^[1-9][0-9]{10,12}$`)
	emailRE := regexp.MustCompile(`^[a-z0-9._]+@[a-z0-9.-]+\.[a-z]+$`)
	neverVisited := 0
	for i, row := range rows {
		line := i + 2
		if contacts[row[0]] != nil || row[0] == "" {
			t.Fatalf("contacts.csv line %d: uniq_id %q empty or repeated", line, row[0])
		}
		c := &testContact{clients: map[uint64]bool{}, userID: row[7], visitor: -1}
		contacts[row[0]] = c
		if row[1] == "" {
			t.Errorf("contacts.csv line %d: no name", line)
		}
		created, updated := parseTime(ContactsFile, line, row[2]), parseTime(ContactsFile, line, row[3])
		if updated.Before(created) || updated.After(end) {
			t.Errorf("contacts.csv line %d: created %s, updated %s", line, row[2], row[3])
		}
		if row[4] == "" && row[5] == "" && row[6] == "" {
			t.Errorf("contacts.csv line %d: no identifier at all", line)
		}
		if row[4] != "" {
			for _, s := range strings.Split(row[4], ",") {
				id, _ := strconv.ParseUint(s, 10, 64)
				if !clients[id] {
					t.Fatalf("contacts.csv line %d: ClientID %s has no session", line, s)
				}
				if c.visitor >= 0 && owner[id] != c.visitor {
					t.Fatalf("contacts.csv line %d: ClientIDs of two visitors", line)
				}
				c.visitor = owner[id]
				c.clients[id] = true
			}
		}
		if row[4] == "" && row[7] == "" {
			neverVisited++ // or a visitor the CRM holds no ClientID of
		}
		if row[5] != "" {
			for _, e := range strings.Split(row[5], ",") {
				if !emailRE.MatchString(e) {
					t.Errorf("contacts.csv line %d: email %q", line, e)
				}
				if emails[e] {
					t.Errorf("contacts.csv line %d: email %q repeats", line, e)
				}
				emails[e] = true
			}
		}
		if row[6] != "" {
			for _, ph := range strings.Split(row[6], ",") {
				if !phoneRE.MatchString(ph) {
					t.Errorf("contacts.csv line %d: phone %q", line, ph)
				}
			}
		}
		if row[7] != "" && row[4] == "" {
			t.Errorf("contacts.csv line %d: a user id without ClientIDs", line)
		}
	}
	if cfg.Contacts >= 100 && cfg.Sessions > 10*cfg.Contacts && neverVisited == 0 {
		t.Errorf("no contact without ClientIDs")
	}
	// Sessions with a user id belong to the contact that has it.
	userVisitor := map[string]int{}
	for _, c := range contacts {
		if c.userID != "" {
			userVisitor[c.userID] = c.visitor
		}
	}
	for _, s := range sessions {
		if s.userID != "" {
			if v, ok := userVisitor[s.userID]; !ok || v != owner[s.client] {
				t.Errorf("sessions.csv line %d: user id %s of another visitor", s.line, s.userID)
			}
		}
	}

	// Truth.
	rows = readCSV(t, cfg.Out, TruthFile, "order_id,session_id,client_id,linkable")
	if len(rows) != cfg.Orders+cfg.SimpleOrders {
		t.Fatalf("truth.csv has %d rows, want %d", len(rows), cfg.Orders+cfg.SimpleOrders)
	}
	type truth struct {
		session  *testSession
		linkable bool
	}
	truths := map[string]truth{}
	for i, row := range rows {
		line := i + 2
		if _, dup := truths[row[0]]; dup || row[0] == "" {
			t.Fatalf("truth.csv line %d: order %q empty or repeated", line, row[0])
		}
		tr := truth{linkable: row[3] == "1"}
		if row[1] != "" {
			id, _ := strconv.ParseUint(row[1], 10, 64)
			tr.session = sessions[id]
			if tr.session == nil {
				t.Fatalf("truth.csv line %d: unknown session %s", line, row[1])
			}
			if strconv.FormatUint(tr.session.client, 10) != row[2] {
				t.Fatalf("truth.csv line %d: ClientID %s is not the session's", line, row[2])
			}
		} else if row[2] != "" || tr.linkable {
			t.Fatalf("truth.csv line %d: no session but %q", line, row)
		}
		truths[row[0]] = tr
	}
	for id, s := range purchaseSession {
		if tr, ok := truths[id]; !ok || tr.session != s {
			t.Errorf("sessions.csv line %d: purchase %s is not an order of that session", s.line, id)
		}
	}

	// checkOrder checks an order against its true session.
	checkOrder := func(file string, line int, id string, created time.Time, ids map[uint64]bool) {
		tr, ok := truths[id]
		if !ok {
			t.Fatalf("%s line %d: order %s missing from truth.csv", file, line, id)
		}
		if created.After(end) || created.Before(w0) {
			t.Errorf("%s line %d: created %s outside the window", file, line, created)
		}
		if tr.session == nil {
			return
		}
		s := tr.session
		if created.Before(s.start) {
			t.Errorf("%s line %d: created %s before its session started %s", file, line, created, s.start)
		}
		if created.Sub(s.start) > 4*time.Hour {
			t.Errorf("%s line %d: created %s long after its session %s", file, line, created, s.start)
		}
		if n := next(s); n != nil && !created.Before(n.start) {
			t.Errorf("%s line %d: created %s at or after the customer's next session %s", file, line, created, n.start)
		}
		linkable := ids[s.client] || slices.Contains(s.purchases, id)
		if linkable != tr.linkable {
			t.Errorf("%s line %d: linkable %v in truth.csv, but the CRM data says %v", file, line, tr.linkable, linkable)
		}
	}

	// Full orders.
	statuses := map[string]crmlink.StatusType{}
	var doc struct {
		OrderStatuses []crmlink.StatusMapping `json:"order_statuses"`
	}
	if err := json.Unmarshal(readFile(t, cfg.Out, OrderStatusesFile), &doc); err != nil {
		t.Fatal(err)
	}
	for _, m := range doc.OrderStatuses {
		statuses[m.ID] = m.Type
	}
	money := regexp.MustCompile(`^[0-9]+\.[0-9]{2}$`)
	productsRE := regexp.MustCompile(`^[^,:]+:[0-9]+(,[^,:]+:[0-9]+)*$`)
	rows = readCSV(t, cfg.Out, OrdersFile, "id,client_uniq_id,client_type,create_date_time,update_date_time,finish_date_time,order_status,revenue,cost,products")
	if len(rows) != cfg.Orders {
		t.Fatalf("orders.csv has %d rows, want %d", len(rows), cfg.Orders)
	}
	var prev time.Time
	seen := map[string]bool{}
	count := map[crmlink.StatusType]int{}
	for i, row := range rows {
		line := i + 2
		if seen[row[0]] {
			t.Fatalf("orders.csv line %d: id %s repeats", line, row[0])
		}
		seen[row[0]] = true
		c := contacts[row[1]]
		if c == nil || row[2] != "CONTACT" {
			t.Fatalf("orders.csv line %d: customer %q %q", line, row[1], row[2])
		}
		created := parseTime(OrdersFile, line, row[3])
		updated := parseTime(OrdersFile, line, row[4])
		if created.Before(prev) {
			t.Errorf("orders.csv line %d: ids are not in order of creation", line)
		}
		prev = created
		if updated.Before(created) || updated.After(end) {
			t.Errorf("orders.csv line %d: created %s, updated %s", line, row[3], row[4])
		}
		typ, ok := statuses[row[6]]
		if !ok {
			t.Fatalf("orders.csv line %d: unknown status %q", line, row[6])
		}
		count[typ]++
		if (row[5] != "") != (typ == crmlink.StatusPaid) {
			t.Errorf("orders.csv line %d: status %s with finish %q", line, row[6], row[5])
		}
		if row[5] != "" {
			finished := parseTime(OrdersFile, line, row[5])
			if !finished.After(created) || finished.After(end) {
				t.Errorf("orders.csv line %d: created %s, finished %s", line, row[3], row[5])
			}
		}
		checkMoney(t, OrdersFile, line, row[7], row[8], money)
		if !productsRE.MatchString(row[9]) {
			t.Errorf("orders.csv line %d: products %q", line, row[9])
		}
		tr := truths[row[0]]
		if tr.session != nil && owner[tr.session.client] != c.visitor && c.visitor >= 0 {
			t.Errorf("orders.csv line %d: true session of another visitor", line)
		}
		checkOrder(OrdersFile, line, row[0], created, c.clients)
	}
	if cfg.Orders >= 1000 {
		n := float64(cfg.Orders)
		if f := float64(count[crmlink.StatusCancelled]) / n; f < 0.05 || f > 0.16 {
			t.Errorf("%.1f%% cancelled orders", 100*f)
		}
		if f := float64(count[crmlink.StatusPaid]) / n; f < 0.6 {
			t.Errorf("only %.1f%% paid orders", 100*f)
		}
	}

	// Simple orders.
	rows = readCSV(t, cfg.Out, SimpleOrdersFile, "id,create_date_time,order_status,revenue,cost,client_ids,emails,phones,goals")
	if len(rows) != cfg.SimpleOrders {
		t.Fatalf("simple_orders.csv has %d rows, want %d", len(rows), cfg.SimpleOrders)
	}
	for i, row := range rows {
		line := i + 2
		id := row[0]
		if id == "" {
			id = SimpleOrdersFile + ":" + strconv.Itoa(line)
		} else if seen[id] {
			t.Fatalf("simple_orders.csv line %d: id %s repeats", line, id)
		}
		seen[id] = true
		created := parseTime(SimpleOrdersFile, line, row[1])
		if _, ok := crmlink.ParseStatusType(row[2]); !ok {
			t.Errorf("simple_orders.csv line %d: status %q", line, row[2])
		}
		checkMoney(t, SimpleOrdersFile, line, row[3], row[4], money)
		if row[5] == "" && row[6] == "" && row[7] == "" {
			t.Errorf("simple_orders.csv line %d: no identifier", line)
		}
		ids := map[uint64]bool{}
		if row[5] != "" {
			for _, s := range strings.Split(row[5], ",") {
				id, _ := strconv.ParseUint(s, 10, 64)
				if !clients[id] {
					t.Errorf("simple_orders.csv line %d: ClientID %s has no session", line, s)
				}
				ids[id] = true
			}
		}
		checkOrder(SimpleOrdersFile, line, id, created, ids)
	}
	if len(seen) != len(truths) {
		t.Errorf("truth.csv has %d orders, the order files %d", len(truths), len(seen))
	}
}

func checkMoney(t *testing.T, file string, line int, revenue, cost string, re *regexp.Regexp) {
	t.Helper()
	if !re.MatchString(revenue) || (cost != "" && !re.MatchString(cost)) {
		t.Errorf("%s line %d: revenue %q, cost %q", file, line, revenue, cost)
		return
	}
	rv, _ := strconv.ParseFloat(revenue, 64)
	if rv < 100 || rv > 500_000 {
		t.Errorf("%s line %d: revenue %s", file, line, revenue)
	}
	if cost != "" {
		if c, _ := strconv.ParseFloat(cost, 64); c > rv || c < 0.5*rv {
			t.Errorf("%s line %d: cost %s for revenue %s", file, line, cost, revenue)
		}
	}
}

func TestConfigErrors(t *testing.T) {
	good := testConfig(t)
	for name, mod := range map[string]func(*Config){
		"no out":          func(c *Config) { c.Out = "" },
		"negative":        func(c *Config) { c.Sessions = -1 },
		"orders, no crm":  func(c *Config) { c.Contacts = 0 },
		"no days":         func(c *Config) { c.Days = 0 },
		"bad site":        func(c *Config) { c.Site = "https://shop.example/" },
		"no end":          func(c *Config) { c.End = time.Time{} },
		"end before 2005": func(c *Config) { c.End = time.Date(2001, 1, 1, 0, 0, 0, 0, time.UTC) },
	} {
		cfg := good
		mod(&cfg)
		_, err := Generate(context.Background(), cfg)
		if crmlink.KindOf(err) != crmlink.KindInvalid {
			t.Errorf("%s: err = %v, want an invalid-config error", name, err)
		}
	}
}

func TestCancel(t *testing.T) {
	cfg := testConfig(t)
	cfg.Sessions = 200_000
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	_, err := Generate(ctx, cfg)
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("err = %v, want context.Canceled", err)
	}
	ents, _ := os.ReadDir(cfg.Out)
	if len(ents) != 0 {
		t.Errorf("a cancelled run left %d files", len(ents))
	}

	// Cancelled while writing sessions.
	var n atomic.Int64
	ctx, cancel = context.WithCancel(context.Background())
	defer cancel()
	out := t.TempDir()
	_, err = generate(ctx, Config{Out: out, Seed: 1, Sessions: 500_000, Days: 30, End: cfg.End, Site: "a.example"},
		hooks{session: func(uint64, crmlink.SourceKind) {
			if n.Add(1) == 10_000 {
				cancel()
			}
		}})
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("err = %v, want context.Canceled", err)
	}
	if ents, _ := os.ReadDir(out); len(ents) != 0 {
		t.Errorf("a run cancelled while writing left %d files", len(ents))
	}
}

func TestDateTime(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	for _, name := range []string{"UTC", "Europe/Moscow", "Europe/Berlin", "America/New_York", "Asia/Kolkata", "Australia/Lord_Howe"} {
		loc, err := time.LoadLocation(name)
		if err != nil {
			t.Fatal(err)
		}
		z := newZone(loc)
		for range 20000 {
			sec := 1_000_000_000 + r.Int64N(2_000_000_000)
			if r.IntN(2) == 0 { // near the last instant, to hit the cache
				sec = 1_700_000_000 + r.Int64N(1000)
			}
			got := string(z.appendDateTime(nil, sec))
			if want := time.Unix(sec, 0).In(loc).Format(time.DateTime); got != want {
				t.Fatalf("%s %d: %s, want %s", name, sec, got, want)
			}
		}
	}
}

func TestPermute(t *testing.T) {
	for _, n := range []uint64{1, 2, 3, 7, 100, 1000, 4097} {
		seen := make([]bool, n)
		for x := range n {
			y := permute(x, n, 99)
			if y >= n || seen[y] {
				t.Fatalf("permute(%d, %d) = %d: out of range or repeated", x, n, y)
			}
			seen[y] = true
		}
	}
}

func TestChoice(t *testing.T) {
	for _, w := range [][]float64{{55, 30, 8, 0, 5, 2}, {1}, {1, 1}, {0.3, 22, 10, 1.5, 1.2, 1.2, 0.8, 0.001}} {
		c := newChoice(w...)
		r := newRNG().seed(1, 2)
		const n = 400_000
		got := make([]int, len(w))
		for range n {
			got[c.pick(r)]++
		}
		sum := 0.0
		for _, x := range w {
			sum += x
		}
		for i, x := range w {
			if f := float64(got[i]) / n; f < x/sum-0.005 || f > x/sum+0.005 || (x == 0 && got[i] > 0) {
				t.Errorf("weights %v: index %d drawn %.4f of the time, want %.4f", w, i, f, x/sum)
			}
		}
	}
}

func TestAppendCell(t *testing.T) {
	for in, want := range map[string]string{
		"":           "",
		"plain":      "plain",
		"a,b":        `"a,b"`,
		`say "hi"`:   `"say ""hi"""`,
		"two\nlines": "\"two\nlines\"",
	} {
		if got := string(appendCell(nil, in)); got != want {
			t.Errorf("appendCell(%q) = %s, want %s", in, got, want)
		}
	}
	if got := string(appendMoney(nil, 123405)); got != "1234.05" {
		t.Errorf("appendMoney = %s", got)
	}
}

// TestDataIsCSVSafe: the session writer appends table strings unquoted.
func TestDataIsCSVSafe(t *testing.T) {
	var all []string
	for _, r := range regions {
		all = append(all, r.country, r.area, r.city)
	}
	for _, d := range deviceKinds {
		all = append(all, d.name)
		for _, o := range d.oses {
			all = append(all, o.name)
			for _, b := range o.browsers {
				all = append(all, b.name)
			}
		}
	}
	for _, p := range catalogue {
		all = append(all, p.name)
		if strings.ContainsAny(p.name, ":,") {
			t.Errorf("product name %q breaks the name:qty list", p.name)
		}
	}
	all = append(all, searchQueries...)
	all = append(all, referralSites...)
	for _, s := range all {
		if needsQuote(s) {
			t.Errorf("%q needs quoting", s)
		}
	}
}

// TestSourceURLsAreCSVSafe: the session writer appends URLs unquoted.
func TestSourceURLsAreCSVSafe(t *testing.T) {
	for _, s := range SourceSamples(5, "shop.example", 50_000) {
		if needsQuote(s.LandingURL) || needsQuote(s.Referrer) {
			t.Fatalf("%+v needs quoting", s)
		}
	}
}

func BenchmarkGenerate1M(b *testing.B) {
	cfg := testConfig(b)
	cfg.Sessions, cfg.Contacts, cfg.Orders, cfg.SimpleOrders, cfg.Days = 1_000_000, 50_000, 100_000, 5_000, 90
	b.ReportAllocs()
	for b.Loop() {
		mustGenerate(b, cfg)
	}
	b.ReportMetric(float64(cfg.Sessions)*float64(b.N)/b.Elapsed().Seconds(), "sessions/s")
}
