package http_test

import (
	"context"
	"encoding/csv"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/crmlink/crmlink"
	crmhttp "github.com/crmlink/crmlink/http"
	"github.com/crmlink/crmlink/report"
	"github.com/crmlink/crmlink/store/storetest"
	"github.com/crmlink/crmlink/traffic"
	"github.com/shopspring/decimal"
)

// shopFixture is the http fixture plus a UTC counter holding the data set
// of storetest's reportFixture, and a read token for it:
//
//	s11 client 1 01-29 10:00 ad, Google Ads (utm_campaign spring)
//	s12 client 1 01-30 10:00 direct          <- o1 PAID 200 (cost 50)
//	s21 client 2 01-31 10:00 direct, mobile  <- o2 CANCELLED 70, o4 SPAM 999
//	s22 client 2 02-01 09:00 organic Google, mobile <- o3 PAID 100 (cost 30)
//	s31 client 3 01-31 10:00 referral
//	s32 client 3 02-01 10:00 internal
//
// ClientIDs 1 and 2 are the contact alice's; bob never visited.
type shopFixture struct {
	*fixture
	shop  *crmlink.Counter
	token string // read scope on shop
	path  string // "?ids=<shop>&date1=2026-01-29&date2=2026-02-01"
}

func newShopFixture(t *testing.T) *shopFixture {
	t.Helper()
	ctx := context.Background()
	f := newFixture(t, 0)
	shop := storetest.MustCounter(t, f.store, "Shop UTC", "UTC")
	secret := crmhttp.NewTokenSecret()
	if err := f.store.CreateToken(ctx, &crmlink.Token{Hash: crmhttp.HashToken(secret), CounterID: shop.ID, Scope: crmlink.ScopeRead}); err != nil {
		t.Fatal(err)
	}
	d := func(n, h int) time.Time { return time.Date(2026, 2, 1+n, h, 0, 0, 0, time.UTC) }
	sess := func(id, client uint64, start time.Time, kind crmlink.SourceKind, engine string, dev crmlink.DeviceCategory) crmlink.Session {
		return crmlink.Session{ID: id, ClientID: client, Start: start, PageViews: 2, Device: dev,
			Source: crmlink.TrafficSource{Kind: kind, Engine: engine}}
	}
	s11 := sess(11, 1, d(-3, 10), crmlink.SourceAd, "Google Ads", crmlink.DeviceDesktop)
	s11.Source.UTMCampaign = "spring"
	sessions := []crmlink.Session{s11,
		sess(12, 1, d(-2, 10), crmlink.SourceDirect, "", crmlink.DeviceDesktop),
		sess(21, 2, d(-1, 10), crmlink.SourceDirect, "", crmlink.DeviceMobile),
		sess(22, 2, d(0, 9), crmlink.SourceOrganic, "Google", crmlink.DeviceMobile),
		sess(31, 3, d(-1, 10), crmlink.SourceReferral, "", crmlink.DeviceDesktop),
		sess(32, 3, d(0, 10), crmlink.SourceInternal, "", crmlink.DeviceDesktop),
	}
	if err := f.store.ImportSessions(ctx, &crmlink.Upload{CounterID: shop.ID}, &storetest.SliceReader{Sessions: sessions}); err != nil {
		t.Fatal(err)
	}
	contacts := []crmlink.Contact{
		{UniqID: "alice", Name: "Alice", Fields: crmlink.FieldName | crmlink.FieldClientIDs, IDs: crmlink.CustomerIDs{ClientIDs: []uint64{1, 2}}},
		{UniqID: "bob", Name: "Bob", Fields: crmlink.FieldName},
	}
	if err := f.store.UploadContacts(ctx, &crmlink.Upload{CounterID: shop.ID, MergeMode: crmlink.MergeSave}, &storetest.ContactSlice{Contacts: contacts}); err != nil {
		t.Fatal(err)
	}
	order := func(id string, st crmlink.StatusType, revenue, cost string, created time.Time) crmlink.Order {
		o := crmlink.Order{ID: id, UniqID: "alice", Created: created, Status: string(st), StatusType: st,
			Revenue: decimal.RequireFromString(revenue),
			Fields:  crmlink.FieldCustomer | crmlink.FieldCreated | crmlink.FieldStatus | crmlink.FieldRevenue}
		if cost != "" {
			o.Cost = decimal.NewNullDecimal(decimal.RequireFromString(cost))
			o.Fields |= crmlink.FieldCost
		}
		return o
	}
	orders := []crmlink.Order{
		order("o1", crmlink.StatusPaid, "200", "50", d(-2, 11)),
		order("o2", crmlink.StatusCancelled, "70", "", d(-1, 12)),
		order("o3", crmlink.StatusPaid, "100", "30", d(0, 10)),
		order("o4", crmlink.StatusSpam, "999", "", d(-1, 13)),
	}
	if err := f.store.UploadOrders(ctx, &crmlink.Upload{CounterID: shop.ID}, &storetest.OrderSlice{Orders: orders}); err != nil {
		t.Fatal(err)
	}
	return &shopFixture{fixture: f, shop: shop, token: secret,
		path: "?ids=" + shop.ID.String() + "&date1=2026-01-29&date2=2026-02-01"}
}

