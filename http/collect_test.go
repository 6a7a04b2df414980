package http_test

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/crmlink/crmlink"
	"github.com/crmlink/crmlink/collect"
	"github.com/crmlink/crmlink/crm"
	crmhttp "github.com/crmlink/crmlink/http"
	"github.com/crmlink/crmlink/store/storetest"
	"github.com/crmlink/crmlink/traffic"
	"github.com/crmlink/crmlink/web"
	"github.com/shopspring/decimal"
)

const chromeUA = "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/124.0.0.0 Safari/537.36"
const iphoneUA = "Mozilla/5.0 (iPhone; CPU iPhone OS 17_4 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.4 Mobile/15E148 Safari/604.1"

type collectFixture struct {
	srv     *httptest.Server
	store   crmlink.Store
	clock   *crmlink.FixedClock
	counter *crmlink.Counter
}

func newCollectFixture(t *testing.T) *collectFixture {
	t.Helper()
	clock := &crmlink.FixedClock{T: storetest.Epoch}
	st := tempStore(t, clock)
	cls := traffic.New()
	col := collect.New(collect.Config{Store: st, Clock: clock, Enricher: collect.NewEnricher(cls.Classify)})
	t.Cleanup(col.Close)
	srv := httptest.NewServer(crmhttp.NewServer(crmhttp.Config{Store: st, Clock: clock, Classifier: cls, Collector: col, Logger: discardLogger()}))
	t.Cleanup(srv.Close)
	return &collectFixture{srv: srv, store: st, clock: clock, counter: storetest.MustCounter(t, st, "Shop", "UTC")}
}

// hit POSTs a hit as the tag's sendBeacon does and returns the status.
func (f *collectFixture) hit(t *testing.T, ua string, hit map[string]any) int {
	t.Helper()
	body, _ := json.Marshal(hit)
	req, _ := http.NewRequest("POST", f.srv.URL+"/collect/"+f.counter.ID.String(), strings.NewReader(string(body)))
	req.Header.Set("Content-Type", "text/plain;charset=UTF-8")
	req.Header.Set("User-Agent", ua)
	req.Header.Set("Origin", "https://shop.example")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	if resp.Header.Get("Access-Control-Allow-Origin") != "*" || resp.Header.Get("Cross-Origin-Resource-Policy") != "cross-origin" {
		t.Errorf("hit answer lacks CORS headers: %v", resp.Header)
	}
	return resp.StatusCode
}

