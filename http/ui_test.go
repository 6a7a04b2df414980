package http_test

import (
	"context"
	"html"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/crmlink/crmlink"
	crmhttp "github.com/crmlink/crmlink/http"
	"github.com/crmlink/crmlink/store/storetest"
)

// browser is an HTTP client with cookies that does not follow redirects,
// as a browser on the dashboard.
type browser struct {
	t    *testing.T
	base string
	c    *http.Client
	// lang is the Accept-Language the browser sends ("" sends none).
	lang string
}

func newBrowser(t *testing.T, f *fixture) *browser {
	jar, _ := cookiejar.New(nil)
	return &browser{t: t, base: f.srv.URL, c: &http.Client{Jar: jar,
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}}
}

type page struct {
	code     int
	location string
	body     string
	header   http.Header
}

func (b *browser) do(req *http.Request) page {
	b.t.Helper()
	if b.lang != "" {
		req.Header.Set("Accept-Language", b.lang)
	}
	resp, err := b.c.Do(req)
	if err != nil {
		b.t.Fatal(err)
	}
	defer resp.Body.Close()
	raw, _ := io.ReadAll(resp.Body)
	return page{code: resp.StatusCode, location: resp.Header.Get("Location"), body: string(raw), header: resp.Header}
}

func (b *browser) get(path string) page {
	b.t.Helper()
	req, _ := http.NewRequest("GET", b.base+path, nil)
	return b.do(req)
}

