package duckdb_test

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/crmlink/crmlink"
	"github.com/crmlink/crmlink/crm"
	"github.com/crmlink/crmlink/gen"
	"github.com/crmlink/crmlink/store"
	"github.com/crmlink/crmlink/store/storetest"
)

// dumpCRM is a store's orders, versions, links and goal reaches of counter
// c, as text, with upload ids left out (each store names its own).
func dumpCRM(t *testing.T, st any, c crmlink.CounterID) string {
	t.Helper()
	var b strings.Builder
	for _, q := range []string{
		`SELECT id, uniq_id, created, updated, finished, status, status_type, revenue, cost, currency, products, goals, version,
			rep_status_type, rep_revenue, rep_cost FROM orders WHERE counter_id = ? ORDER BY id`,
		`SELECT order_id, version, line, status, revenue, cost, created, updated, finished FROM order_history
			WHERE counter_id = ? ORDER BY order_id, version`,
		`SELECT order_id, session_id, client_id, method FROM order_links WHERE counter_id = ? ORDER BY order_id`,
		`SELECT goal_id, order_id, session_id, time, revenue FROM goal_reaches WHERE counter_id = ? ORDER BY ALL`,
		`SELECT status, rows, accepted, rejected, linked, unlinked, errors_total FROM uploads
			WHERE counter_id = ? AND entity = 'orders'`,
	} {
		rows, err := engine(st).DB().Query(q, int64(c))
		if err != nil {
			t.Fatal(err)
		}
		cols, _ := rows.Columns()
		vals := make([]any, len(cols))
		ptrs := make([]any, len(cols))
		for i := range vals {
			ptrs[i] = &vals[i]
		}
		for rows.Next() {
			if err := rows.Scan(ptrs...); err != nil {
				t.Fatal(err)
			}
			fmt.Fprintln(&b, vals...)
		}
		rows.Close()
		fmt.Fprintln(&b, "--")
	}
	return b.String()
}

// TestAcceptOrders: an upload accepted and then applied leaves the store
// as UploadOrders does, and its spools are gone: generated data at some
// scale, across chunks, compared table by table (storetest's
// AcceptedAsUploaded compares small hand-made uploads through the Store
// interface).
func TestAcceptOrders(t *testing.T) {
	ctx := context.Background()
	loc, _ := time.LoadLocation("Europe/Moscow")
	dir := t.TempDir()
	if _, err := gen.Generate(ctx, gen.Config{Out: dir, Seed: 5, Sessions: 5000, Contacts: 800, Orders: 3000, Days: 60,
		End: storetest.Epoch, Site: "shop.example", Location: loc}); err != nil {
		t.Fatal(err)
	}
	var dumps []string
	for _, accept := range []bool{false, true} {
		st, err := store.Open(ctx, "duckdb://"+filepath.Join(t.TempDir(), "crmlink.db"),
			store.Config{Clock: &crmlink.FixedClock{T: storetest.Epoch}, ChunkRows: 700}) // several chunks
		if err != nil {
			t.Fatal(err)
		}
		defer st.Close()
		c := storetest.MustCounter(t, st, "Shop", "Europe/Moscow")
		storetest.LoadGenerated(t, st, c, dir, storetest.Epoch, gen.SessionsFile, gen.ContactsFile)
		f, err := os.Open(filepath.Join(dir, gen.OrdersFile))
		if err != nil {
			t.Fatal(err)
		}
		rd, err := crm.NewOrderCSV(f, crm.Options{Location: loc, Now: storetest.Epoch, Statuses: crmlink.NewStatusResolver(gen.OrderStatuses())})
		if err != nil {
			t.Fatal(err)
		}
		up := &crmlink.Upload{CounterID: c.ID, Format: "CSV"}
		if accept {
			err = st.AcceptOrders(ctx, up, rd)
			if err == nil && (up.Status != crmlink.UploadPassed || up.Rows != 3000 || up.Accepted != 3000) {
				t.Errorf("accepted upload %+v", up)
			}
			if err == nil {
				err = st.SyncUploads(ctx)
			}
		} else {
			err = st.UploadOrders(ctx, up, rd)
		}
		f.Close()
		if err != nil {
			t.Fatal(err)
		}
		dumps = append(dumps, dumpCRM(t, st, c.ID))
		if left, _ := os.ReadDir(store.UploadQueueDir(st.LocalDir())); len(left) != 0 {
			t.Errorf("spools left after applying: %v", left)
		}
	}
	if dumps[0] != dumps[1] {
		t.Errorf("accepted and applied, the store differs from UploadOrders':\n%.2000s\n----\n%.2000s", dumps[1], dumps[0])
	}
	if !strings.Contains(dumps[1], "PASSED 3000 3000 0") {
		t.Errorf("the upload's record:\n%s", dumps[1][strings.LastIndex(dumps[1][:len(dumps[1])-4], "--"):])
	}
}

// TestAcceptOrdersRefused: an upload refused when it is accepted leaves
// no spools (the refusal itself, its record and
// that nothing is applied are storetest's AcceptOrdersRefused).
func TestAcceptOrdersRefused(t *testing.T) {
	ctx := context.Background()
	st := openTemp(t, &crmlink.FixedClock{T: storetest.Epoch}).(*store.Store)
	c := storetest.MustCounter(t, st, "Shop", "UTC")
	rd, err := crm.NewOrderCSV(strings.NewReader("id,client_uniq_id,create_date_time,order_status\nA-1,nobody,2026-01-10 10:00,PAID\n"),
		crm.Options{Now: storetest.Epoch})
	if err != nil {
		t.Fatal(err)
	}
	up := &crmlink.Upload{CounterID: c.ID, Format: "CSV"}
	var v *crmlink.ValidationError
	if err := st.AcceptOrders(ctx, up, rd); !errors.As(err, &v) {
		t.Fatalf("accept: %v, want a validation error", err)
	}
	if left, _ := os.ReadDir(store.UploadQueueDir(st.LocalDir())); len(left) != 0 {
		t.Errorf("spools left: %v", left)
	}
}