func TestCollectSessions(t *testing.T) {
	f := newCollectFixture(t)
	ctx := context.Background()
	const cid = "1772362800123456789"
	landing := "https://shop.example/sale?utm_source=yandex&utm_medium=cpc&utm_campaign=spring&yclid=4242"
	steps := []struct {
		advance time.Duration
		ua      string
		hit     map[string]any
	}{
		{0, chromeUA, map[string]any{"cid": cid, "t": "pv", "url": landing, "ref": "", "title": "Sale"}},
		{time.Minute, chromeUA, map[string]any{"cid": cid, "t": "pv", "url": "https://shop.example/item/1", "ref": landing}},
		{10 * time.Second, chromeUA, map[string]any{"cid": cid, "t": "goal", "goal": "add_to_cart", "url": "https://shop.example/item/1"}},
		{10 * time.Second, chromeUA, map[string]any{"cid": cid, "t": "params", "url": "https://shop.example/item/1",
			"params": map[string]any{"email": " Ann.Lee@Example.COM ", "plan": "gold"}, "uid": "u-77"}},
		{10 * time.Second, chromeUA, map[string]any{"cid": cid, "t": "purchase", "url": "https://shop.example/thanks",
			"purchase": map[string]any{"id": "A-1001", "revenue": 1990.5, "currency": "RUB"}}},
		// Direct, within the timeout: the same session.
		{5 * time.Minute, chromeUA, map[string]any{"cid": cid, "t": "pv", "url": "https://shop.example/", "ref": ""}},
		// After 31 idle minutes: a new, direct session.
		{31 * time.Minute, chromeUA, map[string]any{"cid": cid, "t": "pv", "url": "https://shop.example/", "ref": ""}},
		// A new external source within the timeout starts a session too.
		{time.Minute, chromeUA, map[string]any{"cid": cid, "t": "pv", "url": "https://shop.example/", "ref": "https://www.google.com/"}},
		// Another visitor on a phone.
		{0, iphoneUA, map[string]any{"cid": "1772362800987654321", "t": "pv", "url": "https://shop.example/", "ref": "https://vk.com/feed"}},
	}
	for i, s := range steps {
		f.clock.Add(s.advance)
		if code := f.hit(t, s.ua, s.hit); code != http.StatusNoContent {
			t.Fatalf("step %d: status %d, want 204", i, code)
		}
	}
	if err := f.store.SyncHits(ctx); err != nil {
		t.Fatal(err)
	}
	sessions, err := f.store.ClientSessions(ctx, f.counter.ID, 1772362800123456789)
	if err != nil {
		t.Fatal(err)
	}
	if len(sessions) != 3 {
		t.Fatalf("%d sessions, want 3: %+v", len(sessions), sessions)
	}
	ad := sessions[0]
	if ad.Source.Kind != crmlink.SourceAd || ad.Source.UTMCampaign != "spring" || ad.Source.UTMSource != "yandex" ||
		ad.Source.ClickID == "" || ad.Source.Engine == "" {
		t.Errorf("first session's source = %+v, want ad from the yclid with UTM spring", ad.Source)
	}
	if ad.PageViews != 3 || ad.Duration != 6*time.Minute+30*time.Second || ad.Bounce || ad.Device != crmlink.DeviceDesktop ||
		ad.Browser != "Chrome" || ad.OS != "Windows" || ad.LandingURL != landing || ad.UserID != "u-77" || ad.Bot {
		t.Errorf("first session = %+v", ad)
	}
	if len(ad.PurchaseIDs) != 1 || ad.PurchaseIDs[0] != "A-1001" {
		t.Errorf("purchases = %v, want A-1001", ad.PurchaseIDs)
	}
	if sessions[1].Source.Kind != crmlink.SourceDirect || sessions[1].PageViews != 1 || !sessions[1].Bounce {
		t.Errorf("second session = %+v, want a direct bounce", sessions[1])
	}
	if sessions[2].Source.Kind != crmlink.SourceOrganic || sessions[2].Source.Engine != "Google" {
		t.Errorf("third session's source = %+v, want organic Google", sessions[2].Source)
	}
	phone, err := f.store.ClientSessions(ctx, f.counter.ID, 1772362800987654321)
	if err != nil || len(phone) != 1 || phone[0].Device != crmlink.DeviceMobile || phone[0].Source.Kind != crmlink.SourceSocial || !phone[0].Bounce {
		t.Errorf("phone sessions = %+v, %v; want one social bounce", phone, err)
	}
	// A goal, even on the one page, makes the visit no bounce.
	if code := f.hit(t, iphoneUA, map[string]any{"cid": "1772362800987654321", "t": "goal", "goal": "call", "url": "https://shop.example/"}); code != http.StatusNoContent {
		t.Fatalf("goal: %d", code)
	}
	if err := f.store.SyncHits(ctx); err != nil {
		t.Fatal(err)
	}
	if phone, err = f.store.ClientSessions(ctx, f.counter.ID, 1772362800987654321); err != nil || len(phone) != 1 || phone[0].Bounce {
		t.Errorf("phone sessions after a goal = %+v, %v; want one session, no bounce", phone, err)
	}

	// The goal exists and was reached once.
	goals, err := f.store.Goals(ctx, f.counter.ID)
	if err != nil {
		t.Fatal(err)
	}
	if len(goals) != 2 || goals[0].Name != "add_to_cart" || goals[0].Reaches != 1 || goals[1].Name != "call" {
		t.Errorf("goals = %+v, want add_to_cart reached once, then call", goals)
	}

	// The hashed email the site saw links a CRM order of a contact known
	// only by that email; the purchase id links another outright.
	h := crm.SHA256Hex("ann.lee@example.com")
	up := &crmlink.Upload{CounterID: f.counter.ID}
	if err := f.store.UploadContacts(ctx, up, &storetest.ContactSlice{Contacts: []crmlink.Contact{{UniqID: "ann",
		Fields: crmlink.FieldEmails, IDs: crmlink.CustomerIDs{EmailSHA256: []string{h}}}}}); err != nil {
		t.Fatal(err)
	}
	order := func(id, contact string, created time.Time) crmlink.Order {
		return crmlink.Order{ID: id, UniqID: contact, Created: created, Status: "PAID", StatusType: crmlink.StatusPaid,
			Revenue: decimal.RequireFromString("100"), Fields: crmlink.FieldCustomer | crmlink.FieldCreated | crmlink.FieldStatus | crmlink.FieldRevenue}
	}
	if err := f.store.UploadOrders(ctx, &crmlink.Upload{CounterID: f.counter.ID}, &storetest.OrderSlice{Orders: []crmlink.Order{
		order("O-1", "ann", f.clock.Now()), order("A-1001", "ann", f.clock.Now()),
	}}); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		order   string
		session uint64
		method  string
	}{{"O-1", sessions[2].ID, "email"}, {"A-1001", ad.ID, "purchase_id"}} {
		l, err := f.store.OrderLink(ctx, f.counter.ID, tc.order)
		if err != nil || l.SessionID != tc.session || l.Method != tc.method {
			t.Errorf("order %s: link %+v, %v; want session %d by %s", tc.order, l, err, tc.session, tc.method)
		}
	}
	// A purchase that arrives after its order was uploaded takes the
	// order's link.
	if code := f.hit(t, iphoneUA, map[string]any{"cid": "1772362800987654321", "t": "purchase", "url": "https://shop.example/thanks",
		"purchase": map[string]any{"id": "O-1"}}); code != http.StatusNoContent {
		t.Fatalf("late purchase: %d", code)
	}
	if err := f.store.SyncHits(ctx); err != nil {
		t.Fatal(err)
	}
	if l, err := f.store.OrderLink(ctx, f.counter.ID, "O-1"); err != nil || l.SessionID != phone[0].ID || l.Method != "purchase_id" {
		t.Errorf("order O-1 after its purchase: %+v, %v; want the phone's session by purchase_id", l, err)
	}
}

