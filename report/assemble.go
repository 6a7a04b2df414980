package report

import (
	"cmp"
	"slices"
	"strings"
	"time"

	"github.com/crmlink/crmlink"
	"github.com/shopspring/decimal"
)

// key identifies a group's dimension values.
func key(g *crmlink.ReportGroup) string {
	var b strings.Builder
	for _, d := range g.Dims {
		b.WriteString(d)
		b.WriteByte(0)
	}
	return b.String()
}

// Assemble sorts and pages an engine's groups into the answer: rows,
// totals, minima and maxima, and for a time series each row's values per
// interval, with the dimensions' display names. unlinked, when the plan
// has the unlinked row, are its metrics (crmlink.ReportPort's
// UnlinkedTotals).
func Assemble(p *crmlink.ReportPlan, all []crmlink.ReportGroup, unlinked []decimal.Decimal) *crmlink.ReportResult {
	q := p.Query
	nd := len(q.Dimensions)
	ncols := nd
	if q.Group != "" {
		ncols++
	}
	full := int64(1)<<ncols - 1
	rowGID := int64(0) // the groups that are rows
	if q.Group != "" {
		rowGID = 1 // the interval left out
	}
	res := &crmlink.ReportResult{Query: *q}
	zero := make([]decimal.Decimal, len(q.Metrics))
	for i := range zero {
		zero[i] = decimal.Zero
	}
	res.Totals = zero
	var rows []crmlink.ReportGroup
	series := map[string]map[string][]decimal.Decimal{} // row key -> interval -> metrics
	totalSeries := map[string][]decimal.Decimal{}
	for _, g := range all {
		switch {
		case g.GID == full:
			res.Totals = g.Metrics
		case nd > 0 && g.GID == rowGID:
			rows = append(rows, g)
		case q.Group != "" && g.GID == 0:
			k := key(&g)
			if series[k] == nil {
				series[k] = map[string][]decimal.Decimal{}
			}
			series[k][g.Interval] = g.Metrics
		case q.Group != "" && g.GID == full-1:
			totalSeries[g.Interval] = g.Metrics
		}
	}
	if nd == 0 {
		// One row: the whole period; its series is the total series.
		rows = []crmlink.ReportGroup{{Metrics: res.Totals}}
		if q.Group != "" {
			totalSeries = series[""]
		}
	}
	if len(q.MetricFilters) > 0 {
		rows = slices.DeleteFunc(rows, func(g crmlink.ReportGroup) bool {
			for _, f := range q.MetricFilters {
				if !f.Holds(g.Metrics[f.Metric]) {
					return true
				}
			}
			return false
		})
	}
	sortRows(rows, q.Sort, q.Dimensions)
	res.TotalRows = len(rows)
	if len(rows) > 0 {
		res.Min = append([]decimal.Decimal{}, rows[0].Metrics...)
		res.Max = append([]decimal.Decimal{}, rows[0].Metrics...)
		for _, r := range rows[1:] {
			for i, v := range r.Metrics {
				if v.LessThan(res.Min[i]) {
					res.Min[i] = v
				}
				if v.GreaterThan(res.Max[i]) {
					res.Max[i] = v
				}
			}
		}
	} else {
		res.Min, res.Max = zero, zero
	}
	start := min(q.Offset, len(rows))
	end := min(start+q.Limit, len(rows))
	var ivs []string
	if q.Group != "" {
		res.Intervals, ivs = intervals(q)
		for _, iv := range ivs {
			res.TotalSeries = append(res.TotalSeries, orZero(totalSeries[iv], zero))
		}
	}
	for _, g := range rows[start:end] {
		row := crmlink.ReportRow{Metrics: g.Metrics}
		for i, d := range q.Dimensions {
			v := dimensionValue(d.Field, g.Dims[i])
			if n, ok := q.GoalNames[v.ID]; ok && d.Field == crmlink.DimGoal {
				v.Name = n
			}
			row.Dimensions = append(row.Dimensions, v)
		}
		if q.Group != "" {
			byIV := series[key(&g)]
			for _, iv := range ivs {
				row.Series = append(row.Series, orZero(byIV[iv], zero))
			}
		}
		res.Rows = append(res.Rows, row)
	}
	if p.Unlinked && unlinked != nil {
		res.Unlinked = &crmlink.ReportRow{Metrics: unlinked}
		for range q.Dimensions {
			res.Unlinked.Dimensions = append(res.Unlinked.Dimensions, crmlink.DimensionValue{Name: crmlink.UnlinkedName})
		}
	}
	return res
}

