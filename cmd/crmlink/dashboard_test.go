package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	"github.com/shopspring/decimal"

	"github.com/crmlink/crmlink"
	crmhttp "github.com/crmlink/crmlink/http"
	"github.com/crmlink/crmlink/internal/browsertest"
	"github.com/crmlink/crmlink/internal/cli"
)

// dashboard is a server on demo data and a browser driving its pages.
type dashboard struct {
	t       *testing.T
	srv     *httptest.Server
	st      crmlink.Store
	counter *crmlink.Counter
	token   string
	browser *browsertest.Browser
	ctx     context.Context
	shots   string
}

func newDashboard(t *testing.T) *dashboard {
	t.Helper()
	chromium := browsertest.Chromium(t)
	ctx := context.Background()
	dir := t.TempDir()
	e := &cli.Env{Stdin: strings.NewReader(""), Stdout: io.Discard, Stderr: io.Discard, Getenv: func(string) string { return "" },
		Clock: crmlink.SystemClock{}}
	st, err := cli.OpenStore(ctx, "duckdb://"+filepath.Join(dir, "crmlink.db"), e.Clock)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	g := &cli.GenFlags{Seed: 7, Sessions: 30000, Contacts: 1500, Orders: 2500, SimpleOrders: -1, Days: 60, Site: "shop.example", TimeZone: "Europe/Moscow"}
	c, err := cli.LoadDemo(ctx, st, g, filepath.Join(dir, "data"), e)
	if err != nil {
		t.Fatal(err)
	}
	d := &dashboard{t: t, st: st, counter: c, shots: t.ArtifactDir()}
	if d.token, err = cli.CreateToken(ctx, st, 0, crmlink.ScopeAdmin, "test"); err != nil {
		t.Fatal(err)
	}
	if err := createUser(ctx, st, "marketer", "correct horse battery", 0, crmlink.ScopeAdmin); err != nil {
		t.Fatal(err)
	}
	d.srv = httptest.NewServer(crmhttp.NewServer(crmhttp.Config{Store: st, Clock: e.Clock, Logger: slog.New(slog.DiscardHandler)}))
	t.Cleanup(d.srv.Close)

	d.browser = browsertest.Start(t, chromium, true)
	d.ctx = d.browser.Ctx
	d.do("desktop viewport", chromedp.EmulateViewport(1366, 900))
	return d
}

// do runs browser actions with a deadline, then fails on any JavaScript
// error, console error, failed load or refused script seen so far.
func (d *dashboard) do(what string, steps ...chromedp.Action[chromedp.Void]) {
	d.t.Helper()
	ctx, cancel := context.WithTimeout(d.ctx, 30*time.Second)
	defer cancel()
	if err := chromedp.Do(ctx, steps...); err != nil {
		d.t.Fatalf("%s: %v", what, err)
	}
	if errs := d.browser.Errors(); len(errs) > 0 {
		d.t.Fatalf("%s: browser errors: %q", what, errs)
	}
}

func runB[T any](d *dashboard, a chromedp.Action[T]) T {
	d.t.Helper()
	ctx, cancel := context.WithTimeout(d.ctx, 30*time.Second)
	defer cancel()
	v, err := chromedp.Run(ctx, a)
	if err != nil {
		d.t.Fatal(err)
	}
	return v
}

// open loads a page and waits until its main content is there.
func (d *dashboard) open(path string) {
	d.t.Helper()
	d.do("open "+path, chromedp.Navigate(d.srv.URL+path), chromedp.WaitReady("main"), chromedp.Poll[chromedp.Void](`document.readyState === "complete"`))
}

// waitURL waits until the browser is at a URL that contains want: after a
// form or a script navigated.
func (d *dashboard) waitURL(want string) {
	d.t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	var loc string
	for time.Now().Before(deadline) {
		ctx, cancel := context.WithTimeout(d.ctx, 2*time.Second)
		l, err := chromedp.Run(ctx, chromedp.Location())
		cancel()
		if err == nil && strings.Contains(l, want) {
			return
		}
		loc = l
		time.Sleep(50 * time.Millisecond)
	}
	d.t.Fatalf("the browser is at %s, not at a URL with %q", loc, want)
}

// shot saves a screenshot of the whole page as a test artifact.
func (d *dashboard) shot(name string) {
	d.t.Helper()
	png := runB(d, chromedp.FullScreenshot(100))
	if err := os.WriteFile(filepath.Join(d.shots, name+".png"), png, 0o644); err != nil {
		d.t.Fatal(err)
	}
}

