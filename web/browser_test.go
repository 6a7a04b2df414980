package web_test

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/cdproto/cdp"
	"github.com/chromedp/cdproto/network"
	"github.com/chromedp/chromedp"

	"github.com/crmlink/crmlink"
	"github.com/crmlink/crmlink/collect"
	"github.com/crmlink/crmlink/crm"
	_ "github.com/crmlink/crmlink/duckdb" // the engine the tests run on
	crmhttp "github.com/crmlink/crmlink/http"
	"github.com/crmlink/crmlink/internal/browsertest"
	"github.com/crmlink/crmlink/store"
	"github.com/crmlink/crmlink/store/storetest"
	"github.com/crmlink/crmlink/traffic"
	"github.com/shopspring/decimal"
)

// The browser tests drive a real Chromium through chromedp: a test site on
// one origin carries Metrica's standard snippet pointed at crmlink's tag on
// another origin, and the test reads what the collector stored. They skip
// where no Chromium is installed (CI installs it: .ci/run).

// browserUA is a desktop Chrome's user agent. Headless Chromium says
// "HeadlessChrome", which the collector takes for a robot; a visitor's
// browser does not.
const browserUA = "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/140.0.0.0 Safari/537.36"

// wireHit is one request the browser made to /collect.
type wireHit struct {
	Method, ContentType, Origin, UserAgent, Body string
	Status                                       int
}

// hitLog records the /collect requests that reach crmlink's server.
type hitLog struct {
	mu   sync.Mutex
	hits []wireHit
}

func (l *hitLog) wrap(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if !strings.HasPrefix(r.URL.Path, "/collect/") {
			next.ServeHTTP(w, r)
			return
		}
		body, _ := io.ReadAll(r.Body)
		r.Body = io.NopCloser(bytes.NewReader(body))
		if r.Method == http.MethodGet {
			body = []byte(r.URL.RawQuery)
		}
		sw := &statusWriter{ResponseWriter: w, code: http.StatusOK}
		next.ServeHTTP(sw, r)
		l.mu.Lock()
		l.hits = append(l.hits, wireHit{Method: r.Method, ContentType: r.Header.Get("Content-Type"), Origin: r.Header.Get("Origin"),
			UserAgent: r.UserAgent(), Body: string(body), Status: sw.code})
		l.mu.Unlock()
	})
}

func (l *hitLog) all() []wireHit {
	l.mu.Lock()
	defer l.mu.Unlock()
	return slices.Clone(l.hits)
}

type statusWriter struct {
	http.ResponseWriter
	code int
}

func (w *statusWriter) WriteHeader(code int) {
	w.code = code
	w.ResponseWriter.WriteHeader(code)
}

// browserFixture is crmlink's server with a collector on a fresh store, a
// test site on another origin, and a browser.
type browserFixture struct {
	store   crmlink.Store
	counter *crmlink.Counter
	crmlink *httptest.Server // crmlink: /tag.js and /collect
	site    *httptest.Server // the site that carries the tag
	hits    *hitLog
	browser *browsertest.Browser
	ctx     context.Context // the browser's tab

	mu    sync.Mutex
	pages map[string]string // the site's pages by path
}

func (f *browserFixture) setPage(path, html string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.pages[path] = html
}

