package http

import (
	"maps"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/crmlink/crmlink"
	"github.com/crmlink/crmlink/conversions"
	"github.com/shopspring/decimal"
)

// The Ad payback page: Metrica's "sources_expenses_and_roi" report in the
// ym:ev: namespace (ad spend joined with the sessions and orders its UTM
// fields and day match under an attribution model), a chart of spend
// against profit by day, and the conversion files that send the orders
// back to the ad platforms.
//
// The conversion exports are here rather than on the Goals page: this is
// the page about the ad platforms, whose spend it weighs against the
// orders, and the period it shows is the period whose conversions a
// marketer sends back to them.

// paybackDims are the page's groupings by the short keys its URL carries:
// the expense's fields, each the session's under the attribution model.
var paybackDims = []sourceDim{
	{"utm_source", "UTM Source", "ym:ev:<attribution>ExpenseSource"},
	{"utm_campaign", "UTM Campaign", "ym:ev:<attribution>ExpenseCampaign"},
	{"utm_medium", "UTM Medium", "ym:ev:<attribution>ExpenseMedium"},
	{"utm_term", "UTM Term", "ym:ev:<attribution>ExpenseTerm"},
	{"utm_content", "UTM Content", "ym:ev:<attribution>ExpenseContent"},
	{"source", "Traffic source", "ym:ev:<attribution>TrafficSource"},
	{"engine", "Source engine", "ym:ev:<attribution>SourceEngine"},
}

// paybackCol is a column of the page's table.
type paybackCol struct {
	Key, Label, API string
	Kind            string // count, money, pct
	// Hint says how the figure is made, as the column's title.
	Hint string
	// Per is the key of the column the figure is divided by: when that
	// is zero, the figure is undefined and shown as "—" (the report
	// answers 0 for it).
	Per string
}

var paybackCols = []paybackCol{
	{"spend", "Ad spend", "ym:ev:expenses<currency>", "money", "What the uploaded expenses say was spent", ""},
	{"clicks", "Clicks", "ym:ev:expenseClicks", "count", "Clicks, as the uploaded expenses count them", ""},
	{"cpc", "CPC", "ym:ev:expense<currency>CPC", "money", "Cost per click: spend / clicks", "clicks"},
	{"visits", "Sessions", "ym:ev:visits", "count", "", ""},
	{"orders", "All orders", "ym:ev:cdpOrdersAllOrders", "count", "", ""},
	{"paid", "Paid", "ym:ev:cdpOrdersPayed", "count", "", ""},
	{"revenue", "Revenue", "ym:ev:cdpOrders<currency>Revenue", "money", "", ""},
	{"profit", "Profit", "ym:ev:cdpOrders<currency>Profit", "money", "", ""},
	{"cpo", "CPO", "ym:ev:cdpOrders<currency>CPO", "money", "Cost per paid order: spend / paid orders", "paid"},
	{"roi", "ROI", "ym:ev:cdpOrders<currency>ROI", "pct", "Return on investment: (revenue − spend) / spend", "spend"},
	{"romi", "ROMI", "ym:ev:cdpOrders<currency>ROMI", "pct", "Return on marketing investment: (profit − spend) / spend", "spend"},
	{"poas", "POAS", "ym:ev:cdpOrders<currency>POAS", "pct", "Profit on ad spend: profit / spend", "spend"},
}

var (
	paybackDimByKey = indexBy(paybackDims, func(d sourceDim) string { return d.Key })
	paybackColAt    = func() map[string]int {
		m := map[string]int{}
		for i, c := range paybackCols {
			m[c.Key] = i
		}
		return m
	}()
)

const paybackPageRows = 100

type paybackData struct {
	Period       period
	Attributions []pick
	DimSlots     [3][]pick
	Head         []headCell
	Rows         [][]cell
	Totals       []cell
	TotalRows    int
	From, To     int
	Prev, Next   string
	Hidden       [][2]string // the sort, kept by the form
	Chart        chartData
	// ChartAll says the chart's profit is every order's of the day's
	// sessions, the period having too many rows to keep those that met
	// spend.
	ChartAll  bool
	NoSpend   bool
	UploadURL string
	APIURL    string
	Exports   *conversionExports // nil without write scope
}