// get sends a GET and returns the status, the headers and the raw body.
func (f *fixture) get(t *testing.T, path, auth string) (int, http.Header, []byte) {
	t.Helper()
	req, err := http.NewRequest("GET", f.srv.URL+path, nil)
	if err != nil {
		t.Fatal(err)
	}
	if auth != "" {
		req.Header.Set("Authorization", auth)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	raw, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return resp.StatusCode, resp.Header, raw
}

// answer fetches a /stat/v1/data answer, failing unless it is 200.
func (f *shopFixture) answer(t *testing.T, query string) report.Answer {
	t.Helper()
	return shopJSON[report.Answer](t, f, "/stat/v1/data", query)
}

// shopJSON fetches a report endpoint's answer for the shop's period and
// query, failing unless it is 200.
func shopJSON[T any](t *testing.T, f *shopFixture, endpoint, query string) T {
	t.Helper()
	code, _, raw := f.get(t, endpoint+f.path+"&"+query, "OAuth "+f.token)
	if code != 200 {
		t.Fatalf("%s: %d %s", query, code, raw)
	}
	var a T
	if err := json.Unmarshal(raw, &a); err != nil {
		t.Fatalf("%s: %v: %s", query, err, raw)
	}
	return a
}

// nums renders JSON numbers as they were written: 66.67 stays "66.67"; a
// quoted string would keep its quotes and fail the comparison.
func nums(ms []json.RawMessage) string {
	var out []string
	for _, m := range ms {
		out = append(out, string(m))
	}
	return strings.Join(out, " ")
}

// rowsOf renders rows as "id/id: m1 m2" lines, then "total: ...".
func rowsOf(a report.Answer) string {
	var b strings.Builder
	for _, r := range a.Data {
		var ids []string
		for _, d := range r.Dimensions {
			ids = append(ids, d.ID)
		}
		b.WriteString(strings.Join(ids, "/") + ": " + nums(r.Metrics) + "\n")
	}
	b.WriteString("total: " + nums(a.Totals))
	return b.String()
}

// TestReportOrderSources asks for the Order sources preset and checks the
// answer's shape and numbers. Under lastsign (the default):
//
//	ad:       s11 + s12 (direct keeps s11's ad): 2 visits, o1 paid 200 cost 50
//	referral: s31 + s32 (internal keeps the referral): 2 visits, no orders
//	direct:   s21 (no earlier significant source on that ClientID): 1 visit, o2 cancelled, o4 spam
//	organic:  s22: 1 visit, o3 paid 100 cost 30
//
// Spam is never among all orders: 3 orders in all, 2 paid; conversion into
// order is 3/6 = 50%, into payment 2/3 = 66.67%; revenue 300, profit 220,
// average cheque 150.
func TestReportOrderSources(t *testing.T) {
	f := newShopFixture(t)
	code, body := f.do(t, "GET", "/stat/v1/data"+f.path+"&preset=orders_sources", "OAuth "+f.token, nil, "")
	if code != 200 {
		t.Fatalf("status %d: %v", code, body)
	}
	for _, key := range []string{"query", "data", "total_rows", "totals", "min", "max", "sampled", "data_lag"} {
		if _, ok := body[key]; !ok {
			t.Errorf("answer lacks %q: %v", key, body)
		}
	}
	if body["sampled"] != false {
		t.Errorf("sampled = %v, want false", body["sampled"])
	}

	a := f.answer(t, "preset=orders_sources")
	q := a.Query
	wantMetrics := []string{"ym:s:visits", "ym:s:cdpOrdersAllOrders", "ym:s:cdpOrdersInProgress", "ym:s:cdpOrdersPayed",
		"ym:s:cdpOrdersCancelled", "ym:s:cdpOrdersSpam", "ym:s:cdpOrdersOther", "ym:s:cdpOrdersConversionIntoOrder",
		"ym:s:cdpOrdersConversionIntoPayment", "ym:s:cdpOrders<currency>Revenue", "ym:s:cdpOrders<currency>Profit",
		"ym:s:cdpOrders<currency>AverageCheque"}
	if len(q.IDs) != 1 || q.IDs[0] != int64(f.shop.ID) || q.Date1 != "2026-01-29" || q.Date2 != "2026-02-01" ||
		q.Attribution != "lastsign" || q.Currency != "RUB" || q.Preset != "orders_sources" || q.Limit != 100 || q.Offset != 1 ||
		strings.Join(q.Dimensions, ",") != "ym:s:<attribution>TrafficSource,ym:s:<attribution>SourceEngine" ||
		strings.Join(q.Metrics, ",") != strings.Join(wantMetrics, ",") || strings.Join(q.Sort, ",") != "-ym:s:visits" {
		t.Errorf("query echo = %+v", q)
	}
	if a.TotalRows != 4 || len(a.Data) != 4 || a.Sampled {
		t.Fatalf("total_rows %d, %d rows, sampled %v; want 4 rows", a.TotalRows, len(a.Data), a.Sampled)
	}
	for _, m := range [][]json.RawMessage{a.Totals, a.Min, a.Max} {
		if len(m) != len(wantMetrics) {
			t.Errorf("totals/min/max have %d values, want one per metric (%d)", len(m), len(wantMetrics))
		}
	}
	want := map[string]struct {
		dims    []report.DimensionJSON
		metrics string
	}{
		"ad":       {[]report.DimensionJSON{{ID: "ad", Name: "Ad traffic"}, {ID: "Google Ads", Name: "Google Ads"}}, "2 1 0 1 0 0 0 50 100 200 150 200"},
		"referral": {[]report.DimensionJSON{{ID: "referral", Name: "Link traffic"}, {ID: "", Name: "Not specified"}}, "2 0 0 0 0 0 0 0 0 0 0 0"},
		"direct":   {[]report.DimensionJSON{{ID: "direct", Name: "Direct traffic"}, {ID: "", Name: "Not specified"}}, "1 1 0 0 1 1 0 100 0 0 0 0"},
		"organic":  {[]report.DimensionJSON{{ID: "organic", Name: "Search engine traffic"}, {ID: "Google", Name: "Google"}}, "1 1 0 1 0 0 0 100 100 100 70 100"},
	}
	prevVisits := 1 << 30
	for _, r := range a.Data {
		if len(r.Dimensions) != 2 || len(r.Metrics) != len(wantMetrics) {
			t.Fatalf("row %+v: want 2 dimensions and %d metrics", r, len(wantMetrics))
		}
		w, ok := want[r.Dimensions[0].ID]
		if !ok {
			t.Errorf("unexpected row %+v", r)
			continue
		}
		delete(want, r.Dimensions[0].ID)
		if r.Dimensions[0] != w.dims[0] || r.Dimensions[1] != w.dims[1] {
			t.Errorf("row dimensions %+v, want %+v", r.Dimensions, w.dims)
		}
		if got := nums(r.Metrics); got != w.metrics {
			t.Errorf("%s: metrics %s, want %s", r.Dimensions[0].ID, got, w.metrics)
		}
		// Sorted by visits, descending.
		visits := int(decimal.RequireFromString(string(r.Metrics[0])).IntPart())
		if visits > prevVisits {
			t.Errorf("rows not sorted by -visits: %s", rowsOf(a))
		}
		prevVisits = visits
	}
	if len(want) > 0 {
		t.Errorf("missing rows %v", want)
	}
	if got := nums(a.Totals); got != "6 3 0 2 1 1 0 50 66.67 300 220 150" {
		t.Errorf("totals %s, want 6 3 0 2 1 1 0 50 66.67 300 220 150", got)
	}
	if got := nums(a.Min); got != "1 0 0 0 0 0 0 0 0 0 0 0" {
		t.Errorf("min %s", got)
	}
	if got := nums(a.Max); got != "2 1 0 1 1 1 0 100 100 200 150 200" {
		t.Errorf("max %s", got)
	}

	// The currency parameter names the money metrics' currency; the echo
	// keeps the names as given.
	a = f.answer(t, "preset=orders_sources&currency=usd&attribution=last")
	if a.Query.Currency != "USD" || a.Query.Attribution != "last" || a.Query.Metrics[9] != "ym:s:cdpOrders<currency>Revenue" {
		t.Errorf("echo with currency=usd, attribution=last: %+v", a.Query)
	}
	// No order is in USD: all orders still count, no money is added.
	if got := nums(a.Totals); got != "6 3 0 2 1 1 0 50 66.67 0 0 0" {
		t.Errorf("USD totals %s, want the RUB orders counted but no money", got)
	}
}

// TestReportAttributionModels checks each model over HTTP against the
// numbers storetest works out by hand.
func TestReportAttributionModels(t *testing.T) {
	f := newShopFixture(t)
	const q = "metrics=ym:s:visits,ym:s:cdpOrdersAllOrders,ym:s:cdpOrdersRUBRevenue&dimensions=ym:s:<attribution>TrafficSource&sort=ym:s:<attribution>TrafficSource"
	for _, tc := range []struct{ attribution, want string }{
		{"last", `
ad: 1 0 0
direct: 2 2 200
internal: 1 0 0
organic: 1 1 100
referral: 1 0 0
total: 6 3 300`},
		{"lastsign", `
ad: 2 1 200
direct: 1 1 0
organic: 1 1 100
referral: 2 0 0
total: 6 3 300`},
		// Across devices the phone's direct visit follows the laptop's ad.
		{"cross_device_last_significant", `
ad: 3 2 200
organic: 1 1 100
referral: 2 0 0
total: 6 3 300`},
		{"cross_device_first", `
ad: 4 3 300
referral: 2 0 0
total: 6 3 300`},
	} {
		t.Run(tc.attribution, func(t *testing.T) {
			a := f.answer(t, q+"&attribution="+tc.attribution)
			if got := rowsOf(a); got != strings.TrimSpace(tc.want) {
				t.Errorf("got:\n%s\nwant:\n%s", got, strings.TrimSpace(tc.want))
			}
			if a.Query.Attribution != tc.attribution || a.Query.Dimensions[0] != "ym:s:<attribution>TrafficSource" {
				t.Errorf("echo %+v", a.Query)
			}
		})
	}
}

// TestReportPagingAndFilters: offset is 1-based, total_rows counts every
// row, and filters travel URL-encoded.
func TestReportPagingAndFilters(t *testing.T) {
	f := newShopFixture(t)
	a := f.answer(t, "metrics=ym:s:visits&dimensions=ym:s:lastTrafficSource&attribution=last&sort=-ym:s:visits,ym:s:lastTrafficSource&limit=2&offset=2")
	// Rows by visits then id: direct 2, ad 1, internal 1, organic 1, referral 1.
	if a.TotalRows != 5 || rowsOf(a) != "ad: 1\ninternal: 1\ntotal: 6" {
		t.Errorf("page 2 of 2 rows: total_rows %d\n%s", a.TotalRows, rowsOf(a))
	}
	if a.Query.Limit != 2 || a.Query.Offset != 2 || strings.Join(a.Query.Sort, ",") != "-ym:s:visits,ym:s:lastTrafficSource" {
		t.Errorf("echo %+v", a.Query)
	}
	if nums(a.Min) != "1" || nums(a.Max) != "2" {
		t.Errorf("min %s max %s over all rows, want 1 and 2", nums(a.Min), nums(a.Max))
	}

	for _, tc := range []struct{ filter, want string }{
		{"ym:s:lastsignTrafficSource=='ad'", ": 2 1\ntotal: 2 1"},
		{"ym:s:deviceCategory=='mobile' OR ym:s:trafficSource.in('ad','referral')", ": 4 2\ntotal: 4 2"},
		{"ym:s:lastSourceEngine=~'^Google' AND ym:s:trafficSource!='organic'", ": 1 0\ntotal: 1 0"},
		// Without dimensions the answer is one row, even of zeros.
		{"ym:s:regionCity=='Nowhere'", ": 0 0\ntotal: 0 0"},
	} {
		a := f.answer(t, "metrics=ym:s:visits,ym:s:cdpOrdersAllOrders&filters="+url.QueryEscape(tc.filter))
		if got := rowsOf(a); got != tc.want {
			t.Errorf("filters=%s:\ngot:\n%s\nwant:\n%s", tc.filter, got, tc.want)
		}
		if a.Query.Filters != tc.filter {
			t.Errorf("filters echo %q, want %q", a.Query.Filters, tc.filter)
		}
	}
}

// TestReportDefaultDates: without date1/date2 the last seven days up to
// today in the counter's time zone: at 22:00 UTC it is already tomorrow in
// Moscow. An empty report has no rows: data is [], not null.
func TestReportDefaultDates(t *testing.T) {
	f := newFixture(t, 0)
	late := &crmlink.FixedClock{T: time.Date(2026, 3, 1, 22, 0, 0, 0, time.UTC)}
	srv := httptest.NewServer(crmhttp.NewServer(crmhttp.Config{Store: f.store, Clock: late, Classifier: traffic.New(), Logger: discardLogger()}))
	t.Cleanup(srv.Close)
	f.srv = srv
	code, _, raw := f.get(t, "/stat/v1/data?ids="+f.counter.ID.String()+"&metrics=ym:s:visits&dimensions=ym:s:lastsignTrafficSource", "OAuth "+f.read)
	if code != 200 {
		t.Fatalf("%d %s", code, raw)
	}
	var a report.Answer
	if err := json.Unmarshal(raw, &a); err != nil {
		t.Fatal(err)
	}
	if a.Query.Date1 != "2026-02-24" || a.Query.Date2 != "2026-03-02" || a.Query.Attribution != "lastsign" {
		t.Errorf("default dates %s..%s attribution %s; want 2026-02-24..2026-03-02 lastsign", a.Query.Date1, a.Query.Date2, a.Query.Attribution)
	}
	if a.TotalRows != 0 || nums(a.Totals) != "0" || a.Data == nil || len(a.Data) != 0 {
		t.Errorf("empty counter: %s", raw)
	}
	if !strings.Contains(string(raw), `"data":[]`) {
		t.Errorf("an empty report's data is not []: %s", raw)
	}
}

// TestReportCSV: data.csv is the same report as CSV.
func TestReportCSV(t *testing.T) {
	f := newShopFixture(t)
	code, h, raw := f.get(t, "/stat/v1/data.csv"+f.path+"&preset=orders_sources", "OAuth "+f.token)
	if code != 200 {
		t.Fatalf("%d %s", code, raw)
	}
	if ct := h.Get("Content-Type"); !strings.HasPrefix(ct, "text/csv") {
		t.Errorf("Content-Type %q, want text/csv", ct)
	}
	if cd := h.Get("Content-Disposition"); !strings.Contains(cd, "attachment") || !strings.Contains(cd, ".csv") {
		t.Errorf("Content-Disposition %q", cd)
	}
	recs, err := csv.NewReader(strings.NewReader(string(raw))).ReadAll()
	if err != nil {
		t.Fatalf("not CSV: %v\n%s", err, raw)
	}
	if len(recs) != 6 {
		t.Fatalf("%d lines, want header, totals and 4 rows:\n%s", len(recs), raw)
	}
	head := strings.Join(recs[0], ",")
	if !strings.HasPrefix(head, "ym:s:<attribution>TrafficSource,ym:s:<attribution>SourceEngine,ym:s:visits,ym:s:cdpOrdersAllOrders,") ||
		!strings.HasSuffix(head, ",ym:s:cdpOrders<currency>AverageCheque") || len(recs[0]) != 14 {
		t.Errorf("header %q", head)
	}
	if got := strings.Join(recs[1], ","); got != "Total and averages,,6,3,0,2,1,1,0,50,66.67,300,220,150" {
		t.Errorf("totals line %q", got)
	}
	// Rows show the dimensions' names, as the interface does.
	rows := map[string]string{}
	for _, r := range recs[2:] {
		rows[r[0]] = strings.Join(r[1:], ",")
	}
	for name, want := range map[string]string{
		"Ad traffic":            "Google Ads,2,1,0,1,0,0,0,50,100,200,150,200",
		"Link traffic":          "Not specified,2,0,0,0,0,0,0,0,0,0,0,0",
		"Direct traffic":        "Not specified,1,1,0,0,1,1,0,100,0,0,0,0",
		"Search engine traffic": "Google,1,1,0,1,0,0,0,100,100,100,70,100",
	} {
		if rows[name] != want {
			t.Errorf("row %q = %q, want %q", name, rows[name], want)
		}
	}
	if recs[2][0] != "Ad traffic" && recs[2][0] != "Link traffic" {
		t.Errorf("first row %q: want one of the 2-visit rows first", recs[2][0])
	}

	// A bad request answers a JSON error, not CSV.
	code, h, raw = f.get(t, "/stat/v1/data.csv"+f.path+"&metrics=ym:s:nope", "OAuth "+f.token)
	if code != 400 || !strings.HasPrefix(h.Get("Content-Type"), "application/json") || !strings.Contains(string(raw), `"invalid_parameter"`) {
		t.Errorf("bad csv request: %d %s %s", code, h.Get("Content-Type"), raw)
	}
}

// TestReportByTime: a time series by day over the four days.
func TestReportByTime(t *testing.T) {
	f := newShopFixture(t)
	get := func(query string) report.SeriesAnswer {
		t.Helper()
		return shopJSON[report.SeriesAnswer](t, f, "/stat/v1/data/bytime", query)
	}
	series := func(ms [][]json.RawMessage) string {
		var out []string
		for _, m := range ms {
			out = append(out, "["+nums(m)+"]")
		}
		return strings.Join(out, " ")
	}
	a := get("metrics=ym:s:visits,ym:s:cdpOrdersAllOrders&group=day")
	var ivs []string
	for _, iv := range a.TimeIntervals {
		ivs = append(ivs, iv[0]+".."+iv[1])
	}
	if strings.Join(ivs, " ") != "2026-01-29..2026-01-29 2026-01-30..2026-01-30 2026-01-31..2026-01-31 2026-02-01..2026-02-01" {
		t.Errorf("time_intervals %v, want one per day", ivs)
	}
	if a.Query.Group != "day" || a.Sampled {
		t.Errorf("echo %+v sampled %v", a.Query, a.Sampled)
	}
	// Visits per day 1 1 2 2; orders (spam aside) 0 1 1 1.
	const want = "[1 1 2 2] [0 1 1 1]"
	if len(a.Data) != 1 || series(a.Data[0].Metrics) != want {
		t.Errorf("data = %+v, want one row with metrics %s", a.Data, want)
	}
	if series(a.Totals) != want {
		t.Errorf("totals = %s, want %s", series(a.Totals), want)
	}

	// With a dimension: each row its own series.
	a = get("metrics=ym:s:visits&dimensions=ym:s:lastTrafficSource&group=DAY&sort=ym:s:lastTrafficSource")
	got := map[string]string{}
	for _, r := range a.Data {
		got[r.Dimensions[0].ID] = series(r.Metrics)
	}
	for id, w := range map[string]string{"ad": "[1 0 0 0]", "direct": "[0 1 1 0]", "organic": "[0 0 0 1]", "referral": "[0 0 1 0]", "internal": "[0 0 0 1]"} {
		if got[id] != w {
			t.Errorf("%s: %s, want %s", id, got[id], w)
		}
	}
	if a.TotalRows != 5 || series(a.Totals) != "[1 1 2 2]" {
		t.Errorf("total_rows %d totals %s", a.TotalRows, series(a.Totals))
	}

	// By month: one interval for the two months' days each.
	a = get("metrics=ym:s:visits&group=month")
	if len(a.TimeIntervals) != 2 || a.TimeIntervals[0][0] != "2026-01-29" || a.TimeIntervals[1][1] != "2026-02-01" ||
		series(a.Totals) != "[4 2]" {
		t.Errorf("by month: intervals %v totals %s, want January 4 visits and February 2", a.TimeIntervals, series(a.Totals))
	}
}

// TestReportErrors: every bad request answers Metrica's error body naming
// the parameter; authorisation comes before the query is read.
func TestReportErrors(t *testing.T) {
	f := newShopFixture(t)
	ids := "ids=" + f.shop.ID.String()
	dates := "&date1=2026-01-29&date2=2026-02-01"
	auth := "OAuth " + f.token
	for _, tc := range []struct {
		name, path, auth string
		code             int
		errType, msg     string
	}{
		{"missing ids", "/stat/v1/data?metrics=ym:s:visits", auth, 400, "missing_parameter", "ids: missing"},
		{"bad ids", "/stat/v1/data?ids=shop&metrics=ym:s:visits", auth, 400, "invalid_parameter", "ids:"},
		{"missing metrics", "/stat/v1/data?" + ids + dates, auth, 400, "invalid_parameter", "metrics: missing"},
		{"unknown metric", "/stat/v1/data?" + ids + dates + "&metrics=ym:s:visits,ym:s:sales", auth, 400, "invalid_parameter", `metrics: unknown metric "ym:s:sales"`},
		{"wrong currency metric", "/stat/v1/data?" + ids + dates + "&metrics=ym:s:cdpOrdersUSDRevenue", auth, 400, "invalid_parameter", "metrics: ym:s:cdpOrdersUSDRevenue: the report's currency is RUB"},
		{"unknown dimension", "/stat/v1/data?" + ids + dates + "&metrics=ym:s:visits&dimensions=ym:s:colour", auth, 400, "invalid_parameter", `dimensions: unknown dimension "ym:s:colour"`},
		{"bad filter", "/stat/v1/data?" + ids + dates + "&metrics=ym:s:visits&filters=" + url.QueryEscape("ym:s:regionCity=='Moscow' AND ym:s:colour=='red'"),
			auth, 400, "invalid_parameter", `filters: column 31: unknown dimension "ym:s:colour"`},
		{"unclosed filter", "/stat/v1/data?" + ids + dates + "&metrics=ym:s:visits&filters=" + url.QueryEscape("ym:s:regionCity=='Moscow"),
			auth, 400, "invalid_parameter", "filters: column 18: value not closed"},
		{"bad date1", "/stat/v1/data?" + ids + "&metrics=ym:s:visits&date1=2026-02-30", auth, 400, "invalid_parameter", `date1: "2026-02-30": want YYYY-MM-DD`},
		{"bad date2", "/stat/v1/data?" + ids + "&metrics=ym:s:visits&date1=2026-01-29&date2=tomorrow", auth, 400, "invalid_parameter", `date2: "tomorrow"`},
		{"date2 before date1", "/stat/v1/data?" + ids + "&metrics=ym:s:visits&date1=2026-02-01&date2=2026-01-29", auth, 400, "invalid_parameter", "date2: 2026-01-29 is before date1 2026-02-01"},
		{"bad attribution", "/stat/v1/data?" + ids + dates + "&preset=orders_sources&attribution=linear", auth, 400, "invalid_parameter", `attribution: "linear" is not a model`},
		{"bad preset", "/stat/v1/data?" + ids + dates + "&preset=sales", auth, 400, "invalid_parameter", `preset: "sales" is not a preset`},
		{"bad currency", "/stat/v1/data?" + ids + dates + "&preset=orders_sources&currency=RUR", auth, 400, "invalid_parameter", `currency: "RUR"`},
		{"bad sort", "/stat/v1/data?" + ids + dates + "&metrics=ym:s:visits&sort=ym:s:users", auth, 400, "invalid_parameter", "sort: ym:s:users is not among"},
		{"limit 0", "/stat/v1/data?" + ids + dates + "&metrics=ym:s:visits&limit=0", auth, 400, "invalid_parameter", `limit: "0"`},
		{"offset 0", "/stat/v1/data?" + ids + dates + "&metrics=ym:s:visits&offset=0", auth, 400, "invalid_parameter", `offset: "0"`},
		{"bad group", "/stat/v1/data/bytime?" + ids + dates + "&metrics=ym:s:visits&group=hour", auth, 400, "invalid_parameter", `group: "hour"`},
		{"no token", "/stat/v1/data?" + ids + dates + "&metrics=ym:s:visits", "", 401, "unauthorized", ""},
		{"no token csv", "/stat/v1/data.csv?" + ids + dates + "&metrics=ym:s:visits", "", 401, "unauthorized", ""},
		{"no token bytime", "/stat/v1/data/bytime?" + ids + dates + "&metrics=ym:s:visits", "", 401, "unauthorized", ""},
		{"unknown token", "/stat/v1/data?" + ids + dates + "&metrics=ym:s:visits", "OAuth crm_nope", 401, "unauthorized", ""},
		{"another counter's admin", "/stat/v1/data?" + ids + dates + "&metrics=ym:s:visits", "OAuth " + f.foreign, 403, "access_denied", "no access to counter"},
		{"another counter's read", "/stat/v1/data?" + ids + dates + "&metrics=ym:s:visits", "OAuth " + f.read, 403, "access_denied", "no access to counter"},
		// A bad query from a stranger learns nothing about the query.
		{"stranger's bad query", "/stat/v1/data?" + ids + "&metrics=ym:s:nope", "OAuth " + f.foreign, 403, "access_denied", ""},
		{"missing counter", "/stat/v1/data?ids=9999&metrics=ym:s:visits", "OAuth " + f.admin, 404, "not_found", ""},
		{"clients without token", "/cdp/api/v1/counter/" + f.shop.ID.String() + "/clients", "", 401, "unauthorized", ""},
		{"clients of another counter", "/cdp/api/v1/counter/" + f.shop.ID.String() + "/clients", "OAuth " + f.foreign, 403, "access_denied", ""},
		{"clients limit", "/cdp/api/v1/counter/" + f.shop.ID.String() + "/clients?limit=0", auth, 400, "invalid_parameter", `limit: "0"`},
		{"clients offset", "/cdp/api/v1/counter/" + f.shop.ID.String() + "/clients?offset=first", auth, 400, "invalid_parameter", `offset: "first"`},
		{"clients sort", "/cdp/api/v1/counter/" + f.shop.ID.String() + "/clients?sort=colour", auth, 400, "invalid_parameter", `sort: "colour"`},
		{"clients source", "/cdp/api/v1/counter/" + f.shop.ID.String() + "/clients?source=adwords", auth, 400, "invalid_parameter", `source: "adwords"`},
		{"clients status", "/cdp/api/v1/counter/" + f.shop.ID.String() + "/clients.csv?status=done", auth, 400, "invalid_parameter", `status: "done"`},
		{"clients spent", "/cdp/api/v1/counter/" + f.shop.ID.String() + "/clients?min_spent=lots", auth, 400, "invalid_parameter", `min_spent: "lots"`},
		{"clients date", "/cdp/api/v1/counter/" + f.shop.ID.String() + "/clients?date1=March", auth, 400, "invalid_parameter", `date1: "March"`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			code, body := f.do(t, "GET", tc.path, tc.auth, nil, "")
			if code != tc.code {
				t.Fatalf("status %d, want %d: %v", code, tc.code, body)
			}
			if got := errorType(t, code, body); got != tc.errType {
				t.Errorf("error_type %q, want %q", got, tc.errType)
			}
			msg, _ := body["message"].(string)
			if !strings.Contains(msg, tc.msg) || (strings.Contains(tc.msg, ":") && !strings.HasPrefix(msg, strings.SplitN(tc.msg, ":", 2)[0]+":")) {
				t.Errorf("message %q, want it to start with the parameter and contain %q", msg, tc.msg)
			}
			if item := body["errors"].([]any)[0].(map[string]any); item["message"] != msg {
				t.Errorf("errors[0].message %q differs from message %q", item["message"], msg)
			}
		})
	}
	// An admin token for all counters may read it.
	code, body := f.do(t, "GET", "/stat/v1/data?"+ids+dates+"&metrics=ym:s:visits", "OAuth "+f.admin, nil, "")
	if code != 200 || body["total_rows"] != 1.0 {
		t.Errorf("admin token: %d %v", code, body)
	}
	// oauth_token in the query, as Metrica allows.
	code, body = f.do(t, "GET", "/stat/v1/data?"+ids+dates+"&metrics=ym:s:visits&oauth_token="+f.token, "", nil, "")
	if code != 200 {
		t.Errorf("oauth_token parameter: %d %v", code, body)
	}
}

