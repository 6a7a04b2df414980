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
	"github.com/crmlink/crmlink/report"
	"github.com/shopspring/decimal"
)

// period is the date range a page shows, as picked in its form.
type period struct {
	Date1, Date2 string // YYYY-MM-DD, in the counter's time zone
	Days         int
	Presets      []navItem // quick ranges: 7, 30, 90 days
}

// readPeriod reads date1 and date2 (YYYY-MM-DD), by default the last 30
// days including today; a bad or reversed range falls back to it.
func readPeriod(r *http.Request, u *ui, now time.Time) (period, string) {
	loc := u.f.loc
	t := now.In(loc)
	today := time.Date(t.Year(), t.Month(), t.Day(), 0, 0, 0, 0, time.UTC)
	d1, d2 := today.AddDate(0, 0, -29), today
	var warn string
	q := r.URL.Query()
	if a, b := q.Get("date1"), q.Get("date2"); a != "" || b != "" {
		p1, err1 := time.Parse(time.DateOnly, a)
		p2, err2 := time.Parse(time.DateOnly, b)
		switch {
		case err1 != nil || err2 != nil:
			warn = u.tr.T("The dates must be YYYY-MM-DD; showing the last 30 days.")
		case p2.Before(p1):
			warn = u.tr.T("The period ends before it starts; showing the last 30 days.")
		case p1.Year() < 1970 || p2.Sub(p1) > 3*366*24*time.Hour:
			warn = u.tr.T("Periods run from 1970 and span at most three years; showing the last 30 days.")
		default:
			d1, d2 = p1, p2
		}
	}
	p := period{Date1: d1.Format(time.DateOnly), Date2: d2.Format(time.DateOnly), Days: int(d2.Sub(d1)/(24*time.Hour)) + 1}
	for _, n := range []int{7, 30, 90} {
		p.Presets = append(p.Presets, navItem{Label: u.tr.N(u.f, n, "day", "days"),
			URL: withParams(r.URL.Path, q, "date1", today.AddDate(0, 0, 1-n).Format(time.DateOnly), "date2", today.Format(time.DateOnly), "offset", "")})
	}
	return p, warn
}

// runUIReport runs a Reporting API request for a page, through the same
// validation as /stat/v1/data, cut by the saved segment params name
// (segment=<id>) as the API's reports are.
func (s *Server) runUIReport(r *http.Request, u *ui, params url.Values, series bool) (*crmlink.ReportResult, error) {
	if !u.goalsValid {
		goals, err := s.cfg.Store.Goals(r.Context(), u.counter.ID)
		if err != nil {
			return nil, err
		}
		u.goals, u.goalsValid = goals, true
	}
	params.Set("ids", u.counter.ID.String())
	// The page's segment picker: segment=<id>, as the API reads it.
	seg, err := s.namedSegment(r.Context(), params, u.counter.ID)
	if err != nil {
		return nil, err
	}
	q, err := report.Parse(report.Request{Counter: u.counter, Goals: u.goals, Now: s.cfg.Clock.Now(), Params: params, Series: series, Segment: seg})
	if err != nil {
		return nil, err
	}
	return s.cfg.Store.Report(r.Context(), q)
}

// card is one figure of the overview, with its change against the
// previous period of the same length.
type card struct {
	// Key is the figure's English name, which stays the same in every
	// language (scripts and tests find the figure by it).
	Key                  string
	Label, Value, Change string
	Better, Worse        bool
}

// chartData is what page scripts draw with Chart.js.
type chartData struct {
	Kind     string         `json:"kind"` // "time" or "bars"
	Labels   []string       `json:"labels"`
	Datasets []chartDataset `json:"datasets"`
	Locale   string         `json:"locale"`
}

type chartDataset struct {
	Label string    `json:"label"`
	Data  []float64 `json:"data"` // for drawing only; the figures shown are decimal
	Type  string    `json:"type,omitempty"`
	Axis  string    `json:"axis,omitempty"` // "y" or "y2"
}

type overviewData struct {
	Period    period
	Cards     []card
	Chart     chartData
	NoData    bool
	NoOrders  bool
	UploadURL string
	// Top are the sources that brought the most orders, by the default
	// attribution, each linking to its engines and campaigns.
	Top     []topSource
	TopMore string
	Segment segmentChoice
}