func newBrowserFixture(t *testing.T) *browserFixture {
	t.Helper()
	chromium := browsertest.Chromium(t)
	ctx := context.Background()
	clock := crmlink.SystemClock{} // the browser's timing is real
	st, err := store.Open(ctx, "duckdb://"+filepath.Join(t.TempDir(), "b.db"), store.Config{Clock: clock})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	cnt := &crmlink.Counter{Name: "Browser test", Site: "127.0.0.1", TimeZone: "UTC", Currency: "RUB"}
	if err := cnt.Normalize(); err != nil {
		t.Fatal(err)
	}
	if err := st.CreateCounter(ctx, cnt); err != nil {
		t.Fatal(err)
	}
	cls := traffic.New()
	col := collect.New(collect.Config{Store: st, Clock: clock, Enricher: collect.NewEnricher(cls.Classify)})
	t.Cleanup(col.Close)
	f := &browserFixture{store: st, counter: cnt, pages: map[string]string{}, hits: &hitLog{}}
	logger := slog.New(slog.NewTextHandler(io.Discard, nil))
	f.crmlink = httptest.NewServer(f.hits.wrap(crmhttp.NewServer(crmhttp.Config{Store: st, Clock: clock, Classifier: cls,
		Collector: col, Logger: logger})))
	t.Cleanup(f.crmlink.Close) // runs before col.Close: no hit arrives at a closed collector
	f.site = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		f.mu.Lock()
		page, ok := f.pages[r.URL.Path]
		f.mu.Unlock()
		if !ok {
			http.NotFound(w, r)
			return
		}
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		io.WriteString(w, page)
	}))
	t.Cleanup(f.site.Close)

	f.browser = browsertest.Start(t, chromium, false,
		chromedp.UserAgent(browserUA),
		// A visitor's browser is not driven by automation: no
		// navigator.webdriver, which the tag reports and the collector
		// takes for a robot.
		chromedp.Flag("enable-automation", false),
		chromedp.Flag("disable-blink-features", "AutomationControlled"),
	)
	f.ctx = f.browser.Ctx
	return f
}

// page is a site page with Metrica's standard snippet, only the script URL
// changed to crmlink's; extra runs right after init, before the tag loads.
func (f *browserFixture) page(title, extra, body string) string {
	return fmt.Sprintf(`<!doctype html>
<html><head><meta charset="utf-8"><title>%s</title>
<script type="text/javascript">
(function(m,e,t,r,i,k,a){m[i]=m[i]||function(){(m[i].a=m[i].a||[]).push(arguments)};m[i].l=1*new Date();for (var j = 0; j < document.scripts.length; j++) {if (document.scripts[j].src === r) { return; }}k=e.createElement(t),a=e.getElementsByTagName(t)[0],k.async=1,k.src=r,a.parentNode.insertBefore(k,a)})(window, document, "script", "%s/tag.js", "ym");
ym(%d, "init", {clickmap:true, trackLinks:true, accurateTrackBounce:true, ecommerce:"dataLayer"});
%s
</script>
</head><body>%s</body></html>`, title, f.crmlink.URL, f.counter.ID, extra, body)
}

// run runs browser actions with a deadline.
func (f *browserFixture) run(t *testing.T, what string, steps ...chromedp.Action[chromedp.Void]) {
	t.Helper()
	ctx, cancel := context.WithTimeout(f.ctx, 20*time.Second)
	defer cancel()
	if err := chromedp.Do(ctx, steps...); err != nil {
		t.Fatalf("%s: %v", what, err)
	}
}

// eval evaluates a JavaScript expression, awaiting a promise.
func eval[T any](t *testing.T, f *browserFixture, expr string) T {
	t.Helper()
	ctx, cancel := context.WithTimeout(f.ctx, 20*time.Second)
	defer cancel()
	v, err := chromedp.Run(ctx, chromedp.Evaluate[T](expr, chromedp.EvalAwaitPromise))
	if err != nil {
		t.Fatalf("evaluating %s: %v", expr, err)
	}
	return v
}

// tagLoaded waits until tag.js replaced the snippet's queueing stub.
func tagLoaded() chromedp.Action[chromedp.Void] {
	poll := chromedp.Poll[chromedp.Void](`typeof window.ym === "function" && !window.ym.a && document.readyState === "complete"`,
		chromedp.WithPollingTimeout(15*time.Second))
	return func(ctx context.Context, t *chromedp.Target) (chromedp.Void, error) {
		for {
			v, err := poll(ctx, t)
			// A navigation that replaces the page's JavaScript context
			// while the poll runs in it ends the poll with this error;
			// the new page's context is polled then.
			if err == nil || ctx.Err() != nil || !strings.Contains(err.Error(), "Cannot find context with specified id") {
				return v, err
			}
			time.Sleep(20 * time.Millisecond)
		}
	}
}

