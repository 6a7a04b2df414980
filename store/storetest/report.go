package storetest

import (
	"context"
	"crypto/md5"
	"crypto/sha256"
	"encoding/hex"
	"net/url"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/crmlink/crmlink"
	"github.com/crmlink/crmlink/report"
	"github.com/shopspring/decimal"
)

func runReport(t *testing.T, open Opener) {
	t.Run("ReportAttribution", func(t *testing.T) { testReportAttribution(t, open) })
	t.Run("ReportAttributionLateSession", func(t *testing.T) { testReportLateSession(t, open) })
	t.Run("ReportUnlinkedRow", func(t *testing.T) { testReportUnlinked(t, open) })
	t.Run("ClientsFilters", func(t *testing.T) { testClientsFilters(t, open) })
	t.Run("ReportTimeNames", func(t *testing.T) { testReportTimeNames(t, open) })
	t.Run("ReportVisitorNames", func(t *testing.T) { testReportVisitorNames(t, open) })
	t.Run("ReportUserVisits", func(t *testing.T) { testReportUserVisits(t, open) })
}

// testClientsFilters: the Clients report's search (case, ё and е, an
// email or phone by its hashes) and filters, each with its count.
func testClientsFilters(t *testing.T, open Opener) {
	s, c := reportFixture(t, open)
	email := "fedor@example.com"
	md, sh := md5.Sum([]byte(email)), sha256.Sum256([]byte(email))
	hashes := []string{hex.EncodeToString(md[:]), hex.EncodeToString(sh[:])}
	uploadContacts(t, s, c, crmlink.MergeUpdate, crmlink.Contact{UniqID: "fedor", Name: "Фёдор Ёлкин",
		Fields: crmlink.FieldName | crmlink.FieldEmails, IDs: crmlink.CustomerIDs{EmailMD5: hashes[:1], EmailSHA256: hashes[1:]}})
	ids := func(q crmlink.ClientsQuery) string {
		t.Helper()
		q.CounterID, q.Limit = c.ID, 10
		res, err := s.Clients(context.Background(), &q)
		if err != nil {
			t.Fatal(err)
		}
		var out []string
		for _, r := range res.Rows {
			out = append(out, r.UniqID)
			if r.UniqID == "fedor" && r.Emails != 1 {
				t.Errorf("fedor has %d emails, want 1", r.Emails)
			}
		}
		slices.Sort(out)
		if res.TotalRows != len(out) {
			t.Errorf("%+v: total_rows %d, rows %v", q, res.TotalRows, out)
		}
		return strings.Join(out, ",")
	}
	dec := func(s string) decimal.NullDecimal { return decimal.NewNullDecimal(decimal.RequireFromString(s)) }
	for _, tc := range []struct {
		q    crmlink.ClientsQuery
		want string
	}{
		{crmlink.ClientsQuery{}, "alice,bob,fedor"},
		{crmlink.ClientsQuery{Search: "фЕдор"}, "fedor"},
		{crmlink.ClientsQuery{Search: "ёлк"}, "fedor"},
		{crmlink.ClientsQuery{Search: "Fedor@Example.com", SearchHashes: hashes}, "fedor"},
		{crmlink.ClientsQuery{Search: "someone@example.com", SearchHashes: []string{"00"}}, ""},
		{crmlink.ClientsQuery{Source: crmlink.SourceAd}, "alice"},
		{crmlink.ClientsQuery{Source: crmlink.SourceReferral}, ""},
		{crmlink.ClientsQuery{Status: crmlink.StatusCancelled}, "alice"},
		{crmlink.ClientsQuery{Status: crmlink.StatusInProgress}, ""},
		{crmlink.ClientsQuery{MinSpent: dec("300")}, "alice"},
		{crmlink.ClientsQuery{MinSpent: dec("300.01")}, ""},
		{crmlink.ClientsQuery{MaxSpent: dec("0")}, "bob,fedor"},
		{crmlink.ClientsQuery{OrderedFrom: day.Truncate(24 * time.Hour)}, "alice"},
		{crmlink.ClientsQuery{OrderedFrom: day.Truncate(24*time.Hour).AddDate(0, 0, 1)}, ""},
		{crmlink.ClientsQuery{OrderedTo: day.AddDate(0, 0, -5)}, ""},
		{crmlink.ClientsQuery{Status: crmlink.StatusPaid, MaxSpent: dec("1000"), Search: "ali"}, "alice"},
	} {
		if got := ids(tc.q); got != tc.want {
			t.Errorf("%+v: %q, want %q", tc.q, got, tc.want)
		}
	}
}

