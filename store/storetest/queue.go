package storetest

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/crmlink/crmlink"
	"github.com/crmlink/crmlink/crm"
	"github.com/shopspring/decimal"
)

func runQueue(t *testing.T, open Opener) {
	t.Run("AcceptOrders", func(t *testing.T) { testAcceptOrders(t, open) })
	t.Run("AcceptedAsUploaded", func(t *testing.T) { testAcceptedAsUploaded(t, open) })
	t.Run("AcceptOrdersRefused", func(t *testing.T) { testAcceptRefused(t, open) })
	t.Run("AcceptOrdersPartialUpdate", func(t *testing.T) { testAcceptPartialUpdate(t, open) })
	t.Run("AllErrorsAcrossChunks", func(t *testing.T) { testAllErrorsAcrossChunks(t, open) })
	t.Run("UploadVisibleWhileApplied", func(t *testing.T) { testUploadVisibleWhileApplied(t, open) })
}

// acceptOrders accepts orders into c's queue as up.
func acceptOrders(t *testing.T, s crmlink.Store, c *crmlink.Counter, up *crmlink.Upload, os ...crmlink.Order) error {
	t.Helper()
	up.CounterID = c.ID
	return s.AcceptOrders(context.Background(), up, &OrderSlice{Orders: os})
}

func syncUploads(t *testing.T, s crmlink.Store) {
	t.Helper()
	if err := s.SyncUploads(context.Background()); err != nil {
		t.Fatal(err)
	}
}

// testAcceptOrders: an accepted upload is recorded when AcceptOrders
// returns, applied by SyncUploads (its orders stored and linked, the
// record no longer queued), and uploads changing one order are applied in
// the order accepted, each version as of its acceptance.
func testAcceptOrders(t *testing.T, open Opener) {
	ctx := context.Background()
	s, clock := newStore(t, open)
	c := MustCounter(t, s, "Shop", "UTC")
	importSessions(t, s, c, plainSession(1, 10, day.Add(-time.Hour)))
	uploadContacts(t, s, c, crmlink.MergeSave, crmlink.Contact{UniqID: "C1", Fields: crmlink.FieldClientIDs,
		IDs: crmlink.CustomerIDs{ClientIDs: []uint64{10}}})
	up := &crmlink.Upload{Format: "CSV", Source: "API"}
	if err := acceptOrders(t, s, c, up, order("O1", "C1", crmlink.StatusInProgress, "100", day),
		order("O2", "C1", crmlink.StatusPaid, "50", day.Add(-time.Minute))); err != nil {
		t.Fatal(err)
	}
	if up.ID == "" || up.Status != crmlink.UploadPassed || up.Rows != 2 || up.Accepted != 2 || up.Entity != crmlink.EntityOrders ||
		!up.Created.Equal(Epoch) {
		t.Errorf("accepted upload = %+v", up)
	}
	// Recorded at once, queued or already applied.
	rec, err := s.Upload(ctx, c.ID, up.ID)
	if err != nil || rec.Status != crmlink.UploadPassed || rec.Rows != 2 || rec.Accepted != 2 || rec.Format != "CSV" || rec.Source != "API" {
		t.Errorf("the upload just accepted: %+v, %v", rec, err)
	}
	if list, err := s.Uploads(ctx, c.ID, time.Time{}, 10); err != nil ||
		!slices.ContainsFunc(list, func(u *crmlink.Upload) bool { return u.ID == up.ID }) {
		t.Errorf("uploads just after accepting: %v, %v", list, err)
	}
	syncUploads(t, s)
	rec, err = s.Upload(ctx, c.ID, up.ID)
	if err != nil || rec.Queued || rec.Status != crmlink.UploadPassed || rec.Accepted != 2 || rec.Linked != 2 || sumCounts(rec.Unlinked) != 0 {
		t.Errorf("the upload applied: %+v, %v", rec, err)
	}
	got, versions, err := s.Order(ctx, c.ID, "O1")
	if err != nil || got.StatusType != crmlink.StatusInProgress || got.Revenue.String() != "100" || len(versions) != 1 || versions[0].UploadID != up.ID {
		t.Errorf("O1 = %+v, %+v, %v", got, versions, err)
	}
	wantLink(t, s, c, "O1", 1, "client_id")
	wantLink(t, s, c, "O2", 1, "client_id")

	// An hour later, a larger upload, and behind it O1 paid, then
	// cancelled, accepted in turn: those two wait in the queue together
	// while the first is applied, unless the store applies faster than it
	// accepts.
	clock.Add(time.Hour)
	var bulk []crmlink.Order
	for i := range 40 {
		bulk = append(bulk, order(fmt.Sprint("B-", i), "C1", crmlink.StatusPaid, "1", day.Add(-time.Hour)))
	}
	if err := acceptOrders(t, s, c, &crmlink.Upload{}, bulk...); err != nil {
		t.Fatal(err)
	}
	var ups []*crmlink.Upload
	for _, o := range []crmlink.Order{
		order("O1", "C1", crmlink.StatusPaid, "120", day),
		order("O1", "C1", crmlink.StatusCancelled, "120", day),
	} {
		up := &crmlink.Upload{}
		if err := acceptOrders(t, s, c, up, o); err != nil {
			t.Fatal(err)
		}
		ups = append(ups, up)
	}
	syncUploads(t, s)
	cos, err := s.CustomerOrders(ctx, c.ID, "C1", 10)
	if err != nil || len(cos) != 10 || cos[0].Order.ID != "O1" || cos[1].Order.ID != "O2" {
		t.Fatalf("CustomerOrders(C1) = %+v, %v; want 10, O1 and O2 first", cos, err)
	}
	o1 := cos[0]
	if o1.Order.StatusType != crmlink.StatusCancelled || o1.Order.Revenue.String() != "120" || o1.Link == nil || o1.Link.SessionID != 1 {
		t.Errorf("O1 after the two uploads: %+v, link %+v", o1.Order, o1.Link)
	}
	var gotVersions []string
	for _, v := range o1.Versions {
		gotVersions = append(gotVersions, fmt.Sprintf("%d %s %s %s", v.Version, v.UploadID, v.StatusType, v.Accepted.UTC().Format(time.RFC3339)))
	}
	at := Epoch.Add(time.Hour).Format(time.RFC3339)
	want := []string{"1 " + up.ID + " IN_PROGRESS " + Epoch.Format(time.RFC3339), "2 " + ups[0].ID + " PAID " + at, "3 " + ups[1].ID + " CANCELLED " + at}
	if !slices.Equal(gotVersions, want) {
		t.Errorf("O1's versions:\n%q\nwant\n%q", gotVersions, want)
	}
	// Times without a value in the rows are those of the upload's
	// acceptance: O1 updated by the last one, O2 paid by the first.
	if !o1.Order.Updated.Equal(Epoch.Add(time.Hour)) || !cos[1].Order.Finished.Equal(Epoch) {
		t.Errorf("O1 updated at %v, O2 finished at %v; want %v, %v", o1.Order.Updated, cos[1].Order.Finished, Epoch.Add(time.Hour), Epoch)
	}
}

