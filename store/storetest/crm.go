package storetest

import (
	"context"
	"errors"
	"io"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/crmlink/crmlink"
	"github.com/shopspring/decimal"
)

// ContactSlice yields the given contacts, then Err (io.EOF when nil).
type ContactSlice struct {
	Contacts []crmlink.Contact
	Err      error
	i        int
}

// Next implements crmlink.ContactReader.
func (r *ContactSlice) Next(c *crmlink.Contact) error {
	if r.i >= len(r.Contacts) {
		if r.Err != nil {
			return r.Err
		}
		return io.EOF
	}
	*c = r.Contacts[r.i]
	r.i++
	if c.Line == 0 {
		c.Line = r.i + 1
	}
	return nil
}

// OrderSlice yields the given orders, then Err (io.EOF when nil).
type OrderSlice struct {
	Orders []crmlink.Order
	Err    error
	i      int
}

// Next implements crmlink.OrderReader.
func (r *OrderSlice) Next(o *crmlink.Order) error {
	if r.i >= len(r.Orders) {
		if r.Err != nil {
			return r.Err
		}
		return io.EOF
	}
	*o = r.Orders[r.i]
	r.i++
	if o.Line == 0 {
		o.Line = r.i + 1
	}
	return nil
}

func runCRM(t *testing.T, open Opener) {
	t.Run("ContactsMergeModes", func(t *testing.T) { testContactsMerge(t, open) })
	t.Run("ContactsSameIDInFile", func(t *testing.T) { testContactsSameID(t, open) })
	t.Run("ContactsLongValues", func(t *testing.T) { testContactsLongValues(t, open) })
	t.Run("Orders", func(t *testing.T) { testOrders(t, open) })
	t.Run("OrdersUnknownContact", func(t *testing.T) { testOrdersUnknownContact(t, open) })
	t.Run("OrdersPartialUpdate", func(t *testing.T) { testOrdersPartialUpdate(t, open) })
	t.Run("AllErrorsInOneAnswer", func(t *testing.T) { testAllErrors(t, open) })
	t.Run("SimpleOrders", func(t *testing.T) { testSimpleOrders(t, open) })
	t.Run("StatusMappings", func(t *testing.T) { testStatusMappings(t, open) })
	t.Run("OfflineConversions", func(t *testing.T) { testOfflineConversions(t, open) })
	t.Run("UpdateWindow", func(t *testing.T) { testUpdateWindow(t, open) })
}

var day = time.Date(2026, 2, 1, 10, 0, 0, 0, time.UTC)

func uploadContacts(t *testing.T, s crmlink.Store, c *crmlink.Counter, mode crmlink.MergeMode, cs ...crmlink.Contact) *crmlink.Upload {
	t.Helper()
	up := &crmlink.Upload{CounterID: c.ID, MergeMode: mode, Format: "CSV"}
	if err := s.UploadContacts(context.Background(), up, &ContactSlice{Contacts: cs}); err != nil {
		t.Fatal(err)
	}
	return up
}

// testContactsLongValues: a row of several megabytes is stored whole,
// among ordinary ones.
func testContactsLongValues(t *testing.T, open Opener) {
	s, _ := newStore(t, open)
	c := MustCounter(t, s, "Shop", "UTC")
	long := strings.Repeat("note ", 700_000) // 3.5 MB
	up := uploadContacts(t, s, c, crmlink.MergeSave,
		crmlink.Contact{UniqID: "A", Name: "Anna", Fields: crmlink.FieldName},
		crmlink.Contact{UniqID: "B", Name: "Boris", Fields: crmlink.FieldName | crmlink.FieldAttrs, Attrs: map[string]string{"notes": long}},
		crmlink.Contact{UniqID: "C", Name: "Clara", Fields: crmlink.FieldName})
	if up.Accepted != 3 {
		t.Fatalf("upload = %+v", up)
	}
	if got := mustContact(t, s, c, "B"); got.Attrs["notes"] != long || got.Name != "Boris" {
		t.Errorf("B: name %q, notes of %d bytes; want all %d", got.Name, len(got.Attrs["notes"]), len(long))
	}
	if got := mustContact(t, s, c, "C"); got.Name != "Clara" {
		t.Errorf("C: %+v", got)
	}
}

func mustContact(t *testing.T, s crmlink.Store, c *crmlink.Counter, id string) *crmlink.Contact {
	t.Helper()
	got, err := s.Contact(context.Background(), c.ID, id)
	if err != nil {
		t.Fatal(err)
	}
	return got
}

