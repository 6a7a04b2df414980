package storetest

import (
	"context"
	"reflect"
	"testing"
	"time"

	"github.com/crmlink/crmlink"
	"github.com/shopspring/decimal"
)

func runLink(t *testing.T, open Opener) {
	t.Run("LinkRules", func(t *testing.T) { testLinkRules(t, open) })
	t.Run("LinkAfterNewIdentifiers", func(t *testing.T) { testLinkAfterContacts(t, open) })
	t.Run("LinkSimpleOrdersThroughContacts", func(t *testing.T) { testLinkSimpleOrders(t, open) })
	t.Run("Goals", func(t *testing.T) { testGoals(t, open) })
}

func importSessions(t *testing.T, s crmlink.Store, c *crmlink.Counter, ss ...crmlink.Session) {
	t.Helper()
	if err := s.ImportSessions(context.Background(), &crmlink.Upload{CounterID: c.ID}, &SliceReader{Sessions: ss}); err != nil {
		t.Fatal(err)
	}
}

func plainSession(id, client uint64, start time.Time) crmlink.Session {
	return crmlink.Session{ID: id, ClientID: client, Start: start, PageViews: 2,
		Source: crmlink.TrafficSource{Kind: crmlink.SourceDirect}}
}

func wantLink(t *testing.T, s crmlink.Store, c *crmlink.Counter, order string, session uint64, method string) {
	t.Helper()
	l, err := s.OrderLink(context.Background(), c.ID, order)
	if err != nil {
		t.Errorf("order %s: %v; want a link to session %d", order, err, session)
		return
	}
	if l.SessionID != session || l.Method != method {
		t.Errorf("order %s linked to session %d by %s; want %d by %s", order, l.SessionID, l.Method, session, method)
	}
}

func wantNoLink(t *testing.T, s crmlink.Store, c *crmlink.Counter, order string) {
	t.Helper()
	if l, err := s.OrderLink(context.Background(), c.ID, order); crmlink.KindOf(err) != crmlink.KindNotFound {
		t.Errorf("order %s: %+v, %v; want no link", order, l, err)
	}
}