// testAcceptedAsUploaded: orders accepted and applied leave a store as
// UploadOrders leaves another: orders with their products, goals and
// versions, links, goal reaches and the upload's counts.
func testAcceptedAsUploaded(t *testing.T, open Opener) {
	ctx := context.Background()
	dumps := make([]string, 2)
	for i, accept := range []bool{false, true} {
		s, _ := newStore(t, open)
		c := MustCounter(t, s, "Shop", "UTC")
		importSessions(t, s, c, plainSession(1, 10, day.Add(-2*time.Hour)), plainSession(2, 20, day.Add(-time.Hour)))
		uploadContacts(t, s, c, crmlink.MergeSave,
			crmlink.Contact{UniqID: "A", Fields: crmlink.FieldClientIDs, IDs: crmlink.CustomerIDs{ClientIDs: []uint64{10}}},
			crmlink.Contact{UniqID: "B", Name: "B", Fields: crmlink.FieldName})
		if err := s.SetStatusMappings(ctx, c.ID, []crmlink.StatusMapping{{ID: "gift", Humanized: "Gift wrap",
			Type: crmlink.StatusOther, GoalActionIDs: []string{"gift_wrap"}}}); err != nil {
			t.Fatal(err)
		}
		o1 := order("O1", "A", crmlink.StatusInProgress, "1000", day)
		o1.Cost = decimal.NewNullDecimal(decimal.NewFromInt(600))
		o1.Fields |= crmlink.FieldCost | crmlink.FieldProducts | crmlink.FieldGoals
		o1.Products = []crmlink.Product{{Name: "Sofa", Qty: decimal.NewFromInt(1)}}
		o1.Goals = []crmlink.OrderGoal{{Goal: "pay_cash", Price: decimal.NewNullDecimal(decimal.NewFromInt(200))}}
		o1paid := o1
		o1paid.Status, o1paid.StatusType = "PAID", crmlink.StatusPaid
		gift := order("O2", "A", crmlink.StatusOther, "300", day.Add(-time.Minute))
		gift.Status = "gift"
		simple := order("S1", "", crmlink.StatusPaid, "70", day)
		simple.IDs.ClientIDs, simple.Fields = []uint64{20}, crmlink.FieldClientIDs|crmlink.FieldCreated|crmlink.FieldStatus|crmlink.FieldRevenue
		steps := []struct {
			up     *crmlink.Upload
			orders []crmlink.Order
		}{
			{&crmlink.Upload{}, []crmlink.Order{o1, gift, order("O3", "B", crmlink.StatusSpam, "5", day), o1paid}},
			{&crmlink.Upload{Entity: crmlink.EntitySimpleOrders}, []crmlink.Order{simple}},
		}
		var b strings.Builder
		for _, st := range steps {
			var err error
			if accept {
				err = acceptOrders(t, s, c, st.up, st.orders...)
			} else {
				err = uploadOrders(t, s, c, st.up, st.orders...)
			}
			if err != nil {
				t.Fatal(err)
			}
		}
		syncUploads(t, s)
		for _, st := range steps {
			rec, err := s.Upload(ctx, c.ID, st.up.ID)
			if err != nil {
				t.Fatal(err)
			}
			fmt.Fprintf(&b, "upload %s %s %d %d %d %d %v %d queued=%v\n", rec.Entity, rec.Status, rec.Rows, rec.Accepted, rec.Rejected,
				rec.Linked, rec.Unlinked, rec.ErrorsTotal, rec.Queued)
		}
		for _, id := range []string{"O1", "O2", "O3", "S1"} {
			o, versions, err := s.Order(ctx, c.ID, id)
			if err != nil {
				t.Fatalf("accept %v: %s: %v", accept, id, err)
			}
			o.Line = 0
			fmt.Fprintf(&b, "%+v\n", *o)
			for _, v := range versions {
				v.UploadID = strings.NewReplacer(steps[0].up.ID, "first", steps[1].up.ID, "second").Replace(v.UploadID)
				fmt.Fprintf(&b, "  %+v\n", v)
			}
			if l, err := s.OrderLink(ctx, c.ID, id); err == nil {
				fmt.Fprintf(&b, "  link %+v\n", *l)
			}
			reaches, err := s.GoalReaches(ctx, c.ID, id)
			if err != nil {
				t.Fatal(err)
			}
			for _, r := range reaches {
				fmt.Fprintf(&b, "  reach %+v\n", r)
			}
		}
		goals, err := s.Goals(ctx, c.ID)
		if err != nil {
			t.Fatal(err)
		}
		fmt.Fprintf(&b, "goals %+v\n", goals)
		dumps[i] = b.String()
	}
	if dumps[0] != dumps[1] {
		t.Errorf("accepted and applied, the store differs from UploadOrders':\n%s\nwant\n%s", dumps[1], dumps[0])
	}
	// The fixture means something: O1's two rows are two versions, and
	// its link and goals are there.
	for _, want := range []string{"Version:2", "link {OrderID:O1 SessionID:1", "link {OrderID:S1 SessionID:2", "Name:gift_wrap", "Products:[{"} {
		if !strings.Contains(dumps[0], want) {
			t.Errorf("the stores hold no %q:\n%s", want, dumps[0])
		}
	}
}