// sortRows sorts rows by the sort keys, then by their dimensions, which
// tell every row apart. A report can have hundreds of thousands of rows,
// so each row's key is made once, and metrics compare as floats first
// (a float is never less for a larger decimal), and as decimals only when
// their floats are equal and not both exact.
func sortRows(rows []crmlink.ReportGroup, keys []crmlink.SortKey, dims []crmlink.Dimension) {
	n := len(rows)
	idx := make([]int, n)
	rowKey := make([]string, n)
	floats := make([][]float64, len(keys))
	exact := make([][]bool, len(keys))
	for i := range rows {
		idx[i] = i
		rowKey[i] = key(&rows[i])
	}
	for j, k := range keys {
		if k.Metric >= 0 {
			floats[j], exact[j] = make([]float64, n), make([]bool, n)
			for i := range rows {
				d := rows[i].Metrics[k.Metric]
				f := d.InexactFloat64()
				floats[j][i], exact[j][i] = f, decimal.NewFromFloat(f).Equal(d)
			}
		}
	}
	slices.SortFunc(idx, func(a, b int) int {
		for j, k := range keys {
			var c int
			switch {
			case k.Metric < 0 && dims[k.Dimension].Field.Numeric():
				// Whole numbers without leading zeros: the shorter is the less.
				x, y := rows[a].Dims[k.Dimension], rows[b].Dims[k.Dimension]
				c = cmp.Or(cmp.Compare(len(x), len(y)), strings.Compare(x, y))
			case k.Metric < 0:
				c = strings.Compare(rows[a].Dims[k.Dimension], rows[b].Dims[k.Dimension])
			case floats[j][a] < floats[j][b]:
				c = -1
			case floats[j][a] > floats[j][b]:
				c = 1
			case exact[j][a] && exact[j][b]:
			default:
				c = rows[a].Metrics[k.Metric].Cmp(rows[b].Metrics[k.Metric])
			}
			if c != 0 {
				if k.Desc {
					return -c
				}
				return c
			}
		}
		return strings.Compare(rowKey[a], rowKey[b])
	})
	sorted := make([]crmlink.ReportGroup, n)
	for i, j := range idx {
		sorted[i] = rows[j]
	}
	copy(rows, sorted)
}

func orZero(v, zero []decimal.Decimal) []decimal.Decimal {
	if v == nil {
		return zero
	}
	return v
}

// intervals lists a time series' intervals, clipped to the period, with
// the key date_trunc gives each.
func intervals(q *crmlink.ReportQuery) ([][2]time.Time, []string) {
	var out [][2]time.Time
	var keys []string
	d := q.Date1
	for !d.After(q.Date2) {
		start := d
		switch q.Group {
		case "week":
			start = d.AddDate(0, 0, -((int(d.Weekday()) + 6) % 7)) // Monday
		case "month":
			start = time.Date(d.Year(), d.Month(), 1, 0, 0, 0, 0, time.UTC)
		}
		next := start.AddDate(0, 0, 1)
		switch q.Group {
		case "week":
			next = start.AddDate(0, 0, 7)
		case "month":
			next = start.AddDate(0, 1, 0)
		}
		end := next.AddDate(0, 0, -1)
		if end.After(q.Date2) {
			end = q.Date2
		}
		out = append(out, [2]time.Time{d, end})
		keys = append(keys, start.Format(time.DateOnly))
		d = next
	}
	return out, keys
}

var deviceNames = map[string]string{"desktop": "Desktop", "mobile": "Smartphones", "tablet": "Tablets", "tv": "TV"}

var statusNames = map[string]string{"IN_PROGRESS": "In progress", "PAID": "Paid", "CANCELLED": "Cancelled", "SPAM": "Spam", "OTHER": "Other"}

// dimensionValue is a dimension's id and display name.
func dimensionValue(f crmlink.DimensionField, id string) crmlink.DimensionValue {
	if id == "" {
		return crmlink.DimensionValue{ID: "", Name: "Not specified"}
	}
	name := id
	switch f {
	case crmlink.DimTrafficSource:
		name = crmlink.SourceKind(id).Name()
	case crmlink.DimDevice:
		if n, ok := deviceNames[id]; ok {
			name = n
		}
	case crmlink.DimOrderStatusType:
		if n, ok := statusNames[id]; ok {
			name = n
		}
	}
	return crmlink.DimensionValue{ID: id, Name: name}
}
