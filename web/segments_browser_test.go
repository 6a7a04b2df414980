package web_test

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"net/http/httptest"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/cdproto/browser"
	"github.com/chromedp/chromedp"
	"github.com/shopspring/decimal"

	"github.com/crmlink/crmlink"
	"github.com/crmlink/crmlink/crm"
	crmhttp "github.com/crmlink/crmlink/http"
	"github.com/crmlink/crmlink/internal/browsertest"
	"github.com/crmlink/crmlink/store"
	"github.com/crmlink/crmlink/store/storetest"
)

// dashboardFixture is a dashboard on a store, with a write token to sign
// in with, and a Chromium that saves downloads in a directory.
type dashboardFixture struct {
	t        *testing.T
	st       crmlink.Store
	counter  *crmlink.Counter
	srv      *httptest.Server
	token    string
	browser  *browsertest.Browser
	ctx      context.Context
	download string
	// expected are the browser errors a step provoked on purpose (the
	// API's 4xx answers, which Chromium logs as failed loads).
	expected []string
}

// newSegmentsFixture is the dashboard on a store of a few customers.
func newSegmentsFixture(t *testing.T) *dashboardFixture {
	t.Helper()
	chromium := browsertest.Chromium(t)
	ctx := context.Background()
	clock := crmlink.SystemClock{}
	st, err := store.Open(ctx, "duckdb://"+filepath.Join(t.TempDir(), "s.db"), store.Config{Clock: clock})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	c := &crmlink.Counter{Name: "Segments test", Site: "shop.example", TimeZone: "UTC", Currency: "RUB"}
	if err := c.Normalize(); err != nil {
		t.Fatal(err)
	}
	if err := st.CreateCounter(ctx, c); err != nil {
		t.Fatal(err)
	}
	// Three customers: ann paid twice and bob once, both with an email;
	// cid has a phone and no orders.
	contact := func(id, email, phone string) crmlink.Contact {
		ct := crmlink.Contact{UniqID: id, Name: strings.ToUpper(id[:1]) + id[1:], Fields: crmlink.FieldName}
		if email != "" {
			ct.Fields |= crmlink.FieldEmails
			ct.IDs.EmailSHA256 = []string{crm.SHA256Hex(email)}
		}
		if phone != "" {
			ct.Fields |= crmlink.FieldPhones
			ct.IDs.PhoneSHA256 = []string{crm.SHA256Hex(phone)}
		}
		return ct
	}
	if err := st.UploadContacts(ctx, &crmlink.Upload{CounterID: c.ID, MergeMode: crmlink.MergeSave}, &storetest.ContactSlice{Contacts: []crmlink.Contact{
		contact("ann", "ann@example.com", ""), contact("bob", "bob@example.com", ""), contact("cid", "", "79990000001")}}); err != nil {
		t.Fatal(err)
	}
	order := func(id, who string) crmlink.Order {
		return crmlink.Order{ID: id, UniqID: who, Created: time.Now().Add(-48 * time.Hour), Status: "PAID", StatusType: crmlink.StatusPaid,
			Revenue: decimal.RequireFromString("1500"), Fields: crmlink.FieldCustomer | crmlink.FieldCreated | crmlink.FieldStatus | crmlink.FieldRevenue}
	}
	if err := st.UploadOrders(ctx, &crmlink.Upload{CounterID: c.ID}, &storetest.OrderSlice{Orders: []crmlink.Order{
		order("o1", "ann"), order("o2", "ann"), order("o3", "bob")}}); err != nil {
		t.Fatal(err)
	}
	return serveDashboard(t, chromium, st, c)
}

