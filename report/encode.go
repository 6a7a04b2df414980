package report

import (
	"encoding/json"
	"io"
	"net/url"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/crmlink/crmlink"
	"github.com/shopspring/decimal"
)

// Answer is the Reporting API's JSON answer (SPEC.md §4).
type Answer struct {
	Query         QueryEcho         `json:"query"`
	Data          []AnswerRow       `json:"data"`
	TotalRows     int               `json:"total_rows"`
	Rounded       bool              `json:"total_rows_rounded"`
	Sampled       bool              `json:"sampled"`
	SampleShare   int               `json:"sample_share"`
	Sensitive     bool              `json:"contains_sensitive_data"`
	Totals        []json.RawMessage `json:"totals"`
	Min           []json.RawMessage `json:"min"`
	Max           []json.RawMessage `json:"max"`
	DataLag       int               `json:"data_lag"`
	TimeIntervals [][2]string       `json:"time_intervals,omitempty"`
	// Unlinked is ours: the row of orders linked to no session, present
	// when include_unlinked=true asked for it.
	Unlinked *AnswerRow `json:"unlinked,omitempty"`
}

// SeriesAnswer is /stat/v1/data/bytime's answer: each row's metrics, and
// the totals, are one value per interval.
type SeriesAnswer struct {
	Query         QueryEcho           `json:"query"`
	Data          []SeriesRow         `json:"data"`
	TotalRows     int                 `json:"total_rows"`
	Sampled       bool                `json:"sampled"`
	TimeIntervals [][2]string         `json:"time_intervals"`
	Totals        [][]json.RawMessage `json:"totals"`
	DataLag       int                 `json:"data_lag"`
}

// QueryEcho is the query as the answer repeats it.
type QueryEcho struct {
	IDs         []int64  `json:"ids"`
	Dimensions  []string `json:"dimensions"`
	Metrics     []string `json:"metrics"`
	Sort        []string `json:"sort"`
	Date1       string   `json:"date1"`
	Date2       string   `json:"date2"`
	Filters     string   `json:"filters,omitempty"`
	Limit       int      `json:"limit"`
	Offset      int      `json:"offset"`
	Group       string   `json:"group,omitempty"`
	Attribution string   `json:"attribution"`
	Currency    string   `json:"currency"`
	Preset      string   `json:"preset,omitempty"`
}

// AnswerRow is one row of data.
type AnswerRow struct {
	Dimensions []DimensionJSON   `json:"dimensions"`
	Metrics    []json.RawMessage `json:"metrics"`
}

// SeriesRow is one row of a time series.
type SeriesRow struct {
	Dimensions []DimensionJSON     `json:"dimensions"`
	Metrics    [][]json.RawMessage `json:"metrics"`
}

// DimensionJSON is a dimension value: {"id":"organic","name":"Search engine traffic"}.
type DimensionJSON struct {
	ID   string `json:"id"`
	Name string `json:"name"`
}

// number writes a decimal as a JSON number, exactly: 1234.5 stays 1234.5.
func number(d decimal.Decimal) json.RawMessage { return json.RawMessage(d.String()) }

func numbers(ds []decimal.Decimal) []json.RawMessage {
	out := make([]json.RawMessage, len(ds))
	for i, d := range ds {
		out[i] = number(d)
	}
	return out
}

func echo(q *crmlink.ReportQuery, params url.Values) QueryEcho {
	e := QueryEcho{IDs: []int64{int64(q.CounterID)}, Date1: q.Date1.Format(time.DateOnly), Date2: q.Date2.Format(time.DateOnly),
		Filters: params.Get("filters"), Limit: q.Limit, Offset: q.Offset + 1, Group: q.Group,
		Attribution: string(q.Attribution), Currency: q.Currency, Preset: params.Get("preset"),
		Dimensions: []string{}, Metrics: []string{}, Sort: []string{}}
	for _, d := range q.Dimensions {
		e.Dimensions = append(e.Dimensions, d.Name)
	}
	for _, m := range q.Metrics {
		e.Metrics = append(e.Metrics, m.Name)
	}
	for _, k := range q.Sort {
		name := ""
		if k.Metric >= 0 {
			name = q.Metrics[k.Metric].Name
		} else {
			name = q.Dimensions[k.Dimension].Name
		}
		if k.Desc {
			name = "-" + name
		}
		e.Sort = append(e.Sort, name)
	}
	return e
}

func dims(vs []crmlink.DimensionValue) []DimensionJSON {
	out := make([]DimensionJSON, len(vs))
	for i, v := range vs {
		out[i] = DimensionJSON{ID: v.ID, Name: v.Name}
	}
	return out
}

// Table is the JSON answer of a table report.
func Table(res *crmlink.ReportResult, params url.Values) Answer {
	a := Answer{Query: echo(&res.Query, params), Data: []AnswerRow{}, TotalRows: res.TotalRows, SampleShare: 1,
		Totals: numbers(res.Totals), Min: numbers(res.Min), Max: numbers(res.Max), DataLag: lagSeconds(res.DataLag)}
	for _, r := range res.Rows {
		a.Data = append(a.Data, AnswerRow{Dimensions: dims(r.Dimensions), Metrics: numbers(r.Metrics)})
	}
	if r := res.Unlinked; r != nil {
		a.Unlinked = &AnswerRow{Dimensions: dims(r.Dimensions), Metrics: numbers(r.Metrics)}
	}
	return a
}