func testContactsMerge(t *testing.T, open Opener) {
	s, _ := newStore(t, open)
	c := MustCounter(t, s, "Shop", "UTC")
	all := crmlink.FieldName | crmlink.FieldCreated | crmlink.FieldClientIDs | crmlink.FieldEmails | crmlink.FieldAttrs
	first := crmlink.Contact{UniqID: "A", Name: "Anna", Created: day, Fields: all,
		IDs:   crmlink.CustomerIDs{ClientIDs: []uint64{1, 18446744073709551615}, EmailMD5: []string{"3c56ff8fef0f6c65b36b2d25720fe276"}},
		Attrs: map[string]string{"tier": "gold", "city": "Kazan"}}
	up := uploadContacts(t, s, c, crmlink.MergeSave, first)
	if up.Status != crmlink.UploadPassed || up.Accepted != 1 || up.Entity != crmlink.EntityContacts {
		t.Errorf("upload = %+v", up)
	}
	got := mustContact(t, s, c, "A")
	if got.Name != "Anna" || !got.Created.Equal(day) || !reflect.DeepEqual(got.IDs.ClientIDs, []uint64{1, 18446744073709551615}) ||
		!reflect.DeepEqual(got.Attrs, first.Attrs) || got.IDs.Emails != nil {
		t.Errorf("after SAVE: %+v", got)
	}

	// UPDATE: only the fields carried change; creation dates never do.
	uploadContacts(t, s, c, crmlink.MergeUpdate, crmlink.Contact{UniqID: "A", Name: "Anna K.", Created: day.Add(time.Hour),
		Fields: crmlink.FieldName | crmlink.FieldCreated | crmlink.FieldAttrs, Attrs: map[string]string{"tier": "platinum"}})
	got = mustContact(t, s, c, "A")
	if got.Name != "Anna K." || !got.Created.Equal(day) || len(got.IDs.ClientIDs) != 2 ||
		!reflect.DeepEqual(got.Attrs, map[string]string{"tier": "platinum", "city": "Kazan"}) {
		t.Errorf("after UPDATE: %+v", got)
	}

	// APPEND: lists gain the new values; scalars as in UPDATE.
	uploadContacts(t, s, c, crmlink.MergeAppend, crmlink.Contact{UniqID: "A", Fields: crmlink.FieldClientIDs,
		IDs: crmlink.CustomerIDs{ClientIDs: []uint64{1, 7}}})
	got = mustContact(t, s, c, "A")
	if got.Name != "Anna K." || !reflect.DeepEqual(got.IDs.ClientIDs, []uint64{1, 18446744073709551615, 7}) || len(got.IDs.EmailMD5) != 1 {
		t.Errorf("after APPEND: %+v", got)
	}

	// SAVE replaces the whole record: what the upload lacks becomes empty.
	uploadContacts(t, s, c, crmlink.MergeSave, crmlink.Contact{UniqID: "A", Name: "Anna", Fields: crmlink.FieldName})
	got = mustContact(t, s, c, "A")
	if got.Name != "Anna" || got.IDs.ClientIDs != nil || got.IDs.EmailMD5 != nil || got.Attrs != nil || !got.Created.Equal(day) {
		t.Errorf("after a second SAVE: %+v", got)
	}

	// Plain emails are kept only when the counter allows it.
	uploadContacts(t, s, c, crmlink.MergeSave, crmlink.Contact{UniqID: "B", Fields: crmlink.FieldEmails,
		IDs: crmlink.CustomerIDs{Emails: []string{"mail@yandex.ru"}, EmailMD5: []string{"3c56ff8fef0f6c65b36b2d25720fe276"}}})
	if got := mustContact(t, s, c, "B"); got.IDs.Emails != nil || len(got.IDs.EmailMD5) != 1 {
		t.Errorf("plain email kept without KeepPII: %+v", got.IDs)
	}

	// A failed reader leaves everything as it was.
	bad := &crmlink.ValidationError{BadRows: 1}
	bad.Add(crmlink.RowError{Line: 3, Column: "emails", Value: "x@", Reason: "not an email"})
	err := s.UploadContacts(context.Background(), &crmlink.Upload{CounterID: c.ID, MergeMode: crmlink.MergeSave},
		&ContactSlice{Contacts: []crmlink.Contact{{UniqID: "A", Name: "Changed", Fields: crmlink.FieldName}}, Err: bad})
	if !errors.As(err, &bad) {
		t.Fatalf("error = %v", err)
	}
	if got := mustContact(t, s, c, "A"); got.Name != "Anna" {
		t.Errorf("a failed upload changed the contact: %+v", got)
	}
	if _, err := s.Contact(context.Background(), c.ID, "nobody"); crmlink.KindOf(err) != crmlink.KindNotFound {
		t.Errorf("missing contact: %v", err)
	}
}

