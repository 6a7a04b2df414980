package report_test

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/crmlink/crmlink"
	"github.com/crmlink/crmlink/report"
	"github.com/shopspring/decimal"
)

func dec(xs ...int64) []decimal.Decimal {
	var out []decimal.Decimal
	for _, x := range xs {
		out = append(out, decimal.NewFromInt(x))
	}
	return out
}

// TestAssembleTable: an engine's groups become sorted, paged rows with
// display names, totals, minima and maxima over every row, and the
// unlinked row when the plan has it.
func TestAssembleTable(t *testing.T) {
	q := &crmlink.ReportQuery{
		Dimensions: []crmlink.Dimension{{Name: "ym:s:lastTrafficSource", Field: crmlink.DimTrafficSource}},
		Metrics:    []crmlink.Metric{{Name: "ym:s:visits", Field: crmlink.MetVisits}, {Name: "ym:s:cdpOrdersAllOrders", Field: crmlink.MetOrdersAll}},
		Sort:       []crmlink.SortKey{{Dimension: -1, Metric: 0, Desc: true}},
		Limit:      2, Offset: 1, Unlinked: true,
	}
	p, err := report.NewPlan(q)
	if err != nil {
		t.Fatal(err)
	}
	if !p.NeedOrders || !p.Unlinked || p.StatusDim != -1 {
		t.Errorf("plan %+v", p)
	}
	groups := []crmlink.ReportGroup{
		{GID: 0, Dims: []string{"organic"}, Metrics: dec(5, 1)},
		{GID: 0, Dims: []string{"direct"}, Metrics: dec(9, 0)},
		{GID: 0, Dims: []string{""}, Metrics: dec(2, 3)},
		{GID: 0, Dims: []string{"ad"}, Metrics: dec(5, 2)},
		{GID: 1, Dims: []string{""}, Metrics: dec(21, 6)},
	}
	res := report.Assemble(p, groups, dec(0, 4))
	var got []string
	for _, r := range res.Rows {
		got = append(got, fmt.Sprintf("%s/%s %v", r.Dimensions[0].ID, r.Dimensions[0].Name, r.Metrics))
	}
	// visits descending, ties by the dimension's id; the first is paged off.
	if s := strings.Join(got, "; "); s != "ad/Ad traffic [5 2]; organic/Search engine traffic [5 1]" {
		t.Errorf("rows: %s", s)
	}
	if res.TotalRows != 4 || fmt.Sprint(res.Totals) != "[21 6]" || fmt.Sprint(res.Min) != "[2 0]" || fmt.Sprint(res.Max) != "[9 3]" {
		t.Errorf("total rows %d, totals %v, min %v, max %v", res.TotalRows, res.Totals, res.Min, res.Max)
	}
	if res.Unlinked == nil || res.Unlinked.Dimensions[0].Name != crmlink.UnlinkedName || fmt.Sprint(res.Unlinked.Metrics) != "[0 4]" {
		t.Errorf("unlinked row %+v", res.Unlinked)
	}
}

// TestAssembleSeries: a time series' intervals are clipped to the period,
// and each row and the totals get a value per interval, zero where the
// engine had no group.
func TestAssembleSeries(t *testing.T) {
	day := func(d int) time.Time { return time.Date(2026, 3, d, 0, 0, 0, 0, time.UTC) }
	q := &crmlink.ReportQuery{
		Date1: day(4), Date2: day(17), Group: "week",
		Dimensions: []crmlink.Dimension{{Name: "ym:s:deviceCategory", Field: crmlink.DimDevice}},
		Metrics:    []crmlink.Metric{{Name: "ym:s:visits", Field: crmlink.MetVisits}},
		Limit:      10, Unlinked: true,
	}
	p, err := report.NewPlan(q)
	if err != nil {
		t.Fatal(err)
	}
	if p.Unlinked || p.NeedOrders {
		t.Errorf("plan %+v: a series has no unlinked row, visits need no orders", p)
	}
	groups := []crmlink.ReportGroup{
		{GID: 0, Dims: []string{"mobile"}, Interval: "2026-03-02", Metrics: dec(3)},
		{GID: 0, Dims: []string{"mobile"}, Interval: "2026-03-16", Metrics: dec(4)},
		{GID: 1, Dims: []string{"mobile"}, Metrics: dec(7)},
		{GID: 2, Interval: "2026-03-02", Metrics: dec(3)},
		{GID: 2, Interval: "2026-03-16", Metrics: dec(4)},
		{GID: 3, Metrics: dec(7)},
	}
	res := report.Assemble(p, groups, nil)
	if len(res.Intervals) != 3 || !res.Intervals[0][0].Equal(day(4)) || !res.Intervals[0][1].Equal(day(8)) ||
		!res.Intervals[2][1].Equal(day(17)) {
		t.Errorf("intervals %v", res.Intervals)
	}
	if len(res.Rows) != 1 || res.Rows[0].Dimensions[0].Name != "Smartphones" || fmt.Sprint(res.Rows[0].Series) != "[[3] [0] [4]]" {
		t.Errorf("rows %+v", res.Rows)
	}
	if fmt.Sprint(res.TotalSeries) != "[[3] [0] [4]]" || fmt.Sprint(res.Totals) != "[7]" || res.Unlinked != nil {
		t.Errorf("totals %v, series %v, unlinked %v", res.Totals, res.TotalSeries, res.Unlinked)
	}
}

// TestPlanFilters: conditions on the order's status select orders and
// must be AND terms; with a condition on sessions there is no unlinked
// row.
func TestPlanFilters(t *testing.T) {
	status := &crmlink.Filter{Op: "==", Dimension: crmlink.Dimension{Field: crmlink.DimOrderStatusType}, Values: []string{"PAID"}}
	device := &crmlink.Filter{Op: "==", Dimension: crmlink.Dimension{Field: crmlink.DimDevice}, Values: []string{"mobile"}}
	q := &crmlink.ReportQuery{Metrics: []crmlink.Metric{{Field: crmlink.MetVisits}}, Unlinked: true,
		Filter: &crmlink.Filter{Op: "AND", Children: []*crmlink.Filter{status, device}}}
	p, err := report.NewPlan(q)
	if err != nil {
		t.Fatal(err)
	}
	if len(p.OrderTerms) != 1 || len(p.SessionTerms) != 1 || !p.NeedOrders || p.Unlinked {
		t.Errorf("plan %+v", p)
	}
	q.Filter = &crmlink.Filter{Op: "OR", Children: []*crmlink.Filter{status, device}}
	if _, err := report.NewPlan(q); crmlink.KindOf(err) != crmlink.KindInvalid {
		t.Errorf("a status condition under OR: %v", err)
	}
}