type topSource struct {
	Name, URL                       string
	Sessions, Orders, Paid, Revenue string
}

var overviewMetrics = []struct{ name, label string }{
	{"ym:s:visits", "Sessions"},
	{"ym:s:cdpOrdersAllOrders", "All orders"},
	{"ym:s:cdpOrdersPayed", "Paid orders"},
	{"ym:s:cdpOrders<currency>Revenue", "Revenue"},
	{"ym:s:cdpOrders<currency>Profit", "Profit"},
	{"ym:s:cdpOrdersConversionIntoOrder", "Conversion to order"},
}

func (s *Server) overviewPage(w http.ResponseWriter, r *http.Request, u *ui) error {
	seg, err := s.pickSegment(r, u)
	if err != nil {
		return err
	}
	per, warn := readPeriod(r, u, s.cfg.Clock.Now())
	names := make([]string, len(overviewMetrics))
	for i, m := range overviewMetrics {
		names[i] = m.name
	}
	group := "day"
	if per.Days > 366 {
		group = "month"
	} else if per.Days > 92 {
		group = "week"
	}
	params := url.Values{"metrics": {strings.Join(names, ",")}, "date1": {per.Date1}, "date2": {per.Date2}, "group": {group}}
	seg.set(params)
	cur, err := s.runUIReport(r, u, params, true)
	if err != nil {
		return err
	}
	// The previous period of the same length, unless it would start
	// before 1970, where reports do not go.
	prevTotals := make([]decimal.Decimal, len(names))
	d1, _ := time.Parse(time.DateOnly, per.Date1)
	if prevStart := d1.AddDate(0, 0, -per.Days); prevStart.Year() >= 1970 {
		prevParams := url.Values{"metrics": {strings.Join(names, ",")},
			"date1": {prevStart.Format(time.DateOnly)}, "date2": {d1.AddDate(0, 0, -1).Format(time.DateOnly)}}
		seg.set(prevParams)
		prev, err := s.runUIReport(r, u, prevParams, false)
		if err != nil {
			return err
		}
		prevTotals = totalsOf(prev)
	}
	data := overviewData{Period: per, UploadURL: "/c/" + u.counter.ID.String() + "/uploads", Segment: seg}
	curTotals := totalsOf(cur)
	for i, m := range overviewMetrics {
		c := card{Key: m.label, Label: u.tr.T(m.label)}
		v := curTotals[i]
		switch {
		case strings.Contains(m.name, "<currency>"):
			c.Value = u.f.Money(v)
		case strings.Contains(m.name, "Conversion"):
			c.Value = u.f.Percent(v)
		default:
			c.Value = u.f.Int(v)
		}
		if strings.Contains(m.name, "Conversion") {
			// A rate changes by points, not by a share of itself.
			if !prevTotals[i].IsZero() {
				c.Change = u.tr.Tf("%s vs the previous %s", u.f.Points(v.Sub(prevTotals[i])), u.tr.N(u.f, per.Days, "day", "days"))
				c.Better, c.Worse = v.GreaterThan(prevTotals[i]), v.LessThan(prevTotals[i])
			}
		} else if ch := u.f.Change(v, prevTotals[i]); ch != "" {
			c.Change = u.tr.Tf("%s vs the previous %s", ch, u.tr.N(u.f, per.Days, "day", "days"))
			c.Better, c.Worse = v.GreaterThan(prevTotals[i]), v.LessThan(prevTotals[i])
		}
		data.Cards = append(data.Cards, c)
	}
	data.NoData = curTotals[0].IsZero()
	data.NoOrders = curTotals[1].IsZero()
	if !data.NoOrders {
		topParams := url.Values{"dimensions": {"ym:s:<attribution>TrafficSource"},
			"metrics": {"ym:s:visits,ym:s:cdpOrdersAllOrders,ym:s:cdpOrdersPayed,ym:s:cdpOrders<currency>Revenue"},
			"date1":   {per.Date1}, "date2": {per.Date2}, "sort": {"-ym:s:cdpOrdersAllOrders"}, "limit": {"5"}}
		seg.set(topParams)
		top, err := s.runUIReport(r, u, topParams, false)
		if err != nil {
			return err
		}
		sources := "/c/" + u.counter.ID.String() + "/sources"
		keep := url.Values{"date1": {per.Date1}, "date2": {per.Date2}}
		seg.set(keep)
		for _, row := range top.Rows {
			t := topSource{Name: u.tr.Source(row.Dimensions[0].ID), Sessions: u.f.Int(row.Metrics[0]), Orders: u.f.Int(row.Metrics[1]),
				Paid: u.f.Int(row.Metrics[2]), Revenue: u.f.Money(row.Metrics[3])}
			if id := row.Dimensions[0].ID; id != "" {
				t.URL = withParams(sources, keep, "source", id, "dim", "engine")
			}
			data.Top = append(data.Top, t)
		}
		data.TopMore = withParams(sources, keep)
	}
	data.Chart = chartData{Kind: "time", Locale: u.f.nf.Locale}
	sets := []chartDataset{{Label: u.tr.T("Sessions"), Type: "line", Axis: "y2"}, {Label: u.tr.T("All orders"), Type: "bar", Axis: "y"},
		{Label: u.tr.T("Paid orders"), Type: "bar", Axis: "y"}}
	for i, iv := range cur.Intervals {
		data.Chart.Labels = append(data.Chart.Labels, u.f.Date(iv[0]))
		for k := range sets {
			sets[k].Data = append(sets[k].Data, cur.TotalSeries[i][k].InexactFloat64())
		}
	}
	data.Chart.Datasets = sets
	p, err := s.pageFor(r, u, "overview", "Overview", data)
	if err != nil {
		return err
	}
	p.Error = joinWarnings(warn, seg.Warn)
	return s.render(w, r, http.StatusOK, "overview", p)
}