// cookie returns the site's _crm_uid cookie as the browser keeps it.
func (f *browserFixture) cookie(t *testing.T) *network.Cookie {
	t.Helper()
	res, err := chromedp.Call(f.ctx, network.GetCookies, network.GetCookiesParams{URLs: []string{f.site.URL + "/"}})
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range res.Cookies {
		if c.Name == "_crm_uid" {
			return c
		}
	}
	t.Fatalf("no _crm_uid cookie among %d cookies of %s", len(res.Cookies), f.site.URL)
	return nil
}

// waitFor polls the store until check reports nil, or fails with its last
// complaint: beacons are asynchronous.
func (f *browserFixture) waitFor(t *testing.T, check func() error) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		err := check()
		if err == nil {
			return
		}
		if time.Now().After(deadline) {
			for _, h := range f.hits.all() {
				t.Logf("hit: %s %d %s", h.Method, h.Status, h.Body)
			}
			t.Fatalf("after 10s: %v", err)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// checkTransport asserts that every hit was a POST (sendBeacon, or fetch
// for a page's first page view) of text/plain from the site's origin with
// the browser's user agent, that it was stored, and that no page threw.
func (f *browserFixture) checkTransport(t *testing.T) {
	t.Helper()
	for _, h := range f.hits.all() {
		if h.Status != http.StatusNoContent || h.Method != http.MethodPost || !strings.HasPrefix(h.ContentType, "text/plain") ||
			h.Origin != f.site.URL || h.UserAgent != browserUA {
			t.Errorf("hit %s %s: status %d, type %q, origin %q (want %s), UA %q", h.Method, h.Body, h.Status, h.ContentType, h.Origin, f.site.URL, h.UserAgent)
		}
		if strings.Contains(h.Body, `"wd":true`) {
			t.Errorf("hit %s: the tag saw navigator.webdriver", h.Body)
		}
	}
	for _, e := range f.browser.Errors() {
		t.Errorf("page error: %s", e)
	}
}

func parseClientID(t *testing.T, s string) uint64 {
	t.Helper()
	var id uint64
	if _, err := fmt.Sscan(s, &id); err != nil || id == 0 || fmt.Sprint(id) != s {
		t.Fatalf("ClientID %q: not a positive decimal number", s)
	}
	return id
}

// TestBrowserVisit: a visitor lands from an ad, moves through the site (a
// link, then a single-page-app route), reaches a goal, buys and leaves an
// email; the collector stores one ad session with all of it.
func TestBrowserVisit(t *testing.T) {
	start := time.Now()
	f := newBrowserFixture(t)
	c := f.counter.ID
	f.setPage("/", f.page("Sale", "", `<h1>Sale</h1><a id="next" href="/item/1">Shoes</a>`))
	f.setPage("/item/1", f.page("Shoes", "", `<h1 id="item">Shoes</h1>`))
	landing := f.site.URL + "/?utm_source=yandex&utm_medium=cpc&utm_campaign=spring&yclid=123"

	f.run(t, "landing", chromedp.Navigate(landing), tagLoaded())
	gotID := eval[string](t, f, fmt.Sprintf(`new Promise(function (r) { ym(%d, "getClientID", r); })`, c))
	clientID := parseClientID(t, gotID)
	ck := f.cookie(t)
	if ck.Value != gotID {
		t.Errorf("cookie _crm_uid = %q, getClientID gave %q", ck.Value, gotID)
	}
	// The tag asks for two years; Chrome keeps a cookie at most 400 days.
	if life := time.Until(time.Unix(int64(ck.Expires), 0)); ck.Path != "/" || ck.Session || ck.HTTPOnly ||
		life < 399*24*time.Hour || life > 2*366*24*time.Hour {
		t.Errorf("cookie %+v (life %s): want path /, readable by scripts, 400 days to two years' life", ck, life)
	}

	// A link to another page: a full load, the tag again, the same cookie.
	f.run(t, "link", chromedp.Click(chromedp.ID("next")), chromedp.WaitReady(chromedp.ID("item")), tagLoaded())
	if again := eval[string](t, f, fmt.Sprintf(`new Promise(function (r) { ym(%d, "getClientID", r); })`, c)); again != gotID {
		t.Errorf("ClientID on the second page = %s, want %s", again, gotID)
	}
	// A single-page-app route.
	eval[chromedp.Void](t, f, `history.pushState({}, "", "/checkout"); undefined`)
	eval[chromedp.Void](t, f, fmt.Sprintf(`new Promise(function (r) { ym(%d, "reachGoal", "checkout", r); })`, c))
	eval[chromedp.Void](t, f, `window.dataLayer.push({ecommerce: {currencyCode: "RUB", purchase: {
		actionField: {id: "B-1001", revenue: 1990.5},
		products: [{id: "sku-1", name: "Shoes", price: 1990.5, quantity: 1}]}}}); undefined`)
	eval[chromedp.Void](t, f, fmt.Sprintf(`ym(%d, "userParams", {email: "ann@example.com"}); undefined`, c))

	ctx := context.Background()
	var s crmlink.Session
	f.waitFor(t, func() error {
		sessions, err := f.store.ClientSessions(ctx, c, clientID)
		if err != nil {
			return err
		}
		if len(sessions) != 1 {
			return fmt.Errorf("%d sessions of ClientID %d, want 1: %+v", len(sessions), clientID, sessions)
		}
		s = sessions[0]
		if s.PageViews < 3 || !slices.Contains(s.PurchaseIDs, "B-1001") || len(f.hits.all()) < 6 {
			return fmt.Errorf("session so far: %+v", s)
		}
		goals, err := f.store.Goals(ctx, c)
		if err != nil {
			return err
		}
		for _, g := range goals {
			if g.Name == "checkout" && g.Reaches == 1 {
				return nil
			}
		}
		return fmt.Errorf("goals %+v: want checkout reached once", goals)
	})
	if s.Source.Kind != crmlink.SourceAd || s.Source.UTMSource != "yandex" || s.Source.UTMCampaign != "spring" || s.Source.ClickID != "yclid=123" {
		t.Errorf("source = %+v, want ad with UTM spring and yclid=123", s.Source)
	}
	if s.ClientID != clientID || s.LandingURL != landing || s.PageViews != 3 || s.Bounce || s.Device != crmlink.DeviceDesktop ||
		s.Browser != "Chrome" || s.Bot {
		t.Errorf("session = %+v, want ClientID %d, landing %s, 3 page views, desktop Chrome, no robot", s, clientID, landing)
	}
	f.checkTransport(t)

	// The CRM's orders link to the session: one by the purchase id the
	// site pushed to dataLayer, another by the email hash of userParams
	// (the store keeps identities by ClientID, not in Session).
	h := crm.SHA256Hex("ann@example.com")
	if err := f.store.UploadContacts(ctx, &crmlink.Upload{CounterID: c}, &storetest.ContactSlice{Contacts: []crmlink.Contact{{
		UniqID: "ann", Fields: crmlink.FieldEmails, IDs: crmlink.CustomerIDs{EmailSHA256: []string{h}}}}}); err != nil {
		t.Fatal(err)
	}
	order := func(id string) crmlink.Order {
		return crmlink.Order{ID: id, UniqID: "ann", Created: time.Now(), Status: "PAID", StatusType: crmlink.StatusPaid,
			Revenue: decimal.RequireFromString("1990.5"), Fields: crmlink.FieldCustomer | crmlink.FieldCreated | crmlink.FieldStatus | crmlink.FieldRevenue}
	}
	if err := f.store.UploadOrders(ctx, &crmlink.Upload{CounterID: c}, &storetest.OrderSlice{Orders: []crmlink.Order{
		order("B-1001"), order("O-2")}}); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct{ order, method string }{{"B-1001", "purchase_id"}, {"O-2", "email"}} {
		l, err := f.store.OrderLink(ctx, c, tc.order)
		if err != nil || l == nil || l.SessionID != s.ID || l.Method != tc.method {
			t.Errorf("order %s: link %+v, %v; want session %d by %s", tc.order, l, err, s.ID, tc.method)
		}
	}
	t.Logf("%d hits; the test took %s", len(f.hits.all()), time.Since(start).Round(time.Millisecond))
}

// TestBrowserQueue: calls made before the tag arrives wait in the
// snippet's ym.a queue, the tag replays them in order, and they join the
// session of the landing page view: the tag holds a page's other hits until
// its first page view is stored, for a goal or a purchase that overtook it
// would open a direct session of its own. Several visits, each a new
// visitor, give the race its chances.
func TestBrowserQueue(t *testing.T) {
	start := time.Now()
	f := newBrowserFixture(t)
	c := f.counter.ID
	// A thank-you page reached from an ad: the purchase is in dataLayer
	// before the tag loads. The inline script runs to its end before the
	// async tag can run, so the calls are queued; queuedBefore proves it.
	f.setPage("/thanks", f.page("Thanks", fmt.Sprintf(`
window.dataLayer = [{ecommerce: {currencyCode: "RUB", purchase: {actionField: {id: "P-" + location.search.split("yclid=")[1]},
	products: [{id: "sku-1", price: 990, quantity: 2}]}}}];
ym(%[1]d, "setUserID", "u-42");
ym(%[1]d, "reachGoal", "early");
ym(%[1]d, "getClientID", function (id) { window.earlyID = id; });
window.queuedBefore = (window.ym.a || []).length;`, c), `<h1>Thanks</h1>`))

	ctx := context.Background()
	const visits = 5
	for i := range visits {
		if _, err := chromedp.Call(f.ctx, network.ClearBrowserCookies, cdp.Empty{}); err != nil {
			t.Fatal(err)
		}
		landing := fmt.Sprintf("%s/thanks?utm_source=yandex&utm_medium=cpc&utm_campaign=spring&yclid=%d", f.site.URL, i)
		f.run(t, "page", chromedp.Navigate(landing), tagLoaded())
		if n := eval[int](t, f, `window.queuedBefore`); n != 4 {
			t.Errorf("%d calls queued before the tag loaded, want 4 (init and three more)", n)
		}
		early := eval[string](t, f, `window.earlyID || ""`)
		clientID := parseClientID(t, early)
		if ck := f.cookie(t); ck.Value != early {
			t.Errorf("cookie _crm_uid = %q, the queued getClientID gave %q", ck.Value, early)
		}
		purchase := fmt.Sprintf("P-%d", i)
		var s crmlink.Session
		f.waitFor(t, func() error {
			sessions, err := f.store.ClientSessions(ctx, c, clientID)
			if err != nil {
				return err
			}
			if len(sessions) != 1 || len(f.hits.all()) < 4*(i+1) {
				return fmt.Errorf("sessions of ClientID %d: %+v, want one", clientID, sessions)
			}
			s = sessions[0]
			if s.UserID != "u-42" || !slices.Equal(s.PurchaseIDs, []string{purchase}) {
				return fmt.Errorf("session %+v: want UserID u-42 and purchase %s", s, purchase)
			}
			return nil
		})
		if s.PageViews != 1 || s.Source.Kind != crmlink.SourceAd || s.Source.ClickID != fmt.Sprintf("yclid=%d", i) ||
			s.LandingURL != landing || s.Bot {
			t.Errorf("visit %d: session = %+v, want one page view from the ad, landing %s, no robot", i, s, landing)
		}
	}
	goals, err := f.store.Goals(ctx, c)
	if err != nil {
		t.Fatal(err)
	}
	if len(goals) != 1 || goals[0].Name != "early" || goals[0].Reaches != visits {
		t.Errorf("goals %+v: want early reached %d times", goals, visits)
	}
	f.checkTransport(t)
	t.Logf("%d hits; the test took %s", len(f.hits.all()), time.Since(start).Round(time.Millisecond))
}
