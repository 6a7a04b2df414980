// Package report is the report model: the names of dimensions and metrics,
// filters, attribution models and presets; it validates a request in the
// shape of Metrica's Reporting API into a crmlink.ReportQuery, plans it
// for an engine (NewPlan), assembles the answer from the engine's
// aggregation (Assemble) and encodes it. Engines compute the numbers, in
// their own SQL.
package report

import (
	"net/url"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/crmlink/crmlink"
)

// Limits of a request.
const (
	DefaultLimit = 100
	MaxLimit     = 100_000
	maxNames     = 20 // dimensions or metrics per request
)

// Preset is a named report: its dimensions, metrics and sort.
type Preset struct {
	Dimensions []string
	Metrics    []string
	Sort       string
}

// Presets are the named reports. orders_sources is the Order sources
// report of SPEC.md §4.
var Presets = map[string]Preset{
	"sources_expenses_and_roi": {
		Dimensions: []string{"ym:ev:<attribution>ExpenseSource", "ym:ev:<attribution>ExpenseCampaign", "ym:ev:<attribution>ExpenseTerm",
			"ym:ev:<attribution>ExpenseContent"},
		Metrics: []string{"ym:ev:expenses<currency>", "ym:ev:visits", "ym:ev:cdpOrdersPayed", "ym:ev:cdpOrders<currency>Profit",
			"ym:ev:cdpOrders<currency>AverageCheque", "ym:ev:cdpOrders<currency>ROI", "ym:ev:cdpOrders<currency>CPA",
			"ym:ev:cdpOrders<currency>CPO", "ym:ev:expense<currency>CPC"},
		Sort: "-ym:ev:expenses<currency>",
	},
	// Metrica's expenses preset without its favourite goals' metrics,
	// which crmlink does not have.
	"expenses": {
		Dimensions: []string{"ym:ev:<attribution>TrafficSource", "ym:ev:<attribution>SourceEngine", "ym:ev:<attribution>ExpenseSource",
			"ym:ev:<attribution>ExpenseCampaign"},
		Metrics: []string{"ym:ev:expenses<currency>", "ym:ev:expenseClicks", "ym:ev:expense<currency>CPC", "ym:ev:visits"},
		Sort:    "-ym:ev:expenses<currency>",
	},
	"orders_sources": {
		Dimensions: []string{"ym:s:<attribution>TrafficSource", "ym:s:<attribution>SourceEngine"},
		Metrics: []string{"ym:s:visits", "ym:s:cdpOrdersAllOrders", "ym:s:cdpOrdersInProgress", "ym:s:cdpOrdersPayed",
			"ym:s:cdpOrdersCancelled", "ym:s:cdpOrdersSpam", "ym:s:cdpOrdersOther", "ym:s:cdpOrdersConversionIntoOrder",
			"ym:s:cdpOrdersConversionIntoPayment", "ym:s:cdpOrders<currency>Revenue", "ym:s:cdpOrders<currency>Profit",
			"ym:s:cdpOrders<currency>AverageCheque"},
		Sort: "-ym:s:visits",
	},
}

// Request is what a report request carries besides the counter.
type Request struct {
	Counter *crmlink.Counter
	Goals   []crmlink.Goal // the counter's goals, to check goal metrics
	Now     time.Time
	Params  url.Values
	// Series asks for a time series (/stat/v1/data/bytime).
	Series bool
	// Segment is the expression of the saved segment the request names
	// (segment=<id>), or "".
	Segment string
}

