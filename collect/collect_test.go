package collect

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"reflect"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/crmlink/crmlink"
	"github.com/crmlink/crmlink/crm"
	"github.com/crmlink/crmlink/traffic"
	"github.com/medama-io/go-useragent"
)

func TestEnrichSteps(t *testing.T) {
	e := NewEnricher(traffic.New().Classify)
	for _, tc := range []struct {
		name      string
		ua        string
		header    http.Header
		webdriver bool
		hit       crmlink.Hit
		check     func(h *crmlink.Hit) string
	}{
		{"desktop chrome from google", "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/124.0.0.0 Safari/537.36",
			http.Header{"Cf-Ipcountry": {"de"}},
			false, crmlink.Hit{Kind: crmlink.HitPageview, URL: "https://shop.example/", Referrer: "https://www.google.de/"},
			func(h *crmlink.Hit) string {
				if h.Bot || h.Device != crmlink.DeviceDesktop || h.Browser != "Chrome" || h.OS != "Windows" || h.Country != "DE" ||
					h.Source.Kind != crmlink.SourceOrganic || !h.External {
					return "want a desktop Chrome visitor from Germany, organic"
				}
				return ""
			}},
		{"iphone safari, internal", "Mozilla/5.0 (iPhone; CPU iPhone OS 17_4 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.4 Mobile/15E148 Safari/604.1",
			nil, false, crmlink.Hit{Kind: crmlink.HitPageview, URL: "https://shop.example/b", Referrer: "https://shop.example/a"},
			func(h *crmlink.Hit) string {
				if h.Bot || h.Device != crmlink.DeviceMobile || h.OS != "iOS" || h.Source.Kind != crmlink.SourceInternal || h.External {
					return "want an internal iPhone page view"
				}
				return ""
			}},
		{"ad click", "Mozilla/5.0 (X11; Linux x86_64; rv:125.0) Gecko/20100101 Firefox/125.0", nil, false,
			crmlink.Hit{Kind: crmlink.HitPageview, URL: "https://shop.example/?utm_source=yandex&utm_medium=cpc&yclid=5"},
			func(h *crmlink.Hit) string {
				if h.Source.Kind != crmlink.SourceAd || h.Source.UTMSource != "yandex" || !h.External || h.Browser != "Firefox" {
					return "want an ad click in Firefox"
				}
				return ""
			}},
		{"crawler", "Mozilla/5.0 (compatible; Googlebot/2.1; +http://www.google.com/bot.html)", nil, false,
			crmlink.Hit{Kind: crmlink.HitPageview, URL: "https://shop.example/"},
			func(h *crmlink.Hit) string { return map[bool]string{false: "want a robot"}[h.Bot] }},
		{"headless", "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) HeadlessChrome/124.0.0.0 Safari/537.36", nil, false,
			crmlink.Hit{Kind: crmlink.HitPageview, URL: "https://shop.example/"},
			func(h *crmlink.Hit) string { return map[bool]string{false: "want a robot"}[h.Bot] }},
		{"webdriver", "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/124.0.0.0 Safari/537.36", nil, true,
			crmlink.Hit{Kind: crmlink.HitPageview, URL: "https://shop.example/"},
			func(h *crmlink.Hit) string { return map[bool]string{false: "want a robot"}[h.Bot] }},
		{"no user agent", "", nil, false, crmlink.Hit{Kind: crmlink.HitPageview, URL: "https://shop.example/"},
			func(h *crmlink.Hit) string { return map[bool]string{false: "want a robot"}[h.Bot] }},
		{"identities", "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/124.0.0.0 Safari/537.36", nil, false,
			crmlink.Hit{Kind: crmlink.HitParams, URL: "https://shop.example/", UserID: "u1",
				Params: map[string]string{"email": " Ann@Example.com", "user.phone": "+7 (912) 345-67-89", "plan": "gold"}},
			func(h *crmlink.Hit) string {
				want := map[crmlink.Identity]bool{
					{Kind: crmlink.IdentityEmailMD5, Value: crm.MD5Hex("ann@example.com")}:       true,
					{Kind: crmlink.IdentityEmailSHA256, Value: crm.SHA256Hex("ann@example.com")}: true,
					{Kind: crmlink.IdentityPhoneMD5, Value: crm.MD5Hex("79123456789")}:           true,
					{Kind: crmlink.IdentityPhoneSHA256, Value: crm.SHA256Hex("79123456789")}:     true,
					{Kind: crmlink.IdentityUserID, Value: "u1"}:                                  true,
				}
				if len(h.Identities) != len(want) {
					return "want five identities"
				}
				for _, id := range h.Identities {
					if !want[id] {
						return "unexpected identity " + string(id.Kind)
					}
				}
				if _, ok := h.Params["email"]; ok || h.Params["plan"] != "gold" || len(h.Params) != 1 {
					return "the plain email and phone must leave the parameters"
				}
				return ""
			}},
	} {
		h := tc.hit
		hd := tc.header
		if hd == nil {
			hd = http.Header{}
		}
		e.Enrich(&h, &Request{UserAgent: tc.ua, Header: hd, Site: "shop.example", Webdriver: tc.webdriver})
		if msg := tc.check(&h); msg != "" {
			t.Errorf("%s: %s; got %+v", tc.name, msg, h)
		}
	}
}

