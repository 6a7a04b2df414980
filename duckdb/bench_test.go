package duckdb_test

import (
	"bytes"
	"context"
	"fmt"
	"net/url"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/crmlink/crmlink"
	"github.com/crmlink/crmlink/crm"
	"github.com/crmlink/crmlink/duckdb"
	"github.com/crmlink/crmlink/gen"
	"github.com/crmlink/crmlink/report"
	"github.com/crmlink/crmlink/sessionfile"
	"github.com/crmlink/crmlink/store"
	"github.com/crmlink/crmlink/store/storetest"
	"github.com/crmlink/crmlink/traffic"
)

// Generated data sets, made once per test binary and shared by the
// benchmarks that ask for the same one; TestMain removes them.
var (
	benchDataMu   sync.Mutex
	benchDataDirs = map[string]string{}
)

// benchData returns the directory of a generated data set of the given
// sizes (the rest of the configuration is fixed).
func benchData(b *testing.B, sessions, contacts, orders int) string {
	benchDataMu.Lock()
	defer benchDataMu.Unlock()
	key := fmt.Sprint(sessions, contacts, orders)
	if dir, ok := benchDataDirs[key]; ok {
		return dir
	}
	dir, err := os.MkdirTemp("", "crmlink-bench-")
	if err != nil {
		b.Fatal(err)
	}
	benchDataDirs[key] = dir
	loc, _ := time.LoadLocation("Europe/Moscow")
	if _, err := gen.Generate(context.Background(), gen.Config{Out: dir, Seed: 1, Sessions: sessions,
		Contacts: contacts, Orders: orders, Days: 90, End: storetest.Epoch, Site: "shop.example", Location: loc}); err != nil {
		b.Fatal(err)
	}
	return dir
}

func TestMain(m *testing.M) {
	code := m.Run()
	for _, dir := range benchDataDirs {
		os.RemoveAll(dir)
	}
	os.Exit(code)
}

// benchSessions is a 1M-session file.
func benchSessions(b *testing.B) string {
	return filepath.Join(benchData(b, 1_000_000, 1000, 1000), gen.SessionsFile)
}

// BenchmarkImportSessions1M imports a generated 1M-row session CSV into a
// fresh store: parse, classify, stage, and move in one transaction.
func BenchmarkImportSessions1M(b *testing.B) {
	path := benchSessions(b)
	classifier := traffic.New()
	ctx := context.Background()
	for i := 0; i < b.N; i++ {
		b.StopTimer()
		clock := &crmlink.FixedClock{T: storetest.Epoch}
		st, err := duckdb.Open(ctx, "duckdb://"+filepath.Join(b.TempDir(), "b.db"), clock)
		if err != nil {
			b.Fatal(err)
		}
		c := storetest.MustCounter(b, st, "Bench", "Europe/Moscow")
		f, err := os.Open(path)
		if err != nil {
			b.Fatal(err)
		}
		b.StartTimer()
		loc, _ := c.Location()
		rd, err := sessionfile.NewReader(f, sessionfile.Options{Location: loc, Site: c.Site, Classifier: classifier, Now: clock.Now()})
		if err != nil {
			b.Fatal(err)
		}
		up := &crmlink.Upload{CounterID: c.ID}
		if err := st.ImportSessions(ctx, up, rd); err != nil {
			b.Fatal(err)
		}
		b.StopTimer()
		f.Close()
		st.Close()
		if up.Accepted != 1_000_000 {
			b.Fatalf("accepted %d", up.Accepted)
		}
	}
	b.ReportMetric(1_000_000*float64(b.N)/b.Elapsed().Seconds(), "rows/s")
}

// BenchmarkReadSessions1M measures the reader alone (parse and classify).
func BenchmarkReadSessions1M(b *testing.B) {
	path := benchSessions(b)
	b.ResetTimer()
	classifier := traffic.New()
	loc, _ := time.LoadLocation("Europe/Moscow")
	for i := 0; i < b.N; i++ {
		f, err := os.Open(path)
		if err != nil {
			b.Fatal(err)
		}
		rd, err := sessionfile.NewReader(f, sessionfile.Options{Location: loc, Site: "shop.example", Classifier: classifier})
		if err != nil {
			b.Fatal(err)
		}
		n := 0
		var s crmlink.Session
		for rd.Next(&s) == nil {
			n++
		}
		f.Close()
		if n != 1_000_000 {
			b.Fatalf("read %d sessions", n)
		}
	}
	b.ReportMetric(1_000_000*float64(b.N)/b.Elapsed().Seconds(), "rows/s")
}

