package storetest

import (
	"context"
	"reflect"
	"testing"
	"time"

	"github.com/crmlink/crmlink"
	"github.com/shopspring/decimal"
)

func runHits(t *testing.T, open Opener) {
	t.Run("HitSessions", func(t *testing.T) { testHitSessions(t, open) })
	t.Run("HitContinuesSessions", func(t *testing.T) { testHitContinuesSessions(t, open) })
	t.Run("HitRobots", func(t *testing.T) { testHitRobots(t, open) })
	t.Run("HitIdentitiesLinkOrders", func(t *testing.T) { testHitIdentities(t, open) })
	t.Run("HitGoals", func(t *testing.T) { testHitGoals(t, open) })
	t.Run("GoalsCRUD", func(t *testing.T) { testGoalsCRUD(t, open) })
	t.Run("HitAttribution", func(t *testing.T) { testHitAttribution(t, open, false) })
	t.Run("HitAttributionGiven", func(t *testing.T) { testHitAttribution(t, open, true) })
	t.Run("LastSessions", func(t *testing.T) { testLastSessions(t, open) })
}

// openHit is the pageview that opens session sid of a ClientID at at, as
// the collector sends it: the session's first hit, which carries its
// fields.
func openHit(c *crmlink.Counter, client, sid uint64, at time.Time, src crmlink.TrafficSource) crmlink.SessionHit {
	return crmlink.SessionHit{Hit: crmlink.Hit{CounterID: c.ID, ClientID: client, Time: at, Kind: crmlink.HitPageview,
		URL: "https://shop.example/", Source: src, External: true},
		SessionID: sid, New: true, Start: at, PageViews: 1}
}

// nextHit is a later hit of first's session, at at, with the session's
// page views so far.
func nextHit(first crmlink.SessionHit, kind crmlink.HitKind, at time.Time, pageViews int) crmlink.SessionHit {
	return crmlink.SessionHit{Hit: crmlink.Hit{CounterID: first.CounterID, ClientID: first.ClientID, Time: at, Kind: kind,
		URL: "https://shop.example/cart", Bot: first.Bot, Device: first.Device, OS: first.OS, Browser: first.Browser},
		SessionID: first.SessionID, Start: first.Start, Duration: at.Sub(first.Start), PageViews: pageViews}
}

// writeHits writes each batch, then syncs once: the store may apply the
// batches together.
func writeHits(t *testing.T, s crmlink.Store, batches ...[]crmlink.SessionHit) {
	t.Helper()
	ctx := context.Background()
	for _, b := range batches {
		if err := s.WriteHits(ctx, b); err != nil {
			t.Fatal(err)
		}
	}
	if err := s.SyncHits(ctx); err != nil {
		t.Fatal(err)
	}
}

// clientSessions returns a ClientID's sessions, with an empty purchase
// list as nil.
func clientSessions(t *testing.T, s crmlink.Store, c *crmlink.Counter, client uint64) []crmlink.Session {
	t.Helper()
	ss, err := s.ClientSessions(context.Background(), c.ID, client)
	if err != nil {
		t.Fatal(err)
	}
	for i := range ss {
		if len(ss[i].PurchaseIDs) == 0 {
			ss[i].PurchaseIDs = nil
		}
	}
	return ss
}

func wantSessions(t *testing.T, s crmlink.Store, c *crmlink.Counter, client uint64, want ...crmlink.Session) {
	t.Helper()
	got := clientSessions(t, s, c, client)
	if !reflect.DeepEqual(got, want) {
		t.Errorf("sessions of ClientID %d:\n%+v\nwant\n%+v", client, got, want)
	}
}

