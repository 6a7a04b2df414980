package storetest

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"math/rand/v2"
	"net/url"
	"regexp"
	"slices"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/crmlink/crmlink"
	"github.com/crmlink/crmlink/report"
	"github.com/shopspring/decimal"
)

func runSegments(t *testing.T, open Opener) {
	t.Run("SegmentsSaved", func(t *testing.T) { testSegmentsSaved(t, open) })
	t.Run("SegmentMembers", func(t *testing.T) { testSegmentMembers(t, open) })
	t.Run("SegmentCutsReports", func(t *testing.T) { testSegmentCut(t, open) })
}

// testSegmentCut: a report cut by a segment (its expression in filters,
// beside the report's own terms, or a saved one by id) counts exactly
// the members' sessions and the orders linked to them, as computed here
// from the data: every cell reconciles.
func testSegmentCut(t *testing.T, open Opener) {
	ctx := context.Background()
	s, _ := newStore(t, open)
	w := buildSegmentWorld(t, s)
	links := map[uint64][]*crmlink.Order{}
	for i := range w.orders {
		l, err := s.OrderLink(ctx, w.c.ID, w.orders[i].ID)
		if err == nil {
			links[l.SessionID] = append(links[l.SessionID], &w.orders[i])
		}
	}
	// The Clients report keeps the customers a segment holds.
	p, err := report.ParseSegment("cdp:c:paidOrders>=1 AND ym:s:deviceCategory=='mobile'", report.SegmentRequest{Counter: w.c, Goals: w.goals, Now: Epoch})
	if err != nil {
		t.Fatal(err)
	}
	cl, err := s.Clients(ctx, &crmlink.ClientsQuery{CounterID: w.c.ID, Segment: p, Limit: 1000, Sort: "uniq_id"})
	if err != nil {
		t.Fatal(err)
	}
	var got, want []string
	for _, r := range cl.Rows {
		got = append(got, r.UniqID)
	}
	for _, per := range w.people(false) {
		if w.holds(p.Cond, per) {
			want = append(want, per.cust)
		}
	}
	if !slices.Equal(got, want) || cl.TotalRows != len(want) || len(want) < 2 {
		t.Errorf("Clients of the segment: %v (%d in all), want %v", got, cl.TotalRows, want)
	}
	from, to := w.today.AddDate(0, 0, -149), w.today
	for _, c := range []struct {
		filters, segment string
		device           crmlink.DeviceCategory // the report's own term, if any
	}{
		{filters: "cdp:c:paidOrders>=1"},
		{filters: "ym:s:deviceCategory=='mobile' AND cdp:c:paidRevenue>=5000", device: crmlink.DeviceMobile},
		{filters: "ym:u:visits>=4"},
		{segment: "NONE(ym:s:deviceCategory=='tablet') OR cdp:c:orders==0"},
		{filters: "ym:s:deviceCategory=='desktop'", segment: "cdp:c:attribute('level')=='gold'", device: crmlink.DeviceDesktop},
	} {
		v := url.Values{"metrics": {"ym:s:visits,ym:s:users,ym:s:cdpOrdersAllOrders,ym:s:cdpOrdersPayed,ym:s:cdpOrdersRUBRevenue"},
			"dimensions": {"ym:s:lastsignTrafficSource"}, "date1": {from.Format(time.DateOnly)}, "date2": {to.Format(time.DateOnly)},
			"include_unlinked": {"true"}}
		if c.filters != "" {
			v.Set("filters", c.filters)
		}
		q, err := report.Parse(report.Request{Counter: w.c, Goals: w.goals, Now: Epoch, Params: v, Segment: c.segment})
		if err != nil {
			t.Fatalf("%+v: %v", c, err)
		}
		if q.Segment == nil {
			t.Fatalf("%+v: no segment planned", c)
		}
		res, err := s.Report(ctx, q)
		if err != nil {
			t.Fatalf("%+v: %v", c, err)
		}
		if res.Unlinked != nil {
			t.Errorf("%+v: a cut report has the unlinked row", c)
		}
		// The people the condition holds for.
		cond := q.Segment.Cond
		member := map[segPerson]bool{}
		for _, per := range w.people(q.Segment.SiteOnly) {
			member[per] = w.holds(cond, per)
		}
		type cell struct {
			visits, orders, paid int
			users                map[uint64]bool
			revenue              decimal.Decimal
		}
		want := map[string]*cell{}
		for i := range w.sessions {
			se := &w.sessions[i]
			local := se.Start.In(w.loc)
			day := time.Date(local.Year(), local.Month(), local.Day(), 0, 0, 0, 0, time.UTC)
			if day.Before(from) || day.After(to) || !member[w.personOf(se.ClientID)] || c.device != "" && se.Device != c.device {
				continue
			}
			k := string(se.src[crmlink.AttributionLastSign].Kind)
			if want[k] == nil {
				want[k] = &cell{users: map[uint64]bool{}}
			}
			x := want[k]
			x.visits++
			x.users[se.ClientID] = true
			for _, o := range links[se.ID] {
				if o.StatusType != crmlink.StatusSpam {
					x.orders++
				}
				if o.StatusType == crmlink.StatusPaid {
					x.paid++
					if o.Currency == "RUB" {
						x.revenue = x.revenue.Add(o.Revenue)
					}
				}
			}
		}
		var wantRows, gotRows []string
		for k, x := range want {
			wantRows = append(wantRows, fmt.Sprintf("%s: %d %d %d %d %s", k, x.visits, len(x.users), x.orders, x.paid, x.revenue.StringFixed(4)))
		}
		for _, r := range res.Rows {
			gotRows = append(gotRows, fmt.Sprintf("%s: %s %s %s %s %s", r.Dimensions[0].ID, r.Metrics[0], r.Metrics[1], r.Metrics[2], r.Metrics[3], r.Metrics[4].StringFixed(4)))
		}
		slices.Sort(wantRows)
		slices.Sort(gotRows)
		if !slices.Equal(gotRows, wantRows) || len(wantRows) < 2 {
			t.Errorf("%+v:\n got %q\nwant %q", c, gotRows, wantRows)
		}
	}
}