func testContactsSameID(t *testing.T, open Opener) {
	s, _ := newStore(t, open)
	c := MustCounter(t, s, "Shop", "UTC")
	rows := []crmlink.Contact{
		{UniqID: "A", Name: "First", Fields: crmlink.FieldName | crmlink.FieldClientIDs, IDs: crmlink.CustomerIDs{ClientIDs: []uint64{1}}},
		{UniqID: "A", Fields: crmlink.FieldUserIDs, IDs: crmlink.CustomerIDs{UserIDs: []string{"u1"}}},
		{UniqID: "A", Name: "Third", Fields: crmlink.FieldName},
	}
	// UPDATE applies the rows in file order: every field takes its last value.
	uploadContacts(t, s, c, crmlink.MergeUpdate, rows...)
	got := mustContact(t, s, c, "A")
	if got.Name != "Third" || !reflect.DeepEqual(got.IDs.ClientIDs, []uint64{1}) || !reflect.DeepEqual(got.IDs.UserIDs, []string{"u1"}) {
		t.Errorf("UPDATE with a repeated id: %+v", got)
	}
	// SAVE: the last row is the record.
	uploadContacts(t, s, c, crmlink.MergeSave, rows...)
	got = mustContact(t, s, c, "A")
	if got.Name != "Third" || got.IDs.ClientIDs != nil || got.IDs.UserIDs != nil {
		t.Errorf("SAVE with a repeated id: %+v", got)
	}
	// APPEND: lists gather every row's values.
	uploadContacts(t, s, c, crmlink.MergeAppend, rows...)
	got = mustContact(t, s, c, "A")
	if !reflect.DeepEqual(got.IDs.ClientIDs, []uint64{1}) || !reflect.DeepEqual(got.IDs.UserIDs, []string{"u1"}) {
		t.Errorf("APPEND with a repeated id: %+v", got)
	}
}

func order(id, contact string, status crmlink.StatusType, revenue string, created time.Time) crmlink.Order {
	return crmlink.Order{ID: id, UniqID: contact, Created: created, Status: string(status), StatusType: status,
		Revenue: decimal.RequireFromString(revenue),
		Fields:  crmlink.FieldCustomer | crmlink.FieldCreated | crmlink.FieldStatus | crmlink.FieldRevenue}
}

func uploadOrders(t *testing.T, s crmlink.Store, c *crmlink.Counter, up *crmlink.Upload, os ...crmlink.Order) error {
	t.Helper()
	up.CounterID = c.ID
	return s.UploadOrders(context.Background(), up, &OrderSlice{Orders: os})
}