// testHitSessions: hits open a session with the fields of its first hit;
// later hits of it, in later batches, move its page views, duration and
// UserID and end its bounce rather than add a session; a new SessionID of
// the same ClientID (the collector's timeout) is a second session. Batches
// written before one SyncHits are all applied, a session's first hit and
// its next ones among them; another counter's hits with the same ids stay
// its own.
func testHitSessions(t *testing.T, open Opener) {
	s, _ := newStore(t, open)
	c := MustCounter(t, s, "Shop", "UTC")
	other := MustCounter(t, s, "Blog", "UTC")
	t0 := day.Add(-24 * time.Hour)
	google := crmlink.TrafficSource{Kind: crmlink.SourceOrganic, Engine: "Google"}
	first := openHit(c, 10, 1001, t0, google)
	first.URL, first.Referrer, first.Title = "https://shop.example/sofas?color=red", "https://www.google.com/", "Sofas"
	first.Device, first.OS, first.Browser = crmlink.DeviceMobile, "Android", "Chrome Mobile"
	first.Country, first.Region, first.City = "Russia", "Moscow", "Moscow"
	blog := openHit(other, 10, 1001, t0.Add(time.Hour), crmlink.TrafficSource{Kind: crmlink.SourceSocial, Engine: "VK"})
	writeHits(t, s, []crmlink.SessionHit{first, blog})
	want := crmlink.Session{CounterID: c.ID, ID: 1001, ClientID: 10, Start: t0, PageViews: 1, Bounce: true, Source: google,
		Referrer: "https://www.google.com/", LandingURL: "https://shop.example/sofas?color=red",
		Country: "Russia", Region: "Moscow", City: "Moscow", Device: crmlink.DeviceMobile, OS: "Android", Browser: "Chrome Mobile"}
	wantSessions(t, s, c, 10, want)

	// The visitor logs in on a second page, stays, leaves; 3 hours later
	// comes back directly, and the collector opens session 1002 and sends
	// its second page in the same batch. The blog's session 1001 of
	// ClientID 10 is its own.
	login := nextHit(first, crmlink.HitPageview, t0.Add(40*time.Second), 2)
	login.UserID = "u-5"
	login.Identities = []crmlink.Identity{{Kind: crmlink.IdentityUserID, Value: "u-5"}}
	back := openHit(c, 10, 1002, t0.Add(3*time.Hour), crmlink.TrafficSource{Kind: crmlink.SourceDirect})
	writeHits(t, s,
		[]crmlink.SessionHit{login},
		[]crmlink.SessionHit{nextHit(first, crmlink.HitHeartbeat, t0.Add(95*time.Second), 2)},
		[]crmlink.SessionHit{back, nextHit(back, crmlink.HitPageview, back.Time.Add(20*time.Second), 2)},
		[]crmlink.SessionHit{nextHit(blog, crmlink.HitPageview, blog.Time.Add(5*time.Second), 2)},
	)
	want.PageViews, want.Duration, want.Bounce, want.UserID = 2, 95*time.Second, false, "u-5"
	wantBack := crmlink.Session{CounterID: c.ID, ID: 1002, ClientID: 10, Start: t0.Add(3 * time.Hour), Duration: 20 * time.Second,
		PageViews: 2, Source: crmlink.TrafficSource{Kind: crmlink.SourceDirect}, LandingURL: "https://shop.example/"}
	wantSessions(t, s, c, 10, want, wantBack)
	wantSessions(t, s, other, 10, crmlink.Session{CounterID: other.ID, ID: 1001, ClientID: 10, Start: t0.Add(time.Hour),
		Duration: 5 * time.Second, PageViews: 2, Source: blog.Source, LandingURL: "https://shop.example/"})
	st, err := s.SessionStats(context.Background(), c.ID)
	if err != nil || st.Sessions != 2 || st.Clients != 1 || !st.First.Equal(t0) || !st.Last.Equal(t0.Add(3*time.Hour)) {
		t.Errorf("SessionStats = %+v, %v", st, err)
	}

	// Reports count them as the sessions they are.
	wantTable(t, "hit sessions", runQuery(t, s, c, "metrics=ym:s:visits,ym:s:users,ym:s:pageviews,ym:s:avgVisitDurationSeconds,ym:s:bounceRate"+
		"&dimensions=ym:s:startURL&sort=ym:s:startURL"), `
https://shop.example/: 1 1 2 20 0
https://shop.example/sofas?color=red: 1 1 2 95 0
total: 2 1 4 57.5 0`)
	wantTable(t, "blog", runQuery(t, s, other, "metrics=ym:s:visits,ym:s:pageviews&dimensions=ym:s:lastTrafficSource"), `
social: 1 2
total: 1 2`)
}

