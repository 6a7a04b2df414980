package http_test

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"mime/multipart"
	"net/http/httptest"
	"regexp"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/crmlink/crmlink"
)

func utf16LE(s string) string {
	b := []byte{0xff, 0xfe}
	for _, r := range s {
		b = append(b, byte(r), byte(r>>8))
	}
	return string(b)
}

// multipartFiles is a multipart body with one part per name, each a file
// unless its name starts with "field:".
func multipartFiles(t *testing.T, parts ...string) (*bytes.Buffer, string) {
	t.Helper()
	var buf bytes.Buffer
	mw := multipart.NewWriter(&buf)
	for i := 0; i < len(parts); i += 2 {
		var w io.Writer
		var err error
		if name, ok := strings.CutPrefix(parts[i], "field:"); ok {
			w, err = mw.CreateFormField(name)
		} else {
			w, err = mw.CreateFormFile(parts[i], fmt.Sprintf("part%d.csv", i/2+1))
		}
		if err != nil {
			t.Fatal(err)
		}
		io.WriteString(w, parts[i+1])
	}
	mw.Close()
	return &buf, mw.FormDataContentType()
}

// TestUploadRefusals: what was once answered 200 PASSED with nothing (or
// the wrong thing) stored is read right or refused with a 400 naming the
// problem; nothing of a refused upload is stored.
func TestUploadRefusals(t *testing.T) {
	f := newFixture(t, 0)
	ctx := context.Background()
	type body func(t *testing.T) (io.Reader, string)
	file := func(s string) body { return func(t *testing.T) (io.Reader, string) { return multipartFile(t, s) } }
	raw := func(ct, s string) body {
		return func(*testing.T) (io.Reader, string) { return strings.NewReader(s), ct }
	}
	cut := func(s string, drop int) body {
		return func(t *testing.T) (io.Reader, string) {
			b, ct := multipartFile(t, s)
			all, _ := io.ReadAll(b)
			return bytes.NewReader(all[:len(all)-drop]), ct
		}
	}
	for _, tc := range []struct {
		name   string
		path   string
		body   body
		code   int
		msg    string   // in the answer's message
		stored []string // contacts stored by a good upload
	}{
		{"CR line ends", "/data/contacts/csv", file("uniq_id,name\rR1,Anna\rR2,Boris\r"), 200, "", []string{"R1", "R2"}},
		{"a header alone", "/data/contacts/csv", file("uniq_id,name\r\n"), 400, "the file has no rows", nil},
		{"UTF-16", "/data/contacts/csv", file(utf16LE("uniq_id,name\r\nU1,Anna\r\n")), 400, "line 1: the file is UTF-16: save it as UTF-8", nil},
		{"a NUL in a cell", "/data/contacts/csv", file("uniq_id,name\nN1,Anna\nN2,Bo\x00ris\n"), 400, "line 3, column name: contains a NUL byte", nil},
		{"a second file", "/data/contacts/csv", func(t *testing.T) (io.Reader, string) {
			return multipartFiles(t, "file", "uniq_id\nS1\n", "field:comment", "x", "other", "uniq_id\nS2\n")
		}, 400, `the multipart body has a second file (part "other", file name "part3.csv"): send one file per request`, nil},
		{"a second file, large first", "/data/contacts/csv", func(t *testing.T) (io.Reader, string) {
			return multipartFiles(t, "file", "uniq_id\n"+strings.Repeat("L1\n", 200_000), "file", "uniq_id\nS2\n")
		}, 400, "the multipart body has a second file", nil},
		{"a form field after the file", "/data/contacts/csv", func(t *testing.T) (io.Reader, string) {
			return multipartFiles(t, "file", "uniq_id\nF1\n", "field:comment", "x")
		}, 200, "", []string{"F1"}},
		{"a multipart body cut off", "/data/contacts/csv", cut("uniq_id\nT1\nT2\n", 10), 400, "the multipart body ends before its closing boundary", nil},
		{"a long multipart body cut off", "/data/contacts/csv", cut("uniq_id\n"+strings.Repeat("T3\n", 200_000), 10), 400, "the multipart body ends before its closing boundary", nil},
		{"JSON: an empty array", "/data/contacts/json", raw("application/json", `[]`), 400, `the file has no rows: the JSON is an empty array; want {"contacts":[...]}`, nil},
		{"JSON: the key twice", "/data/contacts/json", raw("application/json", `{"contacts":[{"uniq_id":"D1"}],"contacts":[{"uniq_id":"D2"}]}`), 400, `the JSON object has "contacts" twice`, nil},
		{"JSON: not UTF-8", "/data/contacts/json", raw("application/json", "{\"contacts\":[{\"uniq_id\":\"W\xe91\"}]}"), 400, "the JSON is not valid UTF-8 at byte offset 26: save the file in UTF-8", nil},
		{"JSON: a NUL", "/data/contacts/json", raw("application/json", `{"contacts":[{"uniq_id":"Z1","name":"\u0000"}]}`), 400, "line 1, column name: contains a NUL byte", nil},
		{"JSON: a bare array", "/data/contacts/json", raw("application/json", `[{"uniq_id":"B1"}]`), 200, "", []string{"B1"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			b, ct := tc.body(t)
			r := f.post(t, tc.path, ct, b)
			if r.code != tc.code {
				t.Fatalf("answered %d, want %d: %v", r.code, tc.code, r.body)
			}
			if tc.code != 200 {
				if msg, _ := r.body["message"].(string); !strings.Contains(msg, tc.msg) || errorType(t, r.code, r.body) == "" {
					t.Errorf("message %q, want %q", msg, tc.msg)
				}
				return
			}
			if up := uploading(t, r); up["elements_count"] != float64(len(tc.stored)) {
				t.Errorf("uploading %v, want %d elements", up, len(tc.stored))
			}
			for _, id := range tc.stored {
				if _, err := f.store.Contact(ctx, f.counter.ID, id); err != nil {
					t.Errorf("contact %s: %v", id, err)
				}
			}
		})
	}
	// Nothing of the refused uploads was stored.
	for _, id := range []string{"U1", "N1", "S1", "S2", "L1", "T1", "T3", "D1", "D2", "Z1"} {
		if _, err := f.store.Contact(ctx, f.counter.ID, id); crmlink.KindOf(err) != crmlink.KindNotFound {
			t.Errorf("contact %s of a refused upload: %v", id, err)
		}
	}
}

