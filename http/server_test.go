package http_test

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"mime/multipart"
	"net/http"
	"net/http/httptest"
	"net/url"
	"path/filepath"
	"strings"
	"testing"

	"github.com/crmlink/crmlink"
	_ "github.com/crmlink/crmlink/duckdb" // the engine the tests run on
	crmhttp "github.com/crmlink/crmlink/http"
	"github.com/crmlink/crmlink/store"
	"github.com/crmlink/crmlink/store/storetest"
	"github.com/crmlink/crmlink/traffic"
)

type fixture struct {
	srv     *httptest.Server
	store   crmlink.Store
	clock   *crmlink.FixedClock
	counter *crmlink.Counter
	other   *crmlink.Counter
	admin   string // all counters, admin
	write   string // counter, write
	read    string // counter, read
	foreign string // other counter, admin
}

// setMaxJSONRows rebuilds the fixture's server with a JSON row cap.
func (f *fixture) setMaxJSONRows(t *testing.T, n int) {
	f.srv.Close()
	h := crmhttp.NewServer(crmhttp.Config{Store: f.store, Clock: f.clock, Classifier: traffic.New(), MaxJSONRows: n,
		Logger: discardLogger()})
	f.srv = httptest.NewServer(h)
	t.Cleanup(f.srv.Close)
}

func urlEscape(s string) string { return url.QueryEscape(s) }

// tempStore opens a DuckDB store in the test's temporary directory.
func tempStore(t *testing.T, clock crmlink.Clock) *store.Store {
	t.Helper()
	st, err := store.Open(context.Background(), "duckdb://"+filepath.Join(t.TempDir(), "c.db"), store.Config{Clock: clock})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	return st
}

func newFixture(t *testing.T, maxBody int64) *fixture {
	t.Helper()
	clock := &crmlink.FixedClock{T: storetest.Epoch}
	return fixtureOn(t, tempStore(t, clock), clock, maxBody)
}

// fixtureOn serves st with two counters and a token of each scope.
func fixtureOn(t *testing.T, st *store.Store, clock *crmlink.FixedClock, maxBody int64) *fixture {
	t.Helper()
	f := &fixture{store: st, clock: clock}
	f.counter = storetest.MustCounter(t, st, "Shop", "Europe/Moscow")
	f.other = storetest.MustCounter(t, st, "Other", "UTC")
	mk := func(id crmlink.CounterID, sc crmlink.Scope) string {
		secret := crmhttp.NewTokenSecret()
		if err := st.CreateToken(context.Background(), &crmlink.Token{Hash: crmhttp.HashToken(secret), CounterID: id, Scope: sc}); err != nil {
			t.Fatal(err)
		}
		return secret
	}
	f.admin = mk(0, crmlink.ScopeAdmin)
	f.write = mk(f.counter.ID, crmlink.ScopeWrite)
	f.read = mk(f.counter.ID, crmlink.ScopeRead)
	f.foreign = mk(f.other.ID, crmlink.ScopeAdmin)
	h := crmhttp.NewServer(crmhttp.Config{Store: st, Clock: clock, Classifier: traffic.New(), MaxBodyBytes: maxBody,
		Logger: discardLogger()})
	f.srv = httptest.NewServer(h)
	t.Cleanup(f.srv.Close)
	return f
}

