package http_test

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/crmlink/crmlink/audience"
)

// TestSegmentsAPI: segments keep Metrica's apisegment paths and shapes;
// a bad expression answers 400 naming the column; sizes need a read
// token, members and changes a write one; members carry hashes, never
// plain emails or phones.
func TestSegmentsAPI(t *testing.T) {
	f := newFixture(t, 0)
	body, ct := multipartFile(t, contactsCSV)
	uploading(t, f.post(t, "/data/contacts/csv", ct, body))
	base := "/management/v1/counter/" + f.counter.ID.String() + "/apisegment/"
	w, r := "OAuth "+f.write, "OAuth "+f.read

	code, out := f.do(t, "POST", base+"segments", w, strings.NewReader(
		`{"segment":{"name":" Gold ","expression":"cdp:c:attribute('loyalty')=='gold'","segment_source":"api","retargeting":true}}`), "application/json")
	if code != 200 {
		t.Fatalf("create: %d %v", code, out)
	}
	sg := out["segment"].(map[string]any)
	if sg["name"] != "Gold" || sg["segment_source"] != "api" || sg["status"] != "active" || sg["create_time"] != "2026-03-01T12:00:00Z" {
		t.Errorf("created %v", sg)
	}
	id := fmt.Sprint(sg["segment_id"])

	code, out = f.do(t, "GET", base+"segments", r, nil, "")
	if list := out["segments"].([]any); code != 200 || len(list) != 1 || fmt.Sprint(list[0].(map[string]any)["segment_id"]) != id {
		t.Errorf("list: %d %v", code, out)
	}
	code, out = f.do(t, "GET", base+"segment/"+id+"/size", r, nil, "")
	if size, _ := out["size"].(map[string]any); code != 200 || size["customers"] != 1.0 || size["client_ids"] != 2.0 || size["emails"] != 1.0 || size["phones"] != 1.0 {
		t.Errorf("size: %d %v", code, out)
	}
	code, out = f.do(t, "GET", base+"segment/"+id+"/members", w, nil, "")
	members, _ := out["members"].([]any)
	if code != 200 || len(members) != 1 {
		t.Fatalf("members: %d %v", code, out)
	}
	m := members[0].(map[string]any)
	emails := m["email_sha256"].([]any)
	if m["uniq_id"] != "C1" || fmt.Sprint(m["client_ids"]) != "[111 222]" || len(emails) != 1 || len(emails[0].(string)) != 64 {
		t.Errorf("member %v", m)
	}
	if strings.Contains(fmt.Sprint(out), "yandex") || strings.Contains(fmt.Sprint(out), "999") {
		t.Errorf("members show a plain identifier: %v", out)
	}

	// The segment cuts the Clients report and reports.
	cid := f.counter.ID.String()
	code, out = f.do(t, "GET", "/cdp/api/v1/counter/"+cid+"/clients?segment="+id, r, nil, "")
	if rows, _ := out["data"].([]any); code != 200 || out["total_rows"] != 1.0 || len(rows) != 1 || rows[0].(map[string]any)["uniq_id"] != "C1" {
		t.Errorf("clients of the segment: %d %v", code, out)
	}
	code, out = f.do(t, "GET", "/stat/v1/data?ids="+cid+"&metrics=ym:s:visits&segment="+id, r, nil, "")
	if code != 200 {
		t.Errorf("report of the segment: %d %v", code, out)
	}
	code, out = f.do(t, "GET", "/stat/v1/data?ids="+cid+"&metrics=ym:s:visits&filters="+urlEscape("cdp:c:paidOrders>='x'"), r, nil, "")
	if code != 400 || !strings.Contains(fmt.Sprint(out["message"]), "filters: column 1: cdp:c:paidOrders compares numbers") {
		t.Errorf("report with a bad term on people: %d %v", code, out)
	}
	for _, path := range []string{"/stat/v1/data?ids=" + cid + "&metrics=ym:s:visits&segment=999", "/cdp/api/v1/counter/" + cid + "/clients?segment=x"} {
		if code, out := f.do(t, "GET", path, r, nil, ""); code != 400 || !strings.Contains(fmt.Sprint(out["message"]), "segment: ") {
			t.Errorf("%s: %d %v", path, code, out)
		}
	}

	// An expression not saved yet.
	code, out = f.do(t, "GET", base+"size?expression="+urlEscape("cdp:c:id=='C2'"), r, nil, "")
	if size, _ := out["size"].(map[string]any); code != 200 || size["customers"] != 1.0 || out["audiences"] == nil {
		t.Errorf("size of an expression: %d %v", code, out)
	}
	code, out = f.do(t, "GET", base+"members?expression="+urlEscape("cdp:c:id=='C2'"), w, nil, "")
	if members, _ := out["members"].([]any); code != 200 || len(members) != 1 || members[0].(map[string]any)["uniq_id"] != "C2" {
		t.Errorf("members of an expression: %d %v", code, out)
	}
	if code, out = f.do(t, "GET", base+"size?expression="+urlEscape("cdp:c:x==1"), r, nil, ""); code != 400 || !strings.Contains(fmt.Sprint(out["message"]), "expression: column 1") {
		t.Errorf("size of a bad expression: %d %v", code, out)
	}
	if code, _ = f.do(t, "GET", base+"members?expression="+urlEscape("cdp:c:id=='C2'"), r, nil, ""); code != 403 {
		t.Errorf("members of an expression with a read token: %d", code)
	}

	code, out = f.do(t, "PUT", base+"segment/"+id, w, strings.NewReader(`{"segment":{"name":"Anyone","expression":"cdp:c:orders==0"}}`), "application/json")
	if code != 200 || out["segment"].(map[string]any)["expression"] != "cdp:c:orders==0" {
		t.Errorf("update: %d %v", code, out)
	}
	if _, out = f.do(t, "GET", base+"segment/"+id+"/size", r, nil, ""); out["size"].(map[string]any)["customers"] != 2.0 {
		t.Errorf("size after update: %v", out)
	}

	for _, c := range []struct {
		method, path, auth, body string
		code                     int
		errType, message         string
	}{
		{"POST", "segments", w, `{"segment":{"name":"x","expression":"cdp:c:paidOrders>='two'"}}`, 400, "invalid_parameter", "expression: column 1: cdp:c:paidOrders compares numbers"},
		{"POST", "segments", w, `{"segment":{"name":"x","expression":"ym:s:deviceCategory=='mobile' AND ym:s:nope=='1'"}}`, 400, "invalid_parameter", "column 35: unknown name"},
		{"POST", "segments", w, `{"segment":{"name":"x","expression":"EXISTS(ym:s:daysAgo<=3 AND cdp:o:revenue>1)"}}`, 400, "invalid_parameter", "column 1: EXISTS(...) takes a condition on sessions"},
		{"POST", "segments", w, `{"segment":{"name":"","expression":"cdp:c:orders>1"}}`, 400, "invalid_parameter", "name"},
		{"POST", "segments", w, `{"segment":`, 400, "invalid_json", ""},
		{"POST", "segments", r, `{"segment":{"name":"x","expression":"cdp:c:orders>1"}}`, 403, "access_denied", ""},
		{"GET", "segment/" + id + "/members", r, "", 403, "access_denied", ""},
		{"DELETE", "segment/" + id, r, "", 403, "access_denied", ""},
		{"GET", "segments", "OAuth " + f.foreign, "", 403, "access_denied", ""},
		{"GET", "segment/999", r, "", 404, "not_found", ""},
		{"GET", "segment/abc", r, "", 400, "invalid_parameter", ""},
		{"GET", "segment/" + id + "/members?limit=0", w, "", 400, "invalid_parameter", "limit"},
	} {
		var rd *strings.Reader
		if c.body != "" {
			rd = strings.NewReader(c.body)
		}
		var code int
		var out map[string]any
		if rd != nil {
			code, out = f.do(t, c.method, base+c.path, c.auth, rd, "application/json")
		} else {
			code, out = f.do(t, c.method, base+c.path, c.auth, nil, "")
		}
		if code != c.code || errorType(t, code, out) != c.errType || !strings.Contains(fmt.Sprint(out["message"]), c.message) {
			t.Errorf("%s %s %s: %d %v; want %d %s %q", c.method, c.path, c.body, code, out, c.code, c.errType, c.message)
		}
	}

	if code, out := f.do(t, "DELETE", base+"segment/"+id, w, nil, ""); code != 200 || out["success"] != true {
		t.Errorf("delete: %d %v", code, out)
	}
	if code, _ := f.do(t, "GET", base+"segment/"+id, r, nil, ""); code != 404 {
		t.Errorf("after delete: %d", code)
	}
}