func testOrders(t *testing.T, open Opener) {
	ctx := context.Background()
	s, clock := newStore(t, open)
	c := MustCounter(t, s, "Shop", "UTC")
	uploadContacts(t, s, c, crmlink.MergeSave, crmlink.Contact{UniqID: "C1", Fields: crmlink.FieldName, Name: "Anna"})
	o1 := order("O1", "C1", crmlink.StatusInProgress, "1234.5678", day)
	o1.Cost = decimal.NewNullDecimal(decimal.RequireFromString("1000.1"))
	o1.Fields |= crmlink.FieldCost | crmlink.FieldProducts | crmlink.FieldGoals
	o1.Products = []crmlink.Product{{Name: "Sofa", Qty: decimal.NewFromInt(1)}, {Name: "Cushion", Qty: decimal.RequireFromString("2.5")}}
	o1.Goals = []crmlink.OrderGoal{{Goal: "pay_cash", Price: decimal.NewNullDecimal(decimal.NewFromInt(200))}, {Goal: "branch_1"}}
	up1 := &crmlink.Upload{MergeMode: crmlink.MergeSave}
	if err := uploadOrders(t, s, c, up1, o1); err != nil {
		t.Fatal(err)
	}
	got, versions, err := s.Order(ctx, c.ID, "O1")
	if err != nil {
		t.Fatal(err)
	}
	if got.StatusType != crmlink.StatusInProgress || got.Revenue.String() != "1234.5678" || got.Cost.Decimal.String() != "1000.1" ||
		got.Profit().String() != "234.4678" || got.Currency != "RUB" || !got.Updated.Equal(Epoch) || !got.Finished.IsZero() {
		t.Errorf("order = %+v", got)
	}
	if !reflect.DeepEqual(got.Products, o1.Products) || !reflect.DeepEqual(got.Goals, o1.Goals) {
		t.Errorf("products %v goals %v", got.Products, got.Goals)
	}
	if len(versions) != 1 || versions[0].UploadID != up1.ID {
		t.Errorf("versions = %+v", versions)
	}

	// A later upload: paid; created cannot move; paid without a finish time
	// means paid at this upload.
	clock.Add(time.Hour)
	o1b := order("O1", "C1", crmlink.StatusPaid, "1300", day.Add(48*time.Hour))
	up2 := &crmlink.Upload{MergeMode: crmlink.MergeUpdate}
	if err := uploadOrders(t, s, c, up2, o1b); err != nil {
		t.Fatal(err)
	}
	got, versions, _ = s.Order(ctx, c.ID, "O1")
	if got.StatusType != crmlink.StatusPaid || !got.Created.Equal(day) || got.Revenue.String() != "1300" ||
		!got.Finished.Equal(Epoch.Add(time.Hour)) || got.Cost.Decimal.String() != "1000.1" {
		t.Errorf("after the paid version: %+v", got)
	}
	if len(versions) != 2 || versions[0].StatusType != crmlink.StatusInProgress || versions[1].StatusType != crmlink.StatusPaid ||
		versions[1].Version != 2 || versions[1].UploadID != up2.ID || versions[1].Revenue.String() != "1300" ||
		versions[1].Cost.Decimal.String() != "1000.1" || !versions[1].Created.Equal(day) {
		t.Errorf("history = %+v", versions)
	}
	if _, _, err := s.Order(ctx, c.ID, "O404"); crmlink.KindOf(err) != crmlink.KindNotFound {
		t.Errorf("missing order: %v", err)
	}
	// One upload with an order the store has and one it has not.
	if err := uploadOrders(t, s, c, &crmlink.Upload{MergeMode: crmlink.MergeUpdate},
		order("O1", "C1", crmlink.StatusCancelled, "1300", day), order("O5", "C1", crmlink.StatusPaid, "5", day)); err != nil {
		t.Fatal(err)
	}
	got, versions, _ = s.Order(ctx, c.ID, "O1")
	if got.StatusType != crmlink.StatusCancelled || len(versions) != 3 {
		t.Errorf("O1 after a mixed upload: %+v, %d versions", got, len(versions))
	}
	if got, versions, err := s.Order(ctx, c.ID, "O5"); err != nil || got.Revenue.String() != "5" || len(versions) != 1 {
		t.Errorf("O5 after a mixed upload: %+v, %v, %v", got, versions, err)
	}
}

func testOrdersUnknownContact(t *testing.T, open Opener) {
	ctx := context.Background()
	s, _ := newStore(t, open)
	c := MustCounter(t, s, "Shop", "UTC")
	uploadContacts(t, s, c, crmlink.MergeSave, crmlink.Contact{UniqID: "C1", Fields: crmlink.FieldName})
	rows := []crmlink.Order{
		order("O1", "C1", crmlink.StatusPaid, "10", day),
		order("O2", "C-missing", crmlink.StatusPaid, "20", day),
	}
	up := &crmlink.Upload{}
	err := uploadOrders(t, s, c, up, rows...)
	var v *crmlink.ValidationError
	if !errors.As(err, &v) || len(v.Errors) != 1 || v.Errors[0].Line != 3 || v.Errors[0].Column != "client_uniq_id" || v.Errors[0].Value != "C-missing" {
		t.Fatalf("error = %v", err)
	}
	if _, _, err := s.Order(ctx, c.ID, "O1"); crmlink.KindOf(err) != crmlink.KindNotFound {
		t.Errorf("a failed upload stored O1: %v", err)
	}
	rec, err := s.Upload(ctx, c.ID, up.ID)
	if err != nil || rec.Status != crmlink.UploadFailed || rec.ErrorsTotal != 1 {
		t.Errorf("recorded %+v, %v", rec, err)
	}
	// on_error=skip stores the good rows and reports the others.
	up = &crmlink.Upload{SkipInvalid: true}
	if err := uploadOrders(t, s, c, up, rows...); err != nil {
		t.Fatal(err)
	}
	if up.Status != crmlink.UploadPassed || up.Accepted != 1 || up.Rejected != 1 || len(up.Errors) != 1 {
		t.Errorf("skip upload = %+v", up)
	}
	if _, _, err := s.Order(ctx, c.ID, "O1"); err != nil {
		t.Errorf("skip upload lost O1: %v", err)
	}
}