// do sends a request and decodes a JSON answer.
func (f *fixture) do(t *testing.T, method, path, auth string, body io.Reader, contentType string) (int, map[string]any) {
	t.Helper()
	req, err := http.NewRequest(method, f.srv.URL+path, body)
	if err != nil {
		t.Fatal(err)
	}
	if auth != "" {
		req.Header.Set("Authorization", auth)
	}
	if contentType != "" {
		req.Header.Set("Content-Type", contentType)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	raw, _ := io.ReadAll(resp.Body)
	if method == http.MethodPost {
		// Orders uploads are applied after their answer: the tests that
		// look at the store next see them applied. TestOrderInspection
		// looks at an answer before that.
		if err := f.store.SyncUploads(context.Background()); err != nil {
			t.Fatal(err)
		}
	}
	var out map[string]any
	if err := json.Unmarshal(raw, &out); err != nil {
		t.Fatalf("%s %s: answer is not JSON: %q", method, path, raw)
	}
	return resp.StatusCode, out
}

// errorType returns errors[0].error_type of an error body, checking its shape.
func errorType(t *testing.T, code int, body map[string]any) string {
	t.Helper()
	errs, ok := body["errors"].([]any)
	if !ok || len(errs) == 0 {
		t.Fatalf("error body without errors: %v", body)
	}
	if int(body["code"].(float64)) != code || body["message"] == "" {
		t.Errorf("error body code/message: %v", body)
	}
	return errs[0].(map[string]any)["error_type"].(string)
}

func TestAuth(t *testing.T) {
	f := newFixture(t, 0)
	path := "/management/v1/counter/" + f.counter.ID.String()
	for _, tc := range []struct {
		name, auth, query string
		code              int
		errType           string
	}{
		{"missing", "", "", 401, "unauthorized"},
		{"wrong", "OAuth crm_nope", "", 401, "unauthorized"},
		{"oauth", "OAuth " + f.read, "", 200, ""},
		{"bearer", "Bearer " + f.read, "", 200, ""},
		{"bare", f.read, "", 200, ""},
		{"query", "", "?oauth_token=" + f.read, 200, ""},
		{"admin of all", "OAuth " + f.admin, "", 200, ""},
		{"another counter's", "OAuth " + f.foreign, "", 403, "access_denied"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			code, body := f.do(t, "GET", path+tc.query, tc.auth, nil, "")
			if code != tc.code {
				t.Fatalf("status %d, want %d: %v", code, tc.code, body)
			}
			if tc.errType != "" {
				if got := errorType(t, code, body); got != tc.errType {
					t.Errorf("error_type %q, want %q", got, tc.errType)
				}
				return
			}
			c := body["counter"].(map[string]any)
			if c["time_zone_name"] != "Europe/Moscow" || c["name"] != "Shop" || c["currency"] != "RUB" || c["visit_threshold"] != 1800.0 {
				t.Errorf("counter = %v", c)
			}
		})
	}
}

func TestCounters(t *testing.T) {
	f := newFixture(t, 0)
	body := `{"counter":{"name":"New shop","site2":{"site":"new.example"},"time_zone_name":"Asia/Novosibirsk","currency":"usd"}}`
	code, out := f.do(t, "POST", "/management/v1/counters", "OAuth "+f.admin, strings.NewReader(body), "application/json")
	if code != 200 {
		t.Fatalf("create: %d %v", code, out)
	}
	c := out["counter"].(map[string]any)
	if c["site"] != "new.example" || c["currency"] != "USD" || c["time_zone_offset"] != 420.0 || c["link_window_days"] != 21.0 {
		t.Errorf("created = %v", c)
	}
	// A counter's own admin token may not create counters.
	code, out = f.do(t, "POST", "/management/v1/counters", "OAuth "+f.foreign, strings.NewReader(body), "application/json")
	if code != 403 || errorType(t, code, out) != "access_denied" {
		t.Errorf("counter token creating: %d %v", code, out)
	}
	for _, tc := range []struct{ body, want string }{
		{`{"counter":{"name":"X","site":"x.example","time_zone_name":"Mars/Olympus"}}`, `time zone "Mars/Olympus" does not exist`},
		{`{"counter":{"name":"X","site":"x.example","currency":"RUR"}}`, `currency "RUR" is not an ISO 4217 code`},
		{`{"counter":{"name":"","site":"x.example"}}`, `counter name is required`},
		{`{"counter":{"name":"X","site":"not a host"}}`, `is not a host name`},
		{`{"counter":{"name":"X","site":"x.example","colour":"red"}}`, `unknown field "colour"`},
		{`{"counter":`, `request body`},
	} {
		code, out := f.do(t, "POST", "/management/v1/counters", "OAuth "+f.admin, strings.NewReader(tc.body), "application/json")
		if code != 400 || !strings.Contains(out["message"].(string), tc.want) {
			t.Errorf("%s: %d %v, want 400 naming %q", tc.body, code, out, tc.want)
		}
	}
	// Listing: the admin sees all three, a counter's token its own.
	_, out = f.do(t, "GET", "/management/v1/counters", "OAuth "+f.admin, nil, "")
	if out["rows"] != 3.0 {
		t.Errorf("admin list = %v", out)
	}
	_, out = f.do(t, "GET", "/management/v1/counters", "OAuth "+f.read, nil, "")
	list := out["counters"].([]any)
	if len(list) != 1 || list[0].(map[string]any)["id"] != float64(f.counter.ID) {
		t.Errorf("counter token list = %v", out)
	}
	code, out = f.do(t, "GET", "/management/v1/counter/999", "OAuth "+f.admin, nil, "")
	if code != 404 || errorType(t, code, out) != "not_found" {
		t.Errorf("missing counter: %d %v", code, out)
	}
	code, out = f.do(t, "GET", "/management/v1/counter/abc", "OAuth "+f.admin, nil, "")
	if code != 400 || errorType(t, code, out) != "invalid_parameter" {
		t.Errorf("bad id: %d %v", code, out)
	}
}