// api asks the Reporting API, with the token, for what a page showed.
func (d *dashboard) api(path string) map[string]any {
	d.t.Helper()
	req, _ := http.NewRequest("GET", d.srv.URL+path, nil)
	req.Header.Set("Authorization", "OAuth "+d.token)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		d.t.Fatal(err)
	}
	defer resp.Body.Close()
	var out map[string]any
	if err := json.NewDecoder(resp.Body).Decode(&out); err != nil || resp.StatusCode != 200 {
		d.t.Fatalf("GET %s: %d, %v %v", path, resp.StatusCode, err, out)
	}
	return out
}

// digits keeps the digits of a figure as shown ("₽38,737,931.20" →
// "3873793120"), so that it compares with the API's number whatever the
// locale's separators.
func digits(s string) string {
	var b strings.Builder
	for _, r := range s {
		if r >= '0' && r <= '9' {
			b.WriteRune(r)
		}
	}
	return strings.TrimLeft(b.String(), "0")
}

// apiDigits formats an API number as the page does: money and rates with
// two decimals, counts without.
func apiDigits(t *testing.T, v any, places int32) string {
	t.Helper()
	n, ok := v.(json.Number)
	var d decimal.Decimal
	var err error
	if ok {
		d, err = decimal.NewFromString(n.String())
	} else {
		d, err = decimal.NewFromString(fmt.Sprint(v))
	}
	if err != nil {
		t.Fatalf("API number %v: %v", v, err)
	}
	return digits(d.StringFixed(places))
}

