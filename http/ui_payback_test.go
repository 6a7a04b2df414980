package http_test

import (
	"encoding/json"
	"fmt"
	"html"
	"net/http"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/crmlink/crmlink/conversions"
	crmhttp "github.com/crmlink/crmlink/http"
	"github.com/shopspring/decimal"
)

// paybackExpenses is an expenses file for the shop fixture's counter:
// spend on the ad campaign its session s11 came from, on a campaign no
// session came from (over the whole period, without clicks), and on one
// in another currency, whose money RUB reports leave out.
const paybackExpenses = "Date,UTMSource,UTMCampaign,TrafficSource,Expenses,Clicks,Currency\n" +
	"2026-01-29,,spring,ad,120.50,10,\n" +
	"2026-01-29/2026-02-01,yandex,brand,,400,,\n" +
	"2026-01-30,vk,promo,,20,5,USD\n"

// uploadPaybackExpenses uploads paybackExpenses for the shop through the
// expenses API and returns its answer's uploading.
func uploadPaybackExpenses(t *testing.T, f *shopFixture) map[string]any {
	t.Helper()
	body, ct := multipartFile(t, paybackExpenses)
	code, out := f.do(t, "POST", "/management/v1/counter/"+f.shop.ID.String()+"/expense/upload?provider=sheet", "OAuth "+f.admin, body, ct)
	if code != 200 {
		t.Fatalf("expenses upload: %d %v", code, out)
	}
	return out["uploading"].(map[string]any)
}

// paybackMetrics are the page's columns as the Reporting API names them,
// in the page's order.
const paybackMetrics = "ym:ev:expensesRUB,ym:ev:expenseClicks,ym:ev:expenseRUBCPC,ym:ev:visits,ym:ev:cdpOrdersAllOrders,ym:ev:cdpOrdersPayed," +
	"ym:ev:cdpOrdersRUBRevenue,ym:ev:cdpOrdersRUBProfit,ym:ev:cdpOrdersRUBCPO,ym:ev:cdpOrdersRUBROI,ym:ev:cdpOrdersRUBROMI,ym:ev:cdpOrdersRUBPOAS"

// paybackDivisor is, for each column, the column whose zero leaves it
// undefined ("—"), or -1: CPC by clicks, CPO by paid orders, ROI, ROMI
// and POAS by spend.
var paybackDivisor = []int{-1, -1, 1, -1, -1, -1, -1, -1, 5, 0, 0, 0}

var (
	reportTable = regexp.MustCompile(`(?s)<table class="report" id="report">.*?</table>`)
	tableRow    = regexp.MustCompile(`(?s)<tr[^>]*>(.*?)</tr>`)
	tableCell   = regexp.MustCompile(`(?s)<td[^>]*>(.*?)</td>`)
	chartJSON   = regexp.MustCompile(`(?s)<script type="application/json" id="chart-data">(.*?)</script>`)
)

// reportRows returns the texts of the page's report table, row by row
// (the totals first), without the header.
func reportRows(t *testing.T, body string) [][]string {
	t.Helper()
	tbl := reportTable.FindString(body)
	if tbl == "" {
		t.Fatalf("no report table: %.1000s", body)
	}
	var out [][]string
	for _, r := range tableRow.FindAllStringSubmatch(tbl, -1) {
		cells := tableCell.FindAllStringSubmatch(r[1], -1)
		if len(cells) == 0 {
			continue // the header
		}
		var row []string
		for _, c := range cells {
			row = append(row, html.UnescapeString(strings.TrimSpace(c[1])))
		}
		out = append(out, row)
	}
	return out
}

// shownNumber reads a figure as the English page writes it (₽1,234.50,
// 12.34 %, −100.00 %) back into a decimal.
func shownNumber(t *testing.T, s string) decimal.Decimal {
	t.Helper()
	c := strings.NewReplacer("₽", "", ",", "", "\u00a0%", "", "−", "-").Replace(s)
	d, err := decimal.NewFromString(c)
	if err != nil {
		t.Fatalf("figure %q: %v", s, err)
	}
	return d
}