func TestValidate(t *testing.T) {
	good := Wire{ClientID: "1772362800123456789", Kind: "pv", URL: "https://shop.example/", Params: map[string]any{"a": map[string]any{"b": 1.5}, "c": "d"}}
	h, err := good.Validate(3)
	if err != nil {
		t.Fatal(err)
	}
	if h.ClientID != 1772362800123456789 || h.Kind != crmlink.HitPageview || h.Params["a.b"] != "1.5" || h.Params["c"] != "d" {
		t.Errorf("hit = %+v", h)
	}
	for _, tc := range []struct {
		w    Wire
		want string
	}{
		{Wire{Kind: "pv", URL: "https://a.example/"}, "cid"},
		{Wire{ClientID: "-5", Kind: "pv", URL: "https://a.example/"}, "cid"},
		{Wire{ClientID: "18446744073709551616", Kind: "pv", URL: "https://a.example/"}, "cid"},
		{Wire{ClientID: "5", Kind: "view", URL: "https://a.example/"}, "t \"view\""},
		{Wire{ClientID: "5", Kind: "pv"}, "needs url"},
		{Wire{ClientID: "5", Kind: "pv", URL: "javascript:alert(1)"}, "absolute http(s) URL"},
		{Wire{ClientID: "5", Kind: "goal", URL: "https://a.example/"}, "needs goal"},
		{Wire{ClientID: "5", Kind: "purchase", URL: "https://a.example/"}, "purchase.id"},
		{Wire{ClientID: "5", Kind: "purchase", Purchase: &WirePurchase{ID: "1", Revenue: "-3"}}, "purchase.revenue"},
		{Wire{ClientID: "5", Kind: "purchase", Purchase: &WirePurchase{ID: "1", Currency: "RUR"}}, "purchase.currency"},
		{Wire{ClientID: "5", Kind: "pv", URL: "https://a.example/", Title: strings.Repeat("x", 2000)}, "title: longer"},
		{Wire{ClientID: "5", Kind: "pv", URL: "https://a.example/", Title: "\xff"}, "not valid UTF-8"},
	} {
		if _, err := tc.w.Validate(3); err == nil || crmlink.KindOf(err) != crmlink.KindInvalid || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%+v: %v, want an error about %s", tc.w, err, tc.want)
		}
	}
	deep := map[string]any{}
	m := deep
	for range 6 {
		n := map[string]any{}
		m["x"] = n
		m = n
	}
	if _, err := (&Wire{ClientID: "5", Kind: "params", Params: deep}).Validate(3); err == nil {
		t.Error("params nested 6 deep accepted")
	}
}

func FuzzParseHit(f *testing.F) {
	f.Add(`{"cid":"1772362800123456789","t":"pv","url":"https://shop.example/?a=1","ref":"https://ya.ru/","params":{"email":"a@b.c"}}`)
	f.Add(`{"cid":"5","t":"purchase","purchase":{"id":"A1","revenue":"10.50","currency":"RUB"}}`)
	f.Add(`{"cid":"5","t":"goal","goal":"x","params":{"a":{"b":{"c":[1,2]}}}}`)
	f.Add(`[]`)
	e := NewEnricher(traffic.New().Classify)
	f.Fuzz(func(t *testing.T, body string) {
		w, err := ParseJSON([]byte(body))
		if err != nil {
			if crmlink.KindOf(err) != crmlink.KindInvalid {
				t.Fatalf("parse error of kind %v: %v", crmlink.KindOf(err), err)
			}
			return
		}
		h, err := w.Validate(1)
		if err != nil {
			if crmlink.KindOf(err) != crmlink.KindInvalid {
				t.Fatalf("validation error of kind %v: %v", crmlink.KindOf(err), err)
			}
			return
		}
		if h.ClientID == 0 {
			t.Fatal("a hit without a ClientID passed")
		}
		e.Enrich(h, &Request{UserAgent: "Mozilla/5.0", Header: http.Header{}, Site: "shop.example"})
		q := url.Values{"cid": {w.ClientID}, "t": {w.Kind}, "url": {w.URL}}
		if _, err := ParseQuery(q); err != nil {
			t.Fatalf("query form of a good hit refused: %v", err)
		}
	})
}