// TestSegmentAudience: audience files download with the hashes of the
// documented normal forms, say in headers what they hold and whom they
// left out, refuse a Yandex file under 100 rows, and are recorded.
func TestSegmentAudience(t *testing.T) {
	f := newFixture(t, 0)
	body, ct := multipartFile(t, contactsCSV)
	uploading(t, f.post(t, "/data/contacts/csv", ct, body))
	base := "/management/v1/counter/" + f.counter.ID.String() + "/apisegment/"
	w := "OAuth " + f.write
	code, out := f.do(t, "POST", base+"segments", w, strings.NewReader(`{"segment":{"name":"Both","expression":"cdp:c:orders==0"}}`), "application/json")
	if code != 200 {
		t.Fatalf("create: %d %v", code, out)
	}
	id := fmt.Sprint(out["segment"].(map[string]any)["segment_id"])
	sha := func(s string) string {
		sum := sha256.Sum256([]byte(s))
		return hex.EncodeToString(sum[:])
	}
	get := func(query string) (*http.Response, string) {
		req, _ := http.NewRequest("GET", f.srv.URL+base+"segment/"+id+"/audience?"+query, nil)
		req.Header.Set("Authorization", w)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		raw, _ := io.ReadAll(resp.Body)
		return resp, string(raw)
	}
	resp, got := get("format=google")
	want := "Email,Phone\n" + sha("mail@yandex.ru") + "," + sha("+79995551111") + "\n"
	if resp.StatusCode != 200 || got != want {
		t.Fatalf("google: %d %q, want %q", resp.StatusCode, got, want)
	}
	if h := resp.Header; h.Get("X-Crmlink-Rows") != "1" || h.Get("X-Crmlink-Members") != "1" || h.Get("X-Crmlink-Left-Out") != `{"no_email_phone":1}` ||
		!strings.Contains(h.Get("Content-Disposition"), "segment-"+id+"-google.csv") {
		t.Errorf("google headers: %v", h)
	}
	resp, got = get("format=yandex_crm")
	if resp.StatusCode != 409 || !strings.Contains(got, "the segment gives 1 rows for Yandex Audience: CRM data, which takes files of at least 100") {
		t.Errorf("yandex_crm of 1 row: %d %s", resp.StatusCode, got)
	}
	for q, msg := range map[string]string{"format=x": "want one of yandex_crm, yandex_clientid, google, meta, vk_email, vk_phone", "format=meta&plain=true": "takes SHA-256 hashes only",
		"format=google&plain=true": "keep_pii is off", "format=google&plain=maybe": "want true or false"} {
		if resp, got := get(q); resp.StatusCode != 400 || !strings.Contains(got, msg) {
			t.Errorf("%s: %d %s", q, resp.StatusCode, got)
		}
	}

	// 120 customers make a Yandex file.
	var csv strings.Builder
	csv.WriteString("uniq_id,emails,phones\n")
	for i := range 120 {
		fmt.Fprintf(&csv, "N%03d,n%d@example.com,+7 900 000-%04d\n", i, i, i)
	}
	body, ct = multipartFile(t, csv.String())
	uploading(t, f.post(t, "/data/contacts/csv?merge_mode=APPEND", ct, body))
	resp, got = get("format=yandex_crm")
	lines := strings.Split(strings.TrimSuffix(got, "\n"), "\n")
	if resp.StatusCode != 200 || len(lines) != 122 || lines[0] != "email,phone,ext_id" || lines[2] != sha("n0@example.com")+","+sha("79000000000")+",N000" {
		t.Errorf("yandex_crm: %d, %d lines, %q", resp.StatusCode, len(lines), lines[:min(3, len(lines))])
	}
	code, out = f.do(t, "GET", base+"segment/"+id+"/size", "OAuth "+f.read, nil, "")
	counts := fmt.Sprint(out["audiences"])
	if code != 200 || !strings.Contains(counts, "format:yandex_crm left_out:1 members:121 rows:121") {
		t.Errorf("size: %d %s", code, counts)
	}
	code, out = f.do(t, "GET", base+"segment/"+id+"/exports", "OAuth "+f.read, nil, "")
	exports, _ := out["exports"].([]any)
	if code != 200 || len(exports) != 2 {
		t.Fatalf("exports: %d %v", code, out)
	}
	if code, out := f.do(t, "GET", base+"exports", "OAuth "+f.read, nil, ""); code != 200 || len(out["exports"].([]any)) != 2 {
		t.Errorf("the counter's exports: %d %v", code, out)
	}
	last := exports[0].(map[string]any)
	if last["format"] != "yandex_crm" || last["kind"] != "download" || last["rows"] != 121.0 || last["members"] != 121.0 || last["left_out"] != 1.0 {
		t.Errorf("last export: %v", last)
	}
}

