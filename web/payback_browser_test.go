package web_test

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	"github.com/shopspring/decimal"

	"github.com/crmlink/crmlink"
	"github.com/crmlink/crmlink/internal/browsertest"
	"github.com/crmlink/crmlink/store"
	"github.com/crmlink/crmlink/store/storetest"
)

// newPaybackFixture is the dashboard on a shop whose two customers came
// from ads in the last days and paid:
//
//	s1 client 1, 3 days ago: ad, yandex / brand
//	s2 client 1, 2 days ago: direct               <- o1 PAID 3000 (cost 1000)
//	s3 client 2, 2 days ago: ad, google / spring  <- o2 PAID 1500 (cost 500)
//
// Under the last significant source o1 is yandex / brand's; under the
// last source, direct's.
func newPaybackFixture(t *testing.T) (*dashboardFixture, time.Time) {
	t.Helper()
	chromium := browsertest.Chromium(t)
	ctx := context.Background()
	st, err := store.Open(ctx, "duckdb://"+filepath.Join(t.TempDir(), "p.db"), store.Config{Clock: crmlink.SystemClock{}})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	c := &crmlink.Counter{Name: "Payback test", Site: "shop.example", TimeZone: "UTC", Currency: "RUB"}
	if err := c.Normalize(); err != nil {
		t.Fatal(err)
	}
	if err := st.CreateCounter(ctx, c); err != nil {
		t.Fatal(err)
	}
	now := time.Now().UTC()
	today := time.Date(now.Year(), now.Month(), now.Day(), 0, 0, 0, 0, time.UTC)
	at := func(days, hour int) time.Time { return today.AddDate(0, 0, -days).Add(time.Duration(hour) * time.Hour) }
	ad := func(source, campaign string) crmlink.TrafficSource {
		return crmlink.TrafficSource{Kind: crmlink.SourceAd, Engine: "Yandex Direct", UTMSource: source, UTMMedium: "cpc", UTMCampaign: campaign}
	}
	sessions := []crmlink.Session{
		{ID: 1, ClientID: 1, Start: at(3, 10), PageViews: 3, Device: crmlink.DeviceDesktop, Source: ad("yandex", "brand")},
		{ID: 2, ClientID: 1, Start: at(2, 10), PageViews: 2, Device: crmlink.DeviceDesktop, Source: crmlink.TrafficSource{Kind: crmlink.SourceDirect}},
		{ID: 3, ClientID: 2, Start: at(2, 11), PageViews: 4, Device: crmlink.DeviceMobile, Source: ad("google", "spring")},
	}
	if err := st.ImportSessions(ctx, &crmlink.Upload{CounterID: c.ID}, &storetest.SliceReader{Sessions: sessions}); err != nil {
		t.Fatal(err)
	}
	if err := st.UploadContacts(ctx, &crmlink.Upload{CounterID: c.ID, MergeMode: crmlink.MergeSave}, &storetest.ContactSlice{Contacts: []crmlink.Contact{
		{UniqID: "ann", Name: "Ann", Fields: crmlink.FieldName | crmlink.FieldClientIDs, IDs: crmlink.CustomerIDs{ClientIDs: []uint64{1}}},
		{UniqID: "bob", Name: "Bob", Fields: crmlink.FieldName | crmlink.FieldClientIDs, IDs: crmlink.CustomerIDs{ClientIDs: []uint64{2}}},
	}}); err != nil {
		t.Fatal(err)
	}
	order := func(id, who, revenue, cost string, created time.Time) crmlink.Order {
		return crmlink.Order{ID: id, UniqID: who, Created: created, Status: "PAID", StatusType: crmlink.StatusPaid,
			Revenue: decimal.RequireFromString(revenue), Cost: decimal.NewNullDecimal(decimal.RequireFromString(cost)),
			Fields: crmlink.FieldCustomer | crmlink.FieldCreated | crmlink.FieldStatus | crmlink.FieldRevenue | crmlink.FieldCost}
	}
	if err := st.UploadOrders(ctx, &crmlink.Upload{CounterID: c.ID}, &storetest.OrderSlice{Orders: []crmlink.Order{
		order("o1", "ann", "3000", "1000", at(2, 12)), order("o2", "bob", "1500", "500", at(2, 12))}}); err != nil {
		t.Fatal(err)
	}
	return serveDashboard(t, chromium, st, c), today
}

