package crm_test

import (
	"bytes"
	"context"
	"encoding/csv"
	"encoding/json"
	"errors"
	"io"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/crmlink/crmlink"
	"github.com/crmlink/crmlink/crm"
	"github.com/crmlink/crmlink/gen"
)

var berlin = mustLoad("Europe/Berlin")

func mustLoad(name string) *time.Location {
	loc, err := time.LoadLocation(name)
	if err != nil {
		panic(err)
	}
	return loc
}

// genEnd is the "now" of the generated data set.
var genEnd = time.Date(2025, 4, 5, 18, 30, 0, 0, berlin)

// generate writes a data set of the given size into a temporary directory.
func generate(t testing.TB, dir string, orders int) {
	t.Helper()
	_, err := gen.Generate(context.Background(), gen.Config{
		Out: dir, Seed: 42, Sessions: orders * 12, Contacts: orders * 6 / 10, Orders: orders,
		SimpleOrders: orders / 2, Days: 60, End: genEnd, Site: "shop.example", Location: berlin,
	})
	if err != nil {
		t.Fatalf("generate: %v", err)
	}
}

// resolver reads order_statuses.json the way the store's mapping would be.
func resolver(t testing.TB, dir string) crmlink.StatusResolver {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(dir, gen.OrderStatusesFile))
	if err != nil {
		t.Fatal(err)
	}
	var doc struct {
		OrderStatuses []crmlink.StatusMapping `json:"order_statuses"`
	}
	if err := json.Unmarshal(b, &doc); err != nil {
		t.Fatal(err)
	}
	m := map[string]crmlink.StatusType{}
	for _, s := range doc.OrderStatuses {
		m[s.ID] = s.Type
	}
	return func(s string) (crmlink.StatusType, bool) { t, ok := m[s]; return t, ok }
}

func genOptions(t testing.TB, dir string) crm.Options {
	return crm.Options{Location: berlin, Now: genEnd, Statuses: resolver(t, dir)}
}

func TestGeneratedFiles(t *testing.T) {
	dir := t.TempDir()
	generate(t, dir, 3000)
	opt := genOptions(t, dir)

	f, err := os.Open(filepath.Join(dir, gen.ContactsFile))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	cr, err := crm.NewContactCSV(f, opt)
	if err != nil {
		t.Fatal(err)
	}
	n, withEmail, withPhone := 0, 0, 0
	for {
		var c crmlink.Contact
		err := cr.Next(&c)
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			t.Fatalf("contacts: %v", err)
		}
		n++
		if len(c.IDs.Emails) > 0 {
			withEmail++
			if len(c.IDs.EmailMD5) != len(c.IDs.Emails) || len(c.IDs.EmailSHA256) != len(c.IDs.Emails) {
				t.Fatalf("line %d: emails %v not hashed: %v", c.Line, c.IDs.Emails, c.IDs.EmailMD5)
			}
		}
		if len(c.IDs.Phones) > 0 {
			withPhone++
		}
	}
	if n != 1800 || cr.Rows() != 1800 || withEmail == 0 || withPhone == 0 {
		t.Errorf("contacts: %d read, %d rows, %d with email, %d with phone", n, cr.Rows(), withEmail, withPhone)
	}

	for _, tc := range []struct {
		file string
		open func(io.Reader, crm.Options) (*crm.OrderReader, error)
		want int
	}{
		{gen.OrdersFile, crm.NewOrderCSV, 3000},
		{gen.SimpleOrdersFile, crm.NewSimpleOrderCSV, 1500},
	} {
		f, err := os.Open(filepath.Join(dir, tc.file))
		if err != nil {
			t.Fatal(err)
		}
		defer f.Close()
		or, err := tc.open(f, opt)
		if err != nil {
			t.Fatal(err)
		}
		n, paid, products, goals := 0, 0, 0, 0
		for {
			var o crmlink.Order
			err := or.Next(&o)
			if errors.Is(err, io.EOF) {
				break
			}
			if err != nil {
				t.Fatalf("%s: %v", tc.file, err)
			}
			n++
			if o.StatusType == crmlink.StatusPaid {
				paid++
			}
			products += len(o.Products)
			goals += len(o.Goals)
			if o.Created.IsZero() || o.Created.After(genEnd) || o.Revenue.IsNegative() {
				t.Fatalf("%s line %d: %+v", tc.file, o.Line, o)
			}
		}
		if n != tc.want || paid == 0 {
			t.Errorf("%s: %d orders (%d paid), want %d", tc.file, n, paid, tc.want)
		}
		if tc.file == gen.OrdersFile && products < n {
			t.Errorf("%s: %d products in %d orders", tc.file, products, n)
		}
		if tc.file == gen.SimpleOrdersFile && goals == 0 {
			t.Errorf("%s: no goals", tc.file)
		}
	}
}