func testSegmentsSaved(t *testing.T, open Opener) {
	ctx := context.Background()
	s, clock := newStore(t, open)
	c := MustCounter(t, s, "Shop", "UTC")
	other := MustCounter(t, s, "Other", "UTC")
	a := &crmlink.Segment{CounterID: c.ID, Name: "Paid twice", Expression: "cdp:c:paidOrders>=2"}
	if err := s.CreateSegment(ctx, a); err != nil {
		t.Fatal(err)
	}
	b := &crmlink.Segment{CounterID: c.ID, Name: "Mobile", Expression: "ym:s:deviceCategory=='mobile'"}
	if err := s.CreateSegment(ctx, b); err != nil {
		t.Fatal(err)
	}
	if a.ID == 0 || b.ID == a.ID || !a.Created.Equal(Epoch) {
		t.Fatalf("created %+v and %+v", a, b)
	}
	clock.T = Epoch.Add(time.Hour)
	b.Name, b.Expression = "Tablets", "ym:s:deviceCategory=='tablet'"
	if err := s.UpdateSegment(ctx, b); err != nil {
		t.Fatal(err)
	}
	got, err := s.Segment(ctx, c.ID, b.ID)
	if err != nil || got.Name != "Tablets" || got.Expression != b.Expression || !got.Created.Equal(Epoch) || !got.Updated.Equal(clock.T) {
		t.Fatalf("after update: %+v, %v", got, err)
	}
	list, err := s.Segments(ctx, c.ID)
	if err != nil || len(list) != 2 || list[0].ID != a.ID || list[1].ID != b.ID {
		t.Fatalf("segments: %+v, %v", list, err)
	}
	if list, _ := s.Segments(ctx, other.ID); len(list) != 0 {
		t.Errorf("another counter lists %+v", list)
	}
	if _, err := s.Segment(ctx, other.ID, a.ID); crmlink.KindOf(err) != crmlink.KindNotFound {
		t.Errorf("another counter's segment: %v", err)
	}
	if err := s.DeleteSegment(ctx, c.ID, a.ID); err != nil {
		t.Fatal(err)
	}
	if err := s.DeleteSegment(ctx, c.ID, a.ID); crmlink.KindOf(err) != crmlink.KindNotFound {
		t.Errorf("deleted twice: %v", err)
	}
	if err := s.UpdateSegment(ctx, a); crmlink.KindOf(err) != crmlink.KindNotFound {
		t.Errorf("updated a deleted one: %v", err)
	}
	if list, _ := s.Segments(ctx, c.ID); len(list) != 1 {
		t.Errorf("after delete: %+v", list)
	}
}

// segmentWorld is the data of the members test, and what a segment's
// condition means over it, computed here in Go, apart from any engine.
type segmentWorld struct {
	c        *crmlink.Counter
	loc      *time.Location
	today    time.Time // a date, midnight UTC
	contacts []crmlink.Contact
	owner    map[uint64]string // ClientID to customer
	sessions []segSession
	orders   []crmlink.Order
	goals    []crmlink.Goal
}

type segSession struct {
	crmlink.Session
	// source by model: last, first, lastsign, and the cross-device ones.
	src   map[crmlink.Attribution]crmlink.TrafficSource
	goals []int64
}

type segPerson struct {
	cust string
	vid  uint64
}

func (p segPerson) String() string {
	if p.cust != "" {
		return p.cust
	}
	return fmt.Sprint("visitor ", p.vid)
}

