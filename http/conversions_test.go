package http_test

import (
	"io"
	"net/http"
	"strings"
	"testing"
)

// TestConversionsExport: the goal reaches of a period as Google's offline
// click conversions (by the session's gclid) and Metrica's offline
// conversions (by ClientId), the order's profit as the value.
func TestConversionsExport(t *testing.T) {
	f := newFixture(t, 0)
	sessions := "session_id,client_id,start,landing_url\n" +
		"900,111,2026-02-01 09:00:00,https://shop.example/?utm_source=google&utm_medium=cpc&gclid=EAIaIQobChMIxyz\n"
	uploading(t, f.post(t, "/data/sessions", "text/csv", strings.NewReader(sessions)))
	body, ct := multipartFile(t, contactsCSV)
	uploading(t, f.post(t, "/data/contacts/csv", ct, body))
	body, ct = multipartFile(t, "id,client_uniq_id,create_date_time,order_status,revenue,cost\nO1,C1,2026-02-01 11:00,IN_PROGRESS,1500.50,900\n")
	uploading(t, f.post(t, "/data/orders/csv", ct, body))
	if code, out := f.do(t, "GET", "/cdp/api/v1/counter/"+f.counter.ID.String()+"/orders/O1", "OAuth "+f.read, nil, ""); code != 200 ||
		out["order"].(map[string]any)["link"].(map[string]any)["click_id"] != "gclid=EAIaIQobChMIxyz" {
		t.Errorf("the order's link: %d %v", code, out)
	}
	base := "/management/v1/counter/" + f.counter.ID.String() + "/conversions/export?date1=2026-02-01&date2=2026-02-01&format="
	get := func(format, auth string) (*http.Response, string) {
		req, _ := http.NewRequest("GET", f.srv.URL+base+format, nil)
		req.Header.Set("Authorization", auth)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		raw, _ := io.ReadAll(resp.Body)
		return resp, string(raw)
	}
	w := "OAuth " + f.write
	resp, got := get("google", w)
	want := "Google Click ID,Conversion Name,Conversion Time,Conversion Value,Conversion Currency\n" +
		"EAIaIQobChMIxyz,order_created,2026-02-01 11:00:00+03:00,600.5,RUB\n"
	if resp.StatusCode != 200 || got != want || resp.Header.Get("X-Crmlink-Rows") != "1" {
		t.Errorf("google: %d %v\n%q\nwant\n%q", resp.StatusCode, resp.Header, got, want)
	}
	resp, got = get("metrica", w)
	if want := "ClientId,Target,DateTime,Price,Currency\n111,order_created,1769932800,600.5,RUB\n"; resp.StatusCode != 200 || got != want {
		t.Errorf("metrica: %d\n%q\nwant\n%q", resp.StatusCode, got, want)
	}
	resp, got = get("metrica_yclid", w)
	if resp.StatusCode != 200 || resp.Header.Get("X-Crmlink-Skipped") != "1" || strings.Count(got, "\n") != 1 {
		t.Errorf("metrica by yclid: %d %v %q", resp.StatusCode, resp.Header, got)
	}
	resp, got = get("vk", w)
	if resp.StatusCode != 400 || !strings.Contains(got, "pixel") {
		t.Errorf("vk without a pixel: %d %s", resp.StatusCode, got)
	}
	resp, got = get("vk&pixel=3456789", w)
	if resp.StatusCode != 200 || got != "" || resp.Header.Get("X-Crmlink-Skipped") != "1" ||
		!strings.HasPrefix(resp.Header.Get("Content-Type"), "text/plain") || !strings.Contains(resp.Header.Get("Content-Disposition"), ".txt") {
		t.Errorf("vk, a session without rb_clickid: %d %v %q", resp.StatusCode, resp.Header, got)
	}
	if resp, got := get("x", w); resp.StatusCode != 400 || !strings.Contains(got, "want one of metrica, metrica_yclid, google, vk") {
		t.Errorf("bad format: %d %s", resp.StatusCode, got)
	}
	if resp, _ := get("google", "OAuth "+f.read); resp.StatusCode != 403 {
		t.Errorf("a read token exported: %d", resp.StatusCode)
	}
}