func TestDashboardInBrowser(t *testing.T) {
	if testing.Short() {
		t.Skip("browser test")
	}
	d := newDashboard(t)
	base := "/c/" + d.counter.ID.String()

	// Sign-in: an unsigned browser goes to the sign-in page and back.
	d.open(base + "/sources")
	if loc := runB(d, chromedp.Location()); !strings.Contains(loc, "/signin?next=") {
		t.Fatalf("unsigned browser at %s, want the sign-in page", loc)
	}
	d.shot("signin")
	d.do("sign in with a wrong password",
		chromedp.SendKeys(`input[name="user"]`, "marketer"),
		chromedp.SendKeys(`input[name="password"]`, "wrong password"),
		chromedp.Click(`button[value="password"]`), chromedp.WaitVisible(`.error`))
	d.do("sign in",
		chromedp.SetValue(`input[name="password"]`, "correct horse battery"),
		chromedp.Click(`button[value="password"]`), chromedp.WaitVisible(`#report`))
	if loc := runB(d, chromedp.Location()); !strings.HasSuffix(loc, base+"/sources") {
		t.Fatalf("after sign-in at %s, want the page asked for", loc)
	}

	t.Run("Overview", func(t *testing.T) {
		d.t = t
		d.open(base + "/")
		d.do("chart", chromedp.WaitVisible(`#chart`))
		d.shot("overview")
		date1 := runB(d, chromedp.Value(`input[name="date1"]`))
		date2 := runB(d, chromedp.Value(`input[name="date2"]`))
		ans := d.api("/stat/v1/data?ids=" + d.counter.ID.String() + "&date1=" + date1 + "&date2=" + date2 +
			"&metrics=ym:s:visits,ym:s:cdpOrdersAllOrders,ym:s:cdpOrdersPayed,ym:s:cdpOrdersRUBRevenue,ym:s:cdpOrdersRUBProfit,ym:s:cdpOrdersConversionIntoOrder")
		totals := ans["totals"].([]any)
		for i, f := range []struct {
			label  string
			places int32
		}{{"Sessions", 0}, {"All orders", 0}, {"Paid orders", 0}, {"Revenue", 2}, {"Profit", 2}, {"Conversion to order", 2}} {
			shown := runB(d, chromedp.Text(`[data-figure="`+f.label+`"]`))
			if digits(shown) != apiDigits(t, totals[i], f.places) {
				t.Errorf("%s: page shows %q, the API says %v", f.label, shown, totals[i])
			}
		}
		if totals[1].(float64) == 0 {
			t.Error("no orders in the demo's last 30 days: the comparison proves nothing")
		}
	})

	var lastsignTable string
	t.Run("OrderSources", func(t *testing.T) {
		d.t = t
		d.open(base + "/sources")
		d.do("chart", chromedp.WaitVisible(`#chart`))
		d.shot("sources")
		lastsignTable = runB(d, chromedp.Text(`#report tbody`))
		if row := cellTexts(d, `#unlinked-row td`); len(row) == 0 || row[0] != crmlink.UnlinkedName {
			t.Errorf("no row of orders linked to no session: %q", row)
		}
		checkSourcesAgainstAPI(d)
		// Change the attribution: the table changes, and still agrees
		// with the API.
		d.do("pick first-source attribution",
			chromedp.SetValue(`select[name="attribution"]`, "first"),
			chromedp.Submit(`#report-form`))
		d.waitURL("attribution=first")
		d.do("reload", chromedp.WaitVisible(`#report`))
		if first := runB(d, chromedp.Text(`#report tbody`)); first == lastsignTable {
			t.Error("the table did not change with the attribution model")
		}
		checkSourcesAgainstAPI(d)
		// Drill down from the first source into its engines and campaigns.
		d.do("drill down", chromedp.Click(`#report tbody tr:nth-child(2) td:first-child a`), chromedp.WaitVisible(`#report`))
		if loc := runB(d, chromedp.Location()); !strings.Contains(loc, "source=") || !strings.Contains(loc, "dim=engine") {
			t.Errorf("drill-down went to %s", loc)
		}
		checkSourcesAgainstAPI(d)
		d.shot("sources-drilldown")
		// The CSV link downloads the page's own view.
		href := runB(d, chromedp.AttributeValue(`#csv-link`, "href"))
		loc, err := url.Parse(runB(d, chromedp.Location()))
		if err != nil {
			t.Fatal(err)
		}
		link, err := url.Parse(href.Value)
		if err != nil || link.Path != base+"/sources.csv" || link.Query().Encode() != loc.Query().Encode() {
			t.Errorf("CSV link %s does not download the page's view %s", href.Value, loc.RequestURI())
		}
	})

	t.Run("Clients", func(t *testing.T) {
		d.t = t
		d.open(base + "/clients")
		d.shot("clients")
		d.do("open a customer", chromedp.Click(`#clients tbody tr:first-child td:first-child a`), chromedp.WaitVisible(`.timeline, .none`))
		d.shot("customer")
		if n := len(cellTexts(d, `#orders tbody tr`)); n == 0 {
			t.Error("the top customer's page shows no orders")
		}
		if hist := cellTexts(d, `#orders td.history`); len(hist) == 0 || hist[0] == "" {
			t.Errorf("no status history: %q", hist)
		}
		// The filters: customers who came from an ad, as the API counts them.
		d.open(base + "/clients")
		d.do("filter by source", chromedp.SetValue(`select[name="source"]`, "ad"), chromedp.Submit(`#clients-form`))
		d.waitURL("source=ad")
		d.do("filtered", chromedp.WaitVisible(`#clients`))
		d.shot("clients-filtered")
		ans := d.api("/cdp/api/v1/counter/" + d.counter.ID.String() + "/clients?source=ad&limit=1")
		pager := runB(d, chromedp.Text(`.pager`))
		if total := fmt.Sprint(ans["total_rows"]); ans["total_rows"].(float64) == 0 || !strings.Contains(digits(pager), digits(total)) {
			t.Errorf("clients from an ad: page says %q, the API %v", pager, ans["total_rows"])
		}
		href := runB(d, chromedp.AttributeValue(`#clients-csv`, "href"))
		if !strings.Contains(href.Value, "/clients.csv?") || !strings.Contains(href.Value, "source=ad") {
			t.Errorf("the clients download %q lacks the filter", href.Value)
		}
	})

	t.Run("Uploads", func(t *testing.T) {
		d.t = t
		file := filepath.Join(t.TempDir(), "contacts.csv")
		if err := os.WriteFile(file, []byte("uniq_id,name,emails\nnew-1,Anna,anna@example.com\nnew-2,Bob,not-an-email\n"), 0o644); err != nil {
			t.Fatal(err)
		}
		d.open(base + "/uploads")
		d.shot("uploads")
		d.do("upload a file",
			chromedp.SetValue(`select[name="entity"]`, "contacts"),
			chromedp.Click(`input[name="on_error"]`),
			chromedp.SetUploadFiles(`input[type="file"]`, []string{file}),
			chromedp.Click(`#upload-form button[type="submit"]`))
		d.waitURL(base + "/uploads/")
		d.do("upload page", chromedp.WaitVisible(`#row-errors`))
		d.shot("upload")
		errs := runB(d, chromedp.Text(`#row-errors tbody`))
		if !strings.Contains(errs, "3") || !strings.Contains(errs, "emails") {
			t.Errorf("row errors shown: %q; want line 3, column emails", errs)
		}
		id := strings.TrimPrefix(runB(d, chromedp.Text(`h1`)), "Upload ")
		d.open(base + "/uploads")
		if list := runB(d, chromedp.Text(`#uploads`)); !strings.Contains(list, id) {
			t.Errorf("upload %s is not in the history", id)
		}
		if _, err := d.st.Contact(context.Background(), d.counter.ID, "new-1"); err != nil {
			t.Errorf("the uploaded contact: %v", err)
		}
		// The demo's orders upload lists its unlinked orders with a reason.
		ups, err := d.st.Uploads(context.Background(), d.counter.ID, time.Time{}, 100)
		if err != nil {
			t.Fatal(err)
		}
		for _, up := range ups {
			if up.Entity != crmlink.EntityOrders || len(up.Unlinked) == 0 {
				continue
			}
			d.open(base + "/uploads/" + up.ID)
			d.do("unlinked orders", chromedp.WaitVisible(`#unlinked-orders`))
			d.shot("upload-unlinked")
			if rows := cellTexts(d, `#unlinked-orders tbody tr td:last-child`); len(rows) == 0 || rows[0] == "" {
				t.Errorf("upload %s: unlinked orders without reasons: %q", up.ID, rows)
			}
			break
		}
	})

	t.Run("GoalsAndSettings", func(t *testing.T) {
		d.t = t
		d.open(base + "/goals")
		d.shot("goals")
		if txt := runB(d, chromedp.Text(`#goals`)); !strings.Contains(txt, "CRM: Order paid") {
			t.Errorf("goals page: %q", txt)
		}
		d.open(base + "/settings")
		d.shot("settings")
		if snip := runB(d, chromedp.Text(`#snippet`)); !strings.Contains(snip, d.srv.URL+"/tag.js") {
			t.Errorf("snippet: %q", snip)
		}
		d.do("create a token", chromedp.SendKeys(`#tokens input[name="name"]`, "crm script"),
			chromedp.Click(`#tokens form.row button`), chromedp.WaitVisible(`#new-token`))
		secret := runB(d, chromedp.Text(`#new-token`))
		req, _ := http.NewRequest("GET", d.srv.URL+"/management/v1/counter/"+d.counter.ID.String(), nil)
		req.Header.Set("Authorization", "OAuth "+strings.TrimSpace(secret))
		if resp, err := http.DefaultClient.Do(req); err != nil || resp.StatusCode != 200 {
			t.Errorf("the new token does not work: %v %v", resp, err)
		}
		// The form's message comes back in its signed cookie, once.
		d.do("save the settings", chromedp.Click(`.settings-form button[type="submit"]`), chromedp.WaitVisible(`main > p.flash`))
		if msg := runB(d, chromedp.Text(`main > p.flash`)); msg != "Settings saved." {
			t.Errorf("after saving the settings: %q", msg)
		}
		d.open(base + "/settings")
		if n := runB(d, chromedp.Evaluate[int](`document.querySelectorAll("main > p.flash").length`)); n != 0 {
			t.Error("the message is shown again")
		}
	})

	// Every page fits a 360 px wide phone: nothing wider than the screen
	// but the tables, which scroll in their own box.
	t.Run("Narrow", func(t *testing.T) {
		d.t = t
		d.do("phone viewport", chromedp.EmulateViewport(360, 740))
		for _, p := range []string{"/", "/sources", "/clients", "/uploads", "/goals", "/settings"} {
			d.open(base + p)
			if wide := runB(d, chromedp.Evaluate[bool](`document.documentElement.scrollWidth > window.innerWidth + 1`)); wide {
				t.Errorf("%s is wider than 360 px", p)
			}
			d.shot("narrow" + strings.ReplaceAll(p, "/", "-"))
		}
	})

	// The Order sources table with every column and three dimensions fits
	// a 1400 px window, or scrolls inside its card with its first column
	// kept in view: the page itself never scrolls sideways.
	t.Run("Wide1400", func(t *testing.T) {
		d.t = t
		d.do("1400 px viewport", chromedp.EmulateViewport(1400, 900))
		d.open(base + "/sources?dim=source&dim=engine&dim=utm_campaign")
		d.shot("sources-1400")
		if wide := runB(d, chromedp.Evaluate[bool](`document.documentElement.scrollWidth > window.innerWidth + 1`)); wide {
			t.Error("the Order sources page scrolls sideways at 1400 px")
		}
		overflows := runB(d, chromedp.Evaluate[bool](`(function(){var w=document.querySelector('#report').closest('.table-wrap');return w.scrollWidth > w.clientWidth + 1})()`))
		sticky := runB(d, chromedp.Evaluate[string](`getComputedStyle(document.querySelector('#report tbody tr:nth-child(2) td:first-child')).position`))
		if overflows && sticky != "sticky" {
			t.Errorf("the table is wider than its card and its first column scrolls away (position %q)", sticky)
		}
	})

	// No source id shows raw, and one engine has one name.
	t.Run("Names", func(t *testing.T) {
		d.t = t
		d.open(base + "/sources?dim=source&dim=engine")
		ids := map[string]bool{}
		for _, k := range crmlink.SourceKinds {
			ids[string(k)] = true
		}
		engines := map[string]string{} // lower-cased, spaces dropped -> as shown
		for _, row := range runB(d, chromedp.Evaluate[[][]string](`Array.from(document.querySelectorAll('#report tbody tr:not(.totals)')).map(r => Array.from(r.cells).slice(0, 2).map(c => c.textContent.trim()))`)) {
			if len(row) < 2 {
				continue
			}
			if ids[row[0]] {
				t.Errorf("a source shows as its raw id %q", row[0])
			}
			for _, raw := range []string{"vk", "yandex", "google", "facebook"} {
				if row[1] == raw {
					t.Errorf("%s: engine shown as the raw utm_source %q", row[0], row[1])
				}
			}
			key := row[0] + "/" + strings.ToLower(strings.ReplaceAll(row[1], " ", ""))
			if prev, ok := engines[key]; ok && prev != row[1] {
				t.Errorf("%s: one engine under two names, %q and %q", row[0], prev, row[1])
			}
			engines[key] = row[1]
		}
		if _, ok := engines["Ad traffic/vkads"]; !ok {
			t.Errorf("the demo's VK ads are not shown as VK Ads: %v", engines)
		}
		// The chart shows the sources that brought the most orders,
		// most first, whatever the table's sort.
		d.open(base + "/sources?sort=-visits")
		orders := runB(d, chromedp.Evaluate[[]float64](`JSON.parse(document.getElementById('chart-data').textContent).datasets[0].data`))
		for i := 1; i < len(orders); i++ {
			if orders[i] > orders[i-1] {
				t.Errorf("the chart is not ordered by orders: %v", orders)
				break
			}
		}
		if len(orders) == 0 {
			t.Error("the chart has no bars")
		}
	})

	// The dashboard in Russian, by the language switch, and back.
	t.Run("Russian", func(t *testing.T) {
		d.t = t
		d.do("desktop viewport", chromedp.EmulateViewport(1366, 900))
		d.open(base + "/")
		d.do("switch to Russian", chromedp.Click(`nav.lang a[hreflang="ru"]`), chromedp.WaitVisible(`html[lang="ru"] main`))
		english := []string{"Overview", "Order sources", "Clients", "Uploads", "Goals", "Settings", "Sign out"}
		for _, p := range []struct{ path, want string }{
			{"/", "Визиты"}, {"/sources", "Модель атрибуции"}, {"/clients", "Клиенты"},
			{"/uploads", "Загрузки"}, {"/goals", "Цели"}, {"/settings", "Настройки"},
		} {
			d.open(base + p.path)
			nav := runB(d, chromedp.Text(`header.top`))
			for _, w := range english {
				if strings.Contains(nav, w) {
					t.Errorf("%s: the navigation still says %q: %q", p.path, w, nav)
				}
			}
			if main := runB(d, chromedp.Text(`main`)); !strings.Contains(main, p.want) {
				t.Errorf("%s: no %q on the page", p.path, p.want)
			}
			d.shot("ru" + strings.ReplaceAll(p.path, "/", "-"))
		}
		d.open(base + "/sources")
		body := runB(d, chromedp.Text(`main`))
		for _, w := range []string{"Переходы по рекламе", "Прямые заходы", "Переходы из поисковых систем", "Заказы", "Выручка", "Последний значимый переход", "Скачать CSV"} {
			if !strings.Contains(body, w) {
				t.Errorf("Order sources lacks %q", w)
			}
		}
		legend := runB(d, chromedp.Evaluate[string](`JSON.parse(document.getElementById('chart-data').textContent).datasets[0].label`))
		if legend != "Заказы" {
			t.Errorf("chart label %q", legend)
		}
		// The page script speaks Russian too.
		d.open(base + "/settings")
		d.do("copy", chromedp.Click(`button[data-copy="snippet"]`))
		btn := runB(d, chromedp.Text(`button[data-copy="snippet"]`))
		if !cyrillicRE.MatchString(btn) {
			t.Errorf("the copy button says %q after a click", btn)
		}
	})

	t.Run("English", func(t *testing.T) {
		d.t = t
		d.open(base + "/")
		d.do("switch to English", chromedp.Click(`nav.lang a[hreflang="en"]`), chromedp.WaitVisible(`html[lang="en"] main`))
		for _, p := range []struct{ path, want string }{
			{"/", "Sessions"}, {"/sources", "Attribution model"}, {"/clients", "Clients"},
			{"/uploads", "Uploads"}, {"/goals", "Goals"}, {"/settings", "Settings"},
		} {
			d.open(base + p.path)
			if nav := runB(d, chromedp.Text(`nav.nav`)); cyrillicRE.MatchString(nav) || !strings.Contains(nav, "Order sources") {
				t.Errorf("%s: navigation %q", p.path, nav)
			}
			if h := runB(d, chromedp.Text(`main`)); !strings.Contains(h, p.want) || strings.Contains(h, "Визиты") {
				t.Errorf("%s: not in English", p.path)
			}
		}
	})
}