// benchOrders is 1M orders of 200k contacts.
func benchOrders(b *testing.B) string { return benchData(b, 100_000, 200_000, 1_000_000) }

// BenchmarkUploadOrders1M uploads a generated 1M-row orders CSV into a store
// that holds its 200k contacts: read, validate, stage, check contacts,
// record versions and merge, in one transaction.
func BenchmarkUploadOrders1M(b *testing.B) {
	benchOrdersUpload(b, func(st *store.Store) func(context.Context, *crmlink.Upload, crmlink.OrderReader) error {
		return st.UploadOrders
	})
}

// BenchmarkAcceptOrders1M accepts a generated 1M-row orders CSV: read,
// validate, spool and fsync it, check its customers, and queue it; what an
// answer after acceptance waits for. Applying is left out (held).
func BenchmarkAcceptOrders1M(b *testing.B) {
	benchOrdersUpload(b, func(st *store.Store) func(context.Context, *crmlink.Upload, crmlink.OrderReader) error {
		return st.AcceptOrders // the queue is held
	})
}

// benchOrdersUpload times one way of taking the generated 1M-row orders
// CSV into a fresh store that has its contacts; way picks it for a store.
func benchOrdersUpload(b *testing.B, way func(st *store.Store) func(context.Context, *crmlink.Upload, crmlink.OrderReader) error) {
	dir := benchOrders(b)
	ctx := context.Background()
	for i := 0; i < b.N; i++ {
		b.StopTimer()
		clock := &crmlink.FixedClock{T: storetest.Epoch}
		st, err := store.Open(ctx, "duckdb://"+filepath.Join(b.TempDir(), "b.db"), store.Config{Clock: clock, HoldQueue: true})
		if err != nil {
			b.Fatal(err)
		}
		upload := way(st)
		c := storetest.MustCounter(b, st, "Bench", "Europe/Moscow")
		storetest.LoadGenerated(b, st, c, dir, clock.Now(), gen.ContactsFile)
		loc, _ := c.Location()
		opt := crm.Options{Location: loc, Now: clock.Now(), Statuses: crmlink.NewStatusResolver(gen.OrderStatuses())}
		f, err := os.Open(filepath.Join(dir, gen.OrdersFile))
		if err != nil {
			b.Fatal(err)
		}
		b.StartTimer()
		rd, err := crm.NewOrderCSV(f, opt)
		if err != nil {
			b.Fatal(err)
		}
		up := &crmlink.Upload{CounterID: c.ID}
		if err := upload(ctx, up, rd); err != nil {
			b.Fatal(err)
		}
		b.StopTimer()
		f.Close()
		st.Close()
		if up.Accepted != 1_000_000 {
			b.Fatalf("accepted %d", up.Accepted)
		}
	}
	b.ReportMetric(1_000_000*float64(b.N)/b.Elapsed().Seconds(), "rows/s")
}

// BenchmarkRelink links 100k generated orders against 1M sessions again;
// `crmlink-bench link` measures the 1M-against-10M case.
func BenchmarkRelink(b *testing.B) {
	ctx := context.Background()
	st, c := loadedBenchStore(b, 1_000_000, 25_000, 100_000)
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		ls, err := st.Relink(ctx, c.ID)
		if err != nil {
			b.Fatal(err)
		}
		if ls.Linked == 0 {
			b.Fatal("nothing linked")
		}
	}
	b.ReportMetric(100_000*float64(b.N)/b.Elapsed().Seconds(), "orders/s")
}