func testSegmentMembers(t *testing.T, open Opener) {
	ctx := context.Background()
	s, _ := newStore(t, open)
	w := buildSegmentWorld(t, s)
	people := w.people(true)
	exprs := []struct {
		expr string
		// some: the condition holds for some people and not for others,
		// so that a wrong answer shows.
		some bool
	}{
		// CRM: orders by status type, ever and in a period.
		{"cdp:c:orders>=3", true},
		{"cdp:c:paidOrders>=2", true},
		{"cdp:c:cancelledOrders>=1 AND cdp:c:inProgressOrders==0", true},
		{"cdp:c:spamOrders>0 OR cdp:c:otherOrders>0", true},
		{"cdp:c:paidOrders[cdp:o:createDate>='2026-01-01']>=1", true},
		{"cdp:c:orders[cdp:o:daysAgo<=30]>=1", true},
		// money
		{"cdp:c:paidRevenue>=8000", true},
		{"cdp:c:paidProfit>5000", true},
		{"cdp:c:averageCheque>=4000", true},
		{"cdp:c:averageCheque<3000", true},
		{"cdp:c:paidRevenue[cdp:o:attribute('delivery')=='courier']>1000", true},
		// dates of the first and last orders, and days since
		{"cdp:c:firstOrderDate<'2025-12-01'", true},
		{"cdp:c:lastOrderDate>='2026-02-01'", true},
		{"cdp:c:daysSinceLastOrder>90", true},
		{"cdp:c:daysSinceFirstOrder<=60", true},
		{"cdp:c:lastOrderDate[cdp:o:statusType=='paid']>='2026-01-15'", true},
		// the last order's status
		{"cdp:c:lastOrderStatusType=='cancelled'", true},
		{"cdp:c:lastOrderStatus.in('delivered','paid_online')", true},
		// products
		{"cdp:o:product=='Sofa'", true},
		{"EXISTS(cdp:o:product=='Chair' AND cdp:o:productQuantity>=2)", true},
		{"cdp:c:productQuantity[cdp:o:product=='Lamp']>=2", true},
		{"cdp:c:productQuantity[cdp:o:statusType=='paid']>=3", true},
		// attributes of the contact and of orders
		{"cdp:c:attribute('level')=='gold'", true},
		// A value a customer lacks makes its comparison false, and NOT of
		// it true.
		{"NOT cdp:c:attribute('level')=='gold'", true},
		{"NOT cdp:c:daysSinceLastOrder>90 AND cdp:c:hasEmail=='yes'", true},
		{"EXISTS(NOT cdp:o:cost>100)", true},
		{"cdp:c:attribute('age')>=30", true},
		{"cdp:o:attribute('delivery')=='pickup' AND cdp:o:statusType=='paid'", true},
		{"NONE(cdp:o:attribute('delivery')=='courier')", true},
		// identifiers known
		{"cdp:c:hasEmail=='yes'", true},
		{"cdp:c:hasPhone=='no' AND cdp:c:hasClientID=='yes'", true},
		{"cdp:c:id=@'1'", true},
		// orders in their own terms
		{"cdp:o:revenue>5000 AND cdp:o:currency=='RUB'", true},
		{"cdp:o:profit<500", true},
		{"cdp:o:cost>0", true},
		{"cdp:o:createDate=='2026-02-11'", true},
		{"ALL(cdp:o:statusType=='paid')", true},
		// site: sessions in a period, sources by model, device, region,
		// landing page, goals, purchases, days since the last visit
		{"ym:u:visits[ym:s:date>='2026-02-01']>=2", true},
		{"ym:s:daysAgo<=7", true},
		{"ym:s:lastsignTrafficSource=='ad' AND ym:s:daysAgo<=30", true},
		{"ym:s:firstTrafficSource=='organic'", true},
		{"ym:s:trafficSource=='social'", true},
		{"ym:s:cross_device_last_significantTrafficSource=='ad'", true},
		{"ym:s:cross_device_firstSourceEngine=='Google'", true},
		{"ym:s:lastsignUTMCampaign=@'sale'", true},
		{"ym:s:deviceCategory=='mobile' AND ym:s:regionCity=='Moscow'", true},
		{"ym:s:startURL=~'/catalog/'", true},
		{"ym:s:pageViews>=4", true},
		{"ym:s:purchases>=1", true},
		{"ym:u:purchases>=2", true},
		{"ym:u:visits[ym:s:deviceCategory=='tablet']==0", true},
		{"ym:u:visits[ym:s:daysAgo<=30]<2 AND ym:u:purchases[ym:s:pageViews>=3]>=1", true},
		{"ym:u:firstVisitDate[ym:s:trafficSource=='ad']>='2026-01-01' OR ym:s:pageViews>=5", true},
		{"ym:u:daysSinceLastVisit<=10", true},
		{"ym:u:daysSinceFirstVisit>100", true},
		{"ym:u:lastVisitDate<'2026-01-01'", true},
		{"NONE(ym:s:deviceCategory=='desktop')", true},
		{"ALL(ym:s:deviceCategory=='mobile')", true},
		{"NOT ym:s:deviceCategory=='mobile'", true},
		{"ym:s:date=='2026-02-20'", true},
		// mixed
		{"cdp:c:paidOrders>=2 AND cdp:c:daysSinceLastOrder>90 AND EXISTS(ym:s:lastsignTrafficSource=='ad' AND ym:s:daysAgo<=30)", false},
		{"cdp:c:paidOrders>=1 AND (ym:s:deviceCategory=='tablet' OR NOT cdp:c:hasEmail=='yes')", true},
		{"EXISTS ym:u:userID WITH (ym:u:visits>=3 AND cdp:c:orders==0)", true},
		{"ym:s:deviceCategory=='mobile' AND cdp:c:paidOrders>=1 AND ym:s:daysAgo<=60", true},
	}
	goal := w.goals[0].ID
	exprs = append(exprs, struct {
		expr string
		some bool
	}{fmt.Sprintf("ym:s:goal=='%d' AND ym:s:daysAgo<=60", goal), true})
	for _, e := range exprs {
		p, err := report.ParseSegment(e.expr, report.SegmentRequest{Counter: w.c, Goals: w.goals, Now: Epoch})
		if err != nil {
			t.Errorf("%s: %v", e.expr, err)
			continue
		}
		var want []segPerson
		for _, per := range w.people(p.SiteOnly) {
			if w.holds(p.Cond, per) {
				want = append(want, per)
			}
		}
		if e.some && (len(want) == 0 || len(want) == len(w.people(p.SiteOnly))) {
			t.Errorf("%s: holds for %d of %d people here; the data must tell a wrong answer", e.expr, len(want), len(people))
		}
		members, err := s.SegmentMembers(ctx, p, 0, 1000)
		if err != nil {
			t.Errorf("%s: %v", e.expr, err)
			continue
		}
		var got []segPerson
		for _, m := range members {
			per := segPerson{cust: m.UniqID}
			if m.UniqID == "" {
				fmt.Sscan(m.ClientIDs[0], &per.vid)
			}
			got = append(got, per)
		}
		if !slices.Equal(got, want) {
			t.Errorf("%s:\n got %v\nwant %v", e.expr, got, want)
			continue
		}
		size, err := s.SegmentSize(ctx, p)
		if err != nil {
			t.Errorf("%s: size: %v", e.expr, err)
			continue
		}
		if ws := w.size(want); size != ws {
			t.Errorf("%s: size %+v, want %+v", e.expr, size, ws)
		}
		// Pages join up to the whole.
		if len(want) > 3 {
			var paged []crmlink.SegmentMember
			for off := 0; off < len(want); off += 3 {
				page, err := s.SegmentMembers(ctx, p, off, 3)
				if err != nil {
					t.Fatal(err)
				}
				paged = append(paged, page...)
			}
			if len(paged) != len(members) || paged[len(paged)-1].UniqID != members[len(members)-1].UniqID {
				t.Errorf("%s: pages of 3 gave %d members, want %d", e.expr, len(paged), len(members))
			}
		}
	}
	// A member's identifiers.
	p, err := report.ParseSegment("cdp:c:id=='c01'", report.SegmentRequest{Counter: w.c, Goals: w.goals, Now: Epoch})
	if err != nil {
		t.Fatal(err)
	}
	members, err := s.SegmentMembers(ctx, p, 0, 10)
	if err != nil || len(members) != 1 {
		t.Fatalf("c01: %+v, %v", members, err)
	}
	c01 := w.contacts[0]
	var ids []string
	for _, id := range c01.IDs.ClientIDs {
		ids = append(ids, fmt.Sprint(id))
	}
	sort.Strings(ids)
	if m := members[0]; !slices.Equal(m.ClientIDs, ids) || !slices.Equal(m.Emails, c01.IDs.EmailSHA256) || len(m.Phones) != len(c01.IDs.PhoneSHA256) {
		t.Errorf("c01 is %+v; want ClientIDs %v, emails %v, phones %v", m, ids, c01.IDs.EmailSHA256, c01.IDs.PhoneSHA256)
	}
}