func multipartFile(t *testing.T, content string) (io.Reader, string) {
	t.Helper()
	var buf bytes.Buffer
	mw := multipart.NewWriter(&buf)
	w, err := mw.CreateFormFile("file", "sessions.csv")
	if err != nil {
		t.Fatal(err)
	}
	w.Write([]byte(content))
	mw.Close()
	return &buf, mw.FormDataContentType()
}

const goodCSV = "session_id,client_id,start,landing_url,referrer\n" +
	"1,100,2026-02-01 10:00:00,https://shop.example/?utm_source=yandex&utm_medium=cpc&yclid=7,\n" +
	"2,100,2026-02-02 10:00:00,https://shop.example/,https://www.google.com/\n"

func TestImportSessions(t *testing.T) {
	f := newFixture(t, 0)
	base := "/cdp/api/v1/counter/" + f.counter.ID.String()
	body, ct := multipartFile(t, goodCSV)
	code, out := f.do(t, "POST", base+"/data/sessions?format=csv", "OAuth "+f.write, body, ct)
	if code != 200 {
		t.Fatalf("import: %d %v", code, out)
	}
	up := out["uploading"].(map[string]any)
	if up["api_validation_status"] != "PASSED" || up["elements_count"] != 2.0 || up["uploading_format"] != "CSV" {
		t.Errorf("uploading = %v", up)
	}
	got, err := f.store.ClientSessions(context.Background(), f.counter.ID, 100)
	if err != nil || len(got) != 2 {
		t.Fatalf("stored %v, %v", got, err)
	}
	if got[0].Source.Kind != crmlink.SourceAd || got[0].Source.Engine != "Yandex Direct" || got[1].Source.Kind != crmlink.SourceOrganic {
		t.Errorf("sources %+v / %+v", got[0].Source, got[1].Source)
	}
	// The raw body works too, and a read token may not import.
	code, out = f.do(t, "POST", base+"/data/sessions", "OAuth "+f.read, strings.NewReader(goodCSV), "text/csv")
	if code != 403 {
		t.Errorf("read token import: %d %v", code, out)
	}
	// A bad file: 400 naming line and column, nothing stored, and the upload
	// detail lists the errors.
	bad := "client_id,start\n100,2026-02-03 10:00:00\n100,tomorrow\n"
	code, out = f.do(t, "POST", base+"/data/sessions", "OAuth "+f.write, strings.NewReader(bad), "text/csv")
	if code != 400 || errorType(t, code, out) != "invalid_uploading" || !strings.Contains(out["message"].(string), "line 3, column start") {
		t.Fatalf("bad file: %d %v", code, out)
	}
	if st, _ := f.store.SessionStats(context.Background(), f.counter.ID); st.Sessions != 2 {
		t.Errorf("after a bad file: %d sessions, want 2", st.Sessions)
	}
	id := out["uploading_id"].(string)
	code, out = f.do(t, "GET", base+"/uploading/"+id, "OAuth "+f.read, nil, "")
	if code != 200 {
		t.Fatalf("uploading detail: %d %v", code, out)
	}
	up = out["uploading"].(map[string]any)
	errs := up["errors"].([]any)
	if up["api_validation_status"] != "FAILED" || len(errs) != 1 || errs[0].(map[string]any)["line"] != 3.0 || errs[0].(map[string]any)["column"] != "start" {
		t.Errorf("failed uploading = %v", up)
	}
	code, out = f.do(t, "GET", base+"/last_uploadings?limit=5&type=BASIC", "OAuth "+f.read, nil, "")
	if code != 200 || len(out["uploadings"].([]any)) != 2 {
		t.Errorf("last_uploadings: %d %v", code, out)
	}
	code, out = f.do(t, "POST", base+"/data/sessions?format=xml", "OAuth "+f.write, strings.NewReader(goodCSV), "text/csv")
	if code != 400 || !strings.Contains(out["message"].(string), "xml") {
		t.Errorf("bad format: %d %v", code, out)
	}
	// Another counter's token sees nothing here.
	code, _ = f.do(t, "GET", base+"/uploading/"+id, "OAuth "+f.foreign, nil, "")
	if code != 403 {
		t.Errorf("foreign token on uploading: %d", code)
	}
}