func (b *browser) post(path string, form url.Values, header ...string) page {
	b.t.Helper()
	req, _ := http.NewRequest("POST", b.base+path, strings.NewReader(form.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	for i := 0; i+1 < len(header); i += 2 {
		req.Header.Set(header[i], header[i+1])
	}
	return b.do(req)
}

var csrfField = regexp.MustCompile(`name="csrf" value="([0-9a-f]+)"`)
var csrfMeta = regexp.MustCompile(`<meta name="csrf-token" content="([0-9a-f]*)">`)

func csrfOf(t *testing.T, p page) string {
	t.Helper()
	m := csrfField.FindStringSubmatch(p.body)
	if m == nil {
		m = csrfMeta.FindStringSubmatch(p.body)
	}
	if m == nil || m[1] == "" {
		t.Fatalf("no CSRF token in the page: %.400s", p.body)
	}
	return m[1]
}

var flashText = regexp.MustCompile(`<p class="flash" role="status">([^<]*)</p>`)

// flash follows a form's redirect and returns the message the page shows
// ("" for none).
func (b *browser) flash(p page) string {
	b.t.Helper()
	if p.code != http.StatusSeeOther {
		b.t.Fatalf("a form's answer: %d, want a redirect: %.300s", p.code, p.body)
	}
	to, _, _ := strings.Cut(p.location, "#")
	m := flashText.FindStringSubmatch(b.get(to).body)
	if m == nil {
		return ""
	}
	return html.UnescapeString(m[1])
}

// signIn signs the browser in with a token, or with a user name and
// password, through the sign-in form.
func (b *browser) signIn(token, user, password string) page {
	b.t.Helper()
	form := b.get("/signin")
	if form.code != 200 {
		b.t.Fatalf("GET /signin: %d", form.code)
	}
	return b.post("/signin", url.Values{"csrf": {csrfOf(b.t, form)}, "token": {token}, "user": {user},
		"password": {password}, "next": {"/"}})
}

func TestUISignInWithToken(t *testing.T) {
	f := newFixture(t, 0)
	b := newBrowser(t, f)
	base := "/c/" + f.counter.ID.String() + "/"
	if p := b.get(base); p.code != http.StatusSeeOther || p.location != "/signin?next="+url.QueryEscape(base) {
		t.Fatalf("unsigned: %d to %q", p.code, p.location)
	}
	// The form's CSRF field must match the browser's pre-session cookie.
	form := b.get("/signin")
	if p := b.post("/signin", url.Values{"csrf": {"0123"}, "token": {f.admin}}); p.code != 200 || !strings.Contains(p.body, "form expired") {
		t.Errorf("wrong CSRF: %d %.300s", p.code, p.body)
	}
	if p := b.post("/signin", url.Values{"csrf": {csrfOf(t, form)}, "token": {"crm_nope"}}); !strings.Contains(p.body, "not valid") {
		t.Errorf("bad token: %.300s", p.body)
	}
	p := b.post("/signin", url.Values{"csrf": {csrfOf(t, form)}, "token": {f.admin}, "next": {base}})
	if p.code != http.StatusSeeOther || p.location != base {
		t.Fatalf("sign-in: %d to %q: %.300s", p.code, p.location, p.body)
	}
	set := p.header.Get("Set-Cookie")
	if !strings.Contains(set, "crmlink_session=") || !strings.Contains(set, "HttpOnly") || !strings.Contains(set, "SameSite=Lax") {
		t.Errorf("session cookie: %s", set)
	}
	// A redirect elsewhere is refused.
	if p := b.post("/signin", url.Values{"csrf": {csrfOf(t, form)}, "token": {f.admin}, "next": {"https://evil.example/"}}); p.location != "/" {
		t.Errorf("next=https://evil.example/: redirected to %q", p.location)
	}
	home := b.get(base)
	if home.code != 200 || !strings.Contains(home.body, "<h1>Overview</h1>") {
		t.Fatalf("overview: %d %.300s", home.code, home.body)
	}
	if csp := home.header.Get("Content-Security-Policy"); !strings.Contains(csp, "script-src 'self'") {
		t.Errorf("CSP: %q", csp)
	}
	csrf := csrfOf(t, home)

	// The API answers the signed-in browser too; what changes something
	// needs the CSRF header.
	api := "/cdp/api/v1/counter/" + f.counter.ID.String() + "/schema/order_statuses"
	body := `{"order_statuses":[{"id":"new","humanized":"New","type":"IN_PROGRESS"}]}`
	post := func(header ...string) int {
		req, _ := http.NewRequest("POST", b.base+api, strings.NewReader(body))
		req.Header.Set("Content-Type", "application/json")
		for i := 0; i+1 < len(header); i += 2 {
			req.Header.Set(header[i], header[i+1])
		}
		return b.do(req).code
	}
	if code := post(); code != http.StatusForbidden {
		t.Errorf("API POST without the CSRF header: %d, want 403", code)
	}
	if code := post("X-CSRF-Token", "00"+csrf[2:]); code != http.StatusForbidden {
		t.Errorf("API POST with a wrong CSRF header: %d, want 403", code)
	}
	if code := post("X-CSRF-Token", csrf); code != 200 {
		t.Errorf("API POST with the CSRF header: %d", code)
	}
	if p := b.get(api); p.code != 200 || !strings.Contains(p.body, `"new"`) {
		t.Errorf("API GET with the cookie: %d %s", p.code, p.body)
	}
	// Forms: the field, and same-origin only.
	statuses := "/c/" + f.counter.ID.String() + "/statuses"
	form2 := url.Values{"status": {"paid_ok"}, "type": {"PAID"}}
	if p := b.post(statuses, form2); p.code != http.StatusForbidden {
		t.Errorf("form without CSRF field: %d", p.code)
	}
	form2.Set("csrf", csrf)
	if p := b.post(statuses, form2, "Sec-Fetch-Site", "cross-site"); p.code != http.StatusForbidden {
		t.Errorf("cross-site form: %d", p.code)
	}
	if p := b.post(statuses, form2); p.code != http.StatusSeeOther {
		t.Errorf("status editor: %d %.300s", p.code, p.body)
	}
	ms, _ := f.store.StatusMappings(context.Background(), f.counter.ID)
	if len(ms) != 2 || ms[1].ID != "paid_ok" && ms[0].ID != "paid_ok" {
		t.Errorf("mapping after the editor: %+v", ms)
	}

	// Revoking the token ends the browser's session.
	if err := f.store.RevokeToken(context.Background(), crmhttp.HashToken(f.admin)); err != nil {
		t.Fatal(err)
	}
	if p := b.get(base); p.code != http.StatusSeeOther {
		t.Errorf("after revoking the token: %d", p.code)
	}
}

func TestUIUsers(t *testing.T) {
	f := newFixture(t, 0)
	ctx := context.Background()
	hash, err := crmhttp.HashPassword("a long password")
	if err != nil {
		t.Fatal(err)
	}
	if err := f.store.CreateUser(ctx, &crmlink.User{Name: "anna", PasswordHash: hash, CounterID: f.counter.ID, Scope: crmlink.ScopeRead}); err != nil {
		t.Fatal(err)
	}
	b := newBrowser(t, f)
	for _, bad := range [][2]string{{"anna", "wrong password"}, {"nobody", "a long password"}} {
		if p := b.signIn("", bad[0], bad[1]); p.code != 200 || !strings.Contains(p.body, "Wrong user name or password") {
			t.Errorf("%v: %d %.300s", bad, p.code, p.body)
		}
	}
	if p := b.signIn("", "anna", "a long password"); p.code != http.StatusSeeOther {
		t.Fatalf("sign-in: %d %.300s", p.code, p.body)
	}
	// Home goes to her counter; the picker lists only it.
	home := b.get("/")
	mine := "/c/" + f.counter.ID.String() + "/"
	if home.location != mine {
		t.Errorf("home: %q", home.location)
	}
	p := b.get(mine)
	if p.code != 200 || strings.Contains(p.body, `value="/c/`+f.other.ID.String()+`/"`) {
		t.Errorf("her overview: %d, or it offers the other counter", p.code)
	}
	if p := b.get("/c/" + f.other.ID.String() + "/"); p.code != http.StatusForbidden {
		t.Errorf("another counter: %d", p.code)
	}
	// Read scope: settings are shown, not changed.
	settings := b.get(mine + "settings")
	if settings.code != 200 || strings.Contains(settings.body, "Create a token") {
		t.Errorf("read-only settings: %d", settings.code)
	}
	if p := b.post(mine+"settings", url.Values{"csrf": {csrfOf(t, settings)}, "name": {"X"}}); p.code != http.StatusForbidden {
		t.Errorf("read scope changed settings: %d", p.code)
	}
	// Signing out ends the session.
	if p := b.post("/signout", url.Values{"csrf": {csrfOf(t, settings)}}); p.code != http.StatusSeeOther {
		t.Errorf("sign out: %d", p.code)
	}
	if p := b.get(mine); p.code != http.StatusSeeOther {
		t.Errorf("after signing out: %d", p.code)
	}
}

var figure = regexp.MustCompile(`data-figure="([^"]+)">([^<]*)<`)

func TestUIPages(t *testing.T) {
	f := newShopFixture(t)
	b := newBrowser(t, f.fixture)
	b.signIn(f.admin, "", "")
	base := "/c/" + f.shop.ID.String()
	dates := "date1=2026-01-29&date2=2026-02-01"

	// Overview: the figures are the Reporting API's.
	p := b.get(base + "/?" + dates)
	if p.code != 200 {
		t.Fatalf("overview: %d %.500s", p.code, p.body)
	}
	shown := map[string]string{}
	for _, m := range figure.FindAllStringSubmatch(p.body, -1) {
		shown[m[1]] = m[2]
	}
	a := f.answer(t, f.path+"&metrics=ym:s:visits,ym:s:cdpOrdersAllOrders,ym:s:cdpOrdersPayed,ym:s:cdpOrdersRUBRevenue")
	want := map[string]string{"Sessions": "6", "All orders": "3", "Paid orders": "2"}
	if !strings.HasPrefix(nums(a.Totals), "6 3 2 ") {
		t.Fatalf("fixture changed: API totals %s", nums(a.Totals))
	}
	for k, v := range want {
		if shown[k] != v {
			t.Errorf("%s: shown %q, want %q", k, shown[k], v)
		}
	}
	if rev := string(a.Totals[3]); shown["Revenue"] != "₽"+rev+".00" {
		t.Errorf("Revenue shown %q, API %s", shown["Revenue"], rev)
	}

	// The top sources: the Reporting API's first rows by orders.
	top := f.answer(t, f.path+"&dimensions=ym:s:lastsignTrafficSource&metrics=ym:s:visits,ym:s:cdpOrdersAllOrders&sort=-ym:s:cdpOrdersAllOrders&limit=5")
	tbl := regexp.MustCompile(`(?s)<table id="top-sources">.*?</table>`).FindString(p.body)
	if len(top.Data) == 0 || tbl == "" {
		t.Fatalf("no top sources: API %d rows, page %q", len(top.Data), tbl)
	}
	for _, row := range top.Data {
		if name := row.Dimensions[0].Name; !strings.Contains(tbl, name) {
			t.Errorf("top sources lack %q: %s", name, tbl)
		}
	}

	// Order sources: sorting, attribution, drill-down and the CSV link.
	p = b.get(base + "/sources?" + dates + "&attribution=first&sort=orders")
	if p.code != 200 || !strings.Contains(p.body, "Ad traffic") || !strings.Contains(p.body, `aria-sort="ascending"`) {
		t.Errorf("sources: %d %.500s", p.code, p.body)
	}
	csv := regexp.MustCompile(`href="(/c/[0-9]+/sources\.csv\?[^"]+)"`).FindStringSubmatch(p.body)
	if csv == nil {
		t.Fatal("no CSV link")
	}
	csvPage := b.get(strings.ReplaceAll(csv[1], "&amp;", "&"))
	if csvPage.code != 200 || !strings.Contains(csvPage.body, "Ad traffic") {
		t.Errorf("CSV: %d %.300s", csvPage.code, csvPage.body)
	}
	p = b.get(base + "/sources?" + dates + "&source=ad&dim=engine&dim=utm_campaign")
	if p.code != 200 || !strings.Contains(p.body, "Google Ads") || strings.Contains(p.body, "Direct traffic") {
		t.Errorf("drill-down into ad: %d %.800s", p.code, p.body)
	}

	// Clients and a customer's page.
	p = b.get(base + "/clients?search=ali")
	if p.code != 200 || !strings.Contains(p.body, "Alice") || strings.Contains(p.body, "Bob") {
		t.Errorf("clients search: %d", p.code)
	}
	p = b.get(base + "/clients/alice")
	for _, s := range []string{"o1", "o2", "o3", "s-PAID", "s-CANCELLED", `id="s11"`} {
		if !strings.Contains(p.body, s) {
			t.Errorf("alice's page lacks %q", s)
		}
	}
	if p := b.get(base + "/clients/nobody"); p.code != 404 {
		t.Errorf("unknown customer: %d", p.code)
	}

	// Uploads, one upload, goals.
	p = b.get(base + "/uploads")
	ids := regexp.MustCompile(`href="uploads/([0-9]+)"`).FindAllStringSubmatch(p.body, -1)
	if p.code != 200 || len(ids) < 2 {
		t.Fatalf("uploads: %d, %d links", p.code, len(ids))
	}
	if p := b.get(base + "/uploads/" + ids[0][1]); p.code != 200 || !strings.Contains(p.body, "No row errors") {
		t.Errorf("an upload: %d", p.code)
	}
	if p := b.get(base + "/goals"); !strings.Contains(p.body, "CRM: Order paid") {
		t.Errorf("goals: %.300s", p.body)
	}
}

func TestUIEmptyStates(t *testing.T) {
	f := newFixture(t, 0)
	b := newBrowser(t, f)
	b.signIn(f.admin, "", "")
	base := "/c/" + f.counter.ID.String()
	for path, want := range map[string]string{
		"/":        "No sessions in this period",
		"/sources": "No orders in this period",
		"/clients": "No customers yet",
		"/uploads": "No uploads yet",
		"/goals":   "No goals yet",
	} {
		p := b.get(base + path)
		if p.code != 200 || !strings.Contains(p.body, want) {
			t.Errorf("%s: %d, want %q", path, p.code, want)
		}
	}
	if p := b.get("/c/999/"); p.code != 404 {
		t.Errorf("missing counter: %d", p.code)
	}
	if p := b.get(base + "/?date1=2026-02-10&date2=2026-02-01"); !strings.Contains(p.body, "ends before it starts") {
		t.Error("a reversed period is not explained")
	}
	// A period starting in 1970 has no earlier one to compare with.
	if p := b.get(base + "/?date1=1970-01-01&date2=1970-01-31"); p.code != 200 || !strings.Contains(p.body, "no earlier data to compare") {
		t.Errorf("January 1970: %d", p.code)
	}
}

func TestUISettingsAndTokens(t *testing.T) {
	f := newFixture(t, 0)
	ctx := context.Background()
	b := newBrowser(t, f)
	b.signIn(f.admin, "", "")
	base := "/c/" + f.counter.ID.String() + "/settings"
	p := b.get(base)
	csrf := csrfOf(t, p)
	if !strings.Contains(p.body, "/tag.js") || !strings.Contains(p.body, "ym("+f.counter.ID.String()+", &#34;init&#34;") {
		t.Errorf("snippet: %.300s", p.body)
	}
	p = b.post(base, url.Values{"csrf": {csrf}, "name": {"Shop 2"}, "currency": {"eur"}, "locale": {"de"},
		"session_timeout": {"45"}, "link_window": {"7"}, "keep_pii": {"on"}})
	if msg := b.flash(p); !strings.HasPrefix(msg, "Settings saved") {
		t.Fatalf("save: %d %q, then %q", p.code, p.location, msg)
	}
	c, _ := f.store.Counter(ctx, f.counter.ID)
	if c.Name != "Shop 2" || c.Currency != "EUR" || c.Locale != "de" || c.LinkWindow.Hours() != 7*24 || !c.KeepPII {
		t.Errorf("counter after save: %+v", c)
	}
	p = b.post(base, url.Values{"csrf": {csrf}, "name": {"Shop 2"}, "currency": {"EURO"}, "session_timeout": {"45"}, "link_window": {"7"}})
	if msg := b.flash(p); !strings.HasPrefix(msg, "Not saved") {
		t.Errorf("bad currency: %q", msg)
	}

	// A token made on the page is shown once and works; revoking it
	// stops it.
	p = b.post("/c/"+f.counter.ID.String()+"/tokens", url.Values{"csrf": {csrf}, "name": {"crm script"}, "scope": {"write"}})
	if p.code != http.StatusSeeOther {
		t.Fatalf("create token: %d", p.code)
	}
	p = b.get(base)
	m := regexp.MustCompile(`<pre id="new-token">(crm_[A-Za-z0-9_-]+)</pre>`).FindStringSubmatch(p.body)
	if m == nil {
		t.Fatalf("new token not shown: %.300s", p.body)
	}
	if p := b.get(base); strings.Contains(p.body, m[1]) {
		t.Error("the new token is shown twice")
	}
	check := func() int {
		code, _ := f.do(t, "GET", "/management/v1/counter/"+f.counter.ID.String(), "OAuth "+m[1], nil, "")
		return code
	}
	if check() != 200 {
		t.Fatal("the new token does not work")
	}
	if p := b.post("/c/"+f.counter.ID.String()+"/tokens/revoke", url.Values{"csrf": {csrf}, "hash": {crmhttp.HashToken(f.foreign)}}); p.code != 404 {
		t.Errorf("revoking another counter's token: %d", p.code)
	}
	if p := b.post("/c/"+f.counter.ID.String()+"/tokens/revoke", url.Values{"csrf": {csrf}, "hash": {crmhttp.HashToken(m[1])}}); p.code != http.StatusSeeOther {
		t.Errorf("revoke: %d", p.code)
	}
	if check() != http.StatusUnauthorized {
		t.Error("a revoked token still works")
	}
}

// TestUIYandexSettings: an admin sets the counter's Yandex Audience token
// on the Settings page; the page never shows it again; an empty token
// keeps it; a bad URL is refused; a writer cannot set it.
func TestUIYandexSettings(t *testing.T) {
	f := newFixture(t, 0)
	ctx := context.Background()
	b := newBrowser(t, f)
	b.signIn(f.admin, "", "")
	cid := f.counter.ID.String()
	csrf := csrfOf(t, b.get("/c/"+cid+"/settings"))
	p := b.post("/c/"+cid+"/yandex", url.Values{"csrf": {csrf}, "base_url": {"https://audience.example"}, "token": {"y0_secret"}})
	if msg := b.flash(p); !strings.HasPrefix(msg, "Yandex Audience settings saved") {
		t.Fatalf("save: %d %q", p.code, msg)
	}
	tg, err := f.store.AudienceTarget(ctx, f.counter.ID, "yandex")
	if err != nil || tg.Token != "y0_secret" || tg.BaseURL != "https://audience.example" {
		t.Fatalf("target %+v, %v", tg, err)
	}
	if page := b.get("/c/" + cid + "/settings"); strings.Contains(page.body, "y0_secret") || !strings.Contains(page.body, "Token set") {
		t.Errorf("the settings page shows the token, or not that it is set")
	}
	b.post("/c/"+cid+"/yandex", url.Values{"csrf": {csrf}, "base_url": {"https://audience2.example"}, "token": {""}})
	if tg, _ := f.store.AudienceTarget(ctx, f.counter.ID, "yandex"); tg.Token != "y0_secret" || tg.BaseURL != "https://audience2.example" {
		t.Errorf("an empty token did not keep it: %+v", tg)
	}
	p = b.post("/c/"+cid+"/yandex", url.Values{"csrf": {csrf}, "base_url": {"ftp://x"}, "token": {"t"}})
	if msg := b.flash(p); !strings.Contains(msg, "the API address is not an http(s) URL") {
		t.Errorf("bad URL: %q", msg)
	}
	w := newBrowser(t, f)
	w.signIn(f.write, "", "")
	wcsrf := csrfOf(t, w.get("/c/"+cid+"/settings"))
	if p := w.post("/c/"+cid+"/yandex", url.Values{"csrf": {wcsrf}, "token": {"other"}}); p.code != http.StatusForbidden {
		t.Errorf("a writer set the token: %d", p.code)
	}
}

func TestUIStatic(t *testing.T) {
	f := newFixture(t, 0)
	b := newBrowser(t, f)
	p := b.get("/signin")
	m := regexp.MustCompile(`href="(/static/[0-9a-f]+/app\.css)"`).FindStringSubmatch(p.body)
	if m == nil {
		t.Fatal("no stylesheet link")
	}
	css := b.get(m[1])
	if css.code != 200 || !strings.Contains(css.header.Get("Cache-Control"), "immutable") || !strings.HasPrefix(css.header.Get("Content-Type"), "text/css") {
		t.Errorf("app.css: %d %v", css.code, css.header)
	}
	if p := b.get("/static/old/app.css"); p.code != 200 || strings.Contains(p.header.Get("Cache-Control"), "immutable") {
		t.Errorf("an old version's file: %d %v", p.code, p.header)
	}
	lic := b.get("/static/x/vendor/chart.js-LICENSE.md")
	if lic.code != 200 || !strings.Contains(lic.body, "MIT") {
		t.Errorf("Chart.js licence: %d", lic.code)
	}
	if p := b.get("/static/x/../web.go"); p.code == 200 {
		t.Errorf("path escape: %d", p.code)
	}
}

func TestUISourcesColumns(t *testing.T) {
	f := newShopFixture(t)
	b := newBrowser(t, f.fixture)
	b.signIn(f.admin, "", "")
	base := "/c/" + f.shop.ID.String() + "/sources?date1=2026-01-29&date2=2026-02-01"
	head := regexp.MustCompile(`<thead>.*?</thead>`)
	for _, tc := range []struct {
		query    string
		has, not []string
	}{
		{"", []string{"Sessions", "Paid", "Revenue", "Average order value"}, nil},
		{"&col=-&col=paid", []string{"Sessions", "All orders", "Paid"}, []string{"Revenue", "Cancelled"}},
		{"&col=-", []string{"Sessions", "All orders"}, []string{"Paid", "Revenue"}},
	} {
		p := b.get(base + tc.query)
		h := head.FindString(strings.ReplaceAll(p.body, "\n", " "))
		for _, s := range tc.has {
			if !strings.Contains(h, ">"+s) {
				t.Errorf("%q: no column %q in %s", tc.query, s, h)
			}
		}
		for _, s := range tc.not {
			if strings.Contains(h, ">"+s) {
				t.Errorf("%q: column %q shown", tc.query, s)
			}
		}
	}
}

func TestUIUserManagement(t *testing.T) {
	f := newFixture(t, 0)
	ctx := context.Background()
	b := newBrowser(t, f)
	b.signIn(f.admin, "", "")
	base := "/c/" + f.counter.ID.String()
	csrf := csrfOf(t, b.get(base+"/settings"))
	add := func(user, password, scope string) string {
		return b.flash(b.post(base+"/users", url.Values{"csrf": {csrf}, "user": {user}, "password": {password}, "scope": {scope}}))
	}
	if msg := add("maria", "long enough pw", "write"); msg != "User maria can sign in." {
		t.Errorf("add: %q", msg)
	}
	for _, bad := range [][3]string{{"maria", "long enough pw", "read"}, {"bad name!", "long enough pw", "read"}, {"ivan", "short", "read"}} {
		if msg := add(bad[0], bad[1], bad[2]); !strings.HasPrefix(msg, "User not added") {
			t.Errorf("add %v: %q", bad, msg)
		}
	}
	u, err := f.store.User(ctx, "maria")
	if err != nil || u.CounterID != f.counter.ID || u.Scope != crmlink.ScopeWrite {
		t.Fatalf("maria: %+v, %v", u, err)
	}
	if p := b.get(base + "/settings"); !strings.Contains(p.body, "<td>maria</td>") {
		t.Error("maria is not listed")
	}
	// She signs in; removed, she is signed out.
	m := newBrowser(t, f)
	if p := m.signIn("", "maria", "long enough pw"); p.code != http.StatusSeeOther {
		t.Fatalf("maria signs in: %d", p.code)
	}
	if p := m.get(base + "/"); p.code != 200 {
		t.Fatalf("maria's overview: %d", p.code)
	}
	if p := b.post(base+"/users/remove", url.Values{"csrf": {csrf}, "user": {"maria"}}); p.code != http.StatusSeeOther {
		t.Errorf("remove: %d", p.code)
	}
	if p := m.get(base + "/"); p.code != http.StatusSeeOther {
		t.Errorf("removed maria's browser: %d, want a redirect to sign in", p.code)
	}
	// A user of every counter is not removed from a counter's page.
	if err := f.store.CreateUser(ctx, &crmlink.User{Name: "root", PasswordHash: "x", Scope: crmlink.ScopeAdmin}); err != nil {
		t.Fatal(err)
	}
	if p := b.post(base+"/users/remove", url.Values{"csrf": {csrf}, "user": {"root"}}); p.code != 404 {
		t.Errorf("removing an all-counter user: %d", p.code)
	}
}

func TestUINotFoundPage(t *testing.T) {
	f := newFixture(t, 0)
	b := newBrowser(t, f)
	b.signIn(f.admin, "", "")
	p := b.get("/c/" + f.counter.ID.String() + "/nothing/here")
	if p.code != 404 || !strings.Contains(p.header.Get("Content-Type"), "text/html") || !strings.Contains(p.body, "no such page") {
		t.Errorf("unknown page: %d %s %.200s", p.code, p.header.Get("Content-Type"), p.body)
	}
	// The API's unknown paths still answer JSON.
	if code, body := f.do(t, "GET", "/cdp/api/v1/nothing", "OAuth "+f.admin, nil, ""); code != 404 || body["errors"] == nil {
		t.Errorf("API 404: %d %v", code, body)
	}
}

// TestUICustomerIDs: customer ids with slashes, spaces and other signs
// link to their own pages.
func TestUICustomerIDs(t *testing.T) {
	f := newFixture(t, 0)
	ctx := context.Background()
	id := "a/b c?#%"
	if err := f.store.UploadContacts(ctx, &crmlink.Upload{CounterID: f.counter.ID, MergeMode: crmlink.MergeSave},
		&storetest.ContactSlice{Contacts: []crmlink.Contact{{UniqID: id, Name: "Odd", Fields: crmlink.FieldName}}}); err != nil {
		t.Fatal(err)
	}
	b := newBrowser(t, f)
	b.signIn(f.admin, "", "")
	base := "/c/" + f.counter.ID.String() + "/clients"
	p := b.get(base)
	m := regexp.MustCompile(`href="(` + regexp.QuoteMeta(base) + `/[^"]+)"`).FindStringSubmatch(p.body)
	if m == nil {
		t.Fatalf("no customer link: %.500s", p.body)
	}
	if c := b.get(strings.ReplaceAll(m[1], "&amp;", "&")); c.code != 200 || !strings.Contains(c.body, "<h1>Odd</h1>") {
		t.Errorf("GET %s: %d", m[1], c.code)
	}
}

func TestUISigninLimit(t *testing.T) {
	f := newFixture(t, 0)
	b := newBrowser(t, f)
	for range 20 {
		if p := b.signIn("crm_wrong", "", ""); !strings.Contains(p.body, "not valid") {
			t.Fatalf("a wrong token: %.300s", p.body)
		}
	}
	// Even the right token is refused from this address for a while.
	if p := b.signIn(f.admin, "", ""); p.code != 200 || !strings.Contains(p.body, "Too many failed sign-ins") {
		t.Errorf("after 20 failures: %d %.300s", p.code, p.body)
	}
	f.clock.Add(16 * time.Minute)
	if p := b.signIn(f.admin, "", ""); p.code != http.StatusSeeOther {
		t.Errorf("after the window: %d", p.code)
	}
}

// TestUIUnlinkedOrders: the orders no session brought are a row of their
// own on Order sources and in its download, the upload's page lists them
// with the reason for each, and the customer's page says why; an order's
// session and a session's orders link to each other.
func TestUIUnlinkedOrders(t *testing.T) {
	f := newFixture(t, 0)
	upID := uploadOneUnlinked(t, f)

	b := newBrowser(t, f)
	b.signIn(f.admin, "", "")
	base := "/c/" + f.counter.ID.String()
	p := b.get(base + "/sources?date1=2026-02-01&date2=2026-02-01")
	row := regexp.MustCompile(`(?s)<tr class="unlinked" id="unlinked-row".*?</tr>`).FindString(p.body)
	if p.code != 200 || !strings.Contains(row, "Not linked to a session") || !strings.Contains(row, "250.50") {
		t.Errorf("sources: %d, unlinked row %q", p.code, row)
	}
	csv := b.get(base + "/sources.csv?date1=2026-02-01&date2=2026-02-01")
	lines := strings.Split(strings.TrimSpace(csv.body), "\n")
	if last := lines[len(lines)-1]; !strings.HasPrefix(last, "Not linked to a session,") || !strings.Contains(last, ",250.50") {
		t.Errorf("sources.csv ends with %q", last)
	}
	p = b.get(base + "/uploads/" + upID)
	tbl := regexp.MustCompile(`(?s)<table id="unlinked-orders">.*?</table>`).FindString(p.body)
	if !strings.Contains(tbl, "<code>O2</code>") || !strings.Contains(tbl, "customer unknown to the site") || strings.Contains(tbl, "O1") {
		t.Errorf("upload page's unlinked orders: %q", tbl)
	}
	p = b.get(base + "/clients/C2")
	if !strings.Contains(p.body, "not linked to a session</span> <span class=\"sub reason\">customer unknown to the site") {
		t.Errorf("C2's page does not say why O2 has no session: %.2000s", p.body)
	}
	p = b.get(base + "/clients/C1")
	if !strings.Contains(p.body, `<a href="#s900">`) || !strings.Contains(p.body, `<a href="#order-O1">`) || !strings.Contains(p.body, `id="s900"`) {
		t.Errorf("C1's order and session do not link to each other: %.3000s", p.body)
	}
	b.lang = "ru" // the counter has no locale: the browser's language decides
	p = b.get(base + "/sources?date1=2026-02-01&date2=2026-02-01")
	if row := regexp.MustCompile(`(?s)<tr class="unlinked".*?</tr>`).FindString(p.body); !strings.Contains(row, "Не связаны с визитом") {
		t.Errorf("sources in Russian: unlinked row %q", row)
	}
}

// TestUIClientsFilters: the Clients page filters as the API does, and its
// download holds every customer they select, titled as the page.
func TestUIClientsFilters(t *testing.T) {
	f := newShopFixture(t)
	b := newBrowser(t, f.fixture)
	b.signIn(f.admin, "", "")
	base := "/c/" + f.shop.ID.String() + "/clients"
	rows := func(p page) string {
		t.Helper()
		if p.code != 200 {
			t.Fatalf("%d %.500s", p.code, p.body)
		}
		tbl := regexp.MustCompile(`(?s)<table class="report" id="clients">.*?</table>`).FindString(p.body)
		var ids []string
		for _, m := range regexp.MustCompile(`<div class="sub">([^<]+)</div>`).FindAllStringSubmatch(tbl, -1) {
			ids = append(ids, m[1])
		}
		return strings.Join(ids, ",")
	}
	for _, tc := range []struct{ query, want string }{
		{"", "alice,bob"},
		{"?source=ad", "alice"},
		{"?status=PAID&min_spent=300", "alice"},
		{"?max_spent=0", "bob"},
		{"?date1=2026-02-02", ""},
		{"?sort=-sessions", "alice,bob"}, // not sortable: the default order
	} {
		if got := rows(b.get(base + tc.query)); got != tc.want {
			t.Errorf("%s: %q, want %q", tc.query, got, tc.want)
		}
	}
	p := b.get(base + "?source=ad")
	if !strings.Contains(p.body, `<option value="ad" selected>`) || !strings.Contains(p.body, `href="`+base+`.csv?source=ad`) {
		t.Errorf("the form does not keep the filter or the download lacks it: %.3000s", p.body)
	}
	csv := b.get(base + ".csv?max_spent=0")
	lines := strings.Split(strings.TrimSpace(csv.body), "\n")
	if csv.code != 200 || !strings.HasPrefix(csv.body, "\uFEFFCustomer,Name,ClientIDs,") || len(lines) != 2 || !strings.HasPrefix(lines[1], "bob,Bob,") {
		t.Errorf("clients.csv: %d %q", csv.code, csv.body)
	}
	csv = b.get(base + ".csv")
	if lines := strings.Split(strings.TrimSpace(csv.body), "\n"); len(lines) != 3 || !strings.Contains(lines[1], "Ad traffic") {
		t.Errorf("clients.csv of every customer: %q", csv.body)
	}
	b.lang = "ru"
	csv = b.get(base + ".csv")
	if !strings.Contains(strings.SplitN(csv.body, "\n", 2)[0], "Дней с первого заказа") {
		t.Errorf("clients.csv in Russian: %q", csv.body)
	}
}