// Parse validates a request into a query. Every error is KindInvalid and
// names the parameter, and the part of it, that is wrong.
func Parse(r Request) (*crmlink.ReportQuery, error) {
	v := r.Params
	q := &crmlink.ReportQuery{CounterID: r.Counter.ID, Attribution: crmlink.DefaultAttribution, Currency: r.Counter.Currency}
	if a := v.Get("attribution"); a != "" {
		m, ok := parseAttribution(a)
		if !ok {
			return nil, invalid("attribution", "%q is not a model: want one of %s", a, attributionNames())
		}
		q.Attribution = m
	}
	if c := v.Get("currency"); c != "" {
		c = strings.ToUpper(c)
		if !crmlink.IsCurrency(c) {
			return nil, invalid("currency", "%q is not an ISO 4217 currency code", v.Get("currency"))
		}
		q.Currency = c
	}
	var dims, mets []string
	sort := v.Get("sort")
	if name := v.Get("preset"); name != "" {
		p, ok := Presets[name]
		if !ok {
			return nil, invalid("preset", "%q is not a preset: want orders_sources, sources_expenses_and_roi or expenses", name)
		}
		dims, mets = p.Dimensions, p.Metrics
		if sort == "" {
			sort = p.Sort
		}
	}
	if s := v.Get("dimensions"); s != "" {
		dims = splitNames(s)
	}
	if s := v.Get("metrics"); s != "" {
		mets = splitNames(s)
	}
	if len(mets) == 0 {
		return nil, crmlink.Errorf(crmlink.KindInvalid, "metrics: missing: name at least one metric, or a preset")
	}
	if len(dims) > maxNames || len(mets) > maxNames {
		return nil, crmlink.Errorf(crmlink.KindInvalid, "at most %d dimensions and %d metrics", maxNames, maxNames)
	}
	// <goal_id> in a name is the goal_id parameter, as in Metrica.
	dims, mets = slices.Clone(dims), slices.Clone(mets)
	sorts := []string{sort}
	for _, names := range [][]string{dims, mets, sorts} {
		if err := fillGoalID(names, v.Get("goal_id")); err != nil {
			return nil, err
		}
	}
	sort = sorts[0]
	// <group> in a name (ym:s:datePeriod<group>) is the group parameter:
	// day, week (by default), month, quarter or year.
	if slices.ContainsFunc(dims, func(n string) bool { return strings.Contains(n, "<group>") }) {
		g := v.Get("group")
		if g == "" {
			g = "week"
		}
		if !slices.Contains([]string{"day", "week", "month", "quarter", "year"}, g) {
			return nil, invalid("group", "%q: ym:s:datePeriod<group> takes day, week, month, quarter or year", g)
		}
		for i, n := range dims {
			dims[i] = strings.ReplaceAll(n, "<group>", g)
		}
		sort = strings.ReplaceAll(sort, "<group>", g)
	}
	rs := resolver{q: q, goals: r.Goals}
	q.Expenses = slices.ContainsFunc(append(slices.Clone(dims), mets...), isEv)
	if q.Expenses {
		for _, name := range append(slices.Clone(dims), mets...) {
			if !isEv(name) {
				return nil, invalid("metrics", "%s is not in the ym:ev: namespace of the report's other names: one report, one namespace", name)
			}
		}
		switch {
		case r.Series:
			return nil, crmlink.Errorf(crmlink.KindInvalid, "ym:ev: reports are tables: ask /stat/v1/data")
		case v.Get("filters") != "" || r.Segment != "":
			return nil, invalid("filters", "ym:ev: reports take no filters or segment yet")
		}
	}
	dimension, metric := rs.dimension, rs.metric
	if q.Expenses {
		dimension, metric = rs.evDimension, rs.evMetric
	}
	for _, name := range dims {
		d, err := dimension(name)
		if err != nil {
			if why := unanswerable(name); why != "" {
				return nil, invalid("dimensions", "%s: %s", name, why)
			}
			return nil, invalid("dimensions", "%s", crmlink.MessageOf(err))
		}
		if slices.ContainsFunc(q.Dimensions, func(x crmlink.Dimension) bool { return x == d }) {
			return nil, invalid("dimensions", "%s is named twice", name)
		}
		q.Dimensions = append(q.Dimensions, d)
	}
	for _, name := range mets {
		m, err := metric(name)
		if err != nil {
			if why := unanswerable(name); why != "" {
				return nil, invalid("metrics", "%s: %s", name, why)
			}
			return nil, invalid("metrics", "%s", crmlink.MessageOf(err))
		}
		q.Metrics = append(q.Metrics, m)
	}
	if slices.ContainsFunc(q.Dimensions, func(d crmlink.Dimension) bool { return d.Field == crmlink.DimGoal }) {
		q.GoalNames = map[string]string{}
		for _, g := range r.Goals {
			q.GoalNames[strconv.FormatInt(g.ID, 10)] = g.Name
		}
	}
	if slices.ContainsFunc(q.Dimensions, func(d crmlink.Dimension) bool { return d.Field == crmlink.DimOrderStatusType }) {
		for _, m := range q.Metrics {
			if m.Field.SessionMetric() {
				return nil, invalid("metrics", "%s counts sessions, which have no order status: cut only order counts and money by ym:s:cdpOrderStatusType", m.Name)
			}
		}
	}
	loc, err := r.Counter.Location()
	if err != nil {
		return nil, err
	}
	today := dateOf(r.Now.In(loc))
	q.Date1, q.Date2 = today.AddDate(0, 0, -6), today
	if s := v.Get("date1"); s != "" {
		if q.Date1, err = parseDate(s, today); err != nil {
			return nil, invalid("date1", "%s", err.Error())
		}
	}
	if s := v.Get("date2"); s != "" {
		if q.Date2, err = parseDate(s, today); err != nil {
			return nil, invalid("date2", "%s", err.Error())
		}
	}
	if q.Date2.Before(q.Date1) {
		return nil, invalid("date2", "%s is before date1 %s", q.Date2.Format(time.DateOnly), q.Date1.Format(time.DateOnly))
	}
	if err := parseFilters(q, rs, r, loc); err != nil {
		return nil, err
	}
	q.Limit = DefaultLimit
	if s := v.Get("limit"); s != "" {
		n, err := strconv.Atoi(s)
		if err != nil || n < 1 || n > MaxLimit {
			return nil, invalid("limit", "%q: want a whole number from 1 to %d", s, MaxLimit)
		}
		q.Limit = n
	}
	if s := v.Get("offset"); s != "" {
		n, err := strconv.Atoi(s)
		if err != nil || n < 1 {
			return nil, invalid("offset", "%q: want a whole number from 1 (the first row)", s)
		}
		q.Offset = n - 1
	}
	if sort == "" && len(q.Metrics) > 0 {
		sort = "-" + q.Metrics[0].Name
	}
	if q.Sort, err = parseSort(sort, q); err != nil {
		return nil, err
	}
	if r.Series {
		q.Group = "day"
		if g := v.Get("group"); g != "" {
			switch strings.ToLower(g) {
			case "day", "week", "month":
				q.Group = strings.ToLower(g)
			default:
				return nil, invalid("group", "%q: want day, week or month", g)
			}
		}
	}
	if s := v.Get("include_unlinked"); s != "" {
		b, err := strconv.ParseBool(s)
		if err != nil {
			return nil, invalid("include_unlinked", "%q: want true or false", s)
		}
		q.Unlinked = b && !r.Series
	}
	if ids := v.Get("ids"); ids != "" && strings.Contains(ids, ",") {
		return nil, invalid("ids", "one counter per request")
	}
	return q, nil
}