// totalsOf returns a report's totals, zeros when it has none.
func totalsOf(res *crmlink.ReportResult) []decimal.Decimal {
	out := make([]decimal.Decimal, len(res.Query.Metrics))
	copy(out, res.Totals)
	return out
}

// The Order sources page: its dimension and column choices, by the short
// keys its URL carries.
type sourceDim struct{ Key, Label, API string }

var sourceDims = []sourceDim{
	{"source", "Traffic source", "ym:s:<attribution>TrafficSource"},
	{"engine", "Source engine", "ym:s:<attribution>SourceEngine"},
	{"utm_source", "UTM Source", "ym:s:<attribution>UTMSource"},
	{"utm_medium", "UTM Medium", "ym:s:<attribution>UTMMedium"},
	{"utm_campaign", "UTM Campaign", "ym:s:<attribution>UTMCampaign"},
	{"utm_content", "UTM Content", "ym:s:<attribution>UTMContent"},
	{"utm_term", "UTM Term", "ym:s:<attribution>UTMTerm"},
	{"country", "Country", "ym:s:regionCountry"},
	{"region", "Region", "ym:s:regionArea"},
	{"city", "City", "ym:s:regionCity"},
	{"device", "Device", "ym:s:deviceCategory"},
	{"os", "Operating system", "ym:s:operatingSystem"},
	{"browser", "Browser", "ym:s:browser"},
	{"landing", "Landing page", "ym:s:startURL"},
}

type sourceCol struct {
	Key, Label, API string
	Kind            string // count, pct, money
	Optional        bool
}

var sourceCols = []sourceCol{
	{"visits", "Sessions", "ym:s:visits", "count", false},
	{"orders", "All orders", "ym:s:cdpOrdersAllOrders", "count", false},
	{"in_progress", "In progress", "ym:s:cdpOrdersInProgress", "count", true},
	{"paid", "Paid", "ym:s:cdpOrdersPayed", "count", true},
	{"cancelled", "Cancelled", "ym:s:cdpOrdersCancelled", "count", true},
	{"spam", "Spam", "ym:s:cdpOrdersSpam", "count", true},
	{"conv_order", "Conversion to order", "ym:s:cdpOrdersConversionIntoOrder", "pct", true},
	{"conv_paid", "Conversion to payment", "ym:s:cdpOrdersConversionIntoPayment", "pct", true},
	{"revenue", "Revenue", "ym:s:cdpOrders<currency>Revenue", "money", true},
	{"profit", "Profit", "ym:s:cdpOrders<currency>Profit", "money", true},
	{"aov", "Average order value", "ym:s:cdpOrders<currency>AverageCheque", "money", true},
}