// memStore keeps hits in memory: the sessionizer's logic needs no
// database (the store's side is tested over HTTP with DuckDB).
type memStore struct {
	mu      sync.Mutex
	hits    []crmlink.SessionHit
	last    map[uint64]*crmlink.Session
	counter *crmlink.Counter
}

func (m *memStore) WriteHits(_ context.Context, hits []crmlink.SessionHit) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.hits = append(m.hits, hits...)
	return nil
}

func (m *memStore) SyncHits(context.Context) error { return nil }

func (m *memStore) LastSessions(_ context.Context, _ crmlink.CounterID, clients []uint64) (map[uint64]*crmlink.Session, error) {
	out := map[uint64]*crmlink.Session{}
	for _, c := range clients {
		if s := m.last[c]; s != nil {
			out[c] = s
		}
	}
	return out, nil
}

func (m *memStore) Counter(context.Context, crmlink.CounterID) (*crmlink.Counter, error) {
	return m.counter, nil
}

func TestSessionize(t *testing.T) {
	t0 := time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
	clock := &crmlink.FixedClock{T: t0}
	st := &memStore{counter: &crmlink.Counter{ID: 1, Site: "shop.example", SessionTimeout: 30 * time.Minute},
		last: map[uint64]*crmlink.Session{
			// A visitor the collector has forgotten, 10 minutes into a session.
			9: {ID: 900, ClientID: 9, Start: t0.Add(-20 * time.Minute), Duration: 10 * time.Minute, PageViews: 4,
				Source: crmlink.TrafficSource{Kind: crmlink.SourceOrganic, Engine: "Google"}},
		}}
	c := New(Config{Store: st, Clock: clock, Enricher: NewEnricher(traffic.New().Classify), MaxWait: time.Millisecond})
	defer c.Close()
	send := func(cid, ref string, d time.Duration) {
		clock.Add(d)
		w := &Wire{ClientID: cid, Kind: "pv", URL: "https://shop.example/", Referrer: ref}
		if err := c.Collect(context.Background(), w, 1, &Request{UserAgent: "Mozilla/5.0 (Windows NT 10.0) Chrome/124.0", Header: http.Header{}}); err != nil {
			t.Fatal(err)
		}
	}
	send("9", "https://shop.example/", 5*time.Second) // remembered by the store: continues 900
	send("5", "https://www.google.com/", 0)
	send("5", "https://shop.example/", time.Minute) // internal: same session
	send("5", "", 29*time.Minute)                   // direct within the timeout: same
	send("5", "", 31*time.Minute)                   // after the timeout: new
	send("5", "https://vk.com/", time.Minute)       // a new external source: new
	send("5", "https://vk.com/", time.Minute)       // the same source again: same
	if h := st.hits[0]; h.SessionID != 900 || h.New || h.PageViews != 5 {
		t.Errorf("forgotten visitor's hit = %+v, want session 900 continued with 5 page views", h)
	}
	var ids []uint64
	var pvs []int
	for _, h := range st.hits[1:] {
		ids = append(ids, h.SessionID)
		pvs = append(pvs, h.PageViews)
	}
	if !(ids[0] == ids[1] && ids[1] == ids[2] && ids[3] != ids[2] && ids[4] != ids[3] && ids[5] == ids[4]) {
		t.Errorf("session ids %v", ids)
	}
	if pvs[2] != 3 || pvs[5] != 2 {
		t.Errorf("page views %v", pvs)
	}
	if !st.hits[1].New || st.hits[2].New || !st.hits[4].New {
		t.Errorf("new flags wrong: %+v", st.hits)
	}
	if d := st.hits[3].Duration; d != 30*time.Minute {
		t.Errorf("duration at the third hit = %v, want 30m", d)
	}
	// Visitor 9 has been idle for an hour, visitor 5 for a minute.
	if n := c.Forget(time.Hour); n != 1 {
		t.Errorf("forgot %d sessions, want visitor 9's", n)
	}
	clock.Add(2 * time.Hour)
	if n := c.Forget(time.Hour); n != 1 {
		t.Errorf("forgot %d sessions, want visitor 5's", n)
	}
}