// testHitContinuesSessions: hits that continue sessions, one an import
// wrote (with a Metrica visit id, which may take any value) and one the
// collector started, count their page views in them, in one application;
// a session no hit continues keeps its own.
func testHitContinuesSessions(t *testing.T, open Opener) {
	s, _ := newStore(t, open)
	c := MustCounter(t, s, "Shop", "UTC")
	t0 := Epoch
	imported := Session(1<<63+5, 42, t0.Add(-time.Hour))
	imported.PageViews = 1
	importSessions(t, s, c, imported, Session(7, 43, t0.Add(-2*time.Hour)))
	started := openHit(c, 44, 1_000_001, t0.Add(-time.Minute), crmlink.TrafficSource{Kind: crmlink.SourceDirect})
	writeHits(t, s, []crmlink.SessionHit{started})
	cont := crmlink.SessionHit{Hit: crmlink.Hit{CounterID: c.ID, ClientID: 42, Time: t0, Kind: crmlink.HitPageview,
		URL: "https://shop.example/"}, SessionID: imported.ID, Start: imported.Start, PageViews: 4, Duration: time.Hour}
	writeHits(t, s, []crmlink.SessionHit{cont, nextHit(started, crmlink.HitPageview, t0, 2)})
	for _, want := range []struct {
		client, id uint64
		pv         int
		duration   time.Duration
	}{{42, imported.ID, 4, time.Hour}, {44, 1_000_001, 2, time.Minute}, {43, 7, 3, 95 * time.Second}} {
		ss := clientSessions(t, s, c, want.client)
		if len(ss) != 1 || ss[0].ID != want.id || ss[0].PageViews != want.pv || ss[0].Duration != want.duration {
			t.Errorf("ClientID %d: %+v; want session %d with %d page views over %v", want.client, ss, want.id, want.pv, want.duration)
		}
	}
	// The imported session keeps what the import gave it.
	if ss := clientSessions(t, s, c, 42); len(ss) == 1 && (ss[0].Source != imported.Source || ss[0].LandingURL != imported.LandingURL ||
		!reflect.DeepEqual(ss[0].PurchaseIDs, []string{"O-1"})) {
		t.Errorf("the imported session after a hit: %+v", ss[0])
	}
}

// testHitRobots: a robot's session from hits is stored as a robot's, is in
// no report, and links no order: neither by its ClientID nor by a purchase
// in it.
func testHitRobots(t *testing.T, open Opener) {
	s, _ := newStore(t, open)
	c := MustCounter(t, s, "Shop", "UTC")
	t0 := day.Add(-2 * time.Hour)
	robot := openHit(c, 66, 6601, t0, crmlink.TrafficSource{Kind: crmlink.SourceDirect})
	robot.Bot = true
	buy := nextHit(robot, crmlink.HitPurchase, t0.Add(time.Minute), 1)
	buy.Purchase = &crmlink.Purchase{ID: "P-robot", Revenue: decimal.NewFromInt(10), Currency: "RUB"}
	human := openHit(c, 67, 6701, t0, crmlink.TrafficSource{Kind: crmlink.SourceDirect})
	writeHits(t, s, []crmlink.SessionHit{robot, human}, []crmlink.SessionHit{buy, nextHit(robot, crmlink.HitPageview, t0.Add(2*time.Minute), 2)})
	ss := clientSessions(t, s, c, 66)
	if len(ss) != 1 || !ss[0].Bot || ss[0].PageViews != 2 || !reflect.DeepEqual(ss[0].PurchaseIDs, []string{"P-robot"}) {
		t.Errorf("the robot's sessions: %+v", ss)
	}
	wantTable(t, "robots", runQuery(t, s, c, "metrics=ym:s:visits,ym:s:users,ym:s:pageviews&dimensions=ym:s:lastTrafficSource"), `
direct: 1 1 1
total: 1 1 1`)
	uploadContacts(t, s, c, crmlink.MergeSave,
		crmlink.Contact{UniqID: "bot", Fields: crmlink.FieldClientIDs, IDs: crmlink.CustomerIDs{ClientIDs: []uint64{66}}},
		crmlink.Contact{UniqID: "anon", Name: "Anon", Fields: crmlink.FieldName})
	up := &crmlink.Upload{}
	if err := uploadOrders(t, s, c, up, order("O-bot", "bot", crmlink.StatusPaid, "10", day), order("P-robot", "anon", crmlink.StatusPaid, "10", day)); err != nil {
		t.Fatal(err)
	}
	wantNoLink(t, s, c, "O-bot")
	wantNoLink(t, s, c, "P-robot")
	if want := map[string]int{crmlink.UnlinkedUnknownCustomer: 1, crmlink.UnlinkedRobot: 1}; up.Linked != 0 || !reflect.DeepEqual(up.Unlinked, want) {
		t.Errorf("upload linked %d, unlinked %v; want 0, %v", up.Linked, up.Unlinked, want)
	}
}