// buildSegmentWorld stores a counter's data: customers with ClientIDs,
// hashed emails and phones, attributes and orders with products; visitors
// without a customer record; sessions from every source over 200 days,
// some of robots, some with purchases; and the goals their linked orders
// reach.
func buildSegmentWorld(t *testing.T, s crmlink.Store) *segmentWorld {
	ctx := context.Background()
	c := MustCounter(t, s, "Shop", "Europe/Moscow")
	loc, _ := c.Location()
	w := &segmentWorld{c: c, loc: loc, today: time.Date(2026, 3, 1, 0, 0, 0, 0, time.UTC), owner: map[uint64]string{}}
	rng := rand.New(rand.NewPCG(7, 19))
	hex := func() string {
		return fmt.Sprintf("%016x%016x%016x%016x", rng.Uint64(), rng.Uint64(), rng.Uint64(), rng.Uint64())
	}
	ago := func(maxDays int) time.Time {
		return Epoch.Add(-time.Duration(rng.IntN(maxDays*24*3600)) * time.Second)
	}
	var clients []uint64
	for i := 1; i <= 30; i++ {
		ct := crmlink.Contact{CounterID: c.ID, UniqID: fmt.Sprintf("c%02d", i), Name: fmt.Sprint("Customer ", i),
			Fields: crmlink.FieldName | crmlink.FieldClientIDs | crmlink.FieldEmails | crmlink.FieldPhones | crmlink.FieldAttrs,
			Attrs:  map[string]string{}}
		for k := range rng.IntN(3) {
			id := uint64(1000 + i*10 + k)
			ct.IDs.ClientIDs = append(ct.IDs.ClientIDs, id)
			w.owner[id] = ct.UniqID
			clients = append(clients, id)
		}
		if i == 1 && len(ct.IDs.ClientIDs) == 0 {
			ct.IDs.ClientIDs = []uint64{1010}
			w.owner[1010] = ct.UniqID
			clients = append(clients, 1010)
		}
		if rng.IntN(3) > 0 || i == 1 {
			ct.IDs.EmailSHA256 = []string{hex()}
		}
		switch rng.IntN(4) {
		case 0:
			// A phone sent only as a hash.
			ct.IDs.PhoneSHA256 = []string{hex()}
		case 1:
			// Phones sent plain: their E.164 hashes too.
			for k := range 1 + rng.IntN(2) {
				ph := fmt.Sprintf("7999%07d", i*10+k)
				ct.IDs.Phones = append(ct.IDs.Phones, ph)
				ct.IDs.PhoneSHA256 = append(ct.IDs.PhoneSHA256, sha256Hex(ph))
				ct.IDs.PhoneE164SHA256 = append(ct.IDs.PhoneE164SHA256, sha256Hex("+"+ph))
			}
		case 2:
			if len(ct.IDs.EmailSHA256) == 0 {
				ct.IDs.EmailMD5 = []string{hex()[:32]}
			}
		}
		if l := []string{"gold", "silver", ""}[rng.IntN(3)]; l != "" {
			ct.Attrs["level"] = l
		}
		ct.Attrs["age"] = fmt.Sprint(18 + rng.IntN(40))
		w.contacts = append(w.contacts, ct)
	}
	for j := range 25 {
		clients = append(clients, uint64(5000+j))
	}
	if err := s.UploadContacts(ctx, &crmlink.Upload{CounterID: c.ID, MergeMode: crmlink.MergeSave}, &ContactSlice{Contacts: w.contacts}); err != nil {
		t.Fatal(err)
	}
	kinds := []crmlink.TrafficSource{
		{Kind: crmlink.SourceAd, Engine: "Yandex Direct", UTMCampaign: "spring_sale"},
		{Kind: crmlink.SourceAd, Engine: "Google Ads", UTMCampaign: "brand"},
		{Kind: crmlink.SourceOrganic, Engine: "Yandex"}, {Kind: crmlink.SourceOrganic, Engine: "Google"},
		{Kind: crmlink.SourceDirect}, {Kind: crmlink.SourceInternal}, {Kind: crmlink.SourceSocial, Engine: "VK"},
	}
	devices := []crmlink.DeviceCategory{crmlink.DeviceDesktop, crmlink.DeviceMobile, crmlink.DeviceTablet}
	cities := []string{"Moscow", "Kazan", "Omsk"}
	pages := []string{"https://shop.example/", "https://shop.example/catalog/sofas", "https://shop.example/blog/x"}
	var sessions []crmlink.Session
	id := uint64(1)
	for _, cl := range clients {
		bot := cl%13 == 0
		for range rng.IntN(7) {
			id++
			se := crmlink.Session{CounterID: c.ID, ID: id, ClientID: cl, Start: ago(200).Truncate(time.Second), PageViews: 1 + rng.IntN(5),
				Source: kinds[rng.IntN(len(kinds))], Device: devices[rng.IntN(len(devices))], City: cities[rng.IntN(len(cities))],
				LandingURL: pages[rng.IntN(len(pages))], Bot: bot, Country: "Russia"}
			if rng.IntN(5) == 0 {
				se.PurchaseIDs = []string{fmt.Sprint("p", id)}
			}
			if se.Source.Kind == crmlink.SourceAd {
				se.Source.ClickID = fmt.Sprint("gclid=click", id)
			}
			sessions = append(sessions, se)
		}
	}
	// A session just after midnight in Moscow, still the day before in UTC.
	sessions = append(sessions, crmlink.Session{CounterID: c.ID, ID: 999_999, ClientID: 5001, Start: time.Date(2026, 2, 19, 21, 30, 0, 0, time.UTC),
		PageViews: 1, Source: crmlink.TrafficSource{Kind: crmlink.SourceDirect}, Device: crmlink.DeviceDesktop})
	if err := s.ImportSessions(ctx, &crmlink.Upload{CounterID: c.ID}, &SliceReader{Sessions: sessions}); err != nil {
		t.Fatal(err)
	}
	statuses := []struct {
		name string
		typ  crmlink.StatusType
	}{{"new", crmlink.StatusInProgress}, {"delivered", crmlink.StatusPaid}, {"paid_online", crmlink.StatusPaid},
		{"cancel", crmlink.StatusCancelled}, {"junk", crmlink.StatusSpam}, {"hold", crmlink.StatusOther}}
	var m []crmlink.StatusMapping
	for _, st := range statuses {
		m = append(m, crmlink.StatusMapping{ID: st.name, Humanized: st.name, Type: st.typ})
	}
	if err := s.SetStatusMappings(ctx, c.ID, m); err != nil {
		t.Fatal(err)
	}
	products := []string{"Sofa", "Chair", "Lamp"}
	n := 0
	for _, ct := range w.contacts {
		for range rng.IntN(6) {
			n++
			st := statuses[rng.IntN(len(statuses))]
			o := crmlink.Order{CounterID: c.ID, ID: fmt.Sprint("o", n), UniqID: ct.UniqID, Created: ago(200).Truncate(time.Second),
				Status: st.name, StatusType: st.typ, Revenue: decimal.New(int64(100+rng.IntN(900000)), -2), Currency: "RUB",
				Attrs:  map[string]string{"delivery": []string{"courier", "pickup"}[rng.IntN(2)]},
				Fields: crmlink.FieldCustomer | crmlink.FieldCreated | crmlink.FieldStatus | crmlink.FieldRevenue | crmlink.FieldCost | crmlink.FieldCurrency | crmlink.FieldProducts | crmlink.FieldAttrs}
			if rng.IntN(2) == 0 {
				o.Cost = decimal.NewNullDecimal(o.Revenue.Mul(decimal.New(int64(rng.IntN(90)), -2)).Round(2))
			}
			if rng.IntN(8) == 0 {
				o.Currency = "USD"
			}
			for _, p := range products {
				if rng.IntN(3) == 0 {
					o.Products = append(o.Products, crmlink.Product{Name: p, Qty: decimal.NewFromInt(int64(1 + rng.IntN(3)))})
				}
			}
			w.orders = append(w.orders, o)
		}
	}
	// An order just after midnight in Moscow on 11 February.
	w.orders = append(w.orders, crmlink.Order{CounterID: c.ID, ID: "o-midnight", UniqID: "c02", Created: time.Date(2026, 2, 10, 21, 30, 0, 0, time.UTC),
		Status: "new", StatusType: crmlink.StatusInProgress, Revenue: decimal.NewFromInt(10), Currency: "RUB",
		Fields: crmlink.FieldCustomer | crmlink.FieldCreated | crmlink.FieldStatus | crmlink.FieldRevenue | crmlink.FieldCurrency})
	if err := s.UploadOrders(ctx, &crmlink.Upload{CounterID: c.ID, Entity: crmlink.EntityOrders, MergeMode: crmlink.MergeSave}, &OrderSlice{Orders: w.orders}); err != nil {
		t.Fatal(err)
	}
	var err error
	if w.goals, err = s.Goals(ctx, c.ID); err != nil || len(w.goals) == 0 {
		t.Fatalf("goals: %v, %v", w.goals, err)
	}
	var sids []uint64
	for _, se := range sessions {
		sids = append(sids, se.ID)
	}
	reaches, err := s.SessionGoalReaches(ctx, c.ID, sids)
	if err != nil || len(reaches) == 0 {
		t.Fatalf("goal reaches: %d, %v", len(reaches), err)
	}
	goals := map[uint64][]int64{}
	for _, r := range reaches {
		goals[r.SessionID] = append(goals[r.SessionID], r.GoalID)
	}
	// Attribution, by ClientID and by person.
	sort.Slice(sessions, func(i, j int) bool { return sessions[i].Start.Before(sessions[j].Start) })
	first := map[string]crmlink.TrafficSource{}
	lastSign := map[string]crmlink.TrafficSource{}
	for _, se := range sessions {
		if se.Bot {
			continue
		}
		ss := segSession{Session: se, goals: goals[se.ID], src: map[crmlink.Attribution]crmlink.TrafficSource{}}
		ss.src[crmlink.AttributionLast] = se.Source
		ss.src[crmlink.AttributionCrossDeviceLast] = se.Source
		for _, k := range []struct {
			key               string
			firstM, lastSignM crmlink.Attribution
		}{{fmt.Sprint(se.ClientID), crmlink.AttributionFirst, crmlink.AttributionLastSign},
			{w.personOf(se.ClientID).String(), crmlink.AttributionCrossDeviceFirst, crmlink.AttributionCrossDeviceLastSign}} {
			if _, ok := first[k.key]; !ok {
				first[k.key] = se.Source
			}
			if se.Source.Kind.Significant() {
				lastSign[k.key] = se.Source
			}
			ss.src[k.firstM] = first[k.key]
			ls, ok := lastSign[k.key]
			if !ok {
				ls = crmlink.TrafficSource{Kind: crmlink.SourceDirect}
			}
			ss.src[k.lastSignM] = ls
		}
		w.sessions = append(w.sessions, ss)
	}
	return w
}