// partialFixture gives c the contact C1 and returns O1, an order of C1
// with revenue 100.5 and cost 40 for the partial-update cases to store.
func partialFixture(t *testing.T, s crmlink.Store, c *crmlink.Counter) crmlink.Order {
	t.Helper()
	uploadContacts(t, s, c, crmlink.MergeSave, crmlink.Contact{UniqID: "C1", Fields: crmlink.FieldName})
	o1 := order("O1", "C1", crmlink.StatusInProgress, "100.5", day)
	o1.Cost = decimal.NewNullDecimal(decimal.RequireFromString("40"))
	o1.Fields |= crmlink.FieldCost
	return o1
}

// statusRow is a partial row that changes only an order's status.
func statusRow(id string, st crmlink.StatusType) crmlink.Order {
	return crmlink.Order{ID: id, Status: string(st), StatusType: st, Fields: crmlink.FieldStatus}
}

// testOrdersPartialUpdate: in UPDATE a row with an order's id and the
// fields that change changes a stored order and keeps the rest; a row of
// an order the counter lacks that leaves out what a new order needs is a
// row error, failing the upload or, with on_error=skip, left out.
func testOrdersPartialUpdate(t *testing.T, open Opener) {
	ctx := context.Background()
	s, clock := newStore(t, open)
	c := MustCounter(t, s, "Shop", "UTC")
	o1 := partialFixture(t, s, c)
	if err := uploadOrders(t, s, c, &crmlink.Upload{}, o1, order("O2", "C1", crmlink.StatusInProgress, "7", day)); err != nil {
		t.Fatal(err)
	}
	clock.Add(time.Hour)
	up := &crmlink.Upload{MergeMode: crmlink.MergeUpdate}
	if err := uploadOrders(t, s, c, up, statusRow("O1", crmlink.StatusPaid)); err != nil {
		t.Fatal(err)
	}
	got, versions, err := s.Order(ctx, c.ID, "O1")
	if err != nil {
		t.Fatal(err)
	}
	if got.StatusType != crmlink.StatusPaid || got.UniqID != "C1" || !got.Created.Equal(day) ||
		got.Revenue.String() != "100.5" || got.Cost.Decimal.String() != "40" {
		t.Errorf("O1 after a status-only row: %+v", got)
	}
	if len(versions) != 2 || versions[1].StatusType != crmlink.StatusPaid || versions[1].Revenue.String() != "100.5" ||
		!versions[1].Created.Equal(day) || versions[1].Cost.Decimal.String() != "40" {
		t.Errorf("O1 history = %+v", versions)
	}
	if up.Accepted != 1 || up.Linked+sumCounts(up.Unlinked) != 1 {
		t.Errorf("upload = %+v", up)
	}
	// A revenue-only row keeps the status; it is a version too.
	rev := crmlink.Order{ID: "O2", Revenue: decimal.RequireFromString("9.25"), Fields: crmlink.FieldRevenue}
	if err := uploadOrders(t, s, c, &crmlink.Upload{MergeMode: crmlink.MergeUpdate}, rev); err != nil {
		t.Fatal(err)
	}
	if got, versions, _ := s.Order(ctx, c.ID, "O2"); got.StatusType != crmlink.StatusInProgress || got.Revenue.String() != "9.25" ||
		len(versions) != 2 || versions[1].StatusType != crmlink.StatusInProgress {
		t.Errorf("O2 after a revenue-only row: %+v %+v", got, versions)
	}

	// O9 is unknown: its status-only row fails the upload, and nothing of
	// it is applied.
	up = &crmlink.Upload{MergeMode: crmlink.MergeUpdate}
	err = uploadOrders(t, s, c, up, statusRow("O1", crmlink.StatusCancelled), statusRow("O9", crmlink.StatusPaid))
	var v *crmlink.ValidationError
	if !errors.As(err, &v) || len(v.Errors) != 1 || v.Errors[0].Line != 3 || v.Errors[0].Column != "id" || v.Errors[0].Value != "O9" {
		t.Fatalf("unknown order: %v", err)
	}
	if got, _, _ := s.Order(ctx, c.ID, "O1"); got.StatusType != crmlink.StatusPaid {
		t.Errorf("a failed upload changed O1: %+v", got)
	}
	// With on_error=skip the known order changes and O9 is reported.
	up = &crmlink.Upload{MergeMode: crmlink.MergeUpdate, SkipInvalid: true}
	if err := uploadOrders(t, s, c, up, statusRow("O1", crmlink.StatusCancelled), statusRow("O9", crmlink.StatusPaid)); err != nil {
		t.Fatal(err)
	}
	if up.Accepted != 1 || up.Rejected != 1 || len(up.Errors) != 1 || up.Errors[0].Value != "O9" {
		t.Errorf("skip upload = %+v", up)
	}
	if got, _, _ := s.Order(ctx, c.ID, "O1"); got.StatusType != crmlink.StatusCancelled {
		t.Errorf("O1 after the skip upload: %+v", got)
	}
	if _, _, err := s.Order(ctx, c.ID, "O9"); crmlink.KindOf(err) != crmlink.KindNotFound {
		t.Errorf("O9 stored: %v", err)
	}
	// A new order in UPDATE whose rows carry everything between them is
	// created.
	first := crmlink.Order{ID: "O3", UniqID: "C1", Created: day, Fields: crmlink.FieldCustomer | crmlink.FieldCreated}
	if err := uploadOrders(t, s, c, &crmlink.Upload{MergeMode: crmlink.MergeUpdate}, first, statusRow("O3", crmlink.StatusPaid)); err != nil {
		t.Fatal(err)
	}
	if got, _, err := s.Order(ctx, c.ID, "O3"); err != nil || got.StatusType != crmlink.StatusPaid || got.UniqID != "C1" || !got.Created.Equal(day) {
		t.Errorf("O3 = %+v, %v", got, err)
	}
}