// conversionExports is the page's section of conversion files: one link
// per format of package conversions, for the page's period and the goal
// picked.
type conversionExports struct {
	Dates  string // the period, as the page writes dates
	Goals  []pick
	Hidden [][2]string // the page's view, kept by the goal picker's form
	Links  []exportLink
	// AskPixel says a format needs an ad pixel's id (VK Ads' event
	// links), which the form asks for; Pixel is the one given.
	AskPixel bool
	Pixel    string
}

// exportLink is one format's download; URL is empty while the format
// waits for the pixel id it needs.
type exportLink struct {
	Name, Title, URL string
}

func (s *Server) paybackPage(w http.ResponseWriter, r *http.Request, u *ui) error {
	q := r.URL.Query()
	per, warn := readPeriod(r, u, s.cfg.Clock.Now())
	attr := q.Get("attribution")
	if !slices.ContainsFunc(attributionLabels, func(a attributionLabel) bool { return string(a.Model) == attr }) {
		attr = string(crmlink.DefaultAttribution)
	}
	// Up to three groupings, in the order picked; by default source and
	// campaign, as Metrica's ad payback report begins.
	var dims []string
	for _, k := range q["dim"] {
		if _, ok := paybackDimByKey[k]; ok && !slices.Contains(dims, k) && len(dims) < 3 {
			dims = append(dims, k)
		}
	}
	if len(dims) == 0 {
		dims = []string{"utm_source", "utm_campaign"}
	}
	sortKey := q.Get("sort")
	desc := strings.HasPrefix(sortKey, "-")
	bare := strings.TrimPrefix(sortKey, "-")
	var sortAPI string
	if i, ok := paybackColAt[bare]; ok {
		sortAPI = paybackCols[i].API
	} else if slices.Contains(dims, bare) {
		sortAPI = paybackDimByKey[bare].API
	} else {
		sortKey, bare, desc, sortAPI = "-spend", "spend", true, paybackCols[0].API
	}
	if desc {
		sortAPI = "-" + sortAPI
	}
	apiDims := make([]string, len(dims))
	for i, k := range dims {
		apiDims[i] = paybackDimByKey[k].API
	}
	apiMets := make([]string, len(paybackCols))
	for i, c := range paybackCols {
		apiMets[i] = c.API
	}
	offset := formInt(q.Get("offset"), 1, 1, 1<<30)
	params := url.Values{"dimensions": {strings.Join(apiDims, ",")}, "metrics": {strings.Join(apiMets, ",")},
		"date1": {per.Date1}, "date2": {per.Date2}, "attribution": {attr}, "sort": {sortAPI},
		"limit": {strconv.Itoa(paybackPageRows)}, "offset": {strconv.Itoa(offset)}}
	res, err := s.runUIReport(r, u, params, false)
	if err != nil {
		return err
	}
	base := r.URL.Path
	data := paybackData{Period: per, UploadURL: "/c/" + u.counter.ID.String() + "/uploads", TotalRows: res.TotalRows,
		APIURL: "/stat/v1/data?" + params.Encode(), Hidden: [][2]string{{"sort", sortKey}}}
	for _, k := range []string{"goal", "pixel"} { // the exports' choices, kept when the report changes
		if v := q.Get(k); v != "" {
			data.Hidden = append(data.Hidden, [2]string{k, v})
		}
	}
	for _, a := range attributionLabels {
		data.Attributions = append(data.Attributions, pick{string(a.Model), u.tr.T(a.Label), string(a.Model) == attr})
	}
	for i := range data.DimSlots {
		chosen := ""
		if i < len(dims) {
			chosen = dims[i]
		}
		if i > 0 {
			data.DimSlots[i] = append(data.DimSlots[i], pick{"", "—", chosen == ""})
		}
		for _, d := range paybackDims {
			data.DimSlots[i] = append(data.DimSlots[i], pick{d.Key, u.tr.T(d.Label), d.Key == chosen})
		}
	}
	for _, k := range dims {
		h := headCell{Label: u.tr.T(paybackDimByKey[k].Label), Sorted: bare == k, Desc: desc}
		h.SortURL = withParams(base, q, "sort", flipSort(k, bare == k && !desc, false), "offset", "")
		data.Head = append(data.Head, h)
	}
	for _, c := range paybackCols {
		h := headCell{Label: u.tr.T(c.Label), Sorted: bare == c.Key, Desc: desc, Num: true}
		if c.Hint != "" {
			h.Title = u.tr.T(c.Hint)
		}
		h.SortURL = withParams(base, q, "sort", flipSort(c.Key, bare == c.Key && desc, true), "offset", "")
		data.Head = append(data.Head, h)
	}
	for _, row := range res.Rows {
		var cells []cell
		for i, k := range dims {
			cells = append(cells, cell{Text: dimText(u.tr, k, row.Dimensions[i])})
		}
		data.Rows = append(data.Rows, append(cells, paybackCells(u.f, row.Metrics)...))
	}
	totals := totalsOf(res)
	data.Totals = make([]cell, len(dims))
	data.Totals[0].Text = u.tr.T("Total and averages")
	data.Totals = append(data.Totals, paybackCells(u.f, totals)...)
	data.NoSpend = totals[paybackColAt["spend"]].IsZero()
	data.From, data.To = offset, offset+len(res.Rows)-1
	if offset > 1 {
		data.Prev = withParams(base, q, "offset", strconv.Itoa(max(1, offset-paybackPageRows)))
	}
	if offset-1+len(res.Rows) < res.TotalRows {
		data.Next = withParams(base, q, "offset", strconv.Itoa(offset+paybackPageRows))
	}
	if data.Chart, data.ChartAll, err = s.paybackChart(r, u, per, attr, apiDims); err != nil {
		return err
	}
	if u.tok.Scope >= crmlink.ScopeWrite {
		data.Exports = conversionLinks(u, q, per)
	}
	p, err := s.pageFor(r, u, "payback", "Ad payback", data)
	if err != nil {
		return err
	}
	p.Error = warn
	return s.render(w, r, http.StatusOK, "payback", p)
}