// TestReportClients: the Clients page lists every uploaded customer,
// including one who never visited.
func TestReportClients(t *testing.T) {
	f := newShopFixture(t)
	base := "/cdp/api/v1/counter/" + f.shop.ID.String() + "/clients"
	get := func(query string) (crmlink.ClientsResult, map[string]any) {
		t.Helper()
		code, body := f.do(t, "GET", base+query, "OAuth "+f.token, nil, "")
		if code != 200 {
			t.Fatalf("%s: %d %v", query, code, body)
		}
		raw, _ := json.Marshal(body)
		var res crmlink.ClientsResult
		if err := json.Unmarshal(raw, &res); err != nil {
			t.Fatalf("%s: %v: %s", query, err, raw)
		}
		return res, body
	}
	res, body := get("")
	if _, ok := body["data"].([]any); !ok || body["total_rows"] != 2.0 {
		t.Fatalf("answer %v: want data and total_rows 2", body)
	}
	if len(res.Rows) != 2 {
		t.Fatalf("%d rows", len(res.Rows))
	}
	a, b := res.Rows[0], res.Rows[1]
	// Alice: four orders, spam among them; 300 paid; days since the clock
	// (2026-03-01 12:00): first order 01-30 11:00 -> 30, last 02-01 10:00 -> 28.
	if a.UniqID != "alice" || a.Name != "Alice" || strings.Join(a.ClientIDs, ",") != "1,2" || a.Orders != 4 || a.Paid != 2 ||
		a.Cancelled != 1 || a.Spam != 1 || a.InProgress != 0 || !a.TotalSpent.Equal(decimal.NewFromInt(300)) ||
		a.FirstSource != "ad" || a.LastSource != "organic" || a.Sessions != 4 ||
		a.DaysSinceFirst == nil || *a.DaysSinceFirst != 30 || a.DaysSinceLast == nil || *a.DaysSinceLast != 28 {
		t.Errorf("alice: %+v", a)
	}
	bob := body["data"].([]any)[1].(map[string]any)
	if b.UniqID != "bob" || b.Orders != 0 || b.Sessions != 0 || bob["days_since_first_order"] != nil || bob["days_since_last_order"] != nil ||
		bob["first_source"] != "" || len(bob["client_ids"].([]any)) != 0 {
		t.Errorf("bob, who never visited: %v", bob)
	}

	for _, tc := range []struct{ query, want string }{
		{"?search=BO", "bob"},
		{"?search=ali", "alice"},
		{"?search=2", "alice"}, // a ClientID
		{"?search=carol", ""},
		{"?sort=uniq_id", "alice,bob"},
		{"?sort=-uniq_id", "bob,alice"},
		{"?sort=-orders&limit=1", "alice"},
		{"?sort=uniq_id&limit=1&offset=2", "bob"},
		{"?source=ad", "alice"},
		{"?source=referral", ""},
		{"?status=paid", "alice"},
		{"?status=IN_PROGRESS", ""},
		{"?min_spent=300&max_spent=300.00", "alice"},
		{"?max_spent=0", "bob"},
		{"?date1=2026-02-01&date2=2026-02-01", "alice"},
		{"?date1=2026-02-02", ""},
		{"?date2=2026-01-29", ""},
	} {
		res, _ := get(tc.query)
		var ids []string
		for _, r := range res.Rows {
			ids = append(ids, r.UniqID)
		}
		if strings.Join(ids, ",") != tc.want {
			t.Errorf("%s: %v, want %s", tc.query, ids, tc.want)
		}
		wantTotal := 2
		if !strings.Contains(tc.query, "sort") {
			wantTotal = len(strings.Split(tc.want, ","))
			if tc.want == "" {
				wantTotal = 0
			}
		}
		if res.TotalRows != wantTotal {
			t.Errorf("%s: total_rows %d, want %d", tc.query, res.TotalRows, wantTotal)
		}
	}
	// The CSV: every customer the filters select, with the API's names.
	code, hdr, raw := f.get(t, base+".csv?source=ad", "OAuth "+f.token)
	lines := strings.Split(strings.TrimSpace(string(raw)), "\n")
	if code != 200 || !strings.HasPrefix(hdr.Get("Content-Type"), "text/csv") || len(lines) != 2 ||
		!strings.HasPrefix(lines[0], "uniq_id,name,client_ids,user_ids,emails,phones,orders,") ||
		!strings.HasPrefix(lines[1], `alice,Alice,"1,2",,0,0,4,0,2,1,1,0,300,30,28,ad,organic,4`) {
		t.Errorf("clients.csv: %d %q", code, raw)
	}
}

