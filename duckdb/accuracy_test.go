package duckdb_test

import (
	"context"
	"fmt"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/crmlink/crmlink/duckdb"
	"github.com/crmlink/crmlink/gen"
	"github.com/crmlink/crmlink/store/storetest"
)

// TestLinkSlices: linking many orders in slices links each as linking
// them in one statement does.
func TestLinkSlices(t *testing.T) {
	ctx := context.Background()
	st, c, _, ups := storetest.GeneratedStore(t, openTemp, gen.Config{Seed: 11, Sessions: 20000, Contacts: 2000, Orders: 4000, SimpleOrders: 400, Days: 60},
		gen.SessionsFile, gen.ContactsFile, gen.OrdersFile, gen.SimpleOrdersFile)
	ds := engine(st)
	links := func() string {
		t.Helper()
		var b strings.Builder
		rows, err := ds.DB().QueryContext(ctx, `SELECT order_id, session_id, client_id, method, session_start FROM order_links
			WHERE counter_id = ? ORDER BY order_id`, int64(c.ID))
		if err != nil {
			t.Fatal(err)
		}
		defer rows.Close()
		for rows.Next() {
			var id, method string
			var session, client uint64
			var start time.Time
			if err := rows.Scan(&id, &session, &client, &method, &start); err != nil {
				t.Fatal(err)
			}
			fmt.Fprintln(&b, id, session, client, method, start.UTC().Format(time.RFC3339))
		}
		return b.String()
	}
	whole, err := st.Relink(ctx, c.ID)
	if err != nil {
		t.Fatal(err)
	}
	want := links()
	if whole.Linked == 0 || whole.Linked != ups[gen.OrdersFile].Linked+ups[gen.SimpleOrdersFile].Linked {
		t.Fatalf("relinked %+v; the uploads linked %d and %d", whole, ups[gen.OrdersFile].Linked, ups[gen.SimpleOrdersFile].Linked)
	}
	duckdb.SetLinkRows(engine(ds), 700) // 4,400 orders: seven slices
	sliced, err := st.Relink(ctx, c.ID)
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(sliced, whole) {
		t.Errorf("in slices: %+v; whole: %+v", sliced, whole)
	}
	if got := links(); got != want {
		t.Errorf("links differ in slices: %d bytes of links against %d", len(got), len(want))
	}
}
