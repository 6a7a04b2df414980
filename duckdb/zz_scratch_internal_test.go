package duckdb

import (
	"context"
	"errors"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"testing"
	"time"

	"github.com/crmlink/crmlink"
	"github.com/crmlink/crmlink/crm"
	"github.com/crmlink/crmlink/gen"
)

func TestScratchAccept(t *testing.T) {
	if os.Getenv("SCRATCH") == "" {
		t.Skip()
	}
	dir := t.TempDir()
	end := time.Date(2026, 3, 1, 0, 0, 0, 0, time.UTC)
	if _, err := gen.Generate(context.Background(), gen.Config{Out: dir, Seed: 1, Sessions: 1000, Contacts: 200000, Orders: 1_000_000, Days: 90, End: end, Site: "shop.example", Location: time.UTC}); err != nil {
		t.Fatal(err)
	}
	opt := crm.Options{Location: time.UTC, Now: end, Statuses: crmlink.NewStatusResolver(gen.OrderStatuses())}
	open := func() crmlink.OrderReader {
		f, err := os.Open(filepath.Join(dir, gen.OrdersFile))
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { f.Close() })
		r, err := crm.NewOrderCSV(f, opt)
		if err != nil {
			t.Fatal(err)
		}
		return r
	}
	// (a) read only
	t0 := time.Now()
	r := open()
	var o crmlink.Order
	n := 0
	for {
		if err := r.Next(&o); err != nil {
			if errors.Is(err, io.EOF) {
				break
			}
			t.Fatal(err)
		}
		n++
	}
	t.Logf("read only: %d rows in %s", n, time.Since(t0))
	// (b) read + spool + fsync
	t0 = time.Now()
	r = open()
	out := t.TempDir()
	var sp *spool
	var err error
	chunks := 0
	n = 0
	for {
		if err := r.Next(&o); err != nil {
			if errors.Is(err, io.EOF) {
				break
			}
			t.Fatal(err)
		}
		n++
		if sp == nil {
			if sp, err = newSpool(out, "orders"); err != nil {
				t.Fatal(err)
			}
		}
		sp.int(int64(o.Line))
		sp.str(o.ID + strconv.Itoa(0))
		sp.int(int64(o.Fields))
		sp.str(o.UniqID)
		sp.micros(o.Created)
		sp.micros(o.Updated)
		sp.micros(o.Finished)
		sp.str(o.Status)
		sp.str(string(o.StatusType))
		sp.decimal(o.Revenue, true)
		sp.decimal(o.Cost.Decimal, o.Cost.Valid)
		sp.str(o.Currency)
		sp.products(o.Products)
		sp.goals(o.Goals)
		sp.str("{}")
		spoolIDs(sp, &o.IDs)
		sp.end()
		if sp.rows == 250000 {
			sp.w.Flush()
			sp.f.Sync()
			sp.close()
			sp = nil
			chunks++
		}
	}
	if sp != nil {
		sp.w.Flush()
		sp.f.Sync()
		sp.close()
	}
	t.Logf("read+spool+fsync: %d rows in %s", n, time.Since(t0))
}