// TestReportJSONPaths: /stat/v1/data.json and /stat/v1/data/bytime.json
// answer as the bare paths do, as Metrica's clients call them, with
// Metrica's extra parameters (accuracy, pretty, lang,
// include_undefined, proposed_accuracy) accepted.
func TestReportJSONPaths(t *testing.T) {
	f := newShopFixture(t)
	for _, p := range []struct{ bare, query string }{
		{"/stat/v1/data", "metrics=ym:s:visits,ym:s:users&dimensions=ym:s:UTMSource,ym:s:startOfMonth"},
		{"/stat/v1/data/bytime", "metrics=ym:s:visits&group=day&dimensions=ym:s:trafficSource"},
	} {
		code, _, want := f.get(t, p.bare+f.path+"&"+p.query, "OAuth "+f.token)
		extra := "&accuracy=full&pretty=1&lang=ru&include_undefined=true&proposed_accuracy=true"
		code2, _, got := f.get(t, p.bare+".json"+f.path+"&"+p.query+extra, "OAuth "+f.token)
		// The echo of the query is the same: the extra parameters are not
		// ours to echo.
		if code != 200 || code2 != 200 || string(got) != string(want) {
			t.Errorf("%s.json: %d %s\nwant %d %s", p.bare, code2, got, code, want)
		}
	}
}