func sha256Hex(s string) string {
	sum := sha256.Sum256([]byte(s))
	return hex.EncodeToString(sum[:])
}

func (w *segmentWorld) personOf(client uint64) segPerson {
	if c, ok := w.owner[client]; ok {
		return segPerson{cust: c}
	}
	return segPerson{vid: client}
}

// people are the customers by uniq_id and, when visitors can be members,
// the ClientIDs with sessions (robots' aside) that no customer owns.
func (w *segmentWorld) people(visitors bool) []segPerson {
	var out []segPerson
	for _, c := range w.contacts {
		out = append(out, segPerson{cust: c.UniqID})
	}
	if !visitors {
		return out
	}
	seen := map[uint64]bool{}
	var vids []uint64
	for _, s := range w.sessions {
		if _, owned := w.owner[s.ClientID]; !owned && !seen[s.ClientID] {
			seen[s.ClientID] = true
			vids = append(vids, s.ClientID)
		}
	}
	slices.Sort(vids)
	for _, v := range vids {
		out = append(out, segPerson{vid: v})
	}
	return out
}

func (w *segmentWorld) contact(id string) *crmlink.Contact {
	for i := range w.contacts {
		if w.contacts[i].UniqID == id {
			return &w.contacts[i]
		}
	}
	return nil
}