func TestCollectRefuses(t *testing.T) {
	f := newCollectFixture(t)
	for _, tc := range []struct {
		name string
		path string
		body string
		want int
	}{
		{"unknown counter", "/collect/999", `{"cid":"1","t":"pv","url":"https://shop.example/"}`, http.StatusNotFound},
		{"no ClientID", "/collect/" + f.counter.ID.String(), `{"t":"pv","url":"https://shop.example/"}`, http.StatusBadRequest},
		{"bad kind", "/collect/" + f.counter.ID.String(), `{"cid":"5","t":"click","url":"https://shop.example/"}`, http.StatusBadRequest},
		{"relative url", "/collect/" + f.counter.ID.String(), `{"cid":"5","t":"pv","url":"/x"}`, http.StatusBadRequest},
		{"not JSON", "/collect/" + f.counter.ID.String(), `cid=5`, http.StatusBadRequest},
		{"too large", "/collect/" + f.counter.ID.String(), `{"cid":"5","t":"pv","url":"https://shop.example/","title":"` + strings.Repeat("x", 20000) + `"}`, http.StatusRequestEntityTooLarge},
	} {
		resp, err := http.Post(f.srv.URL+tc.path, "text/plain", strings.NewReader(tc.body))
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != tc.want {
			t.Errorf("%s: status %d, want %d", tc.name, resp.StatusCode, tc.want)
		}
	}
	if err := f.store.SyncHits(context.Background()); err != nil {
		t.Fatal(err)
	}
	sessions, err := f.store.SessionStats(context.Background(), f.counter.ID)
	if err != nil || sessions.Sessions != 0 {
		t.Errorf("refused hits stored sessions: %+v, %v", sessions, err)
	}

	// The GIF fallback and the CORS preflight.
	q := url.Values{"cid": {"77"}, "t": {"pv"}, "url": {"https://shop.example/"}}
	resp, err := http.Get(f.srv.URL + "/collect/" + f.counter.ID.String() + "?" + q.Encode())
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 200 || resp.Header.Get("Content-Type") != "image/gif" || !strings.HasPrefix(string(body), "GIF89a") {
		t.Errorf("GET hit: %d %s", resp.StatusCode, resp.Header.Get("Content-Type"))
	}
	req, _ := http.NewRequest("OPTIONS", f.srv.URL+"/collect/"+f.counter.ID.String(), nil)
	req.Header.Set("Origin", "https://shop.example")
	req.Header.Set("Access-Control-Request-Method", "POST")
	resp, err = http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 204 || resp.Header.Get("Access-Control-Allow-Methods") == "" {
		t.Errorf("preflight: %d %v", resp.StatusCode, resp.Header)
	}
}