func sumCounts(m map[string]int) int {
	n := 0
	for _, v := range m {
		n += v
	}
	return n
}

// testAllErrors: when the reader found a bad row, the store still checks
// the customers of the good rows it yielded after it, so that the failed
// upload lists every error in line order and counts every row; nothing is
// stored.
func testAllErrors(t *testing.T, open Opener) {
	ctx := context.Background()
	s, _ := newStore(t, open)
	c := MustCounter(t, s, "Shop", "UTC")
	uploadContacts(t, s, c, crmlink.MergeSave, crmlink.Contact{UniqID: "C1", Fields: crmlink.FieldName})
	// Line 3 had a bad date, which the reader reports at its end; line 4
	// names a customer the counter lacks.
	badDate := func() *crmlink.ValidationError {
		v := &crmlink.ValidationError{BadRows: 1}
		v.Add(crmlink.RowError{Line: 3, Column: "create_date_time", Value: "31.02.2026", Reason: "not a date"})
		return v
	}
	rows := func() []crmlink.Order {
		o := []crmlink.Order{
			order("O1", "C1", crmlink.StatusPaid, "10", day),
			order("O3", "C404", crmlink.StatusPaid, "30", day),
			order("O4", "C1", crmlink.StatusPaid, "40", day),
		}
		o[0].Line, o[1].Line, o[2].Line = 2, 4, 5
		return o
	}
	for _, accept := range []bool{false, true} {
		up := &crmlink.Upload{CounterID: c.ID, Format: "CSV"}
		r := &OrderSlice{Orders: rows(), Err: badDate()}
		var err error
		if accept {
			err = s.AcceptOrders(ctx, up, r)
		} else {
			err = s.UploadOrders(ctx, up, r)
		}
		var v *crmlink.ValidationError
		if !errors.As(err, &v) || v.Total != 2 || v.BadRows != 2 || len(v.Errors) != 2 ||
			v.Errors[0].Line != 3 || v.Errors[1].Line != 4 || v.Errors[1].Column != "client_uniq_id" {
			t.Fatalf("accept %v: error %v, want line 3's date and line 4's customer", accept, err)
		}
		rec, err := s.Upload(ctx, c.ID, up.ID)
		if err != nil || rec.Status != crmlink.UploadFailed || rec.Rows != 4 || rec.Rejected != 2 || rec.Accepted != 0 ||
			rec.ErrorsTotal != 2 || len(rec.Errors) != 2 || rec.Errors[1].Value != "C404" {
			t.Errorf("accept %v: recorded %+v, %v", accept, rec, err)
		}
		if _, _, err := s.Order(ctx, c.ID, "O1"); crmlink.KindOf(err) != crmlink.KindNotFound {
			t.Errorf("accept %v: a failed upload stored O1: %v", accept, err)
		}
	}
	// Contacts: the rows after the bad one are counted, and not stored.
	up := &crmlink.Upload{CounterID: c.ID, Format: "CSV"}
	v := &crmlink.ValidationError{BadRows: 1}
	v.Add(crmlink.RowError{Line: 3, Column: "emails", Reason: "not an email address"})
	err := s.UploadContacts(ctx, up, &ContactSlice{Contacts: []crmlink.Contact{{UniqID: "C2", Line: 2}, {UniqID: "C4", Line: 4}}, Err: v})
	if !errors.As(err, &v) {
		t.Fatalf("contacts: error %v", err)
	}
	if rec, err := s.Upload(ctx, c.ID, up.ID); err != nil || rec.Rows != 3 || rec.Rejected != 1 || rec.Status != crmlink.UploadFailed {
		t.Errorf("contacts: recorded %+v, %v", rec, err)
	}
	if _, err := s.Contact(ctx, c.ID, "C4"); crmlink.KindOf(err) != crmlink.KindNotFound {
		t.Errorf("a failed upload stored C4: %v", err)
	}
}