// segRow is a row a condition on rows reads: a session, an order, or a
// product line of an order.
type segRow struct {
	s    *segSession
	o    *crmlink.Order
	line *crmlink.Product
}

func (w *segmentWorld) rows(p segPerson, k crmlink.RowKind) []segRow {
	var out []segRow
	if k == crmlink.RowSessions {
		for i := range w.sessions {
			if w.personOf(w.sessions[i].ClientID) == p {
				out = append(out, segRow{s: &w.sessions[i]})
			}
		}
		return out
	}
	for i := range w.orders {
		o := &w.orders[i]
		if o.UniqID != p.cust || p.cust == "" {
			continue
		}
		if k == crmlink.RowOrders {
			out = append(out, segRow{o: o})
			continue
		}
		for j := range o.Products {
			out = append(out, segRow{o: o, line: &o.Products[j]})
		}
	}
	return out
}

func (w *segmentWorld) holds(f *crmlink.Filter, p segPerson) bool {
	switch f.Op {
	case "AND":
		for _, c := range f.Children {
			if !w.holds(c, p) {
				return false
			}
		}
		return true
	case "OR":
		for _, c := range f.Children {
			if w.holds(c, p) {
				return true
			}
		}
		return false
	case "NOT":
		return !w.holds(f.Children[0], p)
	case "EXISTS", "NONE", "ALL":
		rows := w.rows(p, f.Rows)
		n := 0
		for _, r := range rows {
			if w.rowHolds(f.Children[0], r) {
				n++
			}
		}
		switch f.Op {
		case "EXISTS":
			return n > 0
		case "NONE":
			return n == 0
		}
		return len(rows) > 0 && n == len(rows)
	}
	return w.compare(f, w.personValue(f, p))
}

func (w *segmentWorld) rowHolds(f *crmlink.Filter, r segRow) bool {
	switch f.Op {
	case "AND":
		for _, c := range f.Children {
			if !w.rowHolds(c, r) {
				return false
			}
		}
		return true
	case "OR":
		for _, c := range f.Children {
			if w.rowHolds(c, r) {
				return true
			}
		}
		return false
	case "NOT":
		return !w.rowHolds(f.Children[0], r)
	}
	if r.s != nil {
		return w.compare(f, w.sessionValue(f, r.s))
	}
	return w.compare(f, orderValue(f.Dimension, r))
}

// A value is a string, a decimal.Decimal, a time.Time (an instant), a
// bool, or nil when there is none.
func (w *segmentWorld) sessionValue(f *crmlink.Filter, s *segSession) any {
	d := f.Dimension
	switch d.Field {
	case crmlink.DimDay, crmlink.DimDaysAgo:
		return s.Start
	case crmlink.DimGoal:
		return s.goals
	case crmlink.DimPurchases:
		return decimal.NewFromInt(int64(len(s.PurchaseIDs)))
	case crmlink.DimPageViews:
		return decimal.NewFromInt(int64(s.PageViews))
	case crmlink.DimDevice:
		return string(s.Device)
	case crmlink.DimCity:
		return s.City
	case crmlink.DimStartURL:
		return s.LandingURL
	}
	src := s.src[d.Attribution]
	switch d.Field {
	case crmlink.DimTrafficSource:
		return string(src.Kind)
	case crmlink.DimSourceEngine:
		return src.Engine
	case crmlink.DimUTMCampaign:
		return src.UTMCampaign
	}
	panic("segment test: no session value for " + d.Name)
}