// testLinkRules pins SPEC.md §3 on hand-made cases.
func testLinkRules(t *testing.T, open Opener) {
	s, _ := newStore(t, open)
	c := MustCounter(t, s, "Shop", "UTC")
	at := day // orders are created at this instant
	u1 := plainSession(200, 20, at.Add(-3*time.Hour))
	u1.UserID = "site-user-7"
	purchase := plainSession(300, 30, at.Add(-10*time.Hour))
	purchase.PurchaseIDs = []string{"P1"}
	// A purchase by a visitor the CRM knows nothing about still links.
	anonymous := plainSession(310, 31, at.Add(-2*time.Hour))
	anonymous.PurchaseIDs = []string{"P2"}
	// A robot on ClientID 10 after its visits: reports leave robots out,
	// so orders never link to them.
	robot := plainSession(104, 10, at.Add(-20*time.Minute))
	robot.Bot = true
	// A robot's purchase carrying an order id links nothing either.
	robotBuyer := plainSession(601, 60, at.Add(-time.Hour))
	robotBuyer.Bot = true
	robotBuyer.PurchaseIDs = []string{"P-robot"}
	importSessions(t, s, c,
		robot, robotBuyer,
		plainSession(101, 10, at.Add(-48*time.Hour)),
		plainSession(102, 10, at.Add(-1*time.Hour)), // latest before: the one
		plainSession(103, 10, at.Add(time.Hour)),    // after the order: never
		plainSession(111, 11, at.Add(-30*time.Minute)),
		u1,
		purchase,
		anonymous,
		plainSession(301, 30, at.Add(-time.Hour)),
		plainSession(401, 40, at.Add(-22*24*time.Hour)), // outside the 21-day window
		plainSession(501, 50, at.Add(2*time.Hour)),
	)
	contact := func(id string, clients []uint64, users []string) crmlink.Contact {
		return crmlink.Contact{UniqID: id, Fields: crmlink.FieldClientIDs | crmlink.FieldUserIDs,
			IDs: crmlink.CustomerIDs{ClientIDs: clients, UserIDs: users}}
	}
	uploadContacts(t, s, c, crmlink.MergeSave,
		contact("one-device", []uint64{10}, nil),
		contact("two-devices", []uint64{10, 11}, nil),
		contact("by-user-id", nil, []string{"site-user-7"}),
		contact("buyer", []uint64{30}, nil),
		contact("old", []uint64{40}, nil),
		contact("after", []uint64{50}, nil),
		contact("nothing", nil, nil),
		contact("stranger", []uint64{999}, nil),
	)
	up := &crmlink.Upload{}
	if err := uploadOrders(t, s, c, up,
		order("O-one", "one-device", crmlink.StatusPaid, "1", at),
		order("O-two", "two-devices", crmlink.StatusPaid, "1", at),
		order("O-user", "by-user-id", crmlink.StatusPaid, "1", at),
		order("P1", "buyer", crmlink.StatusPaid, "1", at),
		order("O-buyer", "buyer", crmlink.StatusPaid, "1", at),
		order("O-old", "old", crmlink.StatusPaid, "1", at),
		order("O-after", "after", crmlink.StatusPaid, "1", at),
		order("O-nothing", "nothing", crmlink.StatusPaid, "1", at),
		order("O-stranger", "stranger", crmlink.StatusPaid, "1", at),
		order("P2", "nothing", crmlink.StatusPaid, "1", at),
		order("P-robot", "nothing", crmlink.StatusPaid, "1", at),
	); err != nil {
		t.Fatal(err)
	}
	wantLink(t, s, c, "O-one", 102, "client_id") // not the robot's 104
	wantLink(t, s, c, "O-two", 111, "client_id") // the latest over both devices
	wantLink(t, s, c, "O-user", 200, "user_id")
	wantLink(t, s, c, "P1", 300, "purchase_id") // the purchase beats the later session 301
	wantLink(t, s, c, "O-buyer", 301, "client_id")
	wantLink(t, s, c, "P2", 310, "purchase_id")
	for _, o := range []string{"O-old", "O-after", "O-nothing", "O-stranger", "P-robot"} {
		wantNoLink(t, s, c, o)
	}
	wantUnlinked := map[string]int{"outside_link_window": 1, "no_session_before_order": 1, "no_identifier": 1, "unknown_customer": 1,
		"robot_session": 1}
	if up.Linked != 6 || !reflect.DeepEqual(up.Unlinked, wantUnlinked) {
		t.Errorf("upload linked %d, unlinked %v; want 6, %v", up.Linked, up.Unlinked, wantUnlinked)
	}
	// Each unlinked order of the upload, and of one customer, with its
	// reason.
	reasons := func(q crmlink.UnlinkedQuery) map[string]string {
		t.Helper()
		q.CounterID = c.ID
		list, err := s.UnlinkedOrders(context.Background(), q)
		if err != nil {
			t.Fatal(err)
		}
		out := map[string]string{}
		for _, u := range list {
			out[u.OrderID] = u.Reason
			if u.Revenue.String() != "1" || u.StatusType != crmlink.StatusPaid || !u.Created.Equal(at) {
				t.Errorf("unlinked order %+v", u)
			}
		}
		return out
	}
	wantReasons := map[string]string{"O-old": "outside_link_window", "O-after": "no_session_before_order",
		"O-nothing": "no_identifier", "O-stranger": "unknown_customer", "P-robot": "robot_session"}
	if got := reasons(crmlink.UnlinkedQuery{UploadID: up.ID}); !reflect.DeepEqual(got, wantReasons) {
		t.Errorf("unlinked orders of the upload = %v, want %v", got, wantReasons)
	}
	if got := reasons(crmlink.UnlinkedQuery{UploadID: up.ID, Limit: 2}); len(got) != 2 || got["O-after"] == "" || got["O-nothing"] == "" {
		t.Errorf("first two unlinked orders = %v", got)
	}
	if got := reasons(crmlink.UnlinkedQuery{UniqID: "nothing"}); !reflect.DeepEqual(got, map[string]string{"O-nothing": "no_identifier", "P-robot": "robot_session"}) {
		t.Errorf("unlinked orders of a customer = %v", got)
	}
	rec, err := s.Upload(context.Background(), c.ID, up.ID)
	if err != nil || rec.Linked != 6 || !reflect.DeepEqual(rec.Unlinked, wantUnlinked) {
		t.Errorf("recorded upload: %+v, %v", rec, err)
	}
	// A full relink gives the same links.
	st, err := s.Relink(context.Background(), c.ID)
	if err != nil || st.Linked != 6 || !reflect.DeepEqual(st.Unlinked, wantUnlinked) {
		t.Errorf("relink: %+v, %v", st, err)
	}
	wantLink(t, s, c, "O-two", 111, "client_id")
	wantLink(t, s, c, "P1", 300, "purchase_id")
	// So does relinking the upload's orders alone.
	st, err = s.RelinkUpload(context.Background(), c.ID, up.ID)
	if err != nil || st.Linked != 6 || !reflect.DeepEqual(st.Unlinked, wantUnlinked) {
		t.Errorf("relink of the upload: %+v, %v", st, err)
	}
}