func testSimpleOrders(t *testing.T, open Opener) {
	ctx := context.Background()
	s, _ := newStore(t, open)
	c := MustCounter(t, s, "Shop", "UTC")
	a := order("", "", crmlink.StatusPaid, "5", day)
	a.IDs.ClientIDs = []uint64{42}
	a.Fields |= crmlink.FieldClientIDs
	a.Line = 2
	b := a
	b.Line = 3
	up := &crmlink.Upload{Entity: crmlink.EntitySimpleOrders}
	if err := uploadOrders(t, s, c, up, a, b); err != nil {
		t.Fatal(err)
	}
	if up.Accepted != 2 {
		t.Errorf("upload = %+v", up)
	}
	// Without ids they are two orders, never merged.
	for _, line := range []string{"2", "3"} {
		got, _, err := s.Order(ctx, c.ID, "~"+up.ID+":"+line)
		if err != nil || !reflect.DeepEqual(got.IDs.ClientIDs, []uint64{42}) {
			t.Errorf("simple order of line %s: %+v, %v", line, got, err)
		}
	}
}

func testStatusMappings(t *testing.T, open Opener) {
	ctx := context.Background()
	s, _ := newStore(t, open)
	c := MustCounter(t, s, "Shop", "UTC")
	if got, err := s.StatusMappings(ctx, c.ID); err != nil || len(got) != 0 {
		t.Fatalf("empty mapping = %v, %v", got, err)
	}
	m := []crmlink.StatusMapping{
		{ID: "new", Humanized: "New", Type: crmlink.StatusInProgress},
		{ID: "gift", Humanized: "Gift wrap", Type: crmlink.StatusOther, GoalActionIDs: []string{"gift_wrap"}},
	}
	if err := s.SetStatusMappings(ctx, c.ID, m); err != nil {
		t.Fatal(err)
	}
	if err := s.SetStatusMappings(ctx, c.ID, []crmlink.StatusMapping{{ID: "new", Humanized: "Fresh", Type: crmlink.StatusInProgress}}); err != nil {
		t.Fatal(err)
	}
	got, err := s.StatusMappings(ctx, c.ID)
	m[1], m[0] = m[0], m[1]
	m[1].Humanized = "Fresh"
	if err != nil || !reflect.DeepEqual(got, m) {
		t.Errorf("mapping = %+v, %v; want %+v", got, err, m)
	}
}

// OfflineSlice yields the given conversions, then Err (io.EOF when nil).
type OfflineSlice struct {
	Conversions []crmlink.OfflineConversion
	Err         error
	i           int
}

// Next implements crmlink.OfflineConversionReader.
func (r *OfflineSlice) Next(c *crmlink.OfflineConversion) error {
	if r.i >= len(r.Conversions) {
		if r.Err != nil {
			return r.Err
		}
		return io.EOF
	}
	*c = r.Conversions[r.i]
	r.i++
	return nil
}