var cyrillicRE = regexp.MustCompile(`[А-Яа-яЁё]`)

// checkSourcesAgainstAPI compares the Order sources table on screen with
// the Reporting API's answer to the page's own query.
func checkSourcesAgainstAPI(d *dashboard) {
	t := d.t
	t.Helper()
	href := runB(d, chromedp.AttributeValue(`a[href^="/stat/v1/data?"]`, "href"))
	u, err := url.Parse(href.Value)
	if err != nil {
		t.Fatal(err)
	}
	ans := d.api(u.RequestURI())
	metrics := u.Query().Get("metrics")
	places := func(i int) int32 {
		m := strings.Split(metrics, ",")[i]
		if strings.Contains(m, "Conversion") || strings.Contains(m, "<currency>") {
			return 2
		}
		return 0
	}
	dims := len(strings.Split(u.Query().Get("dimensions"), ","))
	totals := runB(d, chromedp.Nodes(`#report tbody tr.totals td`))
	want := ans["totals"].([]any)
	if len(totals) != dims+len(want) {
		t.Fatalf("totals row has %d cells, want %d", len(totals), dims+len(want))
	}
	texts := cellTexts(d, `#report tbody tr.totals td`)
	for i, v := range want {
		if digits(texts[dims+i]) != apiDigits(t, v, places(i)) {
			t.Errorf("totals column %d: page %q, API %v", i, texts[dims+i], v)
		}
	}
	rows := ans["data"].([]any)
	if len(rows) == 0 {
		t.Fatal("the API has no rows")
	}
	// The orders no session brought: their row, as the API's.
	if un, ok := ans["unlinked"].(map[string]any); ok {
		cells := cellTexts(d, `#unlinked-row td`)
		ms := un["metrics"].([]any)
		if ms[1].(float64) > 0 && len(cells) != dims+len(ms) {
			t.Fatalf("unlinked row has %d cells, want %d: %q", len(cells), dims+len(ms), cells)
		}
		for i, v := range ms {
			if len(cells) > 0 && digits(cells[dims+i]) != apiDigits(t, v, places(i)) {
				t.Errorf("unlinked row column %d: page %q, API %v", i, cells[dims+i], v)
			}
		}
	}
	first := cellTexts(d, `#report tbody tr:nth-child(2) td`)
	row := rows[0].(map[string]any)
	name := row["dimensions"].([]any)[0].(map[string]any)["name"]
	if name != nil && first[0] != name {
		t.Errorf("first row: page %q, API %v", first[0], name)
	}
	for i, v := range row["metrics"].([]any) {
		if digits(first[dims+i]) != apiDigits(t, v, places(i)) {
			t.Errorf("first row column %d: page %q, API %v", i, first[dims+i], v)
		}
	}
}

func cellTexts(d *dashboard, sel string) []string {
	return runB(d, chromedp.Evaluate[[]string](`Array.from(document.querySelectorAll(`+fmt.Sprintf("%q", sel)+`)).map(e => e.textContent.trim())`))
}