// lagSeconds is data_lag as Metrica gives it: whole seconds, rounded up,
// so that data still waiting never reads as 0.
func lagSeconds(d time.Duration) int {
	if d <= 0 {
		return 0
	}
	return int((d + time.Second - 1) / time.Second)
}

// Series is the JSON answer of a time series.
func Series(res *crmlink.ReportResult, params url.Values) SeriesAnswer {
	a := SeriesAnswer{Query: echo(&res.Query, params), Data: []SeriesRow{}, TotalRows: res.TotalRows, TimeIntervals: [][2]string{},
		DataLag: lagSeconds(res.DataLag)}
	for _, iv := range res.Intervals {
		a.TimeIntervals = append(a.TimeIntervals, [2]string{iv[0].Format(time.DateOnly), iv[1].Format(time.DateOnly)})
	}
	// Metrica lists values metric by metric: totals[m][interval].
	byMetric := func(series [][]decimal.Decimal) [][]json.RawMessage {
		out := make([][]json.RawMessage, len(res.Query.Metrics))
		for m := range out {
			out[m] = make([]json.RawMessage, len(series))
			for iv, vals := range series {
				out[m][iv] = number(vals[m])
			}
		}
		return out
	}
	a.Totals = byMetric(res.TotalSeries)
	for _, r := range res.Rows {
		a.Data = append(a.Data, SeriesRow{Dimensions: dims(r.Dimensions), Metrics: byMetric(r.Series)})
	}
	return a
}

// WriteCSV writes a table report as CSV: a header of the dimensions' and
// metrics' names, a line of totals, then the rows. Dimensions show their
// names, as the interface does; they are text that any hit can set, and
// are neutralised (CSVWriter), while the metrics stay numbers.
func WriteCSV(w io.Writer, res *crmlink.ReportResult) error {
	head, rows, total := textTable(res, "Total and averages", false)
	cw := NewCSVWriter(w)
	dims := len(res.Query.Dimensions)
	for i := range res.Query.Metrics {
		cw.NumberColumns(dims + i)
	}
	if err := cw.Write(head); err != nil {
		return err
	}
	if dims > 0 {
		if err := cw.Write(total); err != nil {
			return err
		}
	}
	return cw.WriteAll(rows)
}

// WriteText writes a report as an aligned table for a terminal, totals
// last.
func WriteText(w io.Writer, res *crmlink.ReportResult) error {
	head, rows, total := textTable(res, "Total", true)
	return WriteAligned(w, head, append(rows, total), len(res.Query.Dimensions), res.TotalRows)
}

// textTable is a report as text: the header of dimension and metric
// names (as the request named them, or with resolve their <attribution>
// and <currency> filled in), a row per report row (dimensions by their
// names) and the unlinked row if there is one, and the totals row, its
// first cell the label.
func textTable(res *crmlink.ReportResult, totalLabel string, resolve bool) (head []string, rows [][]string, total []string) {
	q := res.Query
	name := func(n string) string {
		if resolve {
			return ResolveName(n, q.Attribution, q.Currency)
		}
		return n
	}
	for _, d := range q.Dimensions {
		head = append(head, name(d.Name))
	}
	for _, m := range q.Metrics {
		head = append(head, name(m.Name))
	}
	line := func(label []string, ms []decimal.Decimal) []string {
		for _, m := range ms {
			label = append(label, m.String())
		}
		return label
	}
	for _, r := range res.Rows {
		var label []string
		for _, d := range r.Dimensions {
			label = append(label, d.Name)
		}
		rows = append(rows, line(label, r.Metrics))
	}
	if u := res.Unlinked; u != nil {
		label := make([]string, len(q.Dimensions))
		if len(label) > 0 {
			label[0] = crmlink.UnlinkedName
		}
		rows = append(rows, line(label, u.Metrics))
	}
	label := make([]string, len(q.Dimensions))
	if len(label) > 0 {
		label[0] = totalLabel
	}
	return head, rows, line(label, res.Totals)
}

// ResolveName fills a dimension's or metric's <attribution> and <currency>
// placeholders with the report's model and currency, as a reader wants
// them in a table: ym:s:<attribution>TrafficSource becomes
// ym:s:lastsignTrafficSource.
func ResolveName(name string, a crmlink.Attribution, currency string) string {
	return strings.NewReplacer("<attribution>", string(a), "<currency>", currency).Replace(name)
}

// WriteAligned writes a header and rows as columns: the first dims
// columns left-aligned, the numbers right-aligned, then the row count.
func WriteAligned(w io.Writer, head []string, rows [][]string, dims, totalRows int) error {
	all := append([][]string{head}, rows...)
	width := make([]int, len(head))
	for _, r := range all {
		for i, c := range r {
			if i < len(width) {
				width[i] = max(width[i], utf8.RuneCountInString(c))
			}
		}
	}
	for _, r := range all {
		var b strings.Builder
		for i, c := range r {
			if i >= len(width) {
				break
			}
			pad := strings.Repeat(" ", width[i]-utf8.RuneCountInString(c))
			if i >= dims {
				b.WriteString(pad + c)
			} else {
				b.WriteString(c + pad)
			}
			if i < len(r)-1 {
				b.WriteString("  ")
			}
		}
		b.WriteByte('\n')
		if _, err := io.WriteString(w, b.String()); err != nil {
			return err
		}
	}
	noun := " rows\n"
	if totalRows == 1 {
		noun = " row\n"
	}
	_, err := io.WriteString(w, strconv.Itoa(totalRows)+noun)
	return err
}