// samePaybackFigures checks that a row of the page shows the API's
// figures: each equal, or "—" where the API answers 0 for a ratio whose
// divisor is zero.
func samePaybackFigures(t *testing.T, what string, shown []string, api []json.RawMessage) {
	t.Helper()
	if len(shown) != len(api) {
		t.Fatalf("%s: %d figures shown, the API has %d", what, len(shown), len(api))
	}
	for j, s := range shown {
		want := decimal.RequireFromString(string(api[j]))
		if s == "—" {
			if d := paybackDivisor[j]; d < 0 || !want.IsZero() || !decimal.RequireFromString(string(api[d])).IsZero() {
				t.Errorf("%s: column %d shown as —, the API says %s", what, j, want)
			}
			continue
		}
		if got := shownNumber(t, s); !got.Equal(want) {
			t.Errorf("%s: column %d shown %q, the API says %s", what, j, s, want)
		}
	}
}

// TestUIPayback: the Ad payback page shows the Reporting API's ym:ev:
// report figure for figure, under the attribution model picked; "—" for
// ratios with nothing to divide by; the chart's spend and profit are the
// API's by day; write scope gets a download per conversion format, which
// returns the file; read scope gets none.
func TestUIPayback(t *testing.T) {
	f := newShopFixture(t)
	up := uploadPaybackExpenses(t, f)
	if fmt.Sprint(up["other_currencies"]) != "map[USD:1]" {
		t.Errorf("the upload's other currencies: %v", up["other_currencies"])
	}
	b := newBrowser(t, f.fixture)
	b.signIn(f.admin, "", "")
	base := "/c/" + f.shop.ID.String()
	dates := "date1=2026-01-29&date2=2026-02-01"
	if p := b.get(base + "/?" + dates); !strings.Contains(p.body, `href="`+base+`/payback">Ad payback</a>`) {
		t.Error("the navigation has no Ad payback")
	}

	for _, tc := range []struct {
		attr   string
		spring []string // the spring campaign's row as the page shows it
	}{
		// s12 (direct) counts under the ad click before it: two
		// sessions, and o1 (paid 200, cost 50).
		{"lastsign", []string{"Not specified", "spring", "₽120.50", "10", "₽12.05", "2", "1", "1", "₽200.00", "₽150.00", "₽120.50", "65.98\u00a0%", "24.48\u00a0%", "124.48\u00a0%"}},
		// Under the last click, s12 and its order are direct's.
		{"last", []string{"Not specified", "spring", "₽120.50", "10", "₽12.05", "1", "0", "0", "₽0.00", "₽0.00", "—", "−100.00\u00a0%", "−100.00\u00a0%", "0.00\u00a0%"}},
	} {
		p := b.get(base + "/payback?" + dates + "&attribution=" + tc.attr)
		if p.code != 200 || !strings.Contains(p.body, `<option value="`+tc.attr+`" selected>`) {
			t.Fatalf("%s: %d, or the model is not picked: %.500s", tc.attr, p.code, p.body)
		}
		rows := reportRows(t, p.body)
		a := f.answer(t, "&attribution="+tc.attr+"&dimensions=ym:ev:<attribution>ExpenseSource,ym:ev:<attribution>ExpenseCampaign&metrics="+
			paybackMetrics+"&sort=-ym:ev:expensesRUB&limit=100")
		if len(rows) != len(a.Data)+1 || len(a.Data) != 4 {
			t.Fatalf("%s: %d rows shown, the API has %d and totals", tc.attr, len(rows), len(a.Data))
		}
		if rows[0][0] != "Total and averages" {
			t.Errorf("%s: the first row is %q", tc.attr, rows[0])
		}
		samePaybackFigures(t, tc.attr+" totals", rows[0][2:], a.Totals)
		var spring []string
		for i, r := range a.Data {
			shown := rows[i+1]
			for k, d := range r.Dimensions {
				if shown[k] != d.Name {
					t.Errorf("%s row %d: %q, the API's %q", tc.attr, i, shown[k], d.Name)
				}
			}
			samePaybackFigures(t, fmt.Sprintf("%s row %d", tc.attr, i), shown[2:], r.Metrics)
			if shown[1] == "spring" {
				spring = shown
			}
			// Spend no session met: its clicks unknown, all of it lost.
			if shown[0] == "yandex" && (shown[2] != "₽400.00" || shown[4] != "—" || shown[11] != "−100.00\u00a0%") {
				t.Errorf("%s: the yandex row %q", tc.attr, shown)
			}
		}
		if strings.Join(spring, "|") != strings.Join(tc.spring, "|") {
			t.Errorf("%s: the spring row\n%q\nwant\n%q", tc.attr, spring, tc.spring)
		}
	}

	// "as API JSON" is the page's own query.
	p := b.get(base + "/payback?" + dates)
	link := regexp.MustCompile(`href="(/stat/v1/data\?[^"]+)" id="api-link"`).FindStringSubmatch(p.body)
	if link == nil {
		t.Fatal("no API link")
	}
	if api := b.get(html.UnescapeString(link[1])); api.code != 200 || !strings.Contains(api.body, `"total_rows":4`) || !strings.Contains(api.body, `"name":"spring"`) {
		t.Errorf("the API link: %d %.300s", api.code, api.body)
	}

	// Sorted by ROI, highest first: the spring campaign leads.
	p = b.get(base + "/payback?" + dates + "&sort=-roi")
	if rows := reportRows(t, p.body); rows[1][1] != "spring" || !strings.Contains(p.body, `aria-sort="descending"`) {
		t.Errorf("sorted by ROI: %q", rows)
	}

	// The chart: the API's spend and profit by day, a day without any
	// drawn as zero.
	p = b.get(base + "/payback?date1=2026-01-28&date2=2026-02-01")
	m := chartJSON.FindStringSubmatch(p.body)
	if m == nil {
		t.Fatal("no chart data")
	}
	var chart struct {
		Kind     string
		Labels   []string
		Datasets []struct {
			Label string
			Data  []float64
		}
	}
	if err := json.Unmarshal([]byte(html.UnescapeString(m[1])), &chart); err != nil {
		t.Fatal(err)
	}
	// The API's by day and campaign, a campaign's profit counted when it
	// has spend in the period.
	byDay := f.answer(t, "&date1=2026-01-28&dimensions=ym:ev:date,ym:ev:<attribution>ExpenseSource,ym:ev:<attribution>ExpenseCampaign"+
		"&metrics=ym:ev:expensesRUB,ym:ev:cdpOrdersRUBProfit&sort=ym:ev:date&limit=1000")
	spent := map[string]bool{}
	for _, r := range byDay.Data {
		if !decimal.RequireFromString(string(r.Metrics[0])).IsZero() {
			spent[r.Dimensions[1].Name+"/"+r.Dimensions[2].Name] = true
		}
	}
	sums := map[string][2]decimal.Decimal{}
	for _, r := range byDay.Data {
		d := r.Dimensions[0].Name
		v := sums[d]
		v[0] = v[0].Add(decimal.RequireFromString(string(r.Metrics[0])))
		if spent[r.Dimensions[1].Name+"/"+r.Dimensions[2].Name] {
			v[1] = v[1].Add(decimal.RequireFromString(string(r.Metrics[1])))
		}
		sums[d] = v
	}
	want := ""
	for _, d := range []string{"2026-01-28", "2026-01-29", "2026-01-30", "2026-01-31", "2026-02-01"} {
		want += fmt.Sprintf("[%v %v] ", sums[d][0].InexactFloat64(), sums[d][1].InexactFloat64())
	}
	got := ""
	if len(chart.Datasets) == 2 {
		for i := range chart.Labels {
			got += fmt.Sprintf("[%v %v] ", chart.Datasets[0].Data[i], chart.Datasets[1].Data[i])
		}
	}
	if chart.Kind != "time" || len(chart.Labels) != 5 || chart.Labels[0] != "2026-01-28" || got != want || got != "[0 0] [220.5 0] [100 150] [100 0] [100 0] " {
		t.Errorf("chart %+v:\n%s\nwant the API's\n%s", chart, got, want)
	}

	// A period with more rows by day and campaign than the chart reads:
	// every order's profit by day, and the page says so.
	restore := crmhttp.SetPaybackChartRows(2)
	p = b.get(base + "/payback?date1=2026-01-28&date2=2026-02-01")
	restore()
	chart.Labels, chart.Datasets = nil, nil
	if err := json.Unmarshal([]byte(html.UnescapeString(chartJSON.FindStringSubmatch(p.body)[1])), &chart); err != nil {
		t.Fatal(err)
	}
	if len(chart.Datasets) != 2 || fmt.Sprint(chart.Datasets[1].Data) != "[0 0 150 0 70]" || !strings.Contains(p.body, "too many rows") {
		t.Errorf("the chart of every order's profit: %+v", chart)
	}

	// Over 92 days, by week from Monday: the week of 26 January holds
	// all the spend and profit.
	p = b.get(base + "/payback?date1=2026-01-01&date2=2026-04-30")
	chart.Labels, chart.Datasets = nil, nil
	if err := json.Unmarshal([]byte(html.UnescapeString(chartJSON.FindStringSubmatch(p.body)[1])), &chart); err != nil {
		t.Fatal(err)
	}
	if len(chart.Labels) != 18 || chart.Labels[0] != "2026-01-01" || chart.Labels[4] != "2026-01-26" || len(chart.Datasets) != 2 ||
		chart.Datasets[0].Data[4] != 520.5 || chart.Datasets[1].Data[4] != 150 || chart.Datasets[0].Data[5] != 0 {
		t.Errorf("the weekly chart: %+v", chart)
	}

	// Sorted by a grouping, A to Z: (not specified) first.
	p = b.get(base + "/payback?" + dates + "&sort=utm_source")
	if rows := reportRows(t, p.body); p.code != 200 || rows[1][0] != "Not specified" || rows[len(rows)-1][0] != "yandex" {
		t.Errorf("sorted by UTM Source: %d %q", p.code, rows)
	}

	// Conversions: a download per format, of the page's period and goal;
	// a format that needs a pixel id (VK Ads) gets its link once one is
	// given.
	var needPixel []string
	for _, f := range conversions.Formats {
		if f.Pixel {
			needPixel = append(needPixel, f.Name)
		}
	}
	if len(needPixel) == 0 {
		t.Fatal("no format needs a pixel: the test of the pixel field proves nothing")
	}
	linkRE := regexp.MustCompile(`<a href="([^"]+)" download data-format="([^"]+)">`)
	section := regexp.MustCompile(`(?s)<section class="card" id="conversions">.*?</section>`)
	p = b.get(base + "/payback?" + dates + "&goal=1000002")
	sec := section.FindString(p.body)
	if links := linkRE.FindAllStringSubmatch(sec, -1); len(links) != len(conversions.Names())-len(needPixel) ||
		!strings.Contains(sec, `<span data-format="`+needPixel[0]+`">`) || !strings.Contains(sec, `name="pixel"`) {
		t.Errorf("without a pixel id: %d links, want %d, and the pixel formats named without a link: %s", len(links), len(conversions.Names())-len(needPixel), sec)
	}
	p = b.get(base + "/payback?" + dates + "&goal=1000002&pixel=3456789")
	sec = section.FindString(p.body)
	links := linkRE.FindAllStringSubmatch(sec, -1)
	if len(links) != len(conversions.Names()) {
		t.Fatalf("%d conversion links, want one per format %v: %s", len(links), conversions.Names(), sec)
	}
	if !strings.Contains(sec, `<option value="1000002" selected>CRM: Order paid</option>`) || !strings.Contains(sec, `value="3456789"`) {
		t.Errorf("the goal picked is not selected, or the pixel id not kept: %s", sec)
	}
	for i, l := range links {
		u := html.UnescapeString(l[1])
		if l[2] != conversions.Names()[i] || !strings.Contains(u, "format="+l[2]) || !strings.Contains(u, "date1=2026-01-29&date2=2026-02-01") ||
			!strings.Contains(u, "goal_id=1000002") || strings.Contains(u, "pixel=3456789") != slices.Contains(needPixel, l[2]) {
			t.Errorf("link %s: %s", l[2], u)
		}
		if got := b.get(u); got.code != 200 || !strings.Contains(got.header.Get("Content-Disposition"), "attachment") {
			t.Errorf("link %s: %d %.300s", l[2], got.code, got.body)
		}
	}
	file := b.get(html.UnescapeString(links[0][1]))
	lines := strings.Split(strings.TrimSpace(file.body), "\n")
	if file.code != 200 || !strings.HasPrefix(file.header.Get("Content-Type"), "text/csv") || !strings.Contains(file.header.Get("Content-Disposition"), "attachment") ||
		lines[0] != "ClientId,Target,DateTime,Price,Currency" || len(lines) != 3 || !strings.HasPrefix(lines[1], "1,order_paid,") || !strings.HasPrefix(lines[2], "2,order_paid,") {
		t.Errorf("the Metrica file: %d %v\n%s", file.code, file.header, file.body)
	}
	// Read scope sees the report, not the exports, which need write.
	r := newBrowser(t, f.fixture)
	r.signIn(f.token, "", "")
	if p := r.get(base + "/payback?" + dates); p.code != 200 || strings.Contains(p.body, `id="conversions"`) || !strings.Contains(p.body, "spring") {
		t.Errorf("read scope: %d, or it offers the exports", p.code)
	}
	if p := r.get(html.UnescapeString(links[0][1])); p.code != http.StatusForbidden {
		t.Errorf("read scope downloaded conversions: %d", p.code)
	}
}