func TestMain(m *testing.M) {
	code := m.Run()
	if benchData.dir != "" {
		os.RemoveAll(benchData.dir)
	}
	os.Exit(code)
}

// benchData holds generated files repeated to a million data rows each.
var benchData struct {
	once                     sync.Once
	dir                      string
	orders, simple, contacts []byte
}

const benchRows = 1_000_000

func loadBenchData(b *testing.B) {
	benchData.once.Do(func() {
		dir, err := os.MkdirTemp("", "crmbench")
		if err != nil {
			b.Fatal(err)
		}
		generate(b, dir, 50_000)
		benchData.dir = dir
		benchData.orders = repeatRows(b, filepath.Join(dir, gen.OrdersFile))
		benchData.simple = repeatRows(b, filepath.Join(dir, gen.SimpleOrdersFile))
		benchData.contacts = repeatRows(b, filepath.Join(dir, gen.ContactsFile))
	})
}

// repeatRows returns the file with its data rows repeated until there are
// benchRows of them.
func repeatRows(b *testing.B, path string) []byte {
	data, err := os.ReadFile(path)
	if err != nil {
		b.Fatal(err)
	}
	i := bytes.IndexByte(data, '\n') + 1
	header, body := data[:i], data[i:]
	lines := bytes.Split(bytes.TrimSuffix(body, []byte("\n")), []byte("\n"))
	size := len(header)
	for n := range benchRows {
		size += len(lines[n%len(lines)]) + 1
	}
	out := make([]byte, 0, size)
	out = append(out, header...)
	for n := range benchRows {
		out = append(append(out, lines[n%len(lines)]...), '\n')
	}
	return out
}

func benchOrders(b *testing.B, data []byte, open func(io.Reader, crm.Options) (*crm.OrderReader, error)) {
	opt := crm.Options{Location: berlin, Now: genEnd, Statuses: resolver(b, benchData.dir)}
	b.SetBytes(int64(len(data)))
	b.ReportAllocs()
	b.ResetTimer()
	for b.Loop() {
		r, err := open(bytes.NewReader(data), opt)
		if err != nil {
			b.Fatal(err)
		}
		var o crmlink.Order
		n := 0
		for {
			err := r.Next(&o)
			if err == io.EOF {
				break
			}
			if err != nil {
				b.Fatal(err)
			}
			n++
		}
		if n != benchRows {
			b.Fatalf("%d rows", n)
		}
	}
	b.ReportMetric(float64(benchRows)*float64(b.N)/b.Elapsed().Seconds(), "rows/s")
}

func BenchmarkOrderCSV(b *testing.B) {
	loadBenchData(b)
	b.Run("full", func(b *testing.B) { benchOrders(b, benchData.orders, crm.NewOrderCSV) })
	b.Run("simple", func(b *testing.B) { benchOrders(b, benchData.simple, crm.NewSimpleOrderCSV) })
}

func BenchmarkContactCSV(b *testing.B) {
	loadBenchData(b)
	data := benchData.contacts
	opt := crm.Options{Location: berlin, Now: genEnd}
	b.SetBytes(int64(len(data)))
	b.ReportAllocs()
	b.ResetTimer()
	for b.Loop() {
		r, err := crm.NewContactCSV(bytes.NewReader(data), opt)
		if err != nil {
			b.Fatal(err)
		}
		var c crmlink.Contact
		n := 0
		for {
			err := r.Next(&c)
			if err == io.EOF {
				break
			}
			if err != nil {
				b.Fatal(err)
			}
			n++
		}
		if n != benchRows {
			b.Fatalf("%d rows", n)
		}
	}
	b.ReportMetric(float64(benchRows)*float64(b.N)/b.Elapsed().Seconds(), "rows/s")
}