// paybackCells writes a row's figures as the page shows them: "—" for a
// ratio whose divisor is zero.
func paybackCells(f formatter, ms []decimal.Decimal) []cell {
	out := make([]cell, len(paybackCols))
	for i, c := range paybackCols {
		v := ms[i]
		text := "—"
		switch {
		case c.Per != "" && ms[paybackColAt[c.Per]].IsZero():
		case c.Kind == "money":
			text = f.Money(v)
		case c.Kind == "pct":
			text = f.Percent(v)
		default:
			text = f.Int(v)
		}
		out[i] = cell{Text: text, Num: true}
	}
	return out
}

// paybackChart is spend against profit over the period: the ym:ev:
// report by date and the page's groupings (ym:ev: reports have no time
// series), a group's profit counted only when the group has spend in the
// period (its row of the table does), so that the line is the profit of
// the campaigns that were paid for, under the attribution model; the
// days it has no row for are drawn as zero. Should the period
// have more rows than one answer holds, it is the report by date alone,
// and the profit every order's of the day's sessions (all is then true).
// As on the Overview, a period of more than 92 days is drawn by week
// (from Monday) and one of more than 366 by month, each interval
// labelled by its first day in the period; spend and profit add up over
// days, so the sums are the interval's figures.
// paybackChartRows is the most rows the chart's report by date and
// groupings may have.
var paybackChartRows = 100_000