// shortBody is a body whose sender promised more than it sent: net/http
// reports io.ErrUnexpectedEOF.
type shortBody struct{ r io.Reader }

func (b shortBody) Read(p []byte) (int, error) {
	n, err := b.r.Read(p)
	if err == io.EOF {
		err = io.ErrUnexpectedEOF
	}
	return n, err
}

// TestBodyEndsEarly: a raw body that ends before its declared length is
// the sender's fault: 400, not 500.
func TestBodyEndsEarly(t *testing.T) {
	f := newFixture(t, 0)
	for _, tc := range []struct{ path, ct, body string }{
		{"/data/contacts/csv", "text/csv", "uniq_id\nE1\nE2"},
		{"/data/contacts/json", "application/json", `{"contacts":[{"uniq_id":"E1"}`},
		{"/data/sessions", "text/csv", "client_id,start\n1,2026-02-01 10:00"},
	} {
		req := httptest.NewRequest("POST", "/cdp/api/v1/counter/"+f.counter.ID.String()+tc.path, shortBody{strings.NewReader(tc.body)})
		req.Header.Set("Authorization", "OAuth "+f.write)
		req.Header.Set("Content-Type", tc.ct)
		rec := httptest.NewRecorder()
		f.srv.Config.Handler.ServeHTTP(rec, req)
		if rec.Code != 400 || !strings.Contains(rec.Body.String(), "the upload was cut off") {
			t.Errorf("%s: %d %s", tc.path, rec.Code, rec.Body)
		}
	}
}

// TestUploadBodyLimit: a multipart or JSON body over the limit is a 413,
// as a raw one is.
func TestUploadBodyLimit(t *testing.T) {
	f := newFixture(t, 1024)
	b, ct := multipartFile(t, "uniq_id\n"+strings.Repeat("M1\n", 1000))
	r := f.post(t, "/data/contacts/csv", ct, b)
	if r.code != 413 || !strings.Contains(r.body["message"].(string), "1024 bytes") {
		t.Errorf("multipart over the limit: %d %v", r.code, r.body)
	}
	json := `{"contacts":[` + strings.Repeat(`{"uniq_id":"M2"},`, 100) + `{"uniq_id":"M3"}]}`
	for _, in := range []string{json, `{"junk":"` + strings.Repeat("x", 2000) + `","contacts":[]}`} {
		r = f.post(t, "/data/contacts/json", "application/json", strings.NewReader(in))
		if r.code != 413 || !strings.Contains(r.body["message"].(string), "1024 bytes") {
			t.Errorf("JSON over the limit: %d %v", r.code, r.body)
		}
	}
}