// testLinkSimpleOrders: a simple order's email, phone, UserID or
// client_uniq_id links through the customers who carry them, to the
// sessions of their ClientIDs, as a full order of theirs would link.
func testLinkSimpleOrders(t *testing.T, open Opener) {
	s, _ := newStore(t, open)
	c := MustCounter(t, s, "Shop", "UTC")
	at := day
	importSessions(t, s, c, plainSession(701, 70, at.Add(-time.Hour)), plainSession(801, 80, at.Add(-2*time.Hour)))
	const annaMD5 = "6b56db1f84a3997b902509d3fbf0a306"
	const phoneSHA = "22846ab8f79870871eb44f653419a4a5069301827d8ae75b6c2a88e4989a364e"
	uploadContacts(t, s, c, crmlink.MergeSave,
		crmlink.Contact{UniqID: "anna", Fields: crmlink.FieldClientIDs | crmlink.FieldEmails,
			IDs: crmlink.CustomerIDs{ClientIDs: []uint64{70}, EmailMD5: []string{annaMD5}}},
		crmlink.Contact{UniqID: "boris", Fields: crmlink.FieldClientIDs | crmlink.FieldPhones | crmlink.FieldUserIDs,
			IDs: crmlink.CustomerIDs{ClientIDs: []uint64{80}, PhoneSHA256: []string{phoneSHA}, UserIDs: []string{"crm-user-9"}}})
	simple := func(id string, ids crmlink.CustomerIDs, uniq string, fields crmlink.Fields) crmlink.Order {
		o := order(id, uniq, crmlink.StatusPaid, "10", at)
		o.IDs, o.Fields = ids, fields|crmlink.FieldCreated|crmlink.FieldStatus|crmlink.FieldRevenue
		return o
	}
	up := &crmlink.Upload{Entity: crmlink.EntitySimpleOrders}
	if err := uploadOrders(t, s, c, up,
		simple("S-email", crmlink.CustomerIDs{EmailMD5: []string{annaMD5}}, "", crmlink.FieldEmails),
		simple("S-phone", crmlink.CustomerIDs{PhoneSHA256: []string{phoneSHA}}, "", crmlink.FieldPhones),
		simple("S-user", crmlink.CustomerIDs{UserIDs: []string{"crm-user-9"}}, "", crmlink.FieldUserIDs),
		simple("S-uniq", crmlink.CustomerIDs{}, "anna", crmlink.FieldCustomer),
		simple("S-nobody", crmlink.CustomerIDs{EmailMD5: []string{"00000000000000000000000000000000"}}, "", crmlink.FieldEmails),
	); err != nil {
		t.Fatal(err)
	}
	wantLink(t, s, c, "S-email", 701, "client_id")
	wantLink(t, s, c, "S-phone", 801, "client_id")
	wantLink(t, s, c, "S-user", 801, "client_id")
	wantLink(t, s, c, "S-uniq", 701, "client_id")
	wantNoLink(t, s, c, "S-nobody")
	if want := map[string]int{"unknown_customer": 1}; up.Linked != 4 || !reflect.DeepEqual(up.Unlinked, want) {
		t.Errorf("upload linked %d, unlinked %v; want 4, %v", up.Linked, up.Unlinked, want)
	}
	if st, err := s.Relink(context.Background(), c.ID); err != nil || st.Linked != 4 {
		t.Errorf("relink: %+v, %v", st, err)
	}
}

