package storetest

import (
	"context"
	"encoding/csv"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"testing"

	"github.com/crmlink/crmlink/gen"
)

// RunAccuracy runs the cases that check a store against the generator's
// truth: every linkable order on its true session, and reports equal to
// the same numbers computed in plain Go. They load tens of thousands of
// rows: run them once per engine, not under every setting Run is.
func RunAccuracy(t *testing.T, open Opener) {
	t.Run("LinkAccuracy", func(t *testing.T) { testLinkAccuracy(t, open) })
	t.Run("ReportAccuracy", func(t *testing.T) { testReportAccuracy(t, open) })
}

// testLinkAccuracy loads a generated data set through the readers a user's
// files take and compares every order's link with the generator's truth:
// an order whose CRM data can identify its true session must link to it.
func testLinkAccuracy(t *testing.T, open Opener) {
	ctx := context.Background()
	st, c, dir, ups := GeneratedStore(t, open, gen.Config{Seed: 7, Sessions: 40000, Contacts: 3000, Orders: 5000, SimpleOrders: 500, Days: 60},
		gen.SessionsFile, gen.ContactsFile, gen.OrdersFile, gen.SimpleOrdersFile)
	up, sup := ups[gen.OrdersFile], ups[gen.SimpleOrdersFile]
	openFile := func(name string) *os.File {
		f, err := os.Open(filepath.Join(dir, name))
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { f.Close() })
		return f
	}
	t.Logf("orders upload: %d linked, unlinked %v; simple orders: %d linked, unlinked %v", up.Linked, up.Unlinked, sup.Linked, sup.Unlinked)

	truth := csv.NewReader(openFile(gen.TruthFile))
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