func testOfflineConversions(t *testing.T, open Opener) {
	ctx := context.Background()
	s, _ := newStore(t, open)
	c := MustCounter(t, s, "Shop", "UTC")
	// The conversions reach their goals at the sessions they came from:
	// the ClientID's latest before it, the UserID's visitor's; ClientID 42
	// never visited.
	byUser := plainSession(78, 77, day.Add(-2*time.Hour))
	byUser.UserID = "u-9"
	importSessions(t, s, c, plainSession(11, 17000000001234567890, day.Add(-time.Hour)), byUser)
	want := []crmlink.OfflineConversion{
		{IDType: crmlink.IdentityClientID, ID: "17000000001234567890", Target: "call", Time: day, Line: 2,
			Price: decimal.NewNullDecimal(decimal.RequireFromString("150.25")), Currency: "USD"},
		{IDType: crmlink.IdentityClientID, ID: "42", Target: "shop_visit", Time: day.Add(time.Hour), Line: 3, Currency: "RUB"},
		{IDType: crmlink.IdentityUserID, ID: "u-9", Target: "call", Time: day.Add(2 * time.Hour), Line: 4, Currency: "RUB"},
	}
	in := append([]crmlink.OfflineConversion(nil), want...)
	in[1].Currency = "" // the counter's currency
	up := &crmlink.Upload{CounterID: c.ID, Format: "CSV"}
	if err := s.UploadOfflineConversions(ctx, up, &OfflineSlice{Conversions: in}); err != nil {
		t.Fatal(err)
	}
	if up.Entity != crmlink.EntityOfflineConversions || up.Accepted != 3 || up.Status != crmlink.UploadPassed {
		t.Errorf("upload = %+v", up)
	}
	got, err := s.OfflineConversions(ctx, c.ID, up.ID)
	if err != nil || len(got) != 3 {
		t.Fatalf("got %+v, %v", got, err)
	}
	goals, err := s.Goals(ctx, c.ID)
	byName := map[string]crmlink.Goal{}
	for _, g := range goals {
		byName[g.Name] = g
	}
	if call, visit := byName["call"], byName["shop_visit"]; err != nil || len(goals) != 2 || call.Reaches != 2 ||
		call.Revenue.String() != "150.25" || visit.Type != "action" || visit.Reaches != 0 {
		t.Errorf("goals = %+v, %v; want call reached twice (150.25), shop_visit never", goals, err)
	}
	for i := range got {
		if got[i].ID != want[i].ID || got[i].Target != want[i].Target || !got[i].Time.Equal(want[i].Time) ||
			got[i].Currency != want[i].Currency || got[i].Price.Valid != want[i].Price.Valid ||
			!got[i].Price.Decimal.Equal(want[i].Price.Decimal) || got[i].IDType != want[i].IDType {
			t.Errorf("conversion %d = %+v, want %+v", i, got[i], want[i])
		}
	}
	bad := &crmlink.ValidationError{BadRows: 1}
	bad.Add(crmlink.RowError{Line: 4, Column: "DateTime", Value: "x", Reason: "bad"})
	up2 := &crmlink.Upload{CounterID: c.ID}
	if err := s.UploadOfflineConversions(ctx, up2, &OfflineSlice{Conversions: in, Err: bad}); !errors.As(err, &bad) {
		t.Fatalf("error = %v", err)
	}
	if got, _ := s.OfflineConversions(ctx, c.ID, up2.ID); len(got) != 0 {
		t.Errorf("a failed upload stored %d conversions", len(got))
	}
}

// testUpdateWindow: within the update window (90 days from creation) a new
// version changes what reports count; after it, the version is kept in the
// history but the report data stays.
func testUpdateWindow(t *testing.T, open Opener) {
	ctx := context.Background()
	s, clock := newStore(t, open)
	c := MustCounter(t, s, "Shop", "UTC")
	uploadContacts(t, s, c, crmlink.MergeSave, crmlink.Contact{UniqID: "A", Name: "A", Fields: crmlink.FieldName})
	created := Epoch.Add(-10 * 24 * time.Hour)
	if err := uploadOrders(t, s, c, &crmlink.Upload{}, order("O1", "A", crmlink.StatusInProgress, "100", created)); err != nil {
		t.Fatal(err)
	}
	clock.T = created.Add(89 * 24 * time.Hour) // still inside
	if err := uploadOrders(t, s, c, &crmlink.Upload{MergeMode: crmlink.MergeUpdate}, order("O1", "A", crmlink.StatusPaid, "120", created)); err != nil {
		t.Fatal(err)
	}
	got, _, _ := s.Order(ctx, c.ID, "O1")
	if got.Report.StatusType != crmlink.StatusPaid || got.Report.Revenue.String() != "120" {
		t.Errorf("inside the window: report %+v", got.Report)
	}
	clock.T = created.Add(91 * 24 * time.Hour) // past it
	if err := uploadOrders(t, s, c, &crmlink.Upload{MergeMode: crmlink.MergeUpdate}, order("O1", "A", crmlink.StatusCancelled, "0", created)); err != nil {
		t.Fatal(err)
	}
	got, versions, _ := s.Order(ctx, c.ID, "O1")
	if got.StatusType != crmlink.StatusCancelled || got.Report.StatusType != crmlink.StatusPaid || got.Report.Revenue.String() != "120" {
		t.Errorf("past the window: order %s, report %+v; want the order cancelled and the report still paid at 120", got.StatusType, got.Report)
	}
	if len(versions) != 3 || versions[2].StatusType != crmlink.StatusCancelled {
		t.Errorf("history = %+v", versions)
	}
	// An order first seen after its window gets report data all the same.
	if err := uploadOrders(t, s, c, &crmlink.Upload{}, order("O2", "A", crmlink.StatusPaid, "7", created)); err != nil {
		t.Fatal(err)
	}
	if got, _, _ := s.Order(ctx, c.ID, "O2"); got.Report.StatusType != crmlink.StatusPaid {
		t.Errorf("late first version: report %+v", got.Report)
	}
}