func invalid(param, format string, args ...any) error {
	e := crmlink.Errorf(crmlink.KindInvalid, format, args...)
	e.Message = param + ": " + e.Message
	return e
}

func splitNames(s string) []string {
	var out []string
	for p := range strings.SplitSeq(s, ",") {
		if p = strings.TrimSpace(p); p != "" {
			out = append(out, p)
		}
	}
	return out
}

// dateOf is the calendar date of t's wall clock, as midnight UTC.
func dateOf(t time.Time) time.Time {
	return time.Date(t.Year(), t.Month(), t.Day(), 0, 0, 0, 0, time.UTC)
}

var daysAgo = regexp.MustCompile(`^([0-9]{1,5})daysAgo$`)

// ParseDate reads a date as report parameters give it (YYYY-MM-DD, today,
// yesterday or NdaysAgo), today being the wall clock's date of now: the
// date as midnight UTC.
func ParseDate(s string, now time.Time) (time.Time, error) { return parseDate(s, dateOf(now)) }

// parseDate reads YYYY-MM-DD, today, yesterday or NdaysAgo.
func parseDate(s string, today time.Time) (time.Time, error) {
	switch s {
	case "today":
		return today, nil
	case "yesterday":
		return today.AddDate(0, 0, -1), nil
	}
	if m := daysAgo.FindStringSubmatch(s); m != nil {
		n, _ := strconv.Atoi(m[1])
		return today.AddDate(0, 0, -n), nil
	}
	t, err := time.Parse(time.DateOnly, s)
	if err != nil {
		return time.Time{}, crmlink.Errorf(crmlink.KindInvalid, "%q: want YYYY-MM-DD, today, yesterday or NdaysAgo", s)
	}
	if t.Year() < 1970 {
		return time.Time{}, crmlink.Errorf(crmlink.KindInvalid, "%q is before 1970", s)
	}
	return t, nil
}