// TestAllErrorsInOneAnswer: a file's bad date on line 3 does not hide
// line 4's unknown customer: the answer and the upload's record list both,
// in line order, and count every row; nothing is stored.
func TestAllErrorsInOneAnswer(t *testing.T) {
	f := newFixture(t, 0)
	ctx := context.Background()
	b, ct := multipartFile(t, "uniq_id\nC1\n")
	uploading(t, f.post(t, "/data/contacts/csv", ct, b))
	file := "id,client_uniq_id,create_date_time,order_status\n" +
		"O1,C1,2026-02-01 10:00,PAID\n" +
		"O2,C1,31.02.2026,PAID\n" +
		"O3,C404,2026-02-01 10:00,PAID\n" +
		"O4,C1,2026-02-01 10:00,PAID\n"
	for _, path := range []string{"/data/orders/csv", "/data/orders/csv?on_error=skip"} {
		b, ct = multipartFile(t, file)
		r := f.post(t, path, ct, b)
		skip := strings.Contains(path, "skip")
		var id string
		if skip {
			up := uploading(t, r)
			id = up["uploading_id"].(string)
		} else {
			msg, _ := r.body["message"].(string)
			if r.code != 400 || !strings.Contains(msg, "line 3, column create_date_time") || !strings.Contains(msg, "line 4, column client_uniq_id") ||
				strings.Index(msg, "line 3") > strings.Index(msg, "line 4") || len(r.body["errors"].([]any)) != 2 {
				t.Fatalf("%s: %d %v", path, r.code, r.body)
			}
			id = r.body["uploading_id"].(string)
		}
		code, out := f.do(t, "GET", "/cdp/api/v1/counter/"+f.counter.ID.String()+"/uploading/"+id, "OAuth "+f.read, nil, "")
		up := out["uploading"].(map[string]any)
		errs, _ := up["errors"].([]any)
		if code != 200 || up["rows"] != 4.0 || up["rejected"] != 2.0 || up["errors_total"] != 2.0 || len(errs) != 2 ||
			errs[0].(map[string]any)["line"] != 3.0 || errs[1].(map[string]any)["line"] != 4.0 {
			t.Errorf("%s: uploading %d %v", path, code, up)
		}
		_, _, err := f.store.Order(ctx, f.counter.ID, "O1")
		switch {
		case skip && (up["accepted"] != 2.0 || up["api_validation_status"] != "PASSED" || err != nil):
			t.Errorf("%s: %v, O1: %v", path, up, err)
		case !skip && (up["accepted"] != 0.0 || up["api_validation_status"] != "FAILED" || crmlink.KindOf(err) != crmlink.KindNotFound):
			t.Errorf("%s: %v, O1: %v", path, up, err)
		}
	}
}

// jsonField is a JSON body of contacts whose first contact's name is n
// bytes long, made on the fly; it counts the bytes read from it and
// samples the heap as it is read.
type jsonField struct {
	head, tail string
	n, sent    int64
	peak       uint64 // HeapInuse
}

func (j *jsonField) Read(p []byte) (int, error) {
	if j.sent%(1<<20) < int64(len(p)) {
		var m runtime.MemStats
		runtime.ReadMemStats(&m)
		j.peak = max(j.peak, m.HeapInuse)
	}
	total := int64(len(j.head)) + j.n + int64(len(j.tail))
	if j.sent >= total {
		return 0, io.EOF
	}
	k := 0
	for k < len(p) && j.sent < total {
		switch {
		case j.sent < int64(len(j.head)):
			c := copy(p[k:], j.head[j.sent:])
			k, j.sent = k+c, j.sent+int64(c)
		case j.sent < int64(len(j.head))+j.n:
			c := int(min(int64(len(p)-k), int64(len(j.head))+j.n-j.sent))
			for i := range c {
				p[k+i] = 'x'
			}
			k, j.sent = k+c, j.sent+int64(c)
		default:
			c := copy(p[k:], j.tail[j.sent-int64(len(j.head))-j.n:])
			k, j.sent = k+c, j.sent+int64(c)
		}
	}
	return k, nil
}