// TestReportComparison: /stat/v1/data/comparison answers each row's
// metrics for segments A and B, each equal to /stat/v1/data's with that
// segment's dates and filters; rows only B has come after A's, with A's
// metrics zero; totals are each segment's.
func TestReportComparison(t *testing.T) {
	f := newShopFixture(t)
	const q = "&dimensions=ym:s:lastTrafficSource&metrics=ym:s:visits,ym:s:cdpOrdersAllOrders&attribution=last"
	ids := "?ids=" + f.shop.ID.String()
	sides := map[string]string{
		"a": "&date1=2026-01-29&date2=2026-02-01&filters=" + url.QueryEscape("ym:s:deviceCategory=='desktop'"),
		"b": "&date1=2026-01-30&date2=2026-02-01&filters=" + url.QueryEscape("ym:s:deviceCategory=='mobile'"),
	}
	want := map[string]map[string]string{}
	totals := map[string]string{}
	for side, p := range sides {
		code, _, raw := f.get(t, "/stat/v1/data"+ids+q+p, "OAuth "+f.token)
		var a report.Answer
		if code != 200 || json.Unmarshal(raw, &a) != nil {
			t.Fatalf("%s: %d %s", side, code, raw)
		}
		want[side] = map[string]string{}
		for _, r := range a.Data {
			want[side][r.Dimensions[0].ID] = rawText(r.Metrics)
		}
		totals[side] = rawText(a.Totals)
	}
	code, _, raw := f.get(t, "/stat/v1/data/comparison"+ids+q+"&date1_a=2026-01-29&date2_a=2026-02-01&filters_a="+url.QueryEscape("ym:s:deviceCategory=='desktop'")+
		"&date1_b=2026-01-30&date2_b=2026-02-01&filters_b="+url.QueryEscape("ym:s:deviceCategory=='mobile'"), "OAuth "+f.token)
	var c report.ComparisonAnswer
	if code != 200 || json.Unmarshal(raw, &c) != nil {
		t.Fatalf("comparison: %d %s", code, raw)
	}
	keys := map[string]bool{}
	for k := range want["a"] {
		keys[k] = true
	}
	for k := range want["b"] {
		keys[k] = true
	}
	if c.TotalRows != len(keys) || len(c.Data) != len(keys) {
		t.Fatalf("comparison: %d rows, want %d: %s", c.TotalRows, len(keys), raw)
	}
	onlyB := false
	for _, r := range c.Data {
		id := r.Dimensions[0].ID
		for side, got := range map[string][]json.RawMessage{"a": r.Metrics.A, "b": r.Metrics.B} {
			w, ok := want[side][id]
			if !ok {
				w = "0 0"
			}
			if rawText(got) != w {
				t.Errorf("%s, segment %s: %v, want %s", id, side, got, w)
			}
		}
		_, inA := want["a"][id]
		if onlyB && inA {
			t.Errorf("%s, a row of A's, comes after a row only B has", id)
		}
		onlyB = onlyB || !inA
	}
	if rawText(c.Totals.A) != totals["a"] || rawText(c.Totals.B) != totals["b"] || c.Query.Date1B != "2026-01-30" {
		t.Errorf("totals %v %v, want %s %s; query %+v", c.Totals.A, c.Totals.B, totals["a"], totals["b"], c.Query)
	}
	if code, _, raw := f.get(t, "/stat/v1/data/comparison"+ids+q+"&filters="+url.QueryEscape("ym:s:visits>1"), "OAuth "+f.token); code != 400 || !strings.Contains(string(raw), "no condition on a metric") {
		t.Errorf("a metric condition: %d %s", code, raw)
	}
}