// byKey indexes the pickers' choices by the keys URLs carry.
var (
	dimByKey = indexBy(sourceDims, func(d sourceDim) string { return d.Key })
	colByKey = indexBy(sourceCols, func(c sourceCol) string { return c.Key })
)

func indexBy[T any](items []T, key func(T) string) map[string]T {
	m := make(map[string]T, len(items))
	for _, it := range items {
		m[key(it)] = it
	}
	return m
}

// drillOrder is the path of the drill-down: a source opens its engines and
// campaigns; an engine its campaigns.
var drillOrder = []string{"source", "engine", "utm_campaign"}

type pick struct {
	Key, Label string
	On         bool
}

type headCell struct {
	Label, SortURL string
	Title          string // how the column's figure is made, if it needs saying
	Sorted, Desc   bool
	Num            bool
}

type cell struct {
	Text, URL string
	Num       bool
}

type sourcesData struct {
	Period       period
	Attributions []pick
	DimSlots     [3][]pick // the three dimension pickers; "" is "none"
	Cols         []pick
	Head         []headCell
	Rows         [][]cell
	Totals       []cell
	Unlinked     []cell // the row of orders linked to no session; nil when there are none
	TotalRows    int
	Chart        chartData
	CSVURL       string
	CSVName      string
	APIURL       string
	Crumbs       []navItem
	Hidden       [][2]string // the drill-down and sort, kept by the form
	Prev, Next   string
	From, To     int
	NoOrders     bool
	UploadURL    string
	Segment      segmentChoice
}

type attributionLabel struct {
	Model crmlink.Attribution
	Label string
}

var attributionLabels = []attributionLabel{
	{crmlink.AttributionLastSign, "Last significant source"},
	{crmlink.AttributionLast, "Last source"},
	{crmlink.AttributionFirst, "First source"},
	{crmlink.AttributionCrossDeviceLastSign, "Last significant, cross-device"},
	{crmlink.AttributionCrossDeviceLast, "Last, cross-device"},
	{crmlink.AttributionCrossDeviceFirst, "First, cross-device"},
}

const sourcesPageRows = 100

// sourcesView is what the Order sources page's URL asks for: the period,
// the attribution model, the dimensions and columns, the drill-down and
// the sort, as the report request that answers it. The page and its CSV
// download read it the same way.
type sourcesView struct {
	per        period
	warn       string
	attr       string
	dims       []string // keys of sourceDims
	metricKeys []string // keys of sourceCols
	cols       []string // the col values of the URL, kept by links
	keep       url.Values
	drill      [][2]string // the drill-down filters, key and value
	sortKey    string
	bare       string
	desc       bool
	params     url.Values // the report request, without limit and offset
	seg        segmentChoice
}