// testReportUnlinked: the unlinked row counts the orders created in the
// period that link to no session, under the order-status filter; totals
// leave it out, it is absent unless asked for, and a session filter
// leaves none.
func testReportUnlinked(t *testing.T, open Opener) {
	s, c := reportFixture(t, open)
	d := func(n int, h int) time.Time {
		return day.AddDate(0, 0, n).Truncate(24 * time.Hour).Add(time.Duration(h) * time.Hour)
	}
	b1 := order("b1", "bob", crmlink.StatusPaid, "500", d(-1, 9))
	b1.Cost, b1.Fields = decimal.NewNullDecimal(decimal.RequireFromString("120.5")), b1.Fields|crmlink.FieldCost
	if err := uploadOrders(t, s, c, &crmlink.Upload{}, b1,
		order("b2", "bob", crmlink.StatusInProgress, "40", d(0, 8)),
		order("b3", "bob", crmlink.StatusPaid, "60", d(-10, 8)), // before the period
		order("b4", "bob", crmlink.StatusSpam, "7", d(0, 9)),
	); err != nil {
		t.Fatal(err)
	}
	const q = "dimensions=ym:s:lastsignTrafficSource&metrics=ym:s:visits,ym:s:cdpOrdersAllOrders,ym:s:cdpOrdersPayed,ym:s:cdpOrdersSpam,ym:s:cdpOrdersRUBRevenue,ym:s:cdpOrdersRUBProfit,ym:s:cdpOrdersConversionIntoPayment"
	plain := runQuery(t, s, c, q)
	if plain.Unlinked != nil {
		t.Errorf("unlinked row without include_unlinked: %+v", plain.Unlinked)
	}
	res := runQuery(t, s, c, q+"&include_unlinked=true")
	if table(res) != table(plain) {
		t.Errorf("the unlinked row changed the rows or totals:\n%s\nwant\n%s", table(res), table(plain))
	}
	u := res.Unlinked
	if u == nil || len(u.Dimensions) != 1 || u.Dimensions[0].ID != "" || u.Dimensions[0].Name != crmlink.UnlinkedName {
		t.Fatalf("unlinked row = %+v", u)
	}
	var got []string
	for _, m := range u.Metrics {
		got = append(got, m.String())
	}
	if want := "0 2 1 1 500 379.5 50"; strings.Join(got, " ") != want {
		t.Errorf("unlinked metrics = %s, want %s", strings.Join(got, " "), want)
	}
	paid := runQuery(t, s, c, q+"&include_unlinked=true&filters=ym:s:cdpOrderStatusType=='PAID'")
	if paid.Unlinked == nil || paid.Unlinked.Metrics[1].String() != "1" || paid.Unlinked.Metrics[4].String() != "500" {
		t.Errorf("unlinked row of paid orders = %+v", paid.Unlinked)
	}
	if r := runQuery(t, s, c, q+"&include_unlinked=true&filters=ym:s:lastsignTrafficSource=='organic'"); r.Unlinked != nil {
		t.Errorf("a session filter kept the unlinked row: %+v", r.Unlinked)
	}
}

