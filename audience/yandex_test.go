package audience_test

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"mime"
	"mime/multipart"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"

	"github.com/crmlink/crmlink"
	"github.com/crmlink/crmlink/audience"
)

// fakeAudience stands in for Yandex Audience's API as its documentation
// describes it, and checks every request it gets: the path, the OAuth
// header, a multipart body with the file in the field "file", and the
// confirm's JSON. Its answers are the documented shapes; fail makes a
// path answer an error in Audience's (Metrica's) error shape.
type fakeAudience struct {
	t     *testing.T
	token string
	mu    sync.Mutex
	calls []string
	files map[int64]string // segment id to its data
	fail  map[string]int   // path to the status to answer with
	next  int64
}

func newFakeAudience(t *testing.T, token string) (*fakeAudience, *httptest.Server) {
	f := &fakeAudience{t: t, token: token, files: map[int64]string{}, fail: map[string]int{}, next: 1000}
	srv := httptest.NewServer(f)
	t.Cleanup(srv.Close)
	return f, srv
}

func (f *fakeAudience) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.calls = append(f.calls, r.Method+" "+r.URL.RequestURI())
	answer := func(code int, v any) {
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(code)
		json.NewEncoder(w).Encode(v)
	}
	fail := func(code int, typ, msg string) {
		answer(code, map[string]any{"errors": []map[string]string{{"error_type": typ, "message": msg}}, "code": code, "message": msg})
	}
	if r.Header.Get("Authorization") != "OAuth "+f.token {
		fail(403, "invalid_token", "Invalid oauth_token")
		return
	}
	if code := f.fail[r.URL.Path]; code != 0 {
		fail(code, "invalid_parameter", "Invalid file format")
		return
	}
	file := func() (string, bool) {
		mt, params, err := mime.ParseMediaType(r.Header.Get("Content-Type"))
		if err != nil || mt != "multipart/form-data" {
			f.t.Errorf("%s: Content-Type %q, want multipart/form-data", r.URL.Path, r.Header.Get("Content-Type"))
			return "", false
		}
		mr := multipart.NewReader(r.Body, params["boundary"])
		part, err := mr.NextPart()
		if err != nil || part.FormName() != "file" || part.FileName() == "" {
			f.t.Errorf("%s: the first part is not the field \"file\" with a file name", r.URL.Path)
			return "", false
		}
		data, _ := io.ReadAll(part)
		if _, err := mr.NextPart(); err != io.EOF {
			f.t.Errorf("%s: more than one part", r.URL.Path)
		}
		return string(data), true
	}
	switch {
	case r.Method == "POST" && (r.URL.Path == "/v1/management/segments/upload_csv_file" || r.URL.Path == "/v1/management/segments/upload_file"):
		data, ok := file()
		if !ok {
			fail(400, "invalid_parameter", "no file")
			return
		}
		f.next++
		f.files[f.next] = data
		answer(200, map[string]any{"segment": map[string]any{"id": f.next, "status": "uploaded", "hashed": false}})
	case r.Method == "POST" && strings.HasSuffix(r.URL.Path, "/confirm"):
		var body struct {
			Segment map[string]any `json:"segment"`
		}
		if err := json.NewDecoder(r.Body).Decode(&body); err != nil || r.Header.Get("Content-Type") != "application/json" {
			f.t.Errorf("%s: the body is not JSON: %v", r.URL.Path, err)
		}
		var id int64
		if strings.Contains(r.URL.Path, "/client_id/") {
			fmt.Sscanf(r.URL.Path, "/v1/management/segment/client_id/%d/confirm", &id)
			if body.Segment["name"] == "" || body.Segment["counter_id"] == nil {
				f.t.Errorf("ClientID confirm wants name and counter_id: %v", body.Segment)
			}
		} else {
			fmt.Sscanf(r.URL.Path, "/v1/management/segment/%d/confirm", &id)
			s := body.Segment
			if s["hashed"] != true || s["hashing_alg"] != "SHA256" || s["content_type"] != "crm" || s["name"] == "" || s["id"] != float64(id) {
				f.t.Errorf("CRM confirm wants id, name, hashed, hashing_alg SHA256 and content_type crm: %v", s)
			}
		}
		if _, ok := f.files[id]; !ok {
			fail(404, "not_found", "Segment not found")
			return
		}
		answer(200, map[string]any{"segment": map[string]any{"id": id, "name": body.Segment["name"], "status": "is_processed", "hashed": true}})
	case r.Method == "POST" && strings.HasSuffix(r.URL.Path, "/modify_data"):
		var id int64
		fmt.Sscanf(r.URL.Path, "/v1/management/segment/%d/modify_data", &id)
		if r.URL.Query().Get("modification_type") != "replace" {
			f.t.Errorf("modify_data wants modification_type=replace: %s", r.URL.RawQuery)
		}
		if _, ok := f.files[id]; !ok {
			fail(404, "not_found", "Segment not found")
			return
		}
		data, ok := file()
		if !ok {
			fail(400, "invalid_parameter", "no file")
			return
		}
		f.files[id] = data
		answer(200, map[string]any{"segment": map[string]any{"id": id, "status": "is_updated"}})
	default:
		f.t.Errorf("a request Audience does not document: %s %s", r.Method, r.URL.Path)
		fail(404, "not_found", "no such method")
	}
}