// TestUIPaybackEmpty: without spend the page says how to upload it.
func TestUIPaybackEmpty(t *testing.T) {
	f := newFixture(t, 0)
	b := newBrowser(t, f)
	b.signIn(f.admin, "", "")
	p := b.get("/c/" + f.counter.ID.String() + "/payback")
	if p.code != 200 || !strings.Contains(p.body, "No ad spend in this period") || !strings.Contains(p.body, "crmlink upload expenses") {
		t.Errorf("%d %.2000s", p.code, p.body)
	}
}

// TestUIExpenseUploads: expense uploads show on the Uploads page as what
// they are, with their provider and, for a delete, the days it removed;
// their page says so too; a refused file shows its row errors.
func TestUIExpenseUploads(t *testing.T) {
	f := newShopFixture(t)
	uploadPaybackExpenses(t, f)
	api := "/management/v1/counter/" + f.shop.ID.String() + "/expense/"
	code, out := f.do(t, "POST", api+"delete_single?date=2026-01-29/2026-02-01&UTMSource=yandex", "OAuth "+f.admin, nil, "")
	if code != 200 || out["uploading"].(map[string]any)["removed"] != 4.0 {
		t.Fatalf("delete: %d %v", code, out)
	}
	body, ct := multipartFile(t, "Date,UTMSource,Expenses\n2026-02-31,x,5\n")
	if code, _ := f.do(t, "POST", api+"upload", "OAuth "+f.admin, body, ct); code != 400 {
		t.Fatalf("a bad file: %d", code)
	}
	b := newBrowser(t, f.fixture)
	b.signIn(f.admin, "", "")
	base := "/c/" + f.shop.ID.String()
	p := b.get(base + "/uploads")
	rows := tableRow.FindAllStringSubmatch(regexp.MustCompile(`(?s)<table id="uploads">.*?</table>`).FindString(p.body), -1)
	if len(rows) < 4 {
		t.Fatalf("uploads: %d rows", len(rows))
	}
	// Newest first: the refused file, the delete, the upload.
	text := func(r []string) string {
		return strings.Join(strings.Fields(regexp.MustCompile(`<[^>]+>`).ReplaceAllString(r[1], " ")), " ")
	}
	if s := text(rows[1]); !strings.Contains(s, "ad expenses FAILED 1 0 1 errors") {
		t.Errorf("the refused file: %q", s)
	}
	if s := text(rows[2]); !strings.Contains(s, "ad expenses deleted days deleted: 4 PASSED") || strings.Contains(s, "SAVE") {
		t.Errorf("the delete: %q", s)
	}
	if s := text(rows[3]); !strings.Contains(s, "CSV via API ad expenses provider sheet PASSED 3 3 0") {
		t.Errorf("the upload: %q", s)
	}
	ids := regexp.MustCompile(`href="uploads/([0-9]+)"`).FindAllStringSubmatch(p.body, -1)
	del := b.get(base + "/uploads/" + ids[1][1])
	if !strings.Contains(del.body, `<dd id="days-deleted">4</dd>`) || strings.Contains(del.body, ">Linked<") {
		t.Errorf("the delete's page: %.3000s", del.body)
	}
	if p := b.get(base + "/uploads/" + ids[0][1]); !strings.Contains(p.body, "want a date") {
		t.Errorf("the refused file's page lacks its row error")
	}
	if p := b.get(base + "/uploads/" + ids[2][1]); !strings.Contains(p.body, "<dd>sheet</dd>") {
		t.Errorf("the upload's page lacks its provider")
	}
	// The form offers expenses to write scope, posting to the expense API.
	if !strings.Contains(p.body, `<option value="expenses">Ad expenses</option>`) || !strings.Contains(p.body, `data-expense-api="/management/v1/counter/`+f.shop.ID.String()+`/expense"`) {
		t.Error("the upload form offers no expenses")
	}
}
