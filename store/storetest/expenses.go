package storetest

import (
	"context"
	"fmt"
	"io"
	"net/url"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/crmlink/crmlink"
	"github.com/crmlink/crmlink/report"
	"github.com/shopspring/decimal"
)

// ExpenseSlice yields the given expenses, then Err (io.EOF when nil).
type ExpenseSlice struct {
	Expenses []crmlink.Expense
	Err      error
	i        int
}

// Next implements crmlink.ExpenseReader.
func (r *ExpenseSlice) Next(e *crmlink.Expense) error {
	if r.i >= len(r.Expenses) {
		if r.Err != nil {
			return r.Err
		}
		return io.EOF
	}
	*e = r.Expenses[r.i]
	r.i++
	if e.Line == 0 {
		e.Line = r.i + 1
	}
	return nil
}

func runExpenses(t *testing.T, open Opener) {
	t.Run("Expenses", func(t *testing.T) { testExpenses(t, open) })
	t.Run("ExpenseReport", func(t *testing.T) { testExpenseReport(t, open) })
}

func date(s string) time.Time {
	d, err := time.Parse(time.DateOnly, s)
	if err != nil {
		panic(err)
	}
	return d
}

// testExpenses: rows are spread over their days exactly (the days add up
// to the row, to the ten-thousandth, and so do the clicks); a delete
// removes the days its rows name, narrowed by their fields and by
// provider; a failing upload stores nothing.
func testExpenses(t *testing.T, open Opener) {
	ctx := context.Background()
	s, _ := newStore(t, open)
	c := MustCounter(t, s, "Shop", "UTC")
	up := &crmlink.Upload{CounterID: c.ID}
	x := &crmlink.ExpenseUpload{Provider: "direct-sync", Comment: "November"}
	rows := []crmlink.Expense{
		{From: date("2026-11-01"), To: date("2026-11-01"), UTMSource: "yandex", UTMCampaign: "Sale", Expenses: decimal.RequireFromString("1520.50"), Clicks: 300},
		// 100.00 over 3 days: 33.3334, 33.3333, 33.3333; 10 clicks: 4, 3, 3.
		{From: date("2026-11-02"), To: date("2026-11-04"), UTMSource: "google", UTMCampaign: "sale", Expenses: decimal.RequireFromString("100"), Clicks: 10},
		{From: date("2026-11-03"), To: date("2026-11-03"), TrafficSource: "social", TrafficSourceDetail: "VK", Currency: "USD", Expenses: decimal.RequireFromString("0.0001")},
	}
	if err := s.UploadExpenses(ctx, up, x, &ExpenseSlice{Expenses: rows}); err != nil {
		t.Fatal(err)
	}
	if up.Status != crmlink.UploadPassed || up.Accepted != 3 || up.Entity != crmlink.EntityExpenses {
		t.Errorf("upload %+v", up)
	}
	got := func() string {
		ds, err := s.ExpenseDays(ctx, c.ID, date("2026-10-01"), date("2026-12-31"))
		if err != nil {
			t.Fatal(err)
		}
		var out string
		for _, d := range ds {
			out += fmt.Sprintf("%s %s%s/%s %s %s %d\n", d.Day.Format("01-02"), d.UTMSource, d.TrafficSource, d.UTMCampaign+d.TrafficSourceDetail,
				d.Currency, d.Expenses.StringFixed(4), d.Clicks)
		}
		return out
	}
	want := "11-01 yandex/Sale RUB 1520.5000 300\n" +
		"11-02 google/sale RUB 33.3334 4\n" +
		"11-03 google/sale RUB 33.3333 3\n" +
		"11-03 social/VK USD 0.0001 0\n" +
		"11-04 google/sale RUB 33.3333 3\n"
	if g := got(); g != want {
		t.Fatalf("days:\n%s\nwant\n%s", g, want)
	}
	if info, err := s.ExpenseUploadInfo(ctx, c.ID, up.ID); err != nil || info.Provider != "direct-sync" || info.Comment != "November" {
		t.Errorf("info %+v, %v", info, err)
	}

	// A failing upload stores nothing.
	bad := &crmlink.ValidationError{BadRows: 1}
	bad.Add(crmlink.RowError{Line: 3, Column: "Expenses", Reason: "bad"})
	if err := s.UploadExpenses(ctx, &crmlink.Upload{CounterID: c.ID}, &crmlink.ExpenseUpload{},
		&ExpenseSlice{Expenses: rows[:1], Err: bad}); err == nil {
		t.Error("a failing upload passed")
	}
	if g := got(); g != want {
		t.Errorf("a failing upload changed the days:\n%s", g)
	}

	// Deletes: another provider's name deletes nothing; the campaign is
	// case-sensitive; a range deletes its days of the rows it matches.
	del := func(provider string, rs ...crmlink.Expense) int64 {
		x := &crmlink.ExpenseUpload{Provider: provider}
		up := &crmlink.Upload{CounterID: c.ID}
		if err := s.DeleteExpenses(ctx, up, x, &ExpenseSlice{Expenses: rs}); err != nil {
			t.Fatal(err)
		}
		if up.Entity != crmlink.EntityExpenseRemoves {
			t.Errorf("a delete recorded as %s", up.Entity)
		}
		return x.Removed
	}
	if n := del("other", crmlink.Expense{From: date("2026-11-01"), To: date("2026-11-30")}); n != 0 {
		t.Errorf("another provider's delete removed %d", n)
	}
	if n := del("", crmlink.Expense{From: date("2026-11-01"), To: date("2026-11-30"), UTMCampaign: "sale", UTMSource: "yandex"}); n != 0 {
		t.Errorf("a case-sensitive campaign matched: %d", n)
	}
	if n := del("direct-sync", crmlink.Expense{From: date("2026-11-03"), To: date("2026-11-04"), UTMSource: "google"}); n != 2 {
		t.Errorf("range delete removed %d, want 2", n)
	}
	want = "11-01 yandex/Sale RUB 1520.5000 300\n" +
		"11-02 google/sale RUB 33.3334 4\n" +
		"11-03 social/VK USD 0.0001 0\n"
	if g := got(); g != want {
		t.Errorf("after deletes:\n%s\nwant\n%s", g, want)
	}
	if n := del("", crmlink.Expense{From: date("2026-11-01"), To: date("2026-11-03")}); n != 3 {
		t.Errorf("deleting every day removed %d, want 3", n)
	}
}