// reportFixture is a customer who came from an ad on a laptop, then
// directly, then bought on a phone, and an anonymous visitor:
//
//	s11 client 1 day-3 10:00 ad (utm_campaign spring)
//	s12 client 1 day-2 10:00 direct          <- o1 PAID 200 (cost 50)
//	s21 client 2 day-1 10:00 direct, mobile  <- o2 CANCELLED 70, o4 SPAM 999
//	s22 client 2 day   09:00 organic, mobile <- o3 PAID 100 (cost 30)
//	s31 client 3 day-1 10:00 referral
//	s32 client 3 day   10:00 internal
//
// ClientIDs 1 and 2 are the contact alice's; bob never visited.
func reportFixture(t *testing.T, open Opener) (crmlink.Store, *crmlink.Counter) {
	s, _ := newStore(t, open)
	c := MustCounter(t, s, "Shop", "UTC")
	d := func(n int, h int) time.Time {
		return day.AddDate(0, 0, n).Truncate(24 * time.Hour).Add(time.Duration(h) * time.Hour)
	}
	sess := func(id, client uint64, start time.Time, kind crmlink.SourceKind) crmlink.Session {
		ss := plainSession(id, client, start)
		ss.Source.Kind = kind
		ss.Device = crmlink.DeviceDesktop
		return ss
	}
	s11 := sess(11, 1, d(-3, 10), crmlink.SourceAd)
	s11.Source.UTMCampaign = "spring"
	s11.Source.Engine = "Google Ads"
	s21 := sess(21, 2, d(-1, 10), crmlink.SourceDirect)
	s21.Device = crmlink.DeviceMobile
	s22 := sess(22, 2, d(0, 9), crmlink.SourceOrganic)
	s22.Device = crmlink.DeviceMobile
	s22.Source.Engine = "Google"
	importSessions(t, s, c, s11, sess(12, 1, d(-2, 10), crmlink.SourceDirect), s21, s22,
		sess(31, 3, d(-1, 10), crmlink.SourceReferral), sess(32, 3, d(0, 10), crmlink.SourceInternal))
	uploadContacts(t, s, c, crmlink.MergeSave,
		crmlink.Contact{UniqID: "alice", Name: "Alice", Fields: crmlink.FieldName | crmlink.FieldClientIDs, IDs: crmlink.CustomerIDs{ClientIDs: []uint64{1, 2}}},
		crmlink.Contact{UniqID: "bob", Name: "Bob", Fields: crmlink.FieldName})
	withCost := func(o crmlink.Order, cost string) crmlink.Order {
		o.Cost = decimal.NewNullDecimal(decimal.RequireFromString(cost))
		o.Fields |= crmlink.FieldCost
		return o
	}
	if err := uploadOrders(t, s, c, &crmlink.Upload{},
		withCost(order("o1", "alice", crmlink.StatusPaid, "200", d(-2, 11)), "50"),
		order("o2", "alice", crmlink.StatusCancelled, "70", d(-1, 12)),
		withCost(order("o3", "alice", crmlink.StatusPaid, "100", d(0, 10)), "30"),
		order("o4", "alice", crmlink.StatusSpam, "999", d(-1, 13)),
	); err != nil {
		t.Fatal(err)
	}
	return s, c
}

// runQuery parses a Reporting API query and runs it.
func runQuery(t *testing.T, s crmlink.Store, c *crmlink.Counter, query string) *crmlink.ReportResult {
	t.Helper()
	v, err := url.ParseQuery(query)
	if err != nil {
		t.Fatal(err)
	}
	goals, err := s.Goals(context.Background(), c.ID)
	if err != nil {
		t.Fatal(err)
	}
	if !v.Has("date1") {
		v.Set("date1", day.AddDate(0, 0, -3).Format(time.DateOnly))
		v.Set("date2", day.Format(time.DateOnly))
	}
	q, err := report.Parse(report.Request{Counter: c, Goals: goals, Now: Epoch, Params: v, Series: v.Has("group")})
	if err != nil {
		t.Fatalf("%s: %v", query, err)
	}
	res, err := s.Report(context.Background(), q)
	if err != nil {
		t.Fatalf("%s: %v", query, err)
	}
	return res
}

// table renders rows as "dim1/dim2: m1 m2" lines, for comparison.
func table(res *crmlink.ReportResult) string {
	var b strings.Builder
	for _, r := range res.Rows {
		var ds []string
		for _, d := range r.Dimensions {
			ds = append(ds, d.ID)
		}
		b.WriteString(strings.Join(ds, "/") + ":")
		for _, m := range r.Metrics {
			b.WriteString(" " + m.String())
		}
		b.WriteString("\n")
	}
	b.WriteString("total:")
	for _, m := range res.Totals {
		b.WriteString(" " + m.String())
	}
	return b.String()
}

func wantTable(t *testing.T, name string, res *crmlink.ReportResult, want string) {
	t.Helper()
	if got := table(res); got != strings.TrimSpace(want) {
		t.Errorf("%s:\ngot:\n%s\nwant:\n%s", name, got, strings.TrimSpace(want))
	}
}