// TestSessionIDsUnique opens many sessions in one millisecond: their ids
// differ (20 random bits alone would repeat one about one time in three).
func TestSessionIDsUnique(t *testing.T) {
	c := &Collector{}
	t0 := time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
	seen := map[uint64]bool{}
	prev := uint64(0)
	for i := 0; i < 5000; i++ {
		id := c.newSessionID(t0)
		if seen[id] || id <= prev {
			t.Fatalf("id %d of session %d repeats or goes back (previous %d)", id, i, prev)
		}
		seen[id], prev = true, id
	}
	if later := c.newSessionID(t0.Add(time.Second)); later>>20 != uint64(t0.Add(time.Second).UnixMilli()) {
		t.Errorf("a second later the id %d does not carry its millisecond", later)
	}
}

// TestCachedUserAgentSteps: a cached user agent gives what the steps
// give, the webdriver flag is part of the key, and the cache stays bounded.
func TestCachedUserAgentSteps(t *testing.T) {
	plain := []Step{BotStep, UserAgentStep(useragent.NewParser())}
	cached := CachedUserAgentSteps(plain...)
	uas := []string{
		"Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/124.0.0.0 Safari/537.36",
		"Mozilla/5.0 (iPhone; CPU iPhone OS 17_4 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.4 Mobile/15E148 Safari/604.1",
		"Mozilla/5.0 (compatible; Googlebot/2.1; +http://www.google.com/bot.html)",
		"", "curl/8.5.0", strings.Repeat("x", 2000),
	}
	for pass := range 2 {
		for _, ua := range uas {
			for _, wd := range []bool{false, true} {
				var want, got crmlink.Hit
				r := &Request{UserAgent: ua, Webdriver: wd}
				for _, s := range plain {
					s(&want, r)
				}
				cached(&got, r)
				if !reflect.DeepEqual(got, want) {
					t.Errorf("pass %d, %q webdriver %v: cached %+v, want %+v", pass, ua, wd, got, want)
				}
			}
		}
	}
	c := &uaCache{steps: plain, m: map[uaKey]uaFacts{}}
	for i := range uaCacheSize + 10 {
		c.step(&crmlink.Hit{}, &Request{UserAgent: fmt.Sprint("Mozilla/5.0 test/", i)})
	}
	if len(c.m) > uaCacheSize {
		t.Errorf("cache holds %d user agents, more than %d", len(c.m), uaCacheSize)
	}
}

// FuzzParseWireFast holds the fast path to encoding/json: whatever it
// reads, encoding/json reads the same, and it reads the tag's usual hits.
func FuzzParseWireFast(f *testing.F) {
	for _, s := range []string{
		`{"cid":"1772362800123456789","t":"pv","url":"https://shop.example/?a=1","ref":"https://ya.ru/","title":"Главная","params":{"email":"a@b.c"}}`,
		`{"cid":"5","t":"purchase","purchase":{"id":"A1","revenue":"10.50","currency":"RUB"}}`,
		`{"cid":"5","t":"goal","goal":"x","params":{"a":{"b":{"c":[1,2,"}"]}}},"wd":true}`,
		` { "cid" : "5" , "t" : "pv" } `, `{}`, `{"cid":"5","cid":"6"}`, `{"CID":"5"}`, `{"cid":"a\"b"}`,
		`{"cid":null}`, `{"params":null}`, `{"wd":1}`, `{"purchase":{"id":1}}`, `{"cid":"5"} x`, "{\"cid\":\"\xff\"}",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, body string) {
		fast, ok := parseWireFast([]byte(body))
		var std Wire
		err := json.Unmarshal([]byte(body), &std)
		if !ok {
			return
		}
		if err != nil {
			t.Fatalf("fast path read %q, encoding/json refuses it: %v", body, err)
		}
		if !reflect.DeepEqual(*fast, std) {
			t.Fatalf("%q:\nfast %+v\nstd  %+v", body, *fast, std)
		}
	})
}