// testExpenseReport: an ym:ev: report joins spend with the sessions and
// orders of the same UTM fields (under the attribution model): ROI, ROMI,
// POAS, CPA, CPO, CPC and CRR as defined; spend without sessions, and
// sessions without spend, are rows of their own; totals add up.
func testExpenseReport(t *testing.T, open Opener) {
	ctx := context.Background()
	s, _ := newStore(t, open)
	c := MustCounter(t, s, "Shop", "UTC")
	at := func(h int) time.Time { return time.Date(2026, 2, 1, h, 0, 0, 0, time.UTC) }
	importSessions(t, s, c,
		crmlink.Session{ID: 1, ClientID: 1, Start: at(10), PageViews: 2, Source: crmlink.TrafficSource{Kind: crmlink.SourceAd, Engine: "Yandex Direct", UTMSource: "yandex", UTMCampaign: "sale"}},
		crmlink.Session{ID: 2, ClientID: 2, Start: at(11), PageViews: 2, Source: crmlink.TrafficSource{Kind: crmlink.SourceAd, Engine: "Google Ads", UTMSource: "google", UTMCampaign: "brand"}},
		// Typed in later: lastsign credits it to the ad visit before.
		crmlink.Session{ID: 3, ClientID: 1, Start: at(13), PageViews: 2, Source: crmlink.TrafficSource{Kind: crmlink.SourceDirect}},
		crmlink.Session{ID: 4, ClientID: 3, Start: at(14), PageViews: 2, Source: crmlink.TrafficSource{Kind: crmlink.SourceDirect}})
	uploadContacts(t, s, c, crmlink.MergeSave,
		crmlink.Contact{UniqID: "C1", IDs: crmlink.CustomerIDs{ClientIDs: []uint64{1}}, Fields: crmlink.FieldClientIDs},
		crmlink.Contact{UniqID: "C2", IDs: crmlink.CustomerIDs{ClientIDs: []uint64{2}}, Fields: crmlink.FieldClientIDs})
	o1 := order("O1", "C1", crmlink.StatusPaid, "1000", at(12))
	o1.Cost, o1.Fields = decimal.NewNullDecimal(decimal.NewFromInt(400)), o1.Fields|crmlink.FieldCost
	if err := uploadOrders(t, s, c, &crmlink.Upload{Entity: crmlink.EntityOrders}, o1, order("O2", "C2", crmlink.StatusInProgress, "500", at(12))); err != nil {
		t.Fatal(err)
	}
	spend := []crmlink.Expense{
		{From: date("2026-02-01"), To: date("2026-02-01"), UTMSource: "yandex", UTMCampaign: "sale", Expenses: decimal.NewFromInt(200), Clicks: 20},
		{From: date("2026-02-01"), To: date("2026-02-01"), UTMSource: "google", UTMCampaign: "brand", Expenses: decimal.NewFromInt(100), Clicks: 10},
		{From: date("2026-02-01"), To: date("2026-02-01"), UTMSource: "vk", UTMCampaign: "promo", Expenses: decimal.NewFromInt(50)},
		// Another day and another currency: neither counts.
		{From: date("2026-02-05"), To: date("2026-02-05"), UTMSource: "yandex", UTMCampaign: "sale", Expenses: decimal.NewFromInt(999)},
		{From: date("2026-02-01"), To: date("2026-02-01"), UTMSource: "yandex", UTMCampaign: "sale", Currency: "USD", Expenses: decimal.NewFromInt(7)},
	}
	if err := s.UploadExpenses(ctx, &crmlink.Upload{CounterID: c.ID}, &crmlink.ExpenseUpload{}, &ExpenseSlice{Expenses: spend}); err != nil {
		t.Fatal(err)
	}
	res := runQuery(t, s, c, "date1=2026-02-01&date2=2026-02-01&dimensions=ym:ev:<attribution>ExpenseSource,ym:ev:<attribution>ExpenseCampaign"+
		"&metrics=ym:ev:expensesRUB,ym:ev:expenseClicks,ym:ev:visits,ym:ev:cdpOrdersAllOrders,ym:ev:cdpOrdersPayed,ym:ev:cdpOrdersRUBRevenue,"+
		"ym:ev:cdpOrdersRUBProfit,ym:ev:cdpOrdersRUBROI,ym:ev:cdpOrdersRUBROMI,ym:ev:cdpOrdersRUBPOAS,ym:ev:cdpOrdersRUBCPA,ym:ev:cdpOrdersRUBCPO,"+
		"ym:ev:expenseRUBCPC,ym:ev:cdpOrdersRUBCRR&sort=-ym:ev:expensesRUB")
	want := "yandex/sale: 200 20 2 1 1 1000 600 400 200 300 200 200 10 20\n" +
		"google/brand: 100 10 1 1 0 0 0 -100 -100 0 100 0 10 0\n" +
		"vk/promo: 50 0 0 0 0 0 0 -100 -100 0 0 0 0 0\n" +
		"/: 0 0 1 0 0 0 0 0 0 0 0 0 0 0\n" +
		"total: 350 30 4 2 1 1000 600 185.71 71.43 171.43 175 350 11.67 35"
	if got := table(res); got != want {
		t.Errorf("ad payback:\n%s\nwant\n%s", got, want)
	}
	// Spend against the CRM goals: "created" is reached at sessions 1
	// (O1, profit 600) and 2 (O2, in progress: 500 with no cost), "paid"
	// at session 1 (600).
	goals, err := s.Goals(ctx, c.ID)
	if err != nil {
		t.Fatal(err)
	}
	ids := map[string]string{}
	for _, g := range goals {
		ids[g.Name] = strconv.FormatInt(g.ID, 10)
	}
	created, paid := "ym:ev:goal"+ids["CRM: Order created"]+"expenseRUB", "ym:ev:goal"+ids["CRM: Order paid"]+"expense<currency>"
	res = runQuery(t, s, c, "date1=2026-02-01&date2=2026-02-01&dimensions=ym:ev:<attribution>ExpenseSource&metrics=ym:ev:expensesRUB,"+
		created+"ROI,"+created+"CRR,"+created+"ReachCPA,"+paid+"ROI,"+paid+"CRR,"+paid+"ReachCPA,"+paid+"VisitCPA,"+paid+"UserCPA&sort=-ym:ev:expensesRUB")
	want = "yandex: 200 200 33.33 200 200 33.33 200 200 200\n" +
		"google: 100 400 20 100 -100 0 0 0 0\n" +
		"vk: 50 -100 0 0 -100 0 0 0 0\n" +
		": 0 0 0 0 0 0 0 0 0\n" +
		"total: 350 214.29 31.82 175 71.43 58.33 350 350 350"
	if got := table(res); got != want {
		t.Errorf("spend against goals:\n%s\nwant\n%s", got, want)
	}
	if _, err := report.Parse(report.Request{Counter: c, Goals: goals, Now: Epoch, Params: url.Values{
		"date1": {"2026-02-01"}, "metrics": {"ym:ev:goal999expenseRUBROI"}}}); err == nil || !strings.Contains(err.Error(), "no goal 999") {
		t.Errorf("an unknown goal: %v", err)
	}

	// The preset asks what Metrica's asks.
	res = runQuery(t, s, c, "date1=2026-02-01&date2=2026-02-01&preset=sources_expenses_and_roi")
	if res.TotalRows != 4 || res.Rows[0].Dimensions[0].ID != "yandex" {
		t.Errorf("preset: %d rows\n%s", res.TotalRows, table(res))
	}
}