func TestTagJS(t *testing.T) {
	f := newCollectFixture(t)
	for _, tc := range []struct{ path, cache string }{
		{"/tag.js", "public, max-age=3600"},
		{"/tag." + web.TagHash + ".js", "public, max-age=31536000, immutable"},
	} {
		resp, err := http.Get(f.srv.URL + tc.path)
		if err != nil {
			t.Fatal(err)
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != 200 || resp.Header.Get("Cache-Control") != tc.cache || resp.Header.Get("ETag") != `"`+web.TagHash+`"` ||
			!strings.Contains(string(body), "getClientID") {
			t.Errorf("%s: %d, cache %q, etag %q", tc.path, resp.StatusCode, resp.Header.Get("Cache-Control"), resp.Header.Get("ETag"))
		}
		req, _ := http.NewRequest("GET", f.srv.URL+tc.path, nil)
		req.Header.Set("If-None-Match", `"`+web.TagHash+`"`)
		resp, err = http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusNotModified {
			t.Errorf("%s with its ETag: %d, want 304", tc.path, resp.StatusCode)
		}
	}
}

// TestCollectSlowBody: a hit whose body is held back is answered 400 at
// the read deadline and its connection let go, not held open for as
// long as the sender likes; a whole hit on the next connection is taken.
func TestCollectSlowBody(t *testing.T) {
	clock := &crmlink.FixedClock{T: storetest.Epoch}
	st := tempStore(t, clock)
	cls := traffic.New()
	col := collect.New(collect.Config{Store: st, Clock: clock, Enricher: collect.NewEnricher(cls.Classify)})
	t.Cleanup(col.Close)
	srv := httptest.NewServer(crmhttp.NewServer(crmhttp.Config{Store: st, Clock: clock, Classifier: cls, Collector: col,
		Logger: discardLogger(), CollectReadTimeout: 300 * time.Millisecond}))
	t.Cleanup(srv.Close)
	c := storetest.MustCounter(t, st, "Shop", "UTC")

	const conns = 20
	type result struct {
		status string
		took   time.Duration
	}
	results := make(chan result, conns)
	for range conns {
		go func() {
			conn, err := net.Dial("tcp", srv.Listener.Addr().String())
			if err != nil {
				results <- result{status: err.Error()}
				return
			}
			defer conn.Close()
			start := time.Now()
			fmt.Fprintf(conn, "POST /collect/%d HTTP/1.1\r\nHost: x\r\nContent-Type: text/plain\r\nContent-Length: 1000\r\n\r\n{\"cid\":\"5\",", c.ID)
			conn.SetReadDeadline(time.Now().Add(10 * time.Second))
			line, err := bufio.NewReader(conn).ReadString('\n')
			if err != nil {
				results <- result{status: err.Error(), took: time.Since(start)}
				return
			}
			results <- result{status: strings.TrimSpace(line), took: time.Since(start)}
		}()
	}
	for range conns {
		r := <-results
		if r.status != "HTTP/1.1 400 Bad Request" || r.took > 5*time.Second {
			t.Errorf("a held-back hit: %q after %v, want 400 at the deadline", r.status, r.took)
		}
	}
	f := &collectFixture{srv: srv, store: st, clock: clock, counter: c}
	if code := f.hit(t, chromeUA, map[string]any{"cid": "6", "t": "pv", "url": "https://shop.example/"}); code != http.StatusNoContent {
		t.Errorf("a whole hit after them: %d", code)
	}
}