// testLinkAfterContacts: identifiers that arrive later link orders that
// had none, and sessions imported later relink.
func testLinkAfterContacts(t *testing.T, open Opener) {
	s, _ := newStore(t, open)
	c := MustCounter(t, s, "Shop", "UTC")
	uploadContacts(t, s, c, crmlink.MergeSave, crmlink.Contact{UniqID: "A", Name: "Anna", Fields: crmlink.FieldName})
	if err := uploadOrders(t, s, c, &crmlink.Upload{}, order("O1", "A", crmlink.StatusPaid, "1", day)); err != nil {
		t.Fatal(err)
	}
	wantNoLink(t, s, c, "O1")
	importSessions(t, s, c, plainSession(7, 70, day.Add(-time.Hour)))
	wantNoLink(t, s, c, "O1")
	uploadContacts(t, s, c, crmlink.MergeAppend, crmlink.Contact{UniqID: "A", Fields: crmlink.FieldClientIDs,
		IDs: crmlink.CustomerIDs{ClientIDs: []uint64{70}}})
	wantLink(t, s, c, "O1", 7, "client_id")
	importSessions(t, s, c, plainSession(8, 70, day.Add(-time.Minute)))
	wantLink(t, s, c, "O1", 8, "client_id")
}

func testGoals(t *testing.T, open Opener) {
	ctx := context.Background()
	s, clock := newStore(t, open)
	c := MustCounter(t, s, "Shop", "UTC")
	if g, err := s.Goals(ctx, c.ID); err != nil || len(g) != 0 {
		t.Fatalf("goals before any order: %v, %v", g, err)
	}
	importSessions(t, s, c, plainSession(1, 10, day.Add(-time.Hour)), plainSession(2, 20, day.Add(-time.Hour)))
	uploadContacts(t, s, c, crmlink.MergeSave,
		crmlink.Contact{UniqID: "A", Fields: crmlink.FieldClientIDs, IDs: crmlink.CustomerIDs{ClientIDs: []uint64{10}}},
		crmlink.Contact{UniqID: "B", Name: "B", Fields: crmlink.FieldName})
	// A failed upload creates no goals.
	if err := uploadOrders(t, s, c, &crmlink.Upload{}, order("X", "nobody", crmlink.StatusPaid, "1", day)); err == nil {
		t.Fatal("an order of an unknown contact was accepted")
	}
	if g, _ := s.Goals(ctx, c.ID); len(g) != 0 {
		t.Fatalf("a failed upload created goals: %v", g)
	}
	o := order("O1", "A", crmlink.StatusInProgress, "1000", day)
	o.Cost = decimal.NewNullDecimal(decimal.NewFromInt(600))
	o.Fields |= crmlink.FieldCost
	if err := uploadOrders(t, s, c, &crmlink.Upload{}, o, order("O2", "B", crmlink.StatusPaid, "50", day)); err != nil {
		t.Fatal(err)
	}
	goals, err := s.Goals(ctx, c.ID)
	if err != nil || len(goals) != 4 {
		t.Fatalf("goals = %v, %v", goals, err)
	}
	byName := map[string]crmlink.Goal{}
	for _, g := range goals {
		byName[g.Name] = g
	}
	created, paid := byName["CRM: Order created"], byName["CRM: Order paid"]
	if created.Type != "crm" || created.Reaches != 1 || created.Revenue.String() != "400" || paid.Reaches != 0 {
		t.Errorf("after the first upload: %+v", goals)
	}
	// Paid later, at a higher revenue: "paid" is reached with its profit;
	// "created" keeps its reach and revenue.
	clock.Add(24 * time.Hour)
	o.StatusType, o.Status, o.Revenue = crmlink.StatusPaid, "PAID", decimal.NewFromInt(1200)
	if err := uploadOrders(t, s, c, &crmlink.Upload{MergeMode: crmlink.MergeUpdate}, o); err != nil {
		t.Fatal(err)
	}
	reaches, err := s.GoalReaches(ctx, c.ID, "O1")
	if err != nil || len(reaches) != 2 {
		t.Fatalf("reaches of O1 = %+v, %v", reaches, err)
	}
	for _, r := range reaches {
		want := map[int64]string{created.ID: "400", paid.ID: "600"}[r.GoalID]
		if r.Revenue.String() != want || r.SessionID != 1 {
			t.Errorf("reach %+v: want revenue %s at session 1", r, want)
		}
	}
	// Cancelled afterwards: a new goal; the old reaches stay.
	o.StatusType, o.Status = crmlink.StatusCancelled, "CANCELLED"
	if err := uploadOrders(t, s, c, &crmlink.Upload{MergeMode: crmlink.MergeUpdate}, o); err != nil {
		t.Fatal(err)
	}
	if reaches, _ := s.GoalReaches(ctx, c.ID, "O1"); len(reaches) != 3 {
		t.Errorf("after cancelling: %+v", reaches)
	}
	// O2 was not linked, so it reached nothing; once its contact's ClientID
	// arrives, it links and reaches "created" and "paid" at that session.
	if reaches, _ := s.GoalReaches(ctx, c.ID, "O2"); len(reaches) != 0 {
		t.Errorf("unlinked O2 reached %+v", reaches)
	}
	uploadContacts(t, s, c, crmlink.MergeAppend, crmlink.Contact{UniqID: "B", Fields: crmlink.FieldClientIDs,
		IDs: crmlink.CustomerIDs{ClientIDs: []uint64{20}}})
	if reaches, _ := s.GoalReaches(ctx, c.ID, "O2"); len(reaches) != 2 || reaches[0].SessionID != 2 {
		t.Errorf("O2 after linking: %+v", reaches)
	}
	// A customer's page: the reaches at its sessions, by time, and its
	// orders, newest first.
	at, err := s.SessionGoalReaches(ctx, c.ID, []uint64{1, 99})
	if err != nil || len(at) != 3 {
		t.Fatalf("SessionGoalReaches(1, 99) = %+v, %v; want O1's three", at, err)
	}
	for i, r := range at {
		if r.OrderID != "O1" || r.SessionID != 1 || (i > 0 && r.Time.Before(at[i-1].Time)) {
			t.Errorf("reach %d: %+v", i, r)
		}
	}
	if at, err := s.SessionGoalReaches(ctx, c.ID, nil); err != nil || len(at) != 0 {
		t.Errorf("SessionGoalReaches(none) = %+v, %v", at, err)
	}
	cos, err := s.CustomerOrders(ctx, c.ID, "A", 10)
	if err != nil || len(cos) != 1 {
		t.Fatalf("CustomerOrders(A) = %+v, %v", cos, err)
	}
	if co := cos[0]; co.Order.ID != "O1" || co.Order.StatusType != crmlink.StatusCancelled || co.Order.Revenue.String() != "1200" ||
		len(co.Versions) != 3 || co.Versions[1].StatusType != crmlink.StatusPaid || co.Link == nil || co.Link.SessionID != 1 {
		t.Errorf("CustomerOrders(A)[0] = %+v, link %+v", co, co.Link)
	}
	if cos, _ := s.CustomerOrders(ctx, c.ID, "B", 10); len(cos) != 1 || cos[0].Link == nil || cos[0].Link.SessionID != 2 {
		t.Errorf("CustomerOrders(B) = %+v", cos)
	}
	if ids, err := s.CustomerOrders(ctx, c.ID, "nobody", 10); err != nil || len(ids) != 0 {
		t.Errorf("CustomerOrders(nobody) = %v, %v", ids, err)
	}
	// A relink changes nothing.
	if _, err := s.Relink(ctx, c.ID); err != nil {
		t.Fatal(err)
	}
	if goals, _ := s.Goals(ctx, c.ID); goals[0].Reaches+goals[1].Reaches+goals[2].Reaches+goals[3].Reaches != 5 {
		t.Errorf("after relink: %+v", goals)
	}

	// Site goals: an OTHER status reaches the goal it names; the goals
	// column reaches its goals, at their price when it gives one.
	if err := s.SetStatusMappings(ctx, c.ID, []crmlink.StatusMapping{{ID: "gift", Humanized: "Gift wrap",
		Type: crmlink.StatusOther, GoalActionIDs: []string{"gift_wrap"}}}); err != nil {
		t.Fatal(err)
	}
	o3 := order("O3", "A", crmlink.StatusOther, "300", day)
	o3.Status = "gift"
	o3.Fields |= crmlink.FieldGoals
	o3.Goals = []crmlink.OrderGoal{{Goal: "pay_cash", Price: decimal.NewNullDecimal(decimal.NewFromInt(200))}, {Goal: "branch_1"}}
	if err := uploadOrders(t, s, c, &crmlink.Upload{}, o3); err != nil {
		t.Fatal(err)
	}
	goals, _ = s.Goals(ctx, c.ID)
	action := map[string]crmlink.Goal{}
	for _, g := range goals {
		if g.Type == "action" {
			action[g.Name] = g
		}
	}
	for name, rev := range map[string]string{"gift_wrap": "300", "pay_cash": "200", "branch_1": "300"} {
		if g := action[name]; g.Reaches != 1 || g.Revenue.String() != rev {
			t.Errorf("site goal %s = %+v, want one reach worth %s", name, g, rev)
		}
	}
	if len(action) != 3 {
		t.Errorf("site goals = %+v", action)
	}
}