var attributionAliases = map[string]crmlink.Attribution{
	"last":                          crmlink.AttributionLast,
	"first":                         crmlink.AttributionFirst,
	"lastsign":                      crmlink.AttributionLastSign,
	"last_significant":              crmlink.AttributionLastSign,
	"cross_device_last":             crmlink.AttributionCrossDeviceLast,
	"cross_device_first":            crmlink.AttributionCrossDeviceFirst,
	"cross_device_last_significant": crmlink.AttributionCrossDeviceLastSign,
	"cross_device_lastsign":         crmlink.AttributionCrossDeviceLastSign,
}

func parseAttribution(s string) (crmlink.Attribution, bool) {
	a, ok := attributionAliases[strings.ToLower(s)]
	return a, ok
}

func attributionNames() string {
	var names []string
	for _, a := range crmlink.Attributions {
		names = append(names, string(a))
	}
	return strings.Join(names, ", ")
}

// parseSort reads a sort list: names of the query's dimensions or metrics,
// each with an optional "-" for descending.
func parseSort(s string, q *crmlink.ReportQuery) ([]crmlink.SortKey, error) {
	var keys []crmlink.SortKey
	for _, name := range splitNames(s) {
		k := crmlink.SortKey{Dimension: -1, Metric: -1}
		if rest, ok := strings.CutPrefix(name, "-"); ok {
			k.Desc, name = true, rest
		}
		for i, d := range q.Dimensions {
			if d.Name == name {
				k.Dimension = i
			}
		}
		for i, m := range q.Metrics {
			if m.Name == name {
				k.Metric = i
			}
		}
		if k.Dimension < 0 && k.Metric < 0 {
			return nil, invalid("sort", "%s is not among the request's dimensions and metrics", name)
		}
		keys = append(keys, k)
	}
	return keys, nil
}

// resolver turns names into dimensions and metrics for one query.
type resolver struct {
	q     *crmlink.ReportQuery
	goals []crmlink.Goal
}

var plainDimensions = map[string]crmlink.DimensionField{
	"date": crmlink.DimDate, "month": crmlink.DimMonth,
	"referer": crmlink.DimReferer, "startURL": crmlink.DimStartURL,
	"regionCountry": crmlink.DimCountry, "regionArea": crmlink.DimRegion, "regionCity": crmlink.DimCity,
	// Metrica's name forms: the same values (the names crmlink keeps).
	"regionCountryName": crmlink.DimCountry, "regionAreaName": crmlink.DimRegion, "regionCityName": crmlink.DimCity,
	"deviceCategory": crmlink.DimDevice, "operatingSystem": crmlink.DimOS, "browser": crmlink.DimBrowser,
	"cdpOrderStatusType": crmlink.DimOrderStatusType,
	"dateTime":           crmlink.DimDateTime, "startOfMinute": crmlink.DimStartOfMinute, "startOfHour": crmlink.DimStartOfHour,
	"startOfWeek": crmlink.DimStartOfWeek, "startOfMonth": crmlink.DimStartOfMonth, "startOfQuarter": crmlink.DimStartOfQuarter,
	"startOfYear": crmlink.DimStartOfYear, "year": crmlink.DimYear, "dayOfMonth": crmlink.DimDayOfMonth,
	"dayOfWeek": crmlink.DimDayOfWeek, "hour": crmlink.DimHour, "hourMinute": crmlink.DimHourMinute,
	"isNewUser": crmlink.DimIsNewUser, "clientID": crmlink.DimClientID, "startURLDomain": crmlink.DimStartURLDomain,
	"startURLPath": crmlink.DimStartURLPath, "refererDomain": crmlink.DimRefererDomain, "isRobot": crmlink.DimIsRobot,
	"userVisits": crmlink.DimUserVisits, "goal": crmlink.DimGoal,
	// ym:s:datePeriod<group>: the interval's first day.
	"datePeriodday": crmlink.DimDate, "datePeriodweek": crmlink.DimStartOfWeek, "datePeriodmonth": crmlink.DimStartOfMonth,
	"datePeriodquarter": crmlink.DimStartOfQuarter, "datePeriodyear": crmlink.DimStartOfYear,
}