// testHitIdentities: what hits identify links orders: a UserID sent with
// setUserID, a hashed email from userParams, the ClientID itself, and an
// e-commerce purchase whose id is an order's, which wins over the
// customer's later session and links its order whether it arrives before
// or after the order.
func testHitIdentities(t *testing.T, open Opener) {
	s, _ := newStore(t, open)
	c := MustCounter(t, s, "Shop", "UTC")
	at := day // orders are created at this instant
	const annaMD5 = "6b56db1f84a3997b902509d3fbf0a306"
	direct := crmlink.TrafficSource{Kind: crmlink.SourceDirect}
	// The collector gives a hit's UserID as an identity too.
	user := openHit(c, 20, 2001, at.Add(-2*time.Hour), direct)
	login := nextHit(user, crmlink.HitParams, at.Add(-2*time.Hour+time.Minute), 1)
	login.UserID = "site-user-7"
	login.Identities = []crmlink.Identity{{Kind: crmlink.IdentityUserID, Value: "site-user-7"}}
	email := openHit(c, 30, 3001, at.Add(-3*time.Hour), direct)
	email.Identities = []crmlink.Identity{{Kind: crmlink.IdentityEmailMD5, Value: annaMD5}}
	client := openHit(c, 40, 4001, at.Add(-time.Hour), direct)
	buyer := openHit(c, 50, 5001, at.Add(-5*time.Hour), direct)
	buy := nextHit(buyer, crmlink.HitPurchase, at.Add(-5*time.Hour+3*time.Minute), 1)
	buy.Purchase = &crmlink.Purchase{ID: "P-50", Revenue: decimal.NewFromInt(500), Currency: "RUB"}
	writeHits(t, s, []crmlink.SessionHit{user, email, client, buyer}, []crmlink.SessionHit{login, buy})
	if ss := clientSessions(t, s, c, 20); len(ss) != 1 || ss[0].UserID != "site-user-7" {
		t.Errorf("the session of the login: %+v", ss)
	}
	if ss := clientSessions(t, s, c, 50); len(ss) != 1 || !reflect.DeepEqual(ss[0].PurchaseIDs, []string{"P-50"}) {
		t.Errorf("the session of the purchase: %+v", ss)
	}
	uploadContacts(t, s, c, crmlink.MergeSave,
		crmlink.Contact{UniqID: "by-user", Fields: crmlink.FieldUserIDs, IDs: crmlink.CustomerIDs{UserIDs: []string{"site-user-7"}}},
		crmlink.Contact{UniqID: "by-email", Fields: crmlink.FieldEmails, IDs: crmlink.CustomerIDs{EmailMD5: []string{annaMD5}}},
		crmlink.Contact{UniqID: "by-client", Fields: crmlink.FieldClientIDs, IDs: crmlink.CustomerIDs{ClientIDs: []uint64{40}}},
		crmlink.Contact{UniqID: "late-buyer", Name: "Late", Fields: crmlink.FieldName})
	up := &crmlink.Upload{}
	if err := uploadOrders(t, s, c, up,
		order("O-user", "by-user", crmlink.StatusPaid, "1", at),
		order("O-email", "by-email", crmlink.StatusPaid, "1", at),
		order("O-client", "by-client", crmlink.StatusPaid, "1", at),
		order("P-50", "by-client", crmlink.StatusPaid, "1", at), // by-client's session 4001 is later: the purchase wins
		order("P-60", "late-buyer", crmlink.StatusPaid, "1", at),
	); err != nil {
		t.Fatal(err)
	}
	wantLink(t, s, c, "O-user", 2001, "user_id")
	wantLink(t, s, c, "O-email", 3001, "email")
	wantLink(t, s, c, "O-client", 4001, "client_id")
	wantLink(t, s, c, "P-50", 5001, "purchase_id")
	wantNoLink(t, s, c, "P-60")
	if l, err := s.OrderLink(context.Background(), c.ID, "P-50"); err != nil || l.ClientID != 50 || !l.SessionStart.Equal(buyer.Start) {
		t.Errorf("P-50's link: %+v, %v; want ClientID 50's session of %v", l, err, buyer.Start)
	}
	// P-60's purchase arrives after the order: it links it then.
	late := openHit(c, 60, 6001, at.Add(-30*time.Minute), direct)
	pay := nextHit(late, crmlink.HitPurchase, at.Add(-29*time.Minute), 1)
	pay.Purchase = &crmlink.Purchase{ID: "P-60", Revenue: decimal.NewFromInt(1), Currency: "RUB"}
	writeHits(t, s, []crmlink.SessionHit{late, pay})
	wantLink(t, s, c, "P-60", 6001, "purchase_id")
	cos, err := s.CustomerOrders(context.Background(), c.ID, "late-buyer", 10)
	if err != nil || len(cos) != 1 || cos[0].Link == nil || cos[0].Link.SessionID != 6001 {
		t.Errorf("CustomerOrders(late-buyer) = %+v, %v", cos, err)
	}
}