func TestYandexPush(t *testing.T) {
	ctx := context.Background()
	fake, srv := newFakeAudience(t, "tok")
	y := &audience.Yandex{BaseURL: srv.URL, Token: "tok"}
	id, err := y.Push(ctx, "yandex_crm", strings.NewReader("email,phone,ext_id\na,b,c\n"), 0, "Best customers", 5)
	if err != nil || id != 1001 {
		t.Fatalf("first push: %d, %v", id, err)
	}
	if fake.files[id] != "email,phone,ext_id\na,b,c\n" {
		t.Errorf("the file at Audience: %q", fake.files[id])
	}
	// A later push replaces the data of the same segment.
	if id2, err := y.Push(ctx, "yandex_crm", strings.NewReader("email,phone,ext_id\nd,e,f\n"), id, "Best customers", 5); err != nil || id2 != id ||
		fake.files[id] != "email,phone,ext_id\nd,e,f\n" {
		t.Errorf("refresh: %d, %v, %q", id2, err, fake.files[id])
	}
	cid, err := y.Push(ctx, "yandex_clientid", strings.NewReader("1\n2\n"), 0, "Visitors", 5)
	if err != nil || fake.files[cid] != "1\n2\n" {
		t.Errorf("ClientIDs: %d, %v", cid, err)
	}
	want := []string{"POST /v1/management/segments/upload_csv_file", "POST /v1/management/segment/1001/confirm",
		"POST /v1/management/segment/1001/modify_data?modification_type=replace",
		"POST /v1/management/segments/upload_file", "POST /v1/management/segment/client_id/1002/confirm"}
	if strings.Join(fake.calls, "\n") != strings.Join(want, "\n") {
		t.Errorf("calls:\n%s\nwant\n%s", strings.Join(fake.calls, "\n"), strings.Join(want, "\n"))
	}

	// Errors: Audience's message, as an error of kind Upstream.
	for _, c := range []struct {
		y      *audience.Yandex
		fail   string
		target int64
		want   string
	}{
		{&audience.Yandex{BaseURL: srv.URL, Token: "wrong"}, "", 0, "Yandex Audience answered 403 to POST /v1/management/segments/upload_csv_file: invalid_token: Invalid oauth_token"},
		{y, "/v1/management/segments/upload_csv_file", 0, "answered 400 to POST /v1/management/segments/upload_csv_file: invalid_parameter: Invalid file format"},
		{y, "/v1/management/segment/1003/confirm", 0, "answered 400 to POST /v1/management/segment/1003/confirm"},
		{y, "", 999, "answered 404 to POST /v1/management/segment/999/modify_data: not_found: Segment not found"},
		{&audience.Yandex{BaseURL: "http://127.0.0.1:1", Token: "tok"}, "", 0, "Yandex Audience: Post"},
	} {
		fake.fail = map[string]int{}
		if c.fail != "" {
			fake.fail[c.fail] = 400
		}
		_, err := c.y.Push(ctx, "yandex_crm", strings.NewReader("email\nx\n"), c.target, "S", 5)
		if crmlink.KindOf(err) != crmlink.KindUpstream || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%+v: %v, want an upstream error with %q", c, err, c.want)
		}
	}
	if _, err := y.Push(ctx, "google", strings.NewReader(""), 0, "S", 5); crmlink.KindOf(err) != crmlink.KindInvalid {
		t.Errorf("google to Yandex: %v", err)
	}
}