// rowOf returns the texts of the report table's row whose first cells
// are those given.
func rowOf(f *dashboardFixture, first ...string) []string {
	f.t.Helper()
	rows := value[[][]string](f, `Array.from(document.querySelectorAll('#report tbody tr')).map(function (r) {
		return Array.from(r.cells).map(function (c) { return c.textContent.trim(); }); })`)
	for _, r := range rows {
		if len(r) >= len(first) && strings.Join(r[:len(first)], "|") == strings.Join(first, "|") {
			return r
		}
	}
	f.t.Fatalf("no row %q in %q", first, rows)
	return nil
}

// TestBrowserPayback uploads ad spend from the Uploads page's form in
// Chromium (the form warns of a row in another currency and stays), sees
// the upload in the history, opens the Ad payback page, switches its
// attribution model and sees the campaign's figures change, downloads a
// conversion file from its link, and reads the page in Russian and on a
// phone.
func TestBrowserPayback(t *testing.T) {
	if testing.Short() {
		t.Skip("browser test")
	}
	f, today := newPaybackFixture(t)
	base := "/c/" + f.counter.ID.String()
	day := func(n int) string { return today.AddDate(0, 0, -n).Format(time.DateOnly) }

	f.do("sign in",
		chromedp.Navigate(f.srv.URL+"/signin?next="+base+"/uploads"),
		chromedp.SendKeys(`input[name="token"]`, f.token),
		chromedp.Click(`button[value="token"]`),
		chromedp.WaitVisible(`#upload-form`))

	// The expenses file, through the form: merge mode and delimiter are
	// not asked for.
	file := filepath.Join(t.TempDir(), "spend.csv")
	csv := "Date,UTMSource,UTMMedium,UTMCampaign,Expenses,Clicks,Currency\n" +
		day(3) + "/" + day(2) + ",yandex,cpc,brand,2000.00,40,\n" +
		day(2) + ",google,cpc,spring,750.50,,\n" +
		day(2) + ",vk,cpm,promo,30,,USD\n"
	if err := os.WriteFile(file, []byte(csv), 0o644); err != nil {
		t.Fatal(err)
	}
	f.do("pick expenses",
		chromedp.Evaluate[chromedp.Void](`(function(){var e=document.querySelector('select[name="entity"]');e.value='expenses';e.dispatchEvent(new Event('change'))})()`),
		until(`getComputedStyle(document.querySelector('select[name="merge_mode"]').closest('label')).display === 'none' &&
			getComputedStyle(document.querySelector('select[name="delimiter_type"]').closest('label')).display === 'none' &&
			getComputedStyle(document.querySelector('p[data-for="expenses"]')).display !== 'none'`))
	f.do("upload the spend",
		chromedp.SetUploadFiles(`input[type="file"]`, []string{file}),
		chromedp.Click(`#upload-form button[type="submit"]`),
		until(`!!document.querySelector('.upload-status .upload-warnings')`))
	status := value[string](f, `document.querySelector('.upload-status').textContent`)
	if !strings.Contains(status, "3 rows stored, 0 refused") || !strings.Contains(status, "Rows in USD: 1. Reports in RUB") {
		t.Errorf("the form's answer: %q", status)
	}
	f.shot("payback-upload")
	f.do("open the upload",
		chromedp.Click(`.upload-status a`),
		until(`location.pathname.indexOf('/uploads/') >= 0 && document.readyState === 'complete' && !!document.querySelector('h1')`))
	if what := value[string](f, `document.querySelector('dl.ids').textContent`); !strings.Contains(what, "ad expenses") {
		t.Errorf("the upload's page: %q", what)
	}
	f.do("the history",
		chromedp.Navigate(f.srv.URL+base+"/uploads"),
		until(`document.readyState === 'complete' && !!document.querySelector('#uploads')`))
	if first := value[string](f, `document.querySelector('#uploads tbody tr').textContent`); !strings.Contains(first, "ad expenses") || !strings.Contains(first, "PASSED") {
		t.Errorf("the newest upload in the history: %q", first)
	}

	// The page, under the default model: o1 is yandex / brand's.
	f.do("open Ad payback",
		chromedp.Click(`nav.nav a[href$="/payback"]`),
		until(`location.pathname.endsWith('/payback') && document.readyState === 'complete' && !!document.querySelector('#report')`),
		until(`!!window.Chart && !!window.Chart.getChart(document.getElementById('chart'))`))
	f.shot("payback")
	if sets := value[[]string](f, `window.Chart.getChart(document.getElementById('chart')).data.datasets.map(function (d) { return d.label; })`); strings.Join(sets, ",") != "Ad spend,Profit" {
		t.Errorf("the chart's datasets: %q", sets)
	}
	if got := value[float64](f, `window.Chart.getChart(document.getElementById('chart')).data.datasets[0].data.reduce(function (a, b) { return a + b; }, 0)`); got != 2750.5 {
		t.Errorf("the chart's spend adds up to %v, want 2750.5", got)
	}
	brand := rowOf(f, "yandex", "brand")
	if want := "yandex|brand|₽2,000.00|40|₽50.00|2|1|1|₽3,000.00|₽2,000.00|₽2,000.00|50.00 %|0.00 %|100.00 %"; strings.ReplaceAll(strings.Join(brand, "|"), "\u00a0", " ") != want {
		t.Errorf("yandex / brand under the last significant source:\n%q\nwant\n%q", strings.Join(brand, "|"), want)
	}

	// Switching to the last source: s2 and o1 are direct's.
	f.do("switch the model",
		chromedp.SetValue(`select[name="attribution"]`, "last"),
		chromedp.Click(`#report-form button[type="submit"]`),
		until(`location.search.indexOf('attribution=last') >= 0 && document.readyState === 'complete' && !!document.querySelector('#report')`))
	brand = rowOf(f, "yandex", "brand")
	if want := "yandex|brand|₽2,000.00|40|₽50.00|1|0|0|₽0.00|₽0.00|—|−100.00 %|−100.00 %|0.00 %"; strings.ReplaceAll(strings.Join(brand, "|"), "\u00a0", " ") != want {
		t.Errorf("yandex / brand under the last source:\n%q\nwant\n%q", strings.Join(brand, "|"), want)
	}
	if sel := value[string](f, `document.querySelector('select[name="attribution"]').value`); sel != "last" {
		t.Errorf("the picker shows %q after the switch", sel)
	}

	// A conversion file, from its link.
	f.do("download Metrica's conversions", chromedp.Click(`#conversions a[data-format="metrica"]`))
	name := "conversions-metrica-" + strings.ReplaceAll(day(29), "-", "") + "-" + today.Format("20060102") + ".csv"
	var got []byte
	var err error
	for deadline := time.Now().Add(10 * time.Second); time.Now().Before(deadline); time.Sleep(50 * time.Millisecond) {
		if got, err = os.ReadFile(filepath.Join(f.download, name)); err == nil && len(got) > 0 {
			break
		}
	}
	lines := strings.Split(strings.TrimSpace(string(got)), "\n")
	if len(lines) != 5 || lines[0] != "ClientId,Target,DateTime,Price,Currency" || !strings.Contains(string(got), "\n1,order_paid,") ||
		!strings.Contains(string(got), "\n2,order_paid,") {
		t.Errorf("the downloaded %s (%v): %q", name, err, got)
	}

	// In Russian.
	f.do("Russian",
		chromedp.Click(`nav.lang a[hreflang="ru"]`),
		until(`document.documentElement.lang === 'ru' && !!document.querySelector('#report')`))
	if h := value[string](f, `document.querySelector('h1').textContent + '|' + document.querySelector('#report thead th:nth-child(3)').textContent`); !strings.HasPrefix(h, "Окупаемость рекламы|Расходы") {
		t.Errorf("in Russian: %q", h)
	}
	f.shot("payback-ru")

	// On a phone, only the table scrolls, in its box.
	f.do("phone",
		chromedp.EmulateViewport(360, 740),
		chromedp.Navigate(f.srv.URL+base+"/payback"),
		until(`document.readyState === 'complete' && !!document.querySelector('#report')`))
	f.shot("payback-phone")
	if wide := value[bool](f, `document.documentElement.scrollWidth > window.innerWidth + 1`); wide {
		t.Error("the Ad payback page is wider than 360 px", value[[]string](f, `Array.from(document.querySelectorAll('main *')).filter(function(e){return e.getBoundingClientRect().right > window.innerWidth + 1 && !e.closest('.table-wrap')}).map(function(e){return e.tagName+'.'+e.className+'#'+e.id+' in '+e.parentElement.tagName+'#'+e.parentElement.id+'.'+e.parentElement.className+' '+e.textContent.slice(0,40)+' '+Math.round(e.getBoundingClientRect().right)})`))
	}
}