// testHitGoals: a goal a hit reaches is a site goal named by its
// identifier, reached at the hit's session at the hit's time; its session
// is no bounce; reports count it.
func testHitGoals(t *testing.T, open Opener) {
	ctx := context.Background()
	s, _ := newStore(t, open)
	c := MustCounter(t, s, "Shop", "UTC")
	t0 := day.Add(-24 * time.Hour)
	direct := crmlink.TrafficSource{Kind: crmlink.SourceDirect}
	a := openHit(c, 70, 7001, t0, direct)
	reach := nextHit(a, crmlink.HitGoal, t0.Add(5*time.Second), 1)
	reach.Goal = "add_to_cart"
	b := openHit(c, 71, 7002, t0.Add(time.Hour), direct)
	b.Kind, b.Goal = crmlink.HitGoal, "add_to_cart" // a goal first: the tag's reachGoal before its pageview
	bounce := openHit(c, 72, 7003, t0, direct)
	writeHits(t, s, []crmlink.SessionHit{a, b, bounce}, []crmlink.SessionHit{reach})
	goals, err := s.Goals(ctx, c.ID)
	if err != nil || len(goals) != 1 || goals[0].Name != "add_to_cart" || goals[0].Type != "action" || goals[0].Reaches != 2 || !goals[0].Revenue.IsZero() {
		t.Fatalf("goals = %+v, %v; want add_to_cart reached twice", goals, err)
	}
	id := goals[0].ID
	at, err := s.SessionGoalReaches(ctx, c.ID, []uint64{7001, 7002, 7003})
	want := []crmlink.GoalReach{
		{GoalID: id, SessionID: 7001, Time: t0.Add(5 * time.Second), Revenue: decimal.Zero},
		{GoalID: id, SessionID: 7002, Time: t0.Add(time.Hour), Revenue: decimal.Zero},
	}
	if err != nil || len(at) != 2 {
		t.Fatalf("SessionGoalReaches = %+v, %v; want %+v", at, err, want)
	}
	for i := range want {
		if g := at[i]; g.GoalID != want[i].GoalID || g.OrderID != "" || g.SessionID != want[i].SessionID || !g.Time.Equal(want[i].Time) || !g.Revenue.IsZero() {
			t.Errorf("reach %d = %+v, want %+v", i, g, want[i])
		}
	}
	for client, bounce := range map[uint64]bool{70: false, 71: false, 72: true} {
		if ss := clientSessions(t, s, c, client); len(ss) != 1 || ss[0].Bounce != bounce {
			t.Errorf("ClientID %d: %+v; want bounce %v", client, ss, bounce)
		}
	}
	g := "ym:s:goal" + decimal.NewFromInt(id).String()
	wantTable(t, "goal", runQuery(t, s, c, "metrics=ym:s:visits,ym:s:bounceRate,"+g+"reaches,"+g+"conversionRate"), `
: 3 33.33 2 66.67
total: 3 33.33 2 66.67`)
}