var attributedFields = []crmlink.DimensionField{
	crmlink.DimTrafficSource, crmlink.DimSourceEngine, crmlink.DimUTMSource, crmlink.DimUTMMedium,
	crmlink.DimUTMCampaign, crmlink.DimUTMContent, crmlink.DimUTMTerm,
}

// dimension resolves a name: ym:s:<field>, or ym:s:<model><Field> for the
// source fields, where <model> is an attribution (last, lastsign, ...) or
// the literal "<attribution>" that the request's attribution fills in.
// Metrica's own ym:s:trafficSource and friends are the last-click forms.
func (r resolver) dimension(name string) (crmlink.Dimension, error) {
	rest, ok := strings.CutPrefix(name, "ym:s:")
	if !ok {
		return crmlink.Dimension{}, crmlink.Errorf(crmlink.KindInvalid, "unknown dimension %q: names start with ym:s:", name)
	}
	if f, ok := plainDimensions[rest]; ok {
		return crmlink.Dimension{Name: name, Field: f}, nil
	}
	for _, f := range attributedFields {
		field := string(f)
		if len(rest) < len(field) || !strings.EqualFold(rest[len(rest)-len(field):], field) {
			continue
		}
		model := rest[:len(rest)-len(field)]
		switch {
		case model == "<attribution>":
			return crmlink.Dimension{Name: name, Field: f, Attribution: r.q.Attribution}, nil
		case model == "" && (rest[0] >= 'a' && rest[0] <= 'z' || rest == field):
			// ym:s:trafficSource, ym:s:UTMSource: Metrica's names for the
			// session's own source and tags.
			return crmlink.Dimension{Name: name, Field: f, Attribution: crmlink.AttributionLast}, nil
		}
		if a, ok := parseAttribution(model); ok && rest[len(model):] == field {
			return crmlink.Dimension{Name: name, Field: f, Attribution: a}, nil
		}
	}
	return crmlink.Dimension{}, crmlink.Errorf(crmlink.KindInvalid, "unknown dimension %q", name)
}

var plainMetrics = map[string]crmlink.MetricField{
	"visits": crmlink.MetVisits, "users": crmlink.MetUsers, "pageviews": crmlink.MetPageviews,
	"bounceRate": crmlink.MetBounceRate, "avgVisitDurationSeconds": crmlink.MetAvgVisitDuration,
	"cdpOrdersAllOrders": crmlink.MetOrdersAll, "cdpOrdersInProgress": crmlink.MetOrdersInProgress,
	"cdpOrdersPayed": crmlink.MetOrdersPaid, "cdpOrdersCancelled": crmlink.MetOrdersCancelled,
	"cdpOrdersSpam": crmlink.MetOrdersSpam, "cdpOrdersOther": crmlink.MetOrdersOther,
	"cdpOrdersConversionIntoOrder": crmlink.MetConversionToOrder, "cdpOrdersConversionIntoPayment": crmlink.MetConversionToPayment,
	"pageDepth": crmlink.MetPageDepth, "newUsers": crmlink.MetNewUsers, "percentNewVisitors": crmlink.MetPercentNewVisitors,
	"sumGoalReachesAny": crmlink.MetGoalReachesAny, "anyGoalConversionRate": crmlink.MetAnyGoalConversion,
	"ecommercePurchases": crmlink.MetEcommercePurchases,
}

var moneyMetrics = []crmlink.MetricField{crmlink.MetRevenue, crmlink.MetProfit, crmlink.MetAverageCheque}

var goalMetric = regexp.MustCompile(`^goal([0-9]{1,18})(reaches|revenue|conversionRate|visits|users|userConversionRate|reachesPerUser)$`)

// goalFields are the goal metrics' fields by their names' ends.
var goalFields = map[string]crmlink.MetricField{
	"reaches": crmlink.MetGoalReaches, "revenue": crmlink.MetGoalRevenue, "conversionRate": crmlink.MetGoalConversionRate,
	"visits": crmlink.MetGoalVisits, "users": crmlink.MetGoalUsers, "userConversionRate": crmlink.MetGoalUserConversion,
	"reachesPerUser": crmlink.MetGoalReachesPerUser,
}

