package http_test

import (
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
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

// FuzzUpload sends arbitrary bodies to the upload endpoints: every answer is
// a 200 with an uploading or a 4xx with Metrica's error body, never a 5xx.
func FuzzUpload(f *testing.F) {
	for _, seed := range []struct {
		path, ct, body string
	}{
		{"data/contacts/csv", "text/csv", contactsCSV},
		{"data/orders/csv", "text/csv", "id,client_uniq_id,create_date_time,order_status,revenue\nO1,C1,2026-02-01 10:00,PAID,10\n"},
		{"data/orders/json", "application/json", `{"orders":[{"id":"O1","client_uniq_id":"C1","create_date_time":"2026-02-01","order_status":"PAID"}]}`},
		{"data/contacts/json", "application/json", `{"contacts":[{"uniq_id":"C9","emails":["a@b.c"]}]}`},
		{"data/simple_orders", "text/csv", "create_date_time,client_ids\n2026-02-01,5\n"},
		{"data/sessions?format=metrica-logs", "text/tab-separated-values", "ym:s:visitID\tym:s:clientID\tym:s:dateTime\n1\t2\t2026-02-01 10:00:00\n"},
		{"data/contacts/csv", "text/csv", "uniq_id,name\rC1,\"A\rB\"\rC2,\x00\r"},
		{"data/contacts/csv", "text/csv", "\xff\xfeu\x00n\x00"},
		{"data/contacts/json", "application/json", `{"contacts":[{"uniq_id":"C1","n":"\u0000"}],"contacts":[]}`},
		{"data/contacts/json", "application/json", "[{\"uniq_id\":\"\xff\"}]"},
		{"data/contacts/csv", "multipart/form-data; boundary=b", "--b\r\nContent-Disposition: form-data; name=\"file\"\r\n\r\nuniq_id\nC1\n\r\n" +
			"--b\r\nContent-Disposition: form-data; name=\"x\"; filename=\"y\"\r\n\r\nuniq_id\nC2\n\r\n--b--\r\n"},
		{"data/contacts/csv", "multipart/form-data; boundary=b", "--b\r\nContent-Disposition: form-data; name=\"file\"\r\n\r\nuniq_id\nC1\n"},
	} {
		f.Add(seed.path, seed.ct, seed.body)
	}
	clock := &crmlink.FixedClock{T: storetest.Epoch}
	st, err := store.Open(context.Background(), "duckdb://"+filepath.Join(f.TempDir(), "fuzz.db"), store.Config{Clock: clock})
	if err != nil {
		f.Fatal(err)
	}
	f.Cleanup(func() { st.Close() })
	c := storetest.MustCounter(f, st, "Shop", "UTC")
	secret := crmhttp.NewTokenSecret()
	if err := st.CreateToken(context.Background(), &crmlink.Token{Hash: crmhttp.HashToken(secret), CounterID: c.ID, Scope: crmlink.ScopeWrite}); err != nil {
		f.Fatal(err)
	}
	h := crmhttp.NewServer(crmhttp.Config{Store: st, Clock: clock, Classifier: traffic.New(), Logger: discardLogger()})
	paths := map[string]bool{"data/contacts/csv": true, "data/orders/csv": true, "data/orders/json": true,
		"data/contacts/json": true, "data/simple_orders": true, "data/sessions?format=metrica-logs": true, "data/sessions": true}
	f.Fuzz(func(t *testing.T, path, ct, body string) {
		if !paths[path] {
			return
		}
		req := httptest.NewRequest("POST", "/cdp/api/v1/counter/"+c.ID.String()+"/"+path, strings.NewReader(body))
		req.Header.Set("Authorization", "OAuth "+secret)
		req.Header.Set("Content-Type", ct)
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, req)
		var out map[string]any
		if err := json.Unmarshal(rec.Body.Bytes(), &out); err != nil {
			t.Fatalf("%s: answer is not JSON: %q", path, rec.Body.String())
		}
		switch {
		case rec.Code == http.StatusOK:
			if _, ok := out["uploading"]; !ok {
				t.Fatalf("200 without an uploading: %v", out)
			}
		case rec.Code >= 400 && rec.Code < 500:
			if _, ok := out["errors"]; !ok {
				t.Fatalf("%d without errors: %v", rec.Code, out)
			}
		default:
			t.Fatalf("%s %q: status %d: %v", path, body, rec.Code, out)
		}
	})
}