// testHitAttribution: sessions from hits are attributed from their
// ClientID's earlier sessions, hit or imported, whether those were applied
// earlier or with them: an organic visit, then a direct one, credits the
// direct visit and its order to organic by last significant source, to
// direct by last source; first source credits each ClientID's first. With
// given, the hits carry their attribution as the collector gives it
// (from LastSessions and the sessions before them), which the store
// keeps; without, the store derives it.
func testHitAttribution(t *testing.T, open Opener, given bool) {
	ctx := context.Background()
	s, _ := newStore(t, open)
	c := MustCounter(t, s, "Shop", "UTC")
	d := func(n int, h int) time.Time {
		return day.AddDate(0, 0, n).Truncate(24 * time.Hour).Add(time.Duration(h) * time.Hour)
	}
	direct := crmlink.TrafficSource{Kind: crmlink.SourceDirect}
	// ClientID 84 has imported history: a social visit.
	imported := plainSession(8401, 84, d(-2, 10))
	imported.Source = crmlink.TrafficSource{Kind: crmlink.SourceSocial, Engine: "VK"}
	importSessions(t, s, c, imported)
	// The collector asks for its visitors' last sessions first.
	last, err := s.LastSessions(ctx, c.ID, []uint64{80, 81, 82, 84})
	if err != nil || len(last) != 1 || last[84] == nil || last[84].ID != 8401 {
		t.Fatalf("LastSessions = %+v, %v", last, err)
	}
	social := crmlink.SourceRef{SessionID: 8401, Kind: crmlink.SourceSocial, Engine: "VK"}
	if a := last[84].Attribution; a != (crmlink.SessionAttribution{First: social, LastSign: social}) {
		t.Errorf("the imported session's attribution: %+v", a)
	}
	prev := map[uint64]*crmlink.SessionAttribution{84: &last[84].Attribution}
	writeHits := func(t *testing.T, s crmlink.Store, batches ...[]crmlink.SessionHit) {
		t.Helper()
		for _, b := range batches {
			for i := range b {
				if given && b[i].New {
					a := crmlink.NextAttribution(prev[b[i].ClientID], b[i].SessionID, b[i].Source)
					prev[b[i].ClientID], b[i].Attribution = &a, a
				}
			}
		}
		writeHits(t, s, batches...)
	}
	// ClientID 80: organic, and in a later application direct.
	writeHits(t, s, []crmlink.SessionHit{openHit(c, 80, 8001, d(-2, 10), crmlink.TrafficSource{Kind: crmlink.SourceOrganic, Engine: "Google"})})
	// ClientID 81: an ad, then a referral, in one batch; 82 only direct;
	// 84 direct after its import.
	ad := crmlink.TrafficSource{Kind: crmlink.SourceAd, Engine: "Yandex Direct", UTMSource: "yandex", UTMCampaign: "spring"}
	writeHits(t, s, []crmlink.SessionHit{
		openHit(c, 81, 8101, d(-1, 9), ad),
		openHit(c, 81, 8102, d(0, 9), crmlink.TrafficSource{Kind: crmlink.SourceReferral, Engine: "habr.com"}),
		openHit(c, 82, 8201, d(-1, 11), direct),
		openHit(c, 84, 8402, d(-1, 12), direct),
	}, []crmlink.SessionHit{openHit(c, 80, 8002, d(-1, 10), direct)})
	uploadContacts(t, s, c, crmlink.MergeSave,
		crmlink.Contact{UniqID: "anna", Name: "Anna", Fields: crmlink.FieldName | crmlink.FieldClientIDs, IDs: crmlink.CustomerIDs{ClientIDs: []uint64{80}}})
	if err := uploadOrders(t, s, c, &crmlink.Upload{}, order("O-80", "anna", crmlink.StatusPaid, "250", d(-1, 12))); err != nil {
		t.Fatal(err)
	}
	wantLink(t, s, c, "O-80", 8002, "client_id")
	const mets = "metrics=ym:s:visits,ym:s:cdpOrdersAllOrders,ym:s:cdpOrdersRUBRevenue&sort=ym:s:<attribution>TrafficSource&dimensions=ym:s:<attribution>TrafficSource"
	for _, tc := range []struct{ attribution, want string }{
		{"last", `
ad: 1 0 0
direct: 3 1 250
organic: 1 0 0
referral: 1 0 0
social: 1 0 0
total: 7 1 250`},
		// 8002 keeps 8001's organic, 8402 the import's social; 8201 has
		// nothing significant before it.
		{"lastsign", `
ad: 1 0 0
direct: 1 0 0
organic: 2 1 250
referral: 1 0 0
social: 2 0 0
total: 7 1 250`},
		{"first", `
ad: 2 0 0
direct: 1 0 0
organic: 2 1 250
social: 2 0 0
total: 7 1 250`},
	} {
		wantTable(t, tc.attribution, runQuery(t, s, c, mets+"&attribution="+tc.attribution), tc.want)
	}
	wantTable(t, "campaign", runQuery(t, s, c, "metrics=ym:s:visits&dimensions=ym:s:firstUTMCampaign&sort=ym:s:firstUTMCampaign"), `
: 5
spring: 2
total: 7`)
	cl, err := s.Clients(ctx, &crmlink.ClientsQuery{CounterID: c.ID, Limit: 10})
	if err != nil || len(cl.Rows) != 1 {
		t.Fatalf("clients: %+v, %v", cl, err)
	}
	if a := cl.Rows[0]; a.UniqID != "anna" || a.FirstSource != "organic" || a.LastSource != "direct" || a.Sessions != 2 || a.Paid != 1 {
		t.Errorf("anna: %+v", a)
	}
}