// testAcceptRefused: an upload with an order of an unknown contact is
// refused when accepted, its errors recorded, and none of its orders is
// ever applied; with on_error=skip the good rows are.
func testAcceptRefused(t *testing.T, open Opener) {
	ctx := context.Background()
	s, _ := newStore(t, open)
	c := MustCounter(t, s, "Shop", "UTC")
	uploadContacts(t, s, c, crmlink.MergeSave, crmlink.Contact{UniqID: "C1", Name: "Anna", Fields: crmlink.FieldName})
	rows := []crmlink.Order{order("A-0", "C1", crmlink.StatusPaid, "10", day), order("A-1", "nobody", crmlink.StatusPaid, "20", day)}
	up := &crmlink.Upload{Format: "CSV"}
	err := acceptOrders(t, s, c, up, rows...)
	var v *crmlink.ValidationError
	if !errors.As(err, &v) || len(v.Errors) != 1 || v.Errors[0].Line != 3 || v.Errors[0].Column != "client_uniq_id" || v.Errors[0].Value != "nobody" {
		t.Fatalf("accept: %v, want line 3's unknown contact", err)
	}
	if up.Status != crmlink.UploadFailed || up.Queued {
		t.Errorf("refused upload = %+v", up)
	}
	syncUploads(t, s)
	rec, err := s.Upload(ctx, c.ID, up.ID)
	if err != nil || rec.Status != crmlink.UploadFailed || rec.Queued || rec.Rows != 2 || rec.Accepted != 0 || rec.Rejected != 1 ||
		rec.ErrorsTotal != 1 || len(rec.Errors) != 1 || rec.Errors[0] != v.Errors[0] {
		t.Errorf("recorded %+v, %v", rec, err)
	}
	for _, id := range []string{"A-0", "A-1"} {
		if _, _, err := s.Order(ctx, c.ID, id); crmlink.KindOf(err) != crmlink.KindNotFound {
			t.Errorf("a refused upload stored %s: %v", id, err)
		}
	}
	if list, err := s.Uploads(ctx, c.ID, time.Time{}, 10); err != nil || slices.ContainsFunc(list, func(u *crmlink.Upload) bool { return u.Queued }) {
		t.Errorf("uploads after a refusal: %+v, %v", list, err)
	}
	// on_error=skip: A-0 is stored, A-1 reported.
	up = &crmlink.Upload{SkipInvalid: true}
	if err := acceptOrders(t, s, c, up, rows...); err != nil {
		t.Fatal(err)
	}
	syncUploads(t, s)
	rec, err = s.Upload(ctx, c.ID, up.ID)
	if err != nil || rec.Status != crmlink.UploadPassed || rec.Accepted != 1 || rec.Rejected != 1 || len(rec.Errors) != 1 || rec.Errors[0].Value != "nobody" {
		t.Errorf("skip upload recorded %+v, %v", rec, err)
	}
	if _, _, err := s.Order(ctx, c.ID, "A-0"); err != nil {
		t.Errorf("A-0 after the skip upload: %v", err)
	}
	if _, _, err := s.Order(ctx, c.ID, "A-1"); crmlink.KindOf(err) != crmlink.KindNotFound {
		t.Errorf("A-1 stored: %v", err)
	}
}