// serveDashboard serves st's dashboard, makes a write token for counter c
// (named "marketer") to sign in with, and starts a Chromium that saves
// downloads in a directory.
func serveDashboard(t *testing.T, chromium string, st crmlink.Store, c *crmlink.Counter) *dashboardFixture {
	t.Helper()
	f := &dashboardFixture{t: t, st: st, counter: c, token: crmhttp.NewTokenSecret(), download: t.TempDir()}
	if err := st.CreateToken(context.Background(), &crmlink.Token{Hash: crmhttp.HashToken(f.token), CounterID: c.ID, Scope: crmlink.ScopeWrite, Name: "marketer"}); err != nil {
		t.Fatal(err)
	}
	f.srv = httptest.NewServer(crmhttp.NewServer(crmhttp.Config{Store: st, Clock: crmlink.SystemClock{}, Logger: slog.New(slog.NewTextHandler(io.Discard, nil))}))
	t.Cleanup(f.srv.Close)
	// Errors of the log too: a script or a style the page's CSP refuses.
	f.browser = browsertest.Start(t, chromium, true)
	f.ctx = f.browser.Ctx
	f.do("desktop viewport", chromedp.EmulateViewport(1366, 900))
	f.do("downloads into a directory", chromedp.Func(func(ctx context.Context, _ *chromedp.Target) error {
		on := true
		_, err := chromedp.CallBrowser(ctx, browser.SetDownloadBehavior, browser.SetDownloadBehaviorParams{
			Behavior: browser.SetDownloadBehaviorBehaviorAllow, DownloadPath: f.download, EventsEnabled: &on})
		return err
	}))
	return f
}

// do runs browser actions with a deadline, then fails on a JavaScript
// error, a console error, or a failed load that no step expected.
func (f *dashboardFixture) do(what string, steps ...chromedp.Action[chromedp.Void]) {
	f.t.Helper()
	ctx, cancel := context.WithTimeout(f.ctx, 30*time.Second)
	defer cancel()
	if err := chromedp.Do(ctx, steps...); err != nil {
		f.t.Fatalf("%s: %v", what, err)
	}
	for _, e := range f.browser.Errors() {
		if !slices.ContainsFunc(f.expected, func(x string) bool { return strings.Contains(e, x) }) {
			f.t.Fatalf("%s: browser error: %s", what, e)
		}
	}
}

// shot saves a screenshot of the whole page as a test artifact.
func (f *dashboardFixture) shot(name string) {
	f.t.Helper()
	ctx, cancel := context.WithTimeout(f.ctx, 30*time.Second)
	defer cancel()
	png, err := chromedp.Run(ctx, chromedp.FullScreenshot(100))
	if err != nil {
		f.t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(f.t.ArtifactDir(), name+".png"), png, 0o644); err != nil {
		f.t.Fatal(err)
	}
}

// value evaluates a JavaScript expression.
func value[T any](f *dashboardFixture, expr string) T {
	f.t.Helper()
	ctx, cancel := context.WithTimeout(f.ctx, 30*time.Second)
	defer cancel()
	v, err := chromedp.Run(ctx, chromedp.Evaluate[T](expr))
	if err != nil {
		f.t.Fatalf("%s: %v", expr, err)
	}
	return v
}

// until waits for a JavaScript condition to hold, across a navigation:
// a poll whose page is replaced ends with an error, and polls again in the
// new page.
func until(expr string) chromedp.Action[chromedp.Void] {
	poll := chromedp.Poll[chromedp.Void](expr, chromedp.WithPollingTimeout(20*time.Second))
	return func(ctx context.Context, t *chromedp.Target) (chromedp.Void, error) {
		for {
			v, err := poll(ctx, t)
			if err == nil || ctx.Err() != nil || !strings.Contains(err.Error(), "navigated or closed") && !strings.Contains(err.Error(), "Cannot find context") {
				return v, err
			}
			time.Sleep(20 * time.Millisecond)
		}
	}
}

