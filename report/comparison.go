package report

import (
	"encoding/json"
	"net/url"
	"strings"
	"time"

	"github.com/crmlink/crmlink"
	"github.com/shopspring/decimal"
)

// Metrica's comparison method (/stat/v1/data/comparison) runs one report
// for two segments, A and B, each with its own dates (date1_a, date2_a,
// date1_b, date2_b) and filter (filters_a, filters_b, each joined with
// filters by AND), and answers each row's metrics for both.

// ComparisonParams are the parameters of the A or B report of a
// comparison request (side "a" or "b"): all rows (limit 100,000 from the
// first), the side's dates, and filters joined with the side's.
func ComparisonParams(params url.Values, side string) url.Values {
	v := url.Values{}
	for k, vs := range params {
		v[k] = vs
	}
	for _, k := range []string{"date1", "date2"} {
		v.Del(k)
		if d := params.Get(k + "_" + side); d != "" {
			v.Set(k, d)
		}
	}
	if v.Get("date1") == "" {
		v.Set("date1", "6daysAgo")
	}
	var fs []string
	for _, f := range []string{params.Get("filters"), params.Get("filters_" + side)} {
		if strings.TrimSpace(f) != "" {
			fs = append(fs, "("+f+")")
		}
	}
	v.Del("filters")
	if len(fs) > 0 {
		v.Set("filters", strings.Join(fs, " AND "))
	}
	v.Set("limit", "100000")
	v.Set("offset", "1")
	return v
}

// ComparisonAnswer is the comparison method's answer.
type ComparisonAnswer struct {
	Query     ComparisonEcho   `json:"query"`
	Data      []ComparisonRow  `json:"data"`
	TotalRows int              `json:"total_rows"`
	Rounded   bool             `json:"total_rows_rounded"`
	Sampled   bool             `json:"sampled"`
	Sensitive bool             `json:"contains_sensitive_data"`
	Share     int              `json:"sample_share"`
	DataLag   int              `json:"data_lag"`
	Totals    ComparisonValues `json:"totals"`
}

// ComparisonEcho is the comparison's query as its answer repeats it.
type ComparisonEcho struct {
	IDs        []int64  `json:"ids"`
	Dimensions []string `json:"dimensions"`
	Metrics    []string `json:"metrics"`
	Sort       []string `json:"sort"`
	Date1A     string   `json:"date1_a"`
	Date2A     string   `json:"date2_a"`
	FiltersA   string   `json:"filters_a,omitempty"`
	Date1B     string   `json:"date1_b"`
	Date2B     string   `json:"date2_b"`
	FiltersB   string   `json:"filters_b,omitempty"`
	Filters    string   `json:"filters,omitempty"`
	Limit      int      `json:"limit"`
	Offset     int      `json:"offset"`
}

// ComparisonRow is one row: its dimensions and each segment's metrics.
type ComparisonRow struct {
	Dimensions []DimensionJSON  `json:"dimensions"`
	Metrics    ComparisonValues `json:"metrics"`
}

// ComparisonValues are the metrics of segments A and B.
type ComparisonValues struct {
	A []json.RawMessage `json:"a"`
	B []json.RawMessage `json:"b"`
}

// Comparison merges the A and B reports (all their rows, each sorted as
// the request asks) into the answer: A's rows in A's order, then the rows
// only B has in B's order, a side without a row showing zeros; limit and
// offset (1-based) page the merged rows.
func Comparison(a, b *crmlink.ReportResult, params url.Values, limit, offset int) ComparisonAnswer {
	key := func(r *crmlink.ReportRow) string {
		var k strings.Builder
		for _, d := range r.Dimensions {
			k.WriteString(d.ID + "\x00")
		}
		return k.String()
	}
	zero := make([]decimal.Decimal, len(a.Query.Metrics))
	for i := range zero {
		zero[i] = decimal.Zero
	}
	inB := map[string]*crmlink.ReportRow{}
	for i := range b.Rows {
		inB[key(&b.Rows[i])] = &b.Rows[i]
	}
	var rows []ComparisonRow
	seen := map[string]bool{}
	for i := range a.Rows {
		k := key(&a.Rows[i])
		seen[k] = true
		bm := zero
		if r := inB[k]; r != nil {
			bm = r.Metrics
		}
		rows = append(rows, ComparisonRow{Dimensions: dims(a.Rows[i].Dimensions), Metrics: ComparisonValues{A: numbers(a.Rows[i].Metrics), B: numbers(bm)}})
	}
	for i := range b.Rows {
		if !seen[key(&b.Rows[i])] {
			rows = append(rows, ComparisonRow{Dimensions: dims(b.Rows[i].Dimensions), Metrics: ComparisonValues{A: numbers(zero), B: numbers(b.Rows[i].Metrics)}})
		}
	}
	ea := echo(&a.Query, params)
	out := ComparisonAnswer{Query: ComparisonEcho{IDs: ea.IDs, Dimensions: ea.Dimensions, Metrics: ea.Metrics, Sort: ea.Sort,
		Date1A: ea.Date1, Date2A: ea.Date2, FiltersA: params.Get("filters_a"),
		Date1B: b.Query.Date1.Format(time.DateOnly), Date2B: b.Query.Date2.Format(time.DateOnly), FiltersB: params.Get("filters_b"),
		Filters: params.Get("filters"), Limit: limit, Offset: offset},
		TotalRows: len(rows), Share: 1, DataLag: lagSeconds(max(a.DataLag, b.DataLag)),
		Totals: ComparisonValues{A: numbers(a.Totals), B: numbers(b.Totals)}, Data: []ComparisonRow{}}
	start := min(offset-1, len(rows))
	out.Data = append(out.Data, rows[start:min(start+limit, len(rows))]...)
	return out
}