// testAcceptPartialUpdate: UPDATE rows that carry only what changes work
// through the queue, against orders an upload accepted just before them
// creates; a row of an order the counter will not have is refused.
func testAcceptPartialUpdate(t *testing.T, open Opener) {
	ctx := context.Background()
	s, _ := newStore(t, open)
	c := MustCounter(t, s, "Shop", "UTC")
	o1 := partialFixture(t, s, c)
	first := &crmlink.Upload{}
	if err := acceptOrders(t, s, c, first, o1); err != nil {
		t.Fatal(err)
	}
	up := &crmlink.Upload{MergeMode: crmlink.MergeUpdate}
	if err := acceptOrders(t, s, c, up, statusRow("O1", crmlink.StatusPaid)); err != nil {
		t.Fatal(err)
	}
	syncUploads(t, s)
	got, versions, err := s.Order(ctx, c.ID, "O1")
	if err != nil {
		t.Fatal(err)
	}
	if got.StatusType != crmlink.StatusPaid || got.UniqID != "C1" || !got.Created.Equal(day) ||
		got.Revenue.String() != "100.5" || got.Cost.Decimal.String() != "40" {
		t.Errorf("O1 after a status-only row: %+v", got)
	}
	if len(versions) != 2 || versions[0].UploadID != first.ID || versions[1].UploadID != up.ID || versions[1].StatusType != crmlink.StatusPaid ||
		versions[1].Revenue.String() != "100.5" || versions[1].Cost.Decimal.String() != "40" {
		t.Errorf("O1 history = %+v", versions)
	}
	up = &crmlink.Upload{MergeMode: crmlink.MergeUpdate}
	err = acceptOrders(t, s, c, up, statusRow("O1", crmlink.StatusCancelled), statusRow("O9", crmlink.StatusPaid))
	var v *crmlink.ValidationError
	if !errors.As(err, &v) || len(v.Errors) != 1 || v.Errors[0].Line != 3 || v.Errors[0].Column != "id" || v.Errors[0].Value != "O9" {
		t.Fatalf("unknown order: %v", err)
	}
	syncUploads(t, s)
	if got, versions, _ := s.Order(ctx, c.ID, "O1"); got.StatusType != crmlink.StatusPaid || len(versions) != 2 {
		t.Errorf("a refused upload changed O1: %+v, %d versions", got, len(versions))
	}
}