func TestBodyLimit(t *testing.T) {
	f := newFixture(t, 1024)
	big := goodCSV + strings.Repeat("3,100,2026-02-01 10:00:00,https://shop.example/,\n", 100)
	code, out := f.do(t, "POST", "/cdp/api/v1/counter/"+f.counter.ID.String()+"/data/sessions", "OAuth "+f.write, strings.NewReader(big), "text/csv")
	if code != 413 || !strings.Contains(out["message"].(string), "1024 bytes") {
		t.Errorf("over the limit: %d %v", code, out)
	}
	if st, _ := f.store.SessionStats(context.Background(), f.counter.ID); st.Sessions != 0 {
		t.Errorf("a refused body stored %d sessions", st.Sessions)
	}
}

// TestCallBodyLimit: a management call's JSON body is decoded whole, so
// it is capped at a megabyte whatever --max-body allows: a counter with a
// name of megabytes answers 413 before it is held in memory.
func TestCallBodyLimit(t *testing.T) {
	f := newFixture(t, 0)
	body := `{"counter":{"name":"` + strings.Repeat("x", 2<<20) + `","site":"x.example"}}`
	code, out := f.do(t, "POST", "/management/v1/counters", "OAuth "+f.admin, strings.NewReader(body), "application/json")
	if code != 413 {
		t.Errorf("a 2 MB counter: %d %v, want 413", code, out)
	}
	body = `{"order_statuses":[{"id":"` + strings.Repeat("x", 2<<20) + `","type":"PAID"}]}`
	code, out = f.do(t, "POST", "/cdp/api/v1/counter/"+f.counter.ID.String()+"/schema/order_statuses", "OAuth "+f.write,
		strings.NewReader(body), "application/json")
	if code != 413 {
		t.Errorf("a 2 MB status mapping: %d %v, want 413", code, out)
	}
}

func TestHealthMetricsNotFound(t *testing.T) {
	f := newFixture(t, 0)
	code, out := f.do(t, "GET", "/healthz", "", nil, "")
	if code != 200 || out["status"] != "ok" {
		t.Errorf("healthz: %d %v", code, out)
	}
	code, out = f.do(t, "GET", "/nope", "", nil, "")
	if code != 404 || errorType(t, code, out) != "not_found" {
		t.Errorf("unknown path: %d %v", code, out)
	}
	resp, err := http.Get(f.srv.URL + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	raw, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if !strings.Contains(string(raw), `crmlink_http_requests_total{code="200",route="/healthz"} 1`) {
		t.Errorf("metrics lack the healthz request:\n%s", raw)
	}
}