// metric resolves a metric name. Money metrics carry the currency in their
// name (cdpOrdersRUBRevenue), or the literal "<currency>" that the
// request's currency fills in.
func (r resolver) metric(name string) (crmlink.Metric, error) {
	rest, ok := strings.CutPrefix(name, "ym:s:")
	if !ok {
		return crmlink.Metric{}, crmlink.Errorf(crmlink.KindInvalid, "unknown metric %q: names start with ym:s:", name)
	}
	if f, ok := plainMetrics[rest]; ok {
		return crmlink.Metric{Name: name, Field: f}, nil
	}
	if cur, ok := strings.CutPrefix(rest, "cdpOrders"); ok {
		for _, f := range moneyMetrics {
			c, ok := strings.CutSuffix(cur, string(f))
			if !ok {
				continue
			}
			if c == "<currency>" {
				return crmlink.Metric{Name: name, Field: f}, nil
			}
			if c != r.q.Currency {
				return crmlink.Metric{}, crmlink.Errorf(crmlink.KindInvalid,
					"%s: the report's currency is %s (the counter's, or the currency parameter), so it is cdpOrders%s%s", name, r.q.Currency, r.q.Currency, f)
			}
			return crmlink.Metric{Name: name, Field: f}, nil
		}
	}
	if m := goalMetric.FindStringSubmatch(rest); m != nil {
		id, _ := strconv.ParseInt(m[1], 10, 64)
		if !slices.ContainsFunc(r.goals, func(g crmlink.Goal) bool { return g.ID == id }) {
			return crmlink.Metric{}, crmlink.Errorf(crmlink.KindInvalid, "%s: the counter has no goal %d", name, id)
		}
		return crmlink.Metric{Name: name, Field: goalFields[m[2]], GoalID: id}, nil
	}
	return crmlink.Metric{}, crmlink.Errorf(crmlink.KindInvalid, "unknown metric %q", name)
}

// fillGoalID puts the goal_id parameter in for <goal_id> in names.
func fillGoalID(names []string, id string) error {
	for i, n := range names {
		if !strings.Contains(n, "<goal_id>") {
			continue
		}
		if id == "" || len(id) > 18 || strings.Trim(id, "0123456789") != "" {
			return invalid("goal_id", "%q: %s names <goal_id>: want goal_id=, a goal's id", id, n)
		}
		names[i] = strings.ReplaceAll(n, "<goal_id>", id)
	}
	return nil
}

// unanswerable says why a Metrica name is one crmlink's data cannot
// answer, or "" for a name that is simply unknown.
func unanswerable(name string) string {
	_, rest, _ := strings.Cut(name, ":")
	_, rest, _ = strings.Cut(rest, ":")
	lower := strings.ToLower(rest)
	switch {
	case strings.HasPrefix(name, "ym:ad:"):
		return "the ym:ad: namespace is Yandex Direct's own spend report, read from a Direct account; crmlink's ad spend is the ym:ev: namespace, from the expenses upload"
	case strings.HasPrefix(name, "ym:pv:") || strings.HasPrefix(name, "ym:dl:") || strings.HasPrefix(name, "ym:el:") || strings.HasPrefix(name, "ym:sh:"):
		return "crmlink reports sessions (ym:s:) and ad spend (ym:ev:); page views, downloads, external links and shares are not kept one by one"
	case strings.Contains(lower, "ageinterval") || strings.HasPrefix(lower, "gender") || strings.HasPrefix(lower, "interest"):
		return "crmlink has no visitors' age, gender or interests: Metrica infers them from Yandex's own profiles of people, which a self-hosted service does not have"
	case strings.Contains(lower, "direct"):
		return "Yandex Direct's own fields (campaign and ad ids, phrases, platforms) come from a Direct account, which crmlink does not read: group by the UTM tags your ads carry"
	case strings.HasPrefix(lower, "ecommerce") && strings.Contains(lower, "revenue"), strings.HasPrefix(lower, "product"):
		return "crmlink keeps the ids of the purchases the site reports, not their revenue or products: the CRM's orders give both (cdpOrders<currency>Revenue, the customers' products)"
	case strings.Contains(lower, "adfox") || strings.HasPrefix(lower, "yan") || strings.Contains(lower, "publisher"):
		return "crmlink has no ad network or publisher data"
	}
	return ""
}