func orderValue(d crmlink.Dimension, r segRow) any {
	o := r.o
	switch d.Field {
	case crmlink.OrderID:
		return o.ID
	case crmlink.OrderStatus:
		return o.Status
	case crmlink.OrderStatusType:
		return string(o.StatusType)
	case crmlink.OrderRevenue:
		return o.Revenue
	case crmlink.OrderCost:
		if !o.Cost.Valid {
			return nil
		}
		return o.Cost.Decimal
	case crmlink.OrderProfit:
		return o.Profit()
	case crmlink.OrderCurrency:
		return o.Currency
	case crmlink.OrderCreateDate, crmlink.OrderDaysAgo:
		return o.Created
	case crmlink.OrderAttribute:
		v, ok := o.Attrs[d.Arg]
		if !ok {
			return nil
		}
		return v
	case crmlink.OrderProduct:
		return r.line.Name
	case crmlink.OrderProductQuantity:
		return r.line.Qty
	}
	panic("segment test: no order value for " + d.Name)
}

func (w *segmentWorld) personValue(f *crmlink.Filter, p segPerson) any {
	d := f.Dimension
	ct := w.contact(p.cust)
	over := func(k crmlink.RowKind, keep func(segRow) bool) []segRow {
		var out []segRow
		for _, r := range w.rows(p, k) {
			if keep(r) && (d.Over == nil || w.rowHolds(d.Over, r)) {
				out = append(out, r)
			}
		}
		return out
	}
	notSpam := func(r segRow) bool { return r.o.StatusType != crmlink.StatusSpam }
	paidHere := func(r segRow) bool { return r.o.StatusType == crmlink.StatusPaid && r.o.Currency == w.c.Currency }
	count := func(rs []segRow) any { return decimal.NewFromInt(int64(len(rs))) }
	sum := func(rs []segRow, v func(segRow) decimal.Decimal) decimal.Decimal {
		s := decimal.Zero
		for _, r := range rs {
			s = s.Add(v(r))
		}
		return s
	}
	status := func(st crmlink.StatusType) func(segRow) bool {
		return func(r segRow) bool { return r.o.StatusType == st }
	}
	switch d.Field {
	case crmlink.CustID:
		return p.cust
	case crmlink.CustAttribute:
		v, ok := ct.Attrs[d.Arg]
		if !ok {
			return nil
		}
		return v
	case crmlink.CustHasEmail:
		return len(ct.IDs.EmailSHA256)+len(ct.IDs.EmailMD5) > 0
	case crmlink.CustHasPhone:
		return len(ct.IDs.PhoneSHA256)+len(ct.IDs.PhoneMD5) > 0
	case crmlink.CustHasClientID:
		return len(ct.IDs.ClientIDs) > 0
	case crmlink.CustOrders:
		return count(over(crmlink.RowOrders, notSpam))
	case crmlink.CustInProgressOrders:
		return count(over(crmlink.RowOrders, status(crmlink.StatusInProgress)))
	case crmlink.CustPaidOrders:
		return count(over(crmlink.RowOrders, status(crmlink.StatusPaid)))
	case crmlink.CustCancelledOrders:
		return count(over(crmlink.RowOrders, status(crmlink.StatusCancelled)))
	case crmlink.CustSpamOrders:
		return count(over(crmlink.RowOrders, status(crmlink.StatusSpam)))
	case crmlink.CustOtherOrders:
		return count(over(crmlink.RowOrders, status(crmlink.StatusOther)))
	case crmlink.CustPaidRevenue:
		return sum(over(crmlink.RowOrders, paidHere), func(r segRow) decimal.Decimal { return r.o.Revenue })
	case crmlink.CustPaidProfit:
		return sum(over(crmlink.RowOrders, paidHere), func(r segRow) decimal.Decimal { return r.o.Profit() })
	case crmlink.CustAverageCheque:
		rs := over(crmlink.RowOrders, paidHere)
		if len(rs) == 0 {
			return nil
		}
		return sum(rs, func(r segRow) decimal.Decimal { return r.o.Revenue }).DivRound(decimal.NewFromInt(int64(len(rs))), 20)
	case crmlink.CustProductQuantity:
		return sum(over(crmlink.RowOrderLines, notSpam), func(r segRow) decimal.Decimal { return r.line.Qty })
	case crmlink.CustFirstOrderDate, crmlink.CustDaysSinceFirstOrder, crmlink.CustLastOrderDate, crmlink.CustDaysSinceLastOrder,
		crmlink.CustLastOrderStatus, crmlink.CustLastOrderStatusType:
		rs := over(crmlink.RowOrders, notSpam)
		if len(rs) == 0 {
			return nil
		}
		sort.Slice(rs, func(i, j int) bool {
			a, b := rs[i].o, rs[j].o
			return a.Created.Before(b.Created) || a.Created.Equal(b.Created) && a.ID < b.ID
		})
		switch d.Field {
		case crmlink.CustFirstOrderDate, crmlink.CustDaysSinceFirstOrder:
			return rs[0].o.Created
		case crmlink.CustLastOrderStatus:
			return rs[len(rs)-1].o.Status
		case crmlink.CustLastOrderStatusType:
			return string(rs[len(rs)-1].o.StatusType)
		}
		return rs[len(rs)-1].o.Created
	case crmlink.UserVisits:
		return count(over(crmlink.RowSessions, func(segRow) bool { return true }))
	case crmlink.UserPurchases:
		return sum(over(crmlink.RowSessions, func(segRow) bool { return true }), func(r segRow) decimal.Decimal {
			return decimal.NewFromInt(int64(len(r.s.PurchaseIDs)))
		})
	case crmlink.UserFirstVisitDate, crmlink.UserDaysSinceFirstVisit, crmlink.UserLastVisitDate, crmlink.UserDaysSinceLastVisit:
		rs := over(crmlink.RowSessions, func(segRow) bool { return true })
		if len(rs) == 0 {
			return nil
		}
		first, last := rs[0].s.Start, rs[0].s.Start
		for _, r := range rs {
			if r.s.Start.Before(first) {
				first = r.s.Start
			}
			if r.s.Start.After(last) {
				last = r.s.Start
			}
		}
		if d.Field == crmlink.UserLastVisitDate || d.Field == crmlink.UserDaysSinceLastVisit {
			return last
		}
		return first
	}
	panic("segment test: no value for " + d.Name)
}