func (s *Server) paybackChart(r *http.Request, u *ui, per period, attr string, dims []string) (_ chartData, all bool, _ error) {
	params := url.Values{"dimensions": {strings.Join(append([]string{"ym:ev:date"}, dims...), ",")},
		"metrics": {"ym:ev:expenses<currency>,ym:ev:cdpOrders<currency>Profit"},
		"date1":   {per.Date1}, "date2": {per.Date2}, "attribution": {attr}, "sort": {"ym:ev:date"},
		"limit": {strconv.Itoa(paybackChartRows)}}
	res, err := s.runUIReport(r, u, params, false)
	if err != nil {
		return chartData{}, false, err
	}
	if res.TotalRows > len(res.Rows) {
		all = true
		params.Set("dimensions", "ym:ev:date")
		params.Set("limit", strconv.Itoa(per.Days))
		if res, err = s.runUIReport(r, u, params, false); err != nil {
			return chartData{}, false, err
		}
	}
	// A group (the groupings' values) counts its profit on every day when
	// it has spend in the period, as its row of the table does.
	group := func(row *crmlink.ReportRow) string {
		var b strings.Builder
		for _, d := range row.Dimensions[1:] {
			b.WriteString(d.ID + "\x00")
		}
		return b.String()
	}
	spent := map[string]bool{}
	for i := range res.Rows {
		if !res.Rows[i].Metrics[0].IsZero() {
			spent[group(&res.Rows[i])] = true
		}
	}
	byDay := map[string][]decimal.Decimal{}
	for i := range res.Rows {
		row := &res.Rows[i]
		sums := byDay[row.Dimensions[0].ID]
		if sums == nil {
			sums = []decimal.Decimal{decimal.Zero, decimal.Zero}
			byDay[row.Dimensions[0].ID] = sums
		}
		sums[0] = sums[0].Add(row.Metrics[0])
		if all || spent[group(row)] {
			sums[1] = sums[1].Add(row.Metrics[1])
		}
	}
	// intervalOf is the first day of a day's interval.
	intervalOf := func(d time.Time) time.Time { return d }
	switch {
	case per.Days > 366:
		intervalOf = func(d time.Time) time.Time { return time.Date(d.Year(), d.Month(), 1, 0, 0, 0, 0, time.UTC) }
	case per.Days > 92:
		intervalOf = func(d time.Time) time.Time { return d.AddDate(0, 0, -((int(d.Weekday()) + 6) % 7)) }
	}
	ch := chartData{Kind: "time", Locale: u.f.nf.Locale}
	sets := []chartDataset{{Label: u.tr.T("Ad spend"), Type: "bar", Axis: "y"}, {Label: u.tr.T("Profit"), Type: "line", Axis: "y"}}
	sums := make([]decimal.Decimal, len(sets))
	d1, _ := time.Parse(time.DateOnly, per.Date1)
	for i := range per.Days {
		day := d1.AddDate(0, 0, i)
		if i == 0 || !intervalOf(day).Equal(intervalOf(day.AddDate(0, 0, -1))) {
			if i > 0 { // the interval before is complete
				for k := range sets {
					sets[k].Data = append(sets[k].Data, sums[k].InexactFloat64())
					sums[k] = decimal.Zero
				}
			}
			ch.Labels = append(ch.Labels, u.f.Date(day))
		}
		if ms := byDay[day.Format(time.DateOnly)]; ms != nil {
			for k := range sets {
				sums[k] = sums[k].Add(ms[k])
			}
		}
	}
	for k := range sets {
		sets[k].Data = append(sets[k].Data, sums[k].InexactFloat64())
	}
	ch.Datasets = sets
	return ch, all, nil
}

// conversionLinks fills the section of conversion files: a link per
// format to the export API, for the page's period and the goal picked
// (goal=<id>; none: every goal), with the pixel id (pixel=) for the
// formats that need one.
func conversionLinks(u *ui, q url.Values, per period) *conversionExports {
	d1, _ := time.Parse(time.DateOnly, per.Date1)
	d2, _ := time.Parse(time.DateOnly, per.Date2)
	x := &conversionExports{Dates: u.f.Date(d1) + " – " + u.f.Date(d2)}
	goal := q.Get("goal")
	found := false
	for _, g := range u.goals {
		id := strconv.FormatInt(g.ID, 10)
		name := g.Name
		if g.Type == "crm" {
			name = u.tr.T(name)
		}
		x.Goals = append(x.Goals, pick{id, name, id == goal})
		found = found || id == goal
	}
	if !found {
		goal = ""
	}
	x.Goals = append([]pick{{"", u.tr.T("Every goal"), goal == ""}}, x.Goals...)
	if v := q.Get("pixel"); pixelID(v) {
		x.Pixel = v
	}
	for _, k := range slices.Sorted(maps.Keys(q)) {
		if k == "goal" || k == "pixel" || k == "offset" {
			continue
		}
		for _, v := range q[k] {
			x.Hidden = append(x.Hidden, [2]string{k, v})
		}
	}
	api := "/management/v1/counter/" + u.counter.ID.String() + "/conversions/export"
	for _, name := range conversions.Names() {
		f := conversions.Lookup(name)
		p := url.Values{"format": {name}, "date1": {per.Date1}, "date2": {per.Date2}}
		if goal != "" {
			p.Set("goal_id", goal)
		}
		link := exportLink{Name: name, Title: u.tr.T(f.Title), URL: api + "?" + p.Encode()}
		if f.Pixel {
			x.AskPixel = true
			if x.Pixel == "" {
				link.URL = ""
			} else {
				p.Set("pixel", x.Pixel)
				link.URL = api + "?" + p.Encode()
			}
		}
		x.Links = append(x.Links, link)
	}
	return x
}
