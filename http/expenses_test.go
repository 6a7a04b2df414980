package http_test

import (
	"context"
	"fmt"
	"strings"
	"testing"

	"github.com/crmlink/crmlink/store/storetest"
)

// TestExpensesAPI: Metrica's expense calls: an upload answers its
// uploading in Metrica's shape (and says which rows' money a report in
// the counter's currency leaves out), a bad file is refused naming line
// and column with nothing stored, deletes by file and by a single
// request remove the days they name, and the uploads are listed.
func TestExpensesAPI(t *testing.T) {
	f := newFixture(t, 0)
	ctx := context.Background()
	base := "/management/v1/counter/" + f.counter.ID.String() + "/expense/"
	w := "OAuth " + f.write
	post := func(path, file string) (int, map[string]any) {
		body, ct := multipartFile(t, file)
		return f.do(t, "POST", base+path, w, body, ct)
	}
	file := "Date,UTMSource,UTMCampaign,Expenses,Currency,Clicks\n" +
		"2026-02-01,yandex,Sale,1520.50,,300\n" +
		"2026-02-02/2026-02-04,google,sale,100,,10\n" +
		"2026-02-03,vk,promo,20,USD,\n"
	code, out := post("upload?provider=sync&comment=February", file)
	if code != 200 {
		t.Fatalf("upload: %d %v", code, out)
	}
	up := out["uploading"].(map[string]any)
	if up["type"] != "EXPENSES" || up["status"] != "PROCESSED" || up["source_quantity"] != 3.0 || up["provider"] != "sync" ||
		up["comment"] != "February" || up["create_time"] != "2026-03-01T12:00:00Z" {
		t.Errorf("uploading %v", up)
	}
	if ws := fmt.Sprint(up["warnings"]); !strings.Contains(ws, "1 rows are in USD: reports in RUB (the counter's) leave their money out") {
		t.Errorf("warnings %s", ws)
	}
	if oc := fmt.Sprint(up["other_currencies"]); oc != "map[USD:1]" {
		t.Errorf("other_currencies %s", oc)
	}
	id := fmt.Sprintf("%.0f", up["id"].(float64))
	days, err := f.store.ExpenseDays(ctx, f.counter.ID, storetest.Epoch.AddDate(0, -2, 0), storetest.Epoch)
	if err != nil || len(days) != 5 {
		t.Fatalf("days %d, %v", len(days), err)
	}

	// A bad file: 400 with every bad cell, nothing stored.
	code, out = post("upload", "Date,UTMSource,Expenses\n2026-02-05,x,5\n2026-02-31,x,5\n2026-02-06,x,\"1,5\"\n")
	if msg := fmt.Sprint(out["message"]); code != 400 || errorType(t, code, out) != "invalid_uploading" ||
		!strings.Contains(msg, "line 3, column Date: want a date") || !strings.Contains(msg, "line 4, column Expenses: want a dot decimal") {
		t.Errorf("bad file: %d %v", code, out)
	}
	if d, _ := f.store.ExpenseDays(ctx, f.counter.ID, storetest.Epoch.AddDate(0, -2, 0), storetest.Epoch); len(d) != 5 {
		t.Errorf("a refused file stored days: %d", len(d))
	}

	// Deletes: a file, and a single request; the campaign is case-sensitive.
	code, out = post("delete?provider=sync", "Date,UTMSource\n2026-02-03/2026-02-04,google\n")
	if rm := out["uploading"].(map[string]any); code != 200 || rm["type"] != "REMOVES" || rm["removed"] != 2.0 {
		t.Errorf("delete file: %d %v", code, out)
	}
	code, out = f.do(t, "POST", base+"delete_single?date=2026-02-01&UTMCampaign=sale", w, nil, "")
	if rm := out["uploading"].(map[string]any); code != 200 || rm["removed"] != 0.0 {
		t.Errorf("delete single, other case: %d %v", code, out)
	}
	code, out = f.do(t, "POST", base+"delete_single?date=2026-02-01&UTMCampaign=Sale&UTMSource=yandex", w, nil, "")
	if rm := out["uploading"].(map[string]any); code != 200 || rm["removed"] != 1.0 {
		t.Errorf("delete single: %d %v", code, out)
	}
	if code, out := f.do(t, "POST", base+"delete_single", w, nil, ""); code != 400 || errorType(t, code, out) != "missing_parameter" {
		t.Errorf("delete single without a date: %d %v", code, out)
	}
	if d, _ := f.store.ExpenseDays(ctx, f.counter.ID, storetest.Epoch.AddDate(0, -2, 0), storetest.Epoch); len(d) != 2 {
		t.Errorf("after deletes: %d days", len(d))
	}

	// The list, newest first, and one upload.
	code, out = f.do(t, "GET", base+"uploadings", "OAuth "+f.read, nil, "")
	list, _ := out["uploadings"].([]any)
	if code != 200 || len(list) != 5 || list[len(list)-1].(map[string]any)["id"] != out["uploadings"].([]any)[len(list)-1].(map[string]any)["id"] {
		t.Fatalf("uploadings: %d %v", code, out)
	}
	kinds := ""
	for _, u := range list {
		kinds += fmt.Sprint(u.(map[string]any)["type"], u.(map[string]any)["status"], " ")
	}
	if kinds != "REMOVESPROCESSED REMOVESPROCESSED REMOVESPROCESSED EXPENSESFAILED EXPENSESPROCESSED " {
		t.Errorf("uploadings' kinds: %s", kinds)
	}
	if code, out := f.do(t, "GET", base+"uploadings?offset=4&limit=1", "OAuth "+f.read, nil, ""); code != 200 || len(out["uploadings"].([]any)) != 1 ||
		fmt.Sprintf("%.0f", out["uploadings"].([]any)[0].(map[string]any)["id"]) != id {
		t.Errorf("paged: %d %v", code, out)
	}
	if code, out := f.do(t, "GET", base+"uploading/"+id, "OAuth "+f.read, nil, ""); code != 200 || out["uploading"].(map[string]any)["provider"] != "sync" {
		t.Errorf("uploading: %d %v", code, out)
	}
	if code, _ := f.do(t, "POST", base+"upload", "OAuth "+f.read, strings.NewReader(file), "text/csv"); code != 403 {
		t.Errorf("a read token uploaded: %d", code)
	}
}