// readSourcesView reads the Order sources page's query.
func (s *Server) readSourcesView(r *http.Request, u *ui) (*sourcesView, error) {
	seg, err := s.pickSegment(r, u)
	if err != nil {
		return nil, err
	}
	q := r.URL.Query()
	v := &sourcesView{seg: seg}
	v.per, v.warn = readPeriod(r, u, s.cfg.Clock.Now())
	v.warn = joinWarnings(v.warn, seg.Warn)
	v.attr = q.Get("attribution")
	if !slices.ContainsFunc(attributionLabels, func(a attributionLabel) bool { return string(a.Model) == v.attr }) {
		v.attr = string(crmlink.DefaultAttribution)
	}
	// Dimensions: up to three, in the order picked; by default source and
	// engine, as the orders_sources preset.
	for _, k := range q["dim"] {
		if _, ok := dimByKey[k]; ok && !slices.Contains(v.dims, k) && len(v.dims) < 3 {
			v.dims = append(v.dims, k)
		}
	}
	if len(v.dims) == 0 {
		v.dims = []string{"source", "engine"}
	}
	// Columns: the form sends col=- with the checked ones, so that none
	// checked means none; a URL without col shows them all.
	v.cols = q["col"]
	for _, c := range sourceCols {
		if !c.Optional || len(v.cols) == 0 || slices.Contains(v.cols, c.Key) {
			v.metricKeys = append(v.metricKeys, c.Key)
		}
	}
	// The drill-down: source=, engine= and utm_campaign= filter the rows.
	var filters []string
	v.keep = url.Values{"date1": {v.per.Date1}, "date2": {v.per.Date2}, "attribution": {v.attr}}
	seg.set(v.keep)
	for _, c := range v.cols {
		v.keep.Add("col", c)
	}
	for _, k := range drillOrder {
		val := q.Get(k)
		if val == "" {
			continue
		}
		filters = append(filters, dimByKey[k].API+"=="+filterQuote(val))
		v.drill = append(v.drill, [2]string{k, val})
	}
	apiDims := make([]string, len(v.dims))
	for i, k := range v.dims {
		apiDims[i] = dimByKey[k].API
	}
	apiMets := make([]string, len(v.metricKeys))
	for i, k := range v.metricKeys {
		apiMets[i] = colByKey[k].API
	}
	v.sortKey = q.Get("sort")
	sortAPI := ""
	v.desc = strings.HasPrefix(v.sortKey, "-")
	v.bare = strings.TrimPrefix(v.sortKey, "-")
	switch {
	case slices.Contains(v.metricKeys, v.bare):
		sortAPI = colByKey[v.bare].API
	case slices.Contains(v.dims, v.bare):
		sortAPI = dimByKey[v.bare].API
	default:
		v.sortKey, v.bare, v.desc, sortAPI = "-visits", "visits", true, "ym:s:visits"
	}
	if v.desc {
		sortAPI = "-" + sortAPI
	}
	v.params = url.Values{"dimensions": {strings.Join(apiDims, ",")}, "metrics": {strings.Join(apiMets, ",")},
		"date1": {v.per.Date1}, "date2": {v.per.Date2}, "attribution": {v.attr}, "sort": {sortAPI}}
	if len(filters) > 0 {
		v.params.Set("filters", strings.Join(filters, " AND "))
	}
	seg.set(v.params)
	return v, nil
}

// dimText is how a page shows a dimension's value: a traffic source by its
// name in the reader's language (never its raw id), anything else as the report names it; an empty value is
// "(not set)".
func dimText(tr translator, key string, dv crmlink.DimensionValue) string {
	switch {
	case key == "source":
		return tr.Source(dv.ID)
	case dv.ID == "" && dv.Name != "":
		return tr.T(dv.Name)
	case key == "device" && slices.Contains(reportNames, dv.Name):
		return tr.T(dv.Name)
	}
	t := dv.Name
	if t == "" {
		t = dv.ID
	}
	if t == "" {
		t = tr.T("(not set)")
	}
	return t
}

// reportNames are the English names the stores give values that have
// no name of their own: the empty value and the device categories.
var reportNames = []string{"Not specified", "Desktop", "Smartphones", "Tablets", "TV"}

// fmtMetric writes a column's value as the page shows it.
func fmtMetric(f formatter, k string, v decimal.Decimal) string {
	switch colByKey[k].Kind {
	case "money":
		return f.Money(v)
	case "pct":
		return f.Percent(v)
	}
	return f.Int(v)
}

const sourcesChartRows = 10