// rawText is JSON numbers as text, space-separated.
func rawText(ms []json.RawMessage) string {
	var parts []string
	for _, m := range ms {
		parts = append(parts, string(m))
	}
	return strings.Join(parts, " ")
}

// TestReportDrilldown: /stat/v1/data/drilldown answers a level of the
// tree of the dimensions: the first dimension's rows, opening; under
// parent_id, the next dimension's rows within the parent, as
// /stat/v1/data answers them with the parent as a filter.
func TestReportDrilldown(t *testing.T) {
	f := newShopFixture(t)
	const q = "&dimensions=ym:s:lastTrafficSource,ym:s:deviceCategory&metrics=ym:s:visits,ym:s:cdpOrdersAllOrders&attribution=last"
	level := func(parent string) report.DrilldownAnswer {
		t.Helper()
		code, _, raw := f.get(t, "/stat/v1/data/drilldown"+f.path+q+parent, "OAuth "+f.token)
		var d report.DrilldownAnswer
		if code != 200 || json.Unmarshal(raw, &d) != nil {
			t.Fatalf("drilldown%s: %d %s", parent, code, raw)
		}
		return d
	}
	same := func(what string, d report.DrilldownAnswer, a report.Answer, expand bool) {
		t.Helper()
		if len(d.Data) != len(a.Data) || d.TotalRows != a.TotalRows || rawText(d.Totals) != rawText(a.Totals) {
			t.Fatalf("%s: %d rows, totals %s; the report's %d, %s", what, len(d.Data), rawText(d.Totals), len(a.Data), rawText(a.Totals))
		}
		for i, r := range d.Data {
			if r.Dimension != a.Data[i].Dimensions[0] || rawText(r.Metrics) != rawText(a.Data[i].Metrics) || r.Expand != expand {
				t.Errorf("%s row %d: %+v, the report's %+v", what, i, r, a.Data[i])
			}
		}
	}
	top := level("")
	same("the first level", top, f.answer(t, "dimensions=ym:s:lastTrafficSource&metrics=ym:s:visits,ym:s:cdpOrdersAllOrders&attribution=last"), true)
	if len(top.Query.Dimensions) != 2 {
		t.Errorf("the query's dimensions: %v", top.Query.Dimensions)
	}
	for _, r := range top.Data {
		id := r.Dimension.ID
		sub := level("&parent_id=" + url.QueryEscape(`["`+id+`"]`))
		same("under "+id, sub, f.answer(t, "dimensions=ym:s:deviceCategory&metrics=ym:s:visits,ym:s:cdpOrdersAllOrders&attribution=last&filters="+
			url.QueryEscape("ym:s:lastTrafficSource=='"+id+"'")), false)
	}
	for _, bad := range []string{`x`, `["a","b"]`} {
		if code, _, raw := f.get(t, "/stat/v1/data/drilldown"+f.path+q+"&parent_id="+url.QueryEscape(bad), "OAuth "+f.token); code != 400 || !strings.Contains(string(raw), "parent_id") {
			t.Errorf("parent_id=%s: %d %s", bad, code, raw)
		}
	}
}