func testReportAttribution(t *testing.T, open Opener) {
	s, c := reportFixture(t, open)
	const mets = "metrics=ym:s:visits,ym:s:cdpOrdersAllOrders,ym:s:cdpOrdersPayed,ym:s:cdpOrdersSpam,ym:s:cdpOrdersRUBRevenue&sort=ym:s:<attribution>TrafficSource&dimensions=ym:s:<attribution>TrafficSource"
	for _, tc := range []struct{ attribution, want string }{
		{"last", `
ad: 1 0 0 0 0
direct: 2 2 1 1 200
internal: 1 0 0 0 0
organic: 1 1 1 0 100
referral: 1 0 0 0 0
total: 6 3 2 1 300`},
		// s12 (direct) keeps the ad of s11; the phone's direct s21 has no
		// earlier significant source of its own ClientID; internal s32
		// keeps the referral of s31.
		{"lastsign", `
ad: 2 1 1 0 200
direct: 1 1 0 1 0
organic: 1 1 1 0 100
referral: 2 0 0 0 0
total: 6 3 2 1 300`},
		// Across devices, the phone's direct visit follows the laptop's ad.
		{"cross_device_last_significant", `
ad: 3 2 1 1 200
organic: 1 1 1 0 100
referral: 2 0 0 0 0
total: 6 3 2 1 300`},
		{"first", `
ad: 2 1 1 0 200
direct: 2 2 1 1 100
referral: 2 0 0 0 0
total: 6 3 2 1 300`},
		{"cross_device_first", `
ad: 4 3 2 1 300
referral: 2 0 0 0 0
total: 6 3 2 1 300`},
		{"cross_device_last", `
ad: 1 0 0 0 0
direct: 2 2 1 1 200
internal: 1 0 0 0 0
organic: 1 1 1 0 100
referral: 1 0 0 0 0
total: 6 3 2 1 300`},
	} {
		wantTable(t, tc.attribution, runQuery(t, s, c, mets+"&attribution="+tc.attribution), tc.want)
	}

	// The preset: rates and money over the same sessions.
	res := runQuery(t, s, c, "preset=orders_sources")
	if n := len(res.Query.Metrics); n != 12 {
		t.Fatalf("orders_sources has %d metrics", n)
	}
	wantTable(t, "orders_sources", res, `
ad/Google Ads: 2 1 0 1 0 0 0 50 100 200 150 200
referral/: 2 0 0 0 0 0 0 0 0 0 0 0
direct/: 1 1 0 0 1 1 0 100 0 0 0 0
organic/Google: 1 1 0 1 0 0 0 100 100 100 70 100
total: 6 3 0 2 1 1 0 50 66.67 300 220 150`)

	// A UTM field follows the attribution too: s12 is credited to s11's campaign.
	wantTable(t, "utm", runQuery(t, s, c, "metrics=ym:s:visits&dimensions=ym:s:lastsignUTMCampaign&sort=ym:s:lastsignUTMCampaign"), `
: 4
spring: 2
total: 6`)

	// Filters, with and without dimensions.
	wantTable(t, "filter", runQuery(t, s, c, "metrics=ym:s:visits,ym:s:cdpOrdersAllOrders&filters="+url.QueryEscape("ym:s:lastsignTrafficSource=='ad'")), `
: 2 1
total: 2 1`)
	wantTable(t, "filter or", runQuery(t, s, c, "metrics=ym:s:visits&dimensions=ym:s:deviceCategory&filters="+
		url.QueryEscape("ym:s:deviceCategory=='mobile' OR ym:s:trafficSource.in('ad','referral')")), `
desktop: 2
mobile: 2
total: 4`)
	wantTable(t, "filter regex", runQuery(t, s, c, "metrics=ym:s:visits&filters="+url.QueryEscape("ym:s:lastSourceEngine=~'^Google' AND ym:s:trafficSource!='organic'")), `
: 1
total: 1`)

	// The order's status as a dimension: spam is a row of its own and
	// never among all orders.
	wantTable(t, "status", runQuery(t, s, c, "metrics=ym:s:cdpOrdersAllOrders,ym:s:cdpOrdersSpam,ym:s:cdpOrdersRUBProfit&dimensions=ym:s:cdpOrderStatusType&sort=ym:s:cdpOrderStatusType"), `
CANCELLED: 1 0 0
PAID: 2 0 220
SPAM: 0 1 0
total: 3 1 220`)

	// Goals: the paid goal is reached at o1's and o3's sessions.
	goals, err := s.Goals(context.Background(), c.ID)
	if err != nil {
		t.Fatal(err)
	}
	var paid int64
	for _, g := range goals {
		if g.Name == "CRM: Order paid" {
			paid = g.ID
		}
	}
	gm := "ym:s:goal" + decimal.NewFromInt(paid).String()
	wantTable(t, "goals", runQuery(t, s, c, "metrics="+gm+"reaches,"+gm+"revenue,"+gm+"conversionRate&dimensions=ym:s:trafficSource&sort=ym:s:trafficSource"), `
ad: 0 0 0
direct: 1 150 50
internal: 0 0 0
organic: 1 70 100
referral: 0 0 0
total: 2 220 33.33`)

	// A time series by day.
	res = runQuery(t, s, c, "metrics=ym:s:visits,ym:s:cdpOrdersAllOrders&group=day")
	if len(res.Intervals) != 4 || len(res.Rows) != 1 {
		t.Fatalf("series: %d intervals, %d rows", len(res.Intervals), len(res.Rows))
	}
	var got []string
	for _, v := range res.Rows[0].Series {
		got = append(got, v[0].String()+"/"+v[1].String())
	}
	if strings.Join(got, " ") != "1/0 1/1 2/1 2/1" {
		t.Errorf("series by day = %v, want 1/0 1/1 2/1 2/1", got)
	}

	// Paging: total rows, then one page.
	res = runQuery(t, s, c, mets+"&attribution=last&limit=2&offset=2")
	if res.TotalRows != 5 || len(res.Rows) != 2 || res.Rows[0].Dimensions[0].ID != "direct" {
		t.Errorf("page: %d rows of %d, first %+v", len(res.Rows), res.TotalRows, res.Rows)
	}
	if res.Min[0].String() != "1" || res.Max[0].String() != "2" {
		t.Errorf("min %v max %v", res.Min, res.Max)
	}

	// Clients: alice with all her devices, and bob who never visited.
	cl, err := s.Clients(context.Background(), &crmlink.ClientsQuery{CounterID: c.ID, Limit: 10})
	if err != nil {
		t.Fatal(err)
	}
	if cl.TotalRows != 2 || len(cl.Rows) != 2 {
		t.Fatalf("clients: %+v", cl)
	}
	a, b := cl.Rows[0], cl.Rows[1]
	if a.UniqID != "alice" || a.Orders != 4 || a.Paid != 2 || a.Spam != 1 || a.TotalSpent.String() != "300" ||
		a.FirstSource != "ad" || a.LastSource != "organic" || a.Sessions != 4 || a.DaysSinceLast == nil {
		t.Errorf("alice: %+v", a)
	}
	if b.UniqID != "bob" || b.Orders != 0 || b.Sessions != 0 || b.DaysSinceFirst != nil {
		t.Errorf("bob: %+v", b)
	}
	cl, err = s.Clients(context.Background(), &crmlink.ClientsQuery{CounterID: c.ID, Search: "BO", Limit: 10})
	if err != nil || cl.TotalRows != 1 || cl.Rows[0].UniqID != "bob" {
		t.Errorf("search bo: %+v, %v", cl, err)
	}
}

// testReportLateSession: a session imported later but earlier in time
// changes the attribution of the sessions after it.
func testReportLateSession(t *testing.T, open Opener) {
	s, c := reportFixture(t, open)
	early := plainSession(10, 1, day.AddDate(0, 0, -5))
	early.Source.Kind = crmlink.SourceSocial
	importSessions(t, s, c, early)
	wantTable(t, "first after a late session", runQuery(t, s, c,
		"metrics=ym:s:visits&dimensions=ym:s:firstTrafficSource&sort=ym:s:firstTrafficSource"), `
direct: 2
referral: 2
social: 2
total: 6`)
}