// compare applies a comparison to a value: false when there is none.
func (w *segmentWorld) compare(f *crmlink.Filter, v any) bool {
	switch v := v.(type) {
	case nil:
		return false
	case bool:
		return v == (f.Values[0] == "yes") == (f.Op == "==")
	case time.Time:
		// The instant's date in the counter's zone, against [From, To).
		day := v.In(w.loc)
		d := time.Date(day.Year(), day.Month(), day.Day(), 0, 0, 0, 0, time.UTC)
		in := (f.From.IsZero() || !d.Before(f.From)) && (f.To.IsZero() || d.Before(f.To))
		return in == (f.Op == "range")
	case []int64:
		reached := false
		for _, x := range f.Values {
			for _, g := range v {
				reached = reached || fmt.Sprint(g) == x
			}
		}
		return reached == (f.Op == "==" || f.Op == "in")
	case decimal.Decimal:
		var vs []decimal.Decimal
		for _, x := range f.Values {
			vs = append(vs, decimal.RequireFromString(x))
		}
		switch f.Op {
		case "==":
			return v.Equal(vs[0])
		case "!=":
			return !v.Equal(vs[0])
		case ">":
			return v.GreaterThan(vs[0])
		case "<":
			return v.LessThan(vs[0])
		case ">=":
			return v.GreaterThanOrEqual(vs[0])
		case "<=":
			return v.LessThanOrEqual(vs[0])
		case "in", "notin":
			in := slices.ContainsFunc(vs, v.Equal)
			return in == (f.Op == "in")
		}
	case string:
		switch f.Op {
		case ">", "<", ">=", "<=":
			d, err := decimal.NewFromString(v)
			if err != nil {
				return false
			}
			return w.compare(f, d)
		case "==":
			return v == f.Values[0]
		case "!=":
			return v != f.Values[0]
		case "=@":
			return strings.Contains(v, f.Values[0])
		case "!@":
			return !strings.Contains(v, f.Values[0])
		case "=*", "!*":
			re := "^" + strings.ReplaceAll(regexp.QuoteMeta(f.Values[0]), `\*`, "(?s:.*)") + "$"
			return regexp.MustCompile(re).MatchString(v) == (f.Op == "=*")
		case "=~":
			return regexp.MustCompile(f.Values[0]).MatchString(v)
		case "!~":
			return !regexp.MustCompile(f.Values[0]).MatchString(v)
		case "in", "notin":
			return slices.Contains(f.Values, v) == (f.Op == "in")
		}
	}
	panic(fmt.Sprintf("segment test: cannot compare %T with %s", v, f.Op))
}

// size counts the members' identifiers as crmlink.SegmentSize does.
func (w *segmentWorld) size(members []segPerson) crmlink.SegmentSize {
	var out crmlink.SegmentSize
	ids, emails, phones := map[uint64]bool{}, map[string]bool{}, map[string]bool{}
	for _, p := range members {
		if p.cust == "" {
			out.Visitors++
			ids[p.vid] = true
			out.Identified.ClientIDValues++
			out.Identified.WithClientID++
			continue
		}
		out.Customers++
		ct := w.contact(p.cust)
		for _, id := range ct.IDs.ClientIDs {
			ids[id] = true
		}
		out.Identified.ClientIDValues += int64(len(ct.IDs.ClientIDs))
		if len(ct.IDs.ClientIDs) > 0 {
			out.Identified.WithClientID++
		}
		out.Identified.EmailValues += int64(len(ct.IDs.EmailSHA256))
		out.Identified.PhoneValues += int64(len(ct.IDs.PhoneSHA256))
		for _, e := range ct.IDs.EmailSHA256 {
			emails[e] = true
		}
		for _, e := range ct.IDs.PhoneSHA256 {
			phones[e] = true
		}
		id := &out.Identified
		e, p, p164 := len(ct.IDs.EmailSHA256), len(ct.IDs.PhoneSHA256), len(ct.IDs.PhoneE164SHA256)
		count := func(n *int64, yes bool) {
			if yes {
				*n++
			}
		}
		count(&id.WithEmail, e > 0)
		count(&id.WithPhone, p > 0)
		count(&id.WithPhoneE164, p164 > 0)
		count(&id.EmailOrPhone, e+p > 0)
		count(&id.EmailOrE164, e+p164 > 0)
		count(&id.MD5Only, e+p == 0 && len(ct.IDs.EmailMD5)+len(ct.IDs.PhoneMD5) > 0)
		id.RowsEmailPhone += int64(max(e, p))
		id.RowsEmailE164 += int64(max(e, p164))
	}
	out.ClientIDs, out.Emails, out.Phones = int64(len(ids)), int64(len(emails)), int64(len(phones))
	return out
}