func TestParseWireFastTakesTagHits(t *testing.T) {
	for _, body := range []string{
		`{"cid":"1772362800123456789","t":"pv","url":"https://shop.example/?utm_source=x","ref":"https://ya.ru/","title":"Главная — магазин"}`,
		`{"cid":"5","t":"params","url":"https://shop.example/","params":{"email":"a@b.c","nested":{"x":[1,"y"]}},"uid":"u1"}`,
		`{"cid":"5","t":"purchase","url":"https://shop.example/ok","purchase":{"id":"A1","revenue":1234.5,"currency":"RUB"},"wd":false}`,
	} {
		if _, ok := parseWireFast([]byte(body)); !ok {
			t.Errorf("fast path refused a tag's hit: %s", body)
		}
	}
}

// TestAttribution: the collector attributes the sessions it opens from the
// ClientID's previous session (remembered, or looked up with its
// attribution), a new visitor's first session from itself; during an
// import of the counter's sessions it attributes none, and afterwards
// none of the ClientIDs it remembered (the import may have given them
// earlier sessions), until it forgets them.
func TestAttribution(t *testing.T) {
	t0 := time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
	clock := &crmlink.FixedClock{T: t0}
	google := crmlink.SourceRef{SessionID: 800, Kind: crmlink.SourceOrganic, Engine: "Google"}
	st := &memStore{counter: &crmlink.Counter{ID: 1, Site: "shop.example", SessionTimeout: 30 * time.Minute},
		last: map[uint64]*crmlink.Session{
			9: {ID: 900, ClientID: 9, Start: t0.Add(-5 * time.Hour), PageViews: 1, Source: crmlink.TrafficSource{Kind: crmlink.SourceDirect},
				Attribution: crmlink.SessionAttribution{First: google, LastSign: google}},
		}}
	c := New(Config{Store: st, Clock: clock, Enricher: NewEnricher(traffic.New().Classify), MaxWait: time.Millisecond})
	defer c.Close()
	send := func(cid, ref string) crmlink.SessionHit {
		t.Helper()
		clock.Add(time.Hour) // a new session each time
		w := &Wire{ClientID: cid, Kind: "pv", URL: "https://shop.example/", Referrer: ref}
		if err := c.Collect(context.Background(), w, 1, &Request{UserAgent: "Mozilla/5.0 (Windows NT 10.0) Chrome/124.0", Header: http.Header{}}); err != nil {
			t.Fatal(err)
		}
		st.mu.Lock()
		defer st.mu.Unlock()
		h := st.hits[len(st.hits)-1]
		if !h.New {
			t.Fatalf("hit %+v opened no session", h)
		}
		return h
	}
	self := func(h crmlink.SessionHit) crmlink.SourceRef {
		return crmlink.SourceRef{SessionID: h.SessionID, Kind: h.Source.Kind, Engine: h.Source.Engine}
	}
	first := send("5", "https://vk.com/")
	if want := (crmlink.SessionAttribution{First: self(first), LastSign: self(first)}); first.Attribution != want {
		t.Errorf("a new visitor's first session: %+v, want %+v", first.Attribution, want)
	}
	next := send("5", "")
	if want := (crmlink.SessionAttribution{First: self(first), LastSign: self(first)}); next.Attribution != want {
		t.Errorf("its direct second session: %+v, want %+v", next.Attribution, want)
	}
	looked := send("9", "https://yandex.ru/")
	if want := (crmlink.SessionAttribution{First: google, LastSign: self(looked)}); looked.Attribution != want {
		t.Errorf("a looked-up visitor's session: %+v, want %+v", looked.Attribution, want)
	}
	end := c.Importing(1)
	if h := send("5", ""); h.Attribution.Known() {
		t.Errorf("a session during an import: %+v, want none", h.Attribution)
	}
	if h := send("7", ""); h.Attribution.Known() {
		t.Errorf("a new visitor's session during an import: %+v, want none", h.Attribution)
	}
	end()
	if h := send("9", ""); h.Attribution.Known() {
		t.Errorf("a remembered visitor's session after an import: %+v, want none", h.Attribution)
	}
	if h := send("6", ""); h.Attribution != (crmlink.SessionAttribution{First: self(h)}) {
		t.Errorf("a new visitor's session after the import: %+v", h.Attribution)
	}
	clock.Add(3 * time.Hour)
	c.Forget(time.Hour)
	st.last[9] = &crmlink.Session{ID: 901, ClientID: 9, Start: t0, Attribution: crmlink.SessionAttribution{First: google}}
	if h := send("9", ""); h.Attribution != (crmlink.SessionAttribution{First: google}) {
		t.Errorf("a forgotten visitor's session, looked up again: %+v", h.Attribution)
	}
}