// jsonRows is the number of elements in the JSON benchmarks' bodies: the
// most one request may carry (http.DefaultMaxJSONRows).
const jsonRows = 100_000

// csvToJSON turns the first n data rows of a generated CSV file (repeated
// as needed) into the JSON body of an upload under key: list columns as
// arrays, revenue and cost as numbers, products as an object, the rest as
// strings, which is how CRMs send them.
func csvToJSON(b *testing.B, path, key string, n int) []byte {
	f, err := os.Open(path)
	if err != nil {
		b.Fatal(err)
	}
	defer f.Close()
	rows, err := csv.NewReader(f).ReadAll()
	if err != nil {
		b.Fatal(err)
	}
	header, data := rows[0], rows[1:]
	var buf bytes.Buffer
	buf.WriteString(`{"` + key + `":[`)
	for i := range n {
		if i > 0 {
			buf.WriteByte(',')
		}
		buf.WriteByte('{')
		first := true
		for j, cell := range data[i%len(data)] {
			if cell == "" {
				continue
			}
			if !first {
				buf.WriteByte(',')
			}
			first = false
			k, _ := json.Marshal(header[j])
			buf.Write(k)
			buf.WriteByte(':')
			var v any = cell
			switch header[j] {
			case "client_ids", "emails", "phones", "user_ids":
				v = strings.Split(cell, ",")
			case "revenue", "cost":
				v = json.Number(cell)
			case "products":
				m := map[string]json.Number{}
				for _, p := range strings.Split(cell, ",") {
					name, qty, _ := strings.Cut(p, ":")
					m[name] = json.Number(qty)
				}
				v = m
			}
			val, err := json.Marshal(v)
			if err != nil {
				b.Fatal(err)
			}
			buf.Write(val)
		}
		buf.WriteByte('}')
	}
	buf.WriteString("]}")
	return buf.Bytes()
}

func BenchmarkJSON(b *testing.B) {
	loadBenchData(b)
	orders := csvToJSON(b, filepath.Join(benchData.dir, gen.OrdersFile), "orders", jsonRows)
	contacts := csvToJSON(b, filepath.Join(benchData.dir, gen.ContactsFile), "contacts", jsonRows)
	b.Run("orders", func(b *testing.B) {
		opt := crm.Options{Location: berlin, Now: genEnd, Statuses: resolver(b, benchData.dir)}
		benchJSONRows(b, orders, func(r io.Reader) (rowReader[crmlink.Order], error) { return crm.NewOrderJSON(r, opt) })
	})
	b.Run("contacts", func(b *testing.B) {
		opt := crm.Options{Location: berlin, Now: genEnd}
		benchJSONRows(b, contacts, func(r io.Reader) (rowReader[crmlink.Contact], error) { return crm.NewContactJSON(r, opt) })
	})
}

// rowReader is what the CRM readers share.
type rowReader[T any] interface{ Next(*T) error }

// benchJSONRows reads body, of jsonRows elements, with readers from open,
// and reports rows/s.
func benchJSONRows[T any](b *testing.B, body []byte, open func(io.Reader) (rowReader[T], error)) {
	b.SetBytes(int64(len(body)))
	b.ReportAllocs()
	for b.Loop() {
		r, err := open(bytes.NewReader(body))
		if err != nil {
			b.Fatal(err)
		}
		var row T
		n := 0
		for ; ; n++ {
			if err := r.Next(&row); err == io.EOF {
				break
			} else if err != nil {
				b.Fatal(err)
			}
		}
		if n != jsonRows {
			b.Fatalf("%d rows", n)
		}
	}
	b.ReportMetric(float64(jsonRows)*float64(b.N)/b.Elapsed().Seconds(), "rows/s")
}