// testAllErrorsAcrossChunks: a file with a bad date and orders of unknown
// customers after it is refused with every error in line order, counting
// all its rows, whether accepted or uploaded directly (a store that takes
// files in chunks checks the chunks after the reader knew the file fails);
// with on_error=skip the good rows are stored.
func testAllErrorsAcrossChunks(t *testing.T, open Opener) {
	ctx := context.Background()
	s, _ := newStore(t, open)
	c := MustCounter(t, s, "Shop", "UTC")
	uploadContacts(t, s, c, crmlink.MergeSave, crmlink.Contact{UniqID: "C1", Name: "Anna", Fields: crmlink.FieldName})
	var b strings.Builder
	b.WriteString("id,client_uniq_id,create_date_time,order_status\n")
	for line := 2; line <= 11; line++ {
		customer, date := "C1", "2026-01-10 10:00"
		switch line {
		case 3:
			date = "31.02.2026"
		case 4, 10:
			customer = fmt.Sprintf("nobody-%d", line)
		}
		fmt.Fprintf(&b, "O%d,%s,%s,PAID\n", line, customer, date)
	}
	for _, tc := range []struct {
		name   string
		upload func(context.Context, *crmlink.Upload, crmlink.OrderReader) error
		skip   bool
	}{
		{"accept", s.AcceptOrders, false},
		{"upload", s.UploadOrders, false},
		{"upload, skipping", s.UploadOrders, true},
		{"accept, skipping", s.AcceptOrders, true},
	} {
		rd, err := crm.NewOrderCSV(strings.NewReader(b.String()), crm.Options{Now: Epoch, SkipInvalid: tc.skip})
		if err != nil {
			t.Fatal(err)
		}
		up := &crmlink.Upload{CounterID: c.ID, Format: "CSV", SkipInvalid: tc.skip}
		err = tc.upload(ctx, up, rd)
		syncUploads(t, s)
		rec, rerr := s.Upload(ctx, c.ID, up.ID)
		if rerr != nil {
			t.Fatalf("%s: %v", tc.name, rerr)
		}
		var lines []int
		for _, e := range rec.Errors {
			lines = append(lines, e.Line)
		}
		if !slices.Equal(lines, []int{3, 4, 10}) || rec.ErrorsTotal != 3 || rec.Rows != 10 || rec.Rejected != 3 {
			t.Errorf("%s: recorded %+v", tc.name, rec)
		}
		_, _, oerr := s.Order(ctx, c.ID, "O2")
		if tc.skip {
			if err != nil || rec.Accepted != 7 || oerr != nil {
				t.Errorf("%s: %v, accepted %d, O2: %v", tc.name, err, rec.Accepted, oerr)
			}
			continue
		}
		var v *crmlink.ValidationError
		if !errors.As(err, &v) || v.Total != 3 || rec.Accepted != 0 || crmlink.KindOf(oerr) != crmlink.KindNotFound {
			t.Errorf("%s: %v, accepted %d, O2: %v", tc.name, err, rec.Accepted, oerr)
		}
	}
}

// testUploadVisibleWhileApplied: an accepted upload is found at every
// moment, queued or applied, never lost between the two.
func testUploadVisibleWhileApplied(t *testing.T, open Opener) {
	ctx := context.Background()
	s, _ := newStore(t, open)
	c := MustCounter(t, s, "Shop", "UTC")
	var rows []crmlink.Order
	for i := range 24 {
		o := order(fmt.Sprint("S-", i), "", crmlink.StatusPaid, "100", day)
		o.IDs.ClientIDs, o.Fields = []uint64{uint64(1000 + i)}, crmlink.FieldClientIDs|crmlink.FieldCreated|crmlink.FieldStatus|crmlink.FieldRevenue
		rows = append(rows, o)
	}
	for range 2 {
		up := &crmlink.Upload{Entity: crmlink.EntitySimpleOrders}
		if err := acceptOrders(t, s, c, up, rows...); err != nil {
			t.Fatal(err)
		}
		// Polled as a client polls the upload's status, until it is
		// applied (in the background, or at last by SyncUploads).
		deadline := time.Now().Add(5 * time.Second)
		for polls := 0; ; polls++ {
			got, err := s.Upload(ctx, c.ID, up.ID)
			if err != nil {
				t.Fatalf("poll %d: %v", polls, err)
			}
			list, err := s.Uploads(ctx, c.ID, time.Time{}, 10)
			if err != nil || !slices.ContainsFunc(list, func(u *crmlink.Upload) bool { return u.ID == up.ID }) {
				t.Fatalf("poll %d: the upload is not listed: %v", polls, err)
			}
			if !got.Queued {
				if got.Status != crmlink.UploadPassed || got.Accepted != 24 {
					t.Errorf("the upload applied: %+v", got)
				}
				break
			}
			if time.Now().After(deadline) {
				syncUploads(t, s)
			}
		}
	}
	if _, _, err := s.Order(ctx, c.ID, "S-23"); err != nil {
		t.Errorf("S-23: %v", err)
	}
}