// TestJSONFieldTooLarge: a JSON upload with a 300 MB string is refused
// with a 413 once a megabyte or so of it is read, with the heap bounded;
// so is a 300 MB value outside the contacts.
func TestJSONFieldTooLarge(t *testing.T) {
	f := newFixture(t, 0)
	for _, tc := range []struct{ head, tail string }{
		{`{"contacts":[{"uniq_id":"J1","name":"`, `"}]}`},
		{`{"junk":"`, `","contacts":[{"uniq_id":"J1"}]}`},
	} {
		runtime.GC()
		var m runtime.MemStats
		runtime.ReadMemStats(&m)
		base := m.HeapInuse
		body := &jsonField{head: tc.head, tail: tc.tail, n: 300 << 20, peak: base}
		stop := make(chan struct{})
		sampled := make(chan uint64)
		go func() { // samples the heap between reads too
			peak := base
			for {
				select {
				case <-stop:
					sampled <- peak
					return
				case <-time.After(time.Millisecond):
				}
				var m runtime.MemStats
				runtime.ReadMemStats(&m)
				peak = max(peak, m.HeapInuse)
			}
		}()
		req := httptest.NewRequest("POST", "/cdp/api/v1/counter/"+f.counter.ID.String()+"/data/contacts/json", body)
		req.Header.Set("Authorization", "OAuth "+f.write)
		req.Header.Set("Content-Type", "application/json")
		rec := httptest.NewRecorder()
		f.srv.Config.Handler.ServeHTTP(rec, req)
		close(stop)
		body.peak = max(body.peak, <-sampled)
		t.Logf("%s... read %d bytes of %d, heap in use %d MiB at most (%d MiB more than before)",
			tc.head, body.sent, body.n, body.peak>>20, (body.peak-base)>>20)
		if rec.Code != 413 || !strings.Contains(rec.Body.String(), "larger than the limit of 1 MiB") {
			t.Errorf("%s...: %d %s", tc.head, rec.Code, rec.Body)
		}
		if body.sent > 2<<20 || body.peak-base > 32<<20 {
			t.Errorf("%s...: read %d bytes, heap grew by %d MiB", tc.head, body.sent, (body.peak-base)>>20)
		}
	}
}

// TestRefusedFileRowCount checks that a file refused for a CSV syntax
// error, which stops reading, records and shows the rows of the whole
// file, not only those read before the error; and that a file whose rows
// were all refused under on_error=skip is not shown as passed.
func TestRefusedFileRowCount(t *testing.T) {
	f := newFixture(t, 0)
	b, ct := multipartFile(t, "uniq_id\nC1\n")
	uploading(t, f.post(t, "/data/contacts/csv", ct, b))
	file := "id,client_uniq_id,create_date_time,order_status\n" +
		"O1,C1,2026-02-01 10:00,PAID\n" +
		"O2,C1,2026-02-01 10:00,PAID\n" +
		"O3,C\"1,2026-02-01 10:00,PAID\n" + // a bare quote: reading stops here
		"O4,C1,2026-02-01 10:00,PAID\n" +
		"\n" +
		"O5,C1,2026-02-01 10:00,PAID\n" +
		"O6,C1,2026-02-01 10:00,PAID\n"
	for _, q := range []string{"", "?on_error=skip"} {
		b, ct = multipartFile(t, file)
		r := f.post(t, "/data/orders/csv"+q, ct, b)
		id, _ := r.body["uploading_id"].(string)
		if r.code != 400 || id == "" {
			t.Fatalf("%s: %d %v, want a refusal", q, r.code, r.body)
		}
		up, err := f.store.Upload(context.Background(), f.counter.ID, id)
		if err != nil {
			t.Fatal(err)
		}
		if up.Status != crmlink.UploadFailed || up.Rows != 6 || up.Rejected != 1 || up.Accepted != 0 {
			t.Errorf("%s: %s rows %d, accepted %d, rejected %d; want FAILED, 6 rows, 0 accepted, 1 refused",
				q, up.Status, up.Rows, up.Accepted, up.Rejected)
		}
	}

	// Every row refused, on_error=skip: passed, nothing stored.
	b, ct = multipartFile(t, "id,client_uniq_id,create_date_time,order_status\nX1,C1,31.02.2026,PAID\nX2,C1,bad,PAID\n")
	up := uploading(t, f.post(t, "/data/orders/csv?on_error=skip", ct, b))
	if up["api_validation_status"] != "PASSED" || up["accepted"] != 0.0 {
		t.Fatalf("all rows refused with skip: %v", up)
	}
	br := newBrowser(t, f)
	br.signIn(f.admin, "", "")
	for _, path := range []string{"/uploads", "/uploads/" + up["uploading_id"].(string)} {
		p := br.get("/c/" + f.counter.ID.String() + path)
		if p.code != 200 {
			t.Fatalf("%s: %d", path, p.code)
		}
		row := p.body
		if path == "/uploads" {
			row = regexp.MustCompile(`(?s)<tr>\s*<td>[^<]*</td>\s*<td><a href="uploads/` + up["uploading_id"].(string) + `".*?</tr>`).FindString(p.body)
		}
		if !strings.Contains(row, `class="status u-EMPTY">nothing stored<`) || strings.Contains(row, "u-PASSED") {
			t.Errorf("%s: an upload that stored nothing is not shown as such: %.600s", path, row)
		}
	}
}