// testLastSessions: LastSessions gives each ClientID's latest session as
// hits and imports left it, among many asked at once, ClientIDs above the
// largest BIGINT among them; a ClientID without sessions, or another
// counter's, is absent.
func testLastSessions(t *testing.T, open Opener) {
	ctx := context.Background()
	s, _ := newStore(t, open)
	c := MustCounter(t, s, "Shop", "UTC")
	other := MustCounter(t, s, "Blog", "UTC")
	const big = uint64(1<<63 + 12345)
	t0 := Epoch.Add(-3 * time.Hour)
	if got, err := s.LastSessions(ctx, c.ID, nil); err != nil || len(got) != 0 {
		t.Fatalf("LastSessions(none) = %v, %v", got, err)
	}
	organic := crmlink.TrafficSource{Kind: crmlink.SourceOrganic, Engine: "Yandex"}
	social := crmlink.TrafficSource{Kind: crmlink.SourceSocial, Engine: "VK", UTMSource: "vk", UTMMedium: "social"}
	latest := openHit(c, 7, 71, t0.Add(time.Hour), organic)
	writeHits(t, s, []crmlink.SessionHit{
		openHit(c, 7, 70, t0, crmlink.TrafficSource{Kind: crmlink.SourceDirect}),
		latest,
		openHit(c, big, 90, t0, social),
	}, []crmlink.SessionHit{nextHit(latest, crmlink.HitPageview, latest.Start.Add(30*time.Second), 2)})
	ask := []uint64{5, 7, big, 8}
	for i := uint64(0); i < 500; i++ {
		ask = append(ask, 1_000_000+i) // new visitors, as most are
	}
	got, err := s.LastSessions(ctx, c.ID, ask)
	if err != nil {
		t.Fatal(err)
	}
	ref := func(sid uint64, src crmlink.TrafficSource) crmlink.SourceRef {
		return crmlink.SourceRef{SessionID: sid, Kind: src.Kind, Engine: src.Engine}
	}
	direct := crmlink.TrafficSource{Kind: crmlink.SourceDirect}
	want := map[uint64]*crmlink.Session{
		7: {CounterID: c.ID, ID: 71, ClientID: 7, Start: t0.Add(time.Hour), Duration: 30 * time.Second, PageViews: 2, Source: organic,
			Attribution: crmlink.SessionAttribution{First: ref(70, direct), LastSign: ref(71, organic)}},
		big: {CounterID: c.ID, ID: 90, ClientID: big, Start: t0, PageViews: 1, Source: social,
			Attribution: crmlink.SessionAttribution{First: ref(90, social), LastSign: ref(90, social)}},
	}
	wantLastSessions(t, "after hits", got, want)
	if got, err := s.LastSessions(ctx, other.ID, []uint64{7, big}); err != nil || len(got) != 0 {
		t.Errorf("another counter's: %+v, %v", got, err)
	}
	// ClientIDs that get sessions after a look-up, by hits and by an
	// import, are found too; a session of 7 earlier than its latest does
	// not replace it.
	writeHits(t, s, []crmlink.SessionHit{openHit(c, 8, 80, t0, crmlink.TrafficSource{Kind: crmlink.SourceDirect})})
	imported := Session(95, 5, t0.Add(2*time.Hour))
	importSessions(t, s, c, imported, Session(96, 7, t0.Add(-time.Hour)))
	got, err = s.LastSessions(ctx, c.ID, ask)
	if err != nil {
		t.Fatal(err)
	}
	want[8] = &crmlink.Session{CounterID: c.ID, ID: 80, ClientID: 8, Start: t0, PageViews: 1, Source: direct,
		Attribution: crmlink.SessionAttribution{First: ref(80, direct)}}
	want[5] = &crmlink.Session{CounterID: c.ID, ID: 95, ClientID: 5, Start: imported.Start, Duration: imported.Duration,
		PageViews: imported.PageViews, Source: imported.Source,
		Attribution: crmlink.SessionAttribution{First: ref(95, imported.Source), LastSign: ref(95, imported.Source)}}
	// 7's earlier imported session is its first now.
	want[7].Attribution.First = ref(96, imported.Source)
	wantLastSessions(t, "after more sessions", got, want)
}

// wantLastSessions compares what LastSessions promises the collector of
// each session: its id, ClientID, start, duration, page views, source and
// attribution.
func wantLastSessions(t *testing.T, when string, got, want map[uint64]*crmlink.Session) {
	t.Helper()
	if len(got) != len(want) {
		t.Errorf("%s: %d ClientIDs, want %d: %+v", when, len(got), len(want), got)
	}
	for client, w := range want {
		g := got[client]
		if g == nil {
			t.Errorf("%s: no session of ClientID %d", when, client)
			continue
		}
		if g.CounterID != w.CounterID || g.ID != w.ID || g.ClientID != w.ClientID || !g.Start.Equal(w.Start) ||
			g.Duration != w.Duration || g.PageViews != w.PageViews || g.Source != w.Source || g.Attribution != w.Attribution {
			t.Errorf("%s: ClientID %d: %+v\nwant %+v", when, client, g, w)
		}
	}
}