func (s *Server) sourcesPage(w http.ResponseWriter, r *http.Request, u *ui) error {
	v, err := s.readSourcesView(r, u)
	if err != nil {
		return err
	}
	q := r.URL.Query()
	data := sourcesData{Period: v.per, UploadURL: "/c/" + u.counter.ID.String() + "/uploads", Segment: v.seg}
	data.controls(v, u)
	base := r.URL.Path
	data.drillDown(v, u, base)
	offset := formInt(q.Get("offset"), 1, 1, 1<<30)
	params := maps.Clone(v.params)
	params.Set("limit", strconv.Itoa(sourcesPageRows))
	params.Set("offset", strconv.Itoa(offset))
	params.Set("include_unlinked", "true")
	res, err := s.runUIReport(r, u, params, false)
	if err != nil {
		return err
	}
	// The download takes the page's own query, so it has the rows and
	// columns the page shows, all of them, titled as here.
	csvQuery := maps.Clone(q)
	csvQuery.Del("offset")
	data.CSVURL = withParams(base+".csv", csvQuery)
	data.CSVName = "order-sources-" + v.per.Date1 + "-" + v.per.Date2 + ".csv"
	data.APIURL = "/stat/v1/data?" + params.Encode()
	data.TotalRows = res.TotalRows
	data.table(res, v, u, base, q)
	// Paging.
	data.From, data.To = offset, offset+len(res.Rows)-1
	if offset > 1 {
		data.Prev = withParams(base, q, "offset", strconv.Itoa(max(1, offset-sourcesPageRows)))
	}
	if offset-1+len(res.Rows) < res.TotalRows {
		data.Next = withParams(base, q, "offset", strconv.Itoa(offset+sourcesPageRows))
	}
	// The chart: the rows that brought the most orders, whatever the
	// table's sort and page.
	chartRes := res
	if params.Get("sort") != "-"+colByKey["orders"].API || offset != 1 {
		cp := maps.Clone(v.params)
		cp.Set("sort", "-"+colByKey["orders"].API)
		cp.Set("limit", strconv.Itoa(sourcesChartRows))
		if chartRes, err = s.runUIReport(r, u, cp, false); err != nil {
			return err
		}
	}
	data.chart(chartRes, v, u)
	p, err := s.pageFor(r, u, "sources", "Order sources", data)
	if err != nil {
		return err
	}
	p.Error = v.warn
	return s.render(w, r, http.StatusOK, "sources", p)
}

// controls fills the page's pickers: attribution, dimensions, columns.
func (data *sourcesData) controls(v *sourcesView, u *ui) {
	for _, a := range attributionLabels {
		data.Attributions = append(data.Attributions, pick{string(a.Model), u.tr.T(a.Label), string(a.Model) == v.attr})
	}
	for i := range data.DimSlots {
		chosen := ""
		if i < len(v.dims) {
			chosen = v.dims[i]
		}
		if i > 0 {
			data.DimSlots[i] = append(data.DimSlots[i], pick{"", "—", chosen == ""})
		}
		for _, d := range sourceDims {
			data.DimSlots[i] = append(data.DimSlots[i], pick{d.Key, u.tr.T(d.Label), d.Key == chosen})
		}
	}
	for _, c := range sourceCols {
		if c.Optional {
			data.Cols = append(data.Cols, pick{c.Key, u.tr.T(c.Label), slices.Contains(v.metricKeys, c.Key)})
		}
	}
}

// drillDown fills the breadcrumbs of the drill-down and the form's hidden
// fields, and adds the drill-down's filters to v.keep.
func (data *sourcesData) drillDown(v *sourcesView, u *ui, base string) {
	data.Crumbs = append(data.Crumbs, navItem{Label: u.tr.T("All sources"), URL: withParams(base, v.keep)})
	for _, d := range v.drill {
		k, val := d[0], d[1]
		v.keep.Set(k, val)
		data.Hidden = append(data.Hidden, [2]string{k, val})
		data.Crumbs = append(data.Crumbs, navItem{Label: dimText(u.tr, k, crmlink.DimensionValue{ID: val, Name: val}), URL: withParams(base, v.keep)})
	}
	data.Hidden = append(data.Hidden, [2]string{"sort", v.sortKey})
}