// BenchmarkReport runs the Order sources report (30 days, lastsign), a
// three-dimension cross-section and the Clients report's first page over
// 1M sessions and 100k orders; `crmlink-bench report` measures them at
// 10M sessions and 1M orders.
func BenchmarkReport(b *testing.B) {
	ctx := context.Background()
	st, c := loadedBenchStore(b, 1_000_000, 25_000, 100_000)
	clock := &crmlink.FixedClock{T: storetest.Epoch}
	goals, err := st.Goals(ctx, c.ID)
	if err != nil {
		b.Fatal(err)
	}
	for _, r := range []struct{ name, query string }{
		{"orders_sources", "preset=orders_sources&date1=29daysAgo&date2=today"},
		{"source_region_device", "metrics=ym:s:visits,ym:s:cdpOrdersAllOrders,ym:s:cdpOrdersRUBRevenue&dimensions=ym:s:lastsignTrafficSource,ym:s:regionCity,ym:s:deviceCategory&date1=29daysAgo&date2=today"},
	} {
		v, _ := url.ParseQuery(r.query)
		q, err := report.Parse(report.Request{Counter: c, Goals: goals, Now: clock.Now(), Params: v})
		if err != nil {
			b.Fatal(err)
		}
		b.Run(r.name, func(b *testing.B) {
			for b.Loop() {
				res, err := st.Report(ctx, q)
				if err != nil {
					b.Fatal(err)
				}
				if res.Totals[0].IsZero() {
					b.Fatal("no visits")
				}
			}
		})
	}
	b.Run("clients", func(b *testing.B) {
		for b.Loop() {
			res, err := st.Clients(ctx, &crmlink.ClientsQuery{CounterID: c.ID, Limit: 100})
			if err != nil {
				b.Fatal(err)
			}
			if len(res.Rows) != 100 {
				b.Fatalf("%d rows", len(res.Rows))
			}
		}
	})
}

// loadedBenchStore loads a generated data set of the given sizes (sessions,
// contacts, then orders, as a user would) into a fresh store, written to
// its file.
func loadedBenchStore(b *testing.B, sessions, contacts, orders int) (*store.Store, *crmlink.Counter) {
	ctx := context.Background()
	dir := benchData(b, sessions, contacts, orders)
	clock := &crmlink.FixedClock{T: storetest.Epoch}
	st, err := duckdb.Open(ctx, "duckdb://"+filepath.Join(b.TempDir(), "b.db"), clock)
	if err != nil {
		b.Fatal(err)
	}
	c := storetest.MustCounter(b, st, "Bench", "Europe/Moscow")
	storetest.LoadGenerated(b, st, c, dir, clock.Now(), gen.SessionsFile, gen.ContactsFile, gen.OrdersFile)
	if err := st.Checkpoint(ctx); err != nil {
		b.Fatal(err)
	}
	s, err := store.New(ctx, st, store.Config{Clock: clock})
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { s.Close() })
	return s, c
}

// BenchmarkUploadExpenses100k uploads a 100k-row expenses CSV (a day of
// spend per row for 500 campaigns over 200 days, a tenth of the rows
// ranges of a week) into a fresh store: read, validate, spread over the
// days and store in one transaction.
func BenchmarkUploadExpenses100k(b *testing.B) {
	var buf bytes.Buffer
	buf.WriteString("Date,UTMSource,UTMMedium,UTMCampaign,Expenses,Clicks\n")
	start := storetest.Epoch.AddDate(0, 0, -200)
	sources := []string{"yandex", "google", "vk"}
	for i := range 100_000 {
		d := start.AddDate(0, 0, i%200).Format(time.DateOnly)
		if i%10 == 0 {
			d += "/" + start.AddDate(0, 0, i%200+6).Format(time.DateOnly)
		}
		fmt.Fprintf(&buf, "%s,%s,cpc,campaign_%d,%d.%02d,%d\n", d, sources[i%3], i%500, 100+i%9000, i%100, i%300)
	}
	file := buf.Bytes()
	b.ReportAllocs()
	for b.Loop() {
		b.StopTimer()
		st, err := store.Open(context.Background(), "duckdb://"+filepath.Join(b.TempDir(), "b.db"), store.Config{Clock: &crmlink.FixedClock{T: storetest.Epoch}})
		if err != nil {
			b.Fatal(err)
		}
		c := storetest.MustCounter(b, st, "Shop", "UTC")
		b.StartTimer()
		rd, err := crm.NewExpensesCSV(bytes.NewReader(file), crm.Options{})
		if err != nil {
			b.Fatal(err)
		}
		if err := st.UploadExpenses(context.Background(), &crmlink.Upload{CounterID: c.ID}, &crmlink.ExpenseUpload{}, rd); err != nil {
			b.Fatal(err)
		}
		b.StopTimer()
		st.Close()
		b.StartTimer()
	}
	b.ReportMetric(100_000*float64(b.N)/b.Elapsed().Seconds(), "rows/s")
}
