package duckdb_test

import (
	"context"
	"encoding/csv"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"reflect"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/crmlink/crmlink/duckdb"
	"github.com/crmlink/crmlink/gen"
)

// TestLinkAccuracy loads a generated data set through the readers a user's
// files take and compares every order's link with the generator's truth:
// an order whose CRM data can identify its true session must link to it.
func TestLinkAccuracy(t *testing.T) {
	ctx := context.Background()
	st, c, dir, ups := generatedStore(t, gen.Config{Seed: 7, Sessions: 40000, Contacts: 3000, Orders: 5000, SimpleOrders: 500, Days: 60},
		gen.SessionsFile, gen.ContactsFile, gen.OrdersFile, gen.SimpleOrdersFile)
	up, sup := ups[gen.OrdersFile], ups[gen.SimpleOrdersFile]
	open := func(name string) *os.File {
		f, err := os.Open(filepath.Join(dir, name))
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { f.Close() })
		return f
	}
	t.Logf("orders upload: %d linked, unlinked %v; simple orders: %d linked, unlinked %v", up.Linked, up.Unlinked, sup.Linked, sup.Unlinked)

	truth := csv.NewReader(open(gen.TruthFile))
	truth.Read() // header
	var linkable, right, wrong, unexpected int
	for {
		rec, err := truth.Read()
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		id, session := rec[0], rec[1]
		if len(id) > len(gen.SimpleOrdersFile) && id[:len(gen.SimpleOrdersFile)] == gen.SimpleOrdersFile {
			continue // a simple order without an id: the store names it
		}
		l, err := st.OrderLink(ctx, c.ID, id)
		if rec[3] != "1" {
			if err == nil && session != "" && strconv.FormatUint(l.SessionID, 10) != session {
				unexpected++ // linked, though not through the identifiers the truth counts
			}
			continue
		}
		linkable++
		if err == nil && strconv.FormatUint(l.SessionID, 10) == session {
			right++
		} else {
			wrong++
			if wrong <= 5 {
				t.Logf("order %s: truth %s, link %+v, %v", id, session, l, err)
			}
		}
	}
	share := float64(right) / float64(linkable)
	t.Logf("linkable orders: %d; linked to their true session: %d (%.2f%%); other linked orders on another session: %d",
		linkable, right, 100*share, unexpected)
	if linkable < 1000 || share < 0.99 {
		t.Errorf("accuracy %.2f%% over %d linkable orders; want at least 99%%", 100*share, linkable)
	}
}

// TestLinkSlices: linking many orders in slices links each as linking
// them in one statement does.
func TestLinkSlices(t *testing.T) {
	ctx := context.Background()
	st, c, _, ups := generatedStore(t, gen.Config{Seed: 11, Sessions: 20000, Contacts: 2000, Orders: 4000, SimpleOrders: 400, Days: 60},
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