// TestSegmentPush: a counter's Yandex Audience target is set by an
// admin and never shown back; a push sends the segment's CRM file,
// hashed, and records it; a refusal answers 502 with Audience's message
// and is recorded; the schedule pushes again once due, replacing the
// data.
func TestSegmentPush(t *testing.T) {
	f := newFixture(t, 0)
	var mu sync.Mutex
	var calls []string
	var files []string
	failing := false
	yandex := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		defer mu.Unlock()
		calls = append(calls, r.Method+" "+r.URL.RequestURI()+" "+r.Header.Get("Authorization"))
		w.Header().Set("Content-Type", "application/json")
		if failing {
			w.WriteHeader(400)
			io.WriteString(w, `{"errors":[{"error_type":"invalid_parameter","message":"Too few valid rows"}],"code":400,"message":"Too few valid rows"}`)
			return
		}
		if file, _, err := r.FormFile("file"); err == nil {
			raw, _ := io.ReadAll(file)
			files = append(files, string(raw))
		}
		io.WriteString(w, `{"segment":{"id":77,"name":"x","status":"uploaded"}}`)
	}))
	defer yandex.Close()
	var csv strings.Builder
	csv.WriteString("uniq_id,emails\n")
	for i := range 100 {
		fmt.Fprintf(&csv, "N%03d,n%d@example.com\n", i, i)
	}
	body, ct := multipartFile(t, csv.String())
	uploading(t, f.post(t, "/data/contacts/csv", ct, body))
	cid := f.counter.ID.String()
	base := "/management/v1/counter/" + cid + "/apisegment/"
	w := "OAuth " + f.write
	code, out := f.do(t, "POST", base+"segments", w, strings.NewReader(`{"segment":{"name":"Everyone","expression":"cdp:c:orders==0"}}`), "application/json")
	if code != 200 {
		t.Fatalf("create: %d %v", code, out)
	}
	id := fmt.Sprint(out["segment"].(map[string]any)["segment_id"])
	push := base + "segment/" + id + "/push"
	if code, out := f.do(t, "POST", push, w, strings.NewReader(`{"format":"yandex_crm"}`), "application/json"); code != 409 ||
		!strings.Contains(fmt.Sprint(out["message"]), "Yandex Audience is not set up") {
		t.Errorf("push before the target is set: %d %v", code, out)
	}
	target := "/management/v1/counter/" + cid + "/audience/yandex"
	setBody := `{"yandex_audience":{"token":"secret-oauth","base_url":"` + yandex.URL + `"}}`
	if code, _ := f.do(t, "PUT", target, w, strings.NewReader(setBody), "application/json"); code != 403 {
		t.Errorf("a write token set the target: %d", code)
	}
	if code, out := f.do(t, "PUT", target, "OAuth "+f.admin, strings.NewReader(setBody), "application/json"); code != 200 || strings.Contains(fmt.Sprint(out), "secret-oauth") {
		t.Errorf("set target: %d %v", code, out)
	}
	if code, out := f.do(t, "GET", target, "OAuth "+f.read, nil, ""); code != 200 || strings.Contains(fmt.Sprint(out), "secret-oauth") ||
		out["yandex_audience"].(map[string]any)["token_set"] != true {
		t.Errorf("get target: %d %v", code, out)
	}
	code, out = f.do(t, "POST", push, w, strings.NewReader(`{"format":"yandex_crm","every_hours":24}`), "application/json")
	if e, _ := out["export"].(map[string]any); code != 200 || e["target"] != "77" || e["rows"] != 100.0 || e["kind"] != "push" {
		t.Fatalf("push: %d %v", code, out)
	}
	mu.Lock()
	if len(calls) != 2 || calls[0] != "POST /v1/management/segments/upload_csv_file OAuth secret-oauth" ||
		calls[1] != "POST /v1/management/segment/77/confirm OAuth secret-oauth" || len(files) != 1 ||
		!strings.HasPrefix(files[0], "email,phone,ext_id\n"+sha256Hex("n0@example.com")+",,N000\n") {
		t.Errorf("calls %q, files %d", calls, len(files))
	}
	mu.Unlock()

	// Not due yet; a day later, due: the data of segment 77 is replaced.
	p := &audience.Pusher{Store: f.store, Clock: f.clock}
	if err := p.PushDue(context.Background()); err != nil {
		t.Fatal(err)
	}
	f.clock.T = f.clock.T.Add(24 * time.Hour)
	if err := p.PushDue(context.Background()); err != nil {
		t.Fatal(err)
	}
	mu.Lock()
	if len(calls) != 3 || calls[2] != "POST /v1/management/segment/77/modify_data?modification_type=replace OAuth secret-oauth" {
		t.Errorf("scheduled push: %q", calls)
	}
	failing = true
	mu.Unlock()
	code, out = f.do(t, "POST", push, w, strings.NewReader(`{"format":"yandex_crm"}`), "application/json")
	if code != 502 || errorType(t, code, out) != "upstream_error" || !strings.Contains(fmt.Sprint(out["message"]), "Too few valid rows") {
		t.Errorf("refused push: %d %v", code, out)
	}
	code, out = f.do(t, "GET", base+"segment/"+id+"/exports", "OAuth "+f.read, nil, "")
	exports, _ := out["exports"].([]any)
	pushes, _ := out["pushes"].([]any)
	if code != 200 || len(exports) != 3 || len(pushes) != 1 {
		t.Fatalf("exports: %d %v", code, out)
	}
	if e := exports[0].(map[string]any); !strings.Contains(fmt.Sprint(e["error"]), "Too few valid rows") {
		t.Errorf("the refused push is recorded as %v", e)
	}
	if e := exports[1].(map[string]any); e["who"] != "schedule" || e["target"] != "77" {
		t.Errorf("the scheduled push is recorded as %v", e)
	}
	if p := pushes[0].(map[string]any); p["every_hours"] != 24.0 || p["target_id"] != 77.0 {
		t.Errorf("push state %v", p)
	}
}

func sha256Hex(s string) string {
	sum := sha256.Sum256([]byte(s))
	return hex.EncodeToString(sum[:])
}