// TestBrowserSegments builds a segment in Chromium with the pickers, sees
// its size follow the expression and name the column of a mistake,
// previews its members, saves it, and downloads its Google file, which
// then shows in its history; a Yandex file of too few rows is refused
// with the API's message, and the page's script speaks Russian too.
func TestBrowserSegments(t *testing.T) {
	if testing.Short() {
		t.Skip("browser test")
	}
	f := newSegmentsFixture(t)
	page := "/c/" + f.counter.ID.String() + "/segments"

	f.do("sign in",
		chromedp.Navigate(f.srv.URL+"/signin?next="+page),
		chromedp.SendKeys(`input[name="token"]`, f.token),
		chromedp.Click(`button[value="token"]`),
		chromedp.WaitVisible(`#segment-form`))
	f.do("empty editor", until(`document.getElementById('segment-size').dataset.state === 'empty'`))

	// Two pickers: paid orders at least 1, and has an email.
	f.do("pick paid orders",
		chromedp.Evaluate[chromedp.Void](`(function(){var k=document.getElementById('cond-kind');k.value='paid_orders';k.dispatchEvent(new Event('change'))})()`),
		chromedp.SetValue(`input[name="paid_orders"]`, "1"),
		chromedp.Click(`#cond-add`),
		until(`document.getElementById('segment-size').dataset.state === 'ok'`))
	if got := value[string](f, `document.querySelector('#segment-size [data-size="customers"]').textContent`); got != "2" {
		t.Errorf("paid at least once: %s customers, want 2 (ann, bob)", got)
	}
	f.do("pick has an email",
		chromedp.Evaluate[chromedp.Void](`(function(){var k=document.getElementById('cond-kind');k.value='has_email';k.dispatchEvent(new Event('change'))})()`),
		until(`document.querySelector('.cond[data-kind="paid_orders"]').hidden`),
		chromedp.Click(`#cond-add`))
	want := "cdp:c:paidOrders>=1 AND cdp:c:hasEmail=='yes'"
	if got := value[string](f, `document.getElementById('expression').value`); got != want {
		t.Fatalf("expression %q, want %q", got, want)
	}
	f.do("size of both", until(`document.getElementById('segment-size').dataset.state === 'ok'`))
	if got := value[string](f, `document.querySelector('#segment-size tr[data-format="vk_email"] td.num').textContent`); got != "2" {
		t.Errorf("VK email rows: %s, want 2", got)
	}

	// A mistake typed by hand: the size says where it is.
	f.expected = append(f.expected, "status of 400")
	mistake := " AND cdp:c:paidOrders>='x'"
	f.do("type a mistake",
		chromedp.SendKeys(`#expression`, mistake),
		until(`document.getElementById('segment-size').dataset.state === 'error'`))
	if got := value[string](f, `document.getElementById('expression').value`); got != want+mistake {
		t.Fatalf("typed: %q", got)
	}
	col := fmt.Sprintf("column %d:", len(want)+len(" AND ")+1)
	if msg := value[string](f, `document.querySelector('#segment-size .error').textContent`); !strings.Contains(msg, col) || !strings.Contains(msg, "cdp:c:paidOrders compares numbers") {
		t.Errorf("the mistake's message: %q, want %q", msg, col)
	}
	// Corrected by hand: one customer paid twice.
	want = "cdp:c:paidOrders>=2 AND cdp:c:hasEmail=='yes'"
	f.do("correct it",
		chromedp.Evaluate[chromedp.Void](`(function(){var e=document.getElementById('expression');e.value="`+want+`";e.dispatchEvent(new Event('input'))})()`),
		until(`document.getElementById('segment-size').dataset.state === 'ok' && document.querySelector('#segment-size [data-size="customers"]').textContent === '1'`))

	f.do("preview members", chromedp.Click(`#segment-preview`), chromedp.WaitVisible(`#members`))
	f.shot("segments-editor")
	if ids := value[[]string](f, `Array.from(document.querySelectorAll('#members tbody td:first-child')).map(function(c){return c.textContent})`); fmt.Sprint(ids) != "[ann]" {
		t.Errorf("members %v, want [ann]", ids)
	}

	f.do("save",
		chromedp.SendKeys(`input[name="name"]`, "Paid twice, with email"),
		chromedp.Click(`#segment-form button[type="submit"]`),
		until(`location.search.indexOf('edit=') >= 0 && document.readyState === 'complete' && !!document.querySelector('article.segment')`))
	list, err := f.st.Segments(context.Background(), f.counter.ID)
	if err != nil || len(list) != 1 || list[0].Expression != want || list[0].Name != "Paid twice, with email" {
		t.Fatalf("saved: %+v, %v", list, err)
	}
	id := fmt.Sprint(list[0].ID)
	card := "#segment-" + id
	if got := value[string](f, `document.querySelector('`+card+` [data-size="customers"]').textContent`); got != "1" {
		t.Errorf("the list sizes the saved segment at %s customers", got)
	}

	// Download its Google file.
	f.do("download the Google file",
		chromedp.Click(card+` tr[data-format="google"] a[data-audience]`),
		until(`document.querySelector('`+card+` .export-status').textContent.indexOf('segment-`+id+`-google.csv') >= 0`))
	file := filepath.Join(f.download, "segment-"+id+"-google.csv")
	var got []byte
	for deadline := time.Now().Add(10 * time.Second); time.Now().Before(deadline); time.Sleep(50 * time.Millisecond) {
		if got, err = os.ReadFile(file); err == nil && len(got) > 0 {
			break
		}
	}
	if wantFile := "Email,Phone\n" + crm.SHA256Hex("ann@example.com") + ",\n"; string(got) != wantFile {
		t.Errorf("the downloaded file %s: %q, want %q", file, got, wantFile)
	}
	f.do("history", until(`!!document.querySelector('`+card+` details.history[open] tr[data-kind="download"][data-format="google"]')`))
	f.shot("segments-saved")
	if who := value[string](f, `document.querySelector('`+card+` details.history tbody td:nth-child(4)').textContent`); who != "marketer" {
		t.Errorf("the history names %q as who downloaded", who)
	}
	// The history's times are written as the page writes the segment's.
	changed := value[string](f, `document.querySelector('`+card+` .expr .sub').textContent`)
	at := value[string](f, `document.querySelector('`+card+` details.history tbody td:first-child').textContent`)
	shape := regexp.MustCompile(`[0-9]`)
	if !strings.HasSuffix(shape.ReplaceAllString(changed, "0"), " "+shape.ReplaceAllString(at, "0")) {
		t.Errorf("the history says %q, the page %q", at, changed)
	}

	// A Yandex file of one row is refused with the API's message.
	f.expected = append(f.expected, "status of 409")
	f.do("a Yandex file of too few rows",
		chromedp.Click(card+` tr[data-format="yandex_crm"] a[data-audience]`),
		until(`document.querySelector('`+card+` .export-status').textContent.indexOf('at least 100') >= 0`))

	// The push button answers with a message, whatever the server's
	// Yandex Audience set-up (none here).
	f.expected = append(f.expected, "status of 4", "status of 5")
	f.do("push", chromedp.Click(card+` button[data-push="yandex_clientid"]`),
		until(`/Not pushed|Pushed/.test(document.querySelector('`+card+` .export-status').textContent)`))

	// In Russian, the script's messages too.
	f.do("Russian",
		chromedp.Click(`nav.lang a[hreflang="ru"]`),
		chromedp.WaitVisible(`html[lang="ru"] #segment-form`),
		until(`document.getElementById('segment-size').dataset.state === 'ok'`))
	if dt := value[string](f, `document.querySelector('#segment-size dt').textContent`); dt != "Клиенты" {
		t.Errorf("the size in Russian says %q", dt)
	}
	f.do("Russian download message",
		chromedp.Click(card+` tr[data-format="vk_email"] a[data-audience]`),
		until(`document.querySelector('`+card+` .export-status').textContent.indexOf('Скачан') === 0`))
	f.shot("segments-ru")

	// The page fits a 360 px wide phone: only tables scroll, in their box.
	f.do("phone",
		chromedp.EmulateViewport(360, 740),
		chromedp.Navigate(f.srv.URL+page+"?edit="+id),
		until(`document.readyState === 'complete' && document.getElementById('segment-size').dataset.state === 'ok'`),
		chromedp.Evaluate[chromedp.Void](`(function(){var k=document.getElementById('cond-kind');k.value='source';k.dispatchEvent(new Event('change'))})()`),
		chromedp.Click(`#segment-preview`), chromedp.WaitVisible(`#members`))
	f.shot("segments-phone")
	if wide := value[bool](f, `document.documentElement.scrollWidth > window.innerWidth + 1`); wide {
		t.Error("the Segments page is wider than 360 px")
	}

	// Delete, once confirmed: the page goes back to an empty list.
	f.do("delete",
		chromedp.Evaluate[chromedp.Void](`window.confirm = function () { return true; }`),
		chromedp.Click(`#segment-delete`),
		until(`location.search === '' && document.readyState === 'complete' && !!document.getElementById('segment-form') && !document.querySelector('article.segment')`))
	if list, err := f.st.Segments(context.Background(), f.counter.ID); err != nil || len(list) != 0 {
		t.Errorf("after delete: %d segments, %v", len(list), err)
	}
}