// table fills the header with its sort links, the rows with their
// drill-down links, the totals, and the row of unlinked orders.
func (data *sourcesData) table(res *crmlink.ReportResult, v *sourcesView, u *ui, base string, q url.Values) {
	dims, metricKeys := v.dims, v.metricKeys
	for _, k := range dims {
		h := headCell{Label: u.tr.T(dimByKey[k].Label), Sorted: v.bare == k, Desc: v.desc}
		h.SortURL = withParams(base, q, "sort", flipSort(k, v.bare == k && !v.desc, false), "offset", "")
		data.Head = append(data.Head, h)
	}
	for _, k := range metricKeys {
		h := headCell{Label: u.tr.T(colByKey[k].Label), Sorted: v.bare == k, Desc: v.desc, Num: true}
		h.SortURL = withParams(base, q, "sort", flipSort(k, v.bare == k && v.desc, true), "offset", "")
		data.Head = append(data.Head, h)
	}
	for _, row := range res.Rows {
		var cells []cell
		for i, k := range dims {
			dv := row.Dimensions[i]
			c := cell{Text: dimText(u.tr, k, dv)}
			// Drill down: from a source into its engines and campaigns.
			if j := slices.Index(drillOrder, k); j >= 0 && j+1 < len(drillOrder) && dv.ID != "" {
				next := maps.Clone(v.keep)
				next.Set(k, dv.ID)
				next.Del("dim")
				for _, nk := range drillOrder[j+1:] {
					next.Add("dim", nk)
				}
				c.URL = withParams(base, next)
			}
			cells = append(cells, c)
		}
		for i, k := range metricKeys {
			cells = append(cells, cell{Text: fmtMetric(u.f, k, row.Metrics[i]), Num: true})
		}
		data.Rows = append(data.Rows, cells)
	}
	totals := totalsOf(res)
	for range dims {
		data.Totals = append(data.Totals, cell{})
	}
	data.Totals[0].Text = u.tr.T("Total and averages")
	for i, k := range metricKeys {
		data.Totals = append(data.Totals, cell{Text: fmtMetric(u.f, k, totals[i]), Num: true})
	}
	if ur := res.Unlinked; hasOrders(metricKeys, ur) {
		// The orders no session brought: a row of their own, outside the
		// rows and the totals, which count sessions.
		for range dims {
			data.Unlinked = append(data.Unlinked, cell{})
		}
		data.Unlinked[0] = cell{Text: u.tr.T(crmlink.UnlinkedName), URL: data.UploadURL}
		for i, k := range metricKeys {
			data.Unlinked = append(data.Unlinked, cell{Text: fmtMetric(u.f, k, ur.Metrics[i]), Num: true})
		}
	}
	data.NoOrders = totals[1].IsZero()
}

// chart fills the bar chart of all and paid orders from the rows that
// brought the most orders.
func (data *sourcesData) chart(res *crmlink.ReportResult, v *sourcesView, u *ui) {
	data.Chart = chartData{Kind: "bars", Locale: u.f.nf.Locale}
	ordersAt, paidAt := slices.Index(v.metricKeys, "orders"), slices.Index(v.metricKeys, "paid")
	sets := []chartDataset{{Label: u.tr.T("All orders")}}
	if paidAt >= 0 {
		sets = append(sets, chartDataset{Label: u.tr.T("Paid orders")})
	}
	for i, row := range res.Rows {
		if i == sourcesChartRows || row.Metrics[ordersAt].IsZero() {
			break
		}
		var parts []string
		for j, k := range v.dims {
			parts = append(parts, dimText(u.tr, k, row.Dimensions[j]))
		}
		data.Chart.Labels = append(data.Chart.Labels, strings.Join(parts, " · "))
		sets[0].Data = append(sets[0].Data, row.Metrics[ordersAt].InexactFloat64())
		if paidAt >= 0 {
			sets[1].Data = append(sets[1].Data, row.Metrics[paidAt].InexactFloat64())
		}
	}
	data.Chart.Datasets = sets
}

// hasOrders reports whether a report row counts any order: its "orders"
// column, or any column when that one is not shown.
func hasOrders(metricKeys []string, row *crmlink.ReportRow) bool {
	if row == nil {
		return false
	}
	if i := slices.Index(metricKeys, "orders"); i >= 0 {
		return !row.Metrics[i].IsZero()
	}
	return slices.ContainsFunc(row.Metrics, func(d decimal.Decimal) bool { return !d.IsZero() })
}

// flipSort returns the sort value a header links to: the other direction
// when the column is sorted that way, else descending for numbers and
// ascending for names.
func flipSort(key string, flip bool, num bool) string {
	desc := num
	if flip {
		desc = !desc
	}
	if desc {
		return "-" + key
	}
	return key
}

// filterQuote quotes a value for a report filter.
func filterQuote(v string) string {
	return "'" + strings.ReplaceAll(strings.ReplaceAll(v, `\`, `\\`), `'`, `\'`) + "'"
}
