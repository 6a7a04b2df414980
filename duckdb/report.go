package duckdb

import (
	"context"
	"database/sql"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/crmlink/crmlink"
	"github.com/shopspring/decimal"
)

// A report is one SQL statement (SPEC.md §4):
//
//	p    the period's sessions (robots left out)
//	s    p with the dimensions' values, filtered
//	o    the orders linked to those sessions: per session, or per order
//	     when the order's status is a dimension
//	g    goal reaches per session, when a goal metric asks
//	j    s joined with o and g
//	agg  j grouped by the dimensions, and once more as a whole for totals
//
// Orders count under the session they are linked to, never by their own
// creation date, so sessions and orders share one denominator.

// reportBuilder accumulates a report statement's arguments.
type reportBuilder struct {
	args    []any
	joins   []string // extra joins of s on p
	joined  map[string]bool
	byOrder bool // rows are orders (the order's status is a dimension)
	// orderConds are the conditions on the order's status, in SQL.
	orderConds []string
}

func (b *reportBuilder) arg(v any) string {
	b.args = append(b.args, v)
	return "$" + strconv.Itoa(len(b.args))
}

// join adds LEFT JOIN sessions <alias> on the session whose id p's sid
// column names, once.
func (b *reportBuilder) join(alias, sidExpr string) string {
	if !b.joined[alias] {
		b.joined[alias] = true
		b.joins = append(b.joins, fmt.Sprintf("LEFT JOIN (SELECT * FROM sessions WHERE counter_id = $1) %s ON %s.session_id = %s", alias, alias, sidExpr))
	}
	return alias
}

var utmColumns = map[crmlink.DimensionField]string{
	crmlink.DimUTMSource: "utm_source", crmlink.DimUTMMedium: "utm_medium", crmlink.DimUTMCampaign: "utm_campaign",
	crmlink.DimUTMContent: "utm_content", crmlink.DimUTMTerm: "utm_term",
}

var plainColumns = map[crmlink.DimensionField]string{
	crmlink.DimStartURL: "p.landing_url", crmlink.DimCountry: "p.country", crmlink.DimRegion: "p.region", crmlink.DimCity: "p.city",
	crmlink.DimDevice: "p.device", crmlink.DimOS: "p.os", crmlink.DimBrowser: "p.browser",
	crmlink.DimDate:           "strftime(p.start_local, '%Y-%m-%d')",
	crmlink.DimMonth:          "strftime(p.start_local, '%Y-%m')",
	crmlink.DimDateTime:       "strftime(p.start_local, '%Y-%m-%d %H:%M:%S')",
	crmlink.DimStartOfMinute:  "strftime(date_trunc('minute', p.start_local), '%Y-%m-%d %H:%M:%S')",
	crmlink.DimStartOfHour:    "strftime(date_trunc('hour', p.start_local), '%Y-%m-%d %H:%M:%S')",
	crmlink.DimStartOfWeek:    "strftime(date_trunc('week', p.start_local), '%Y-%m-%d')",
	crmlink.DimStartOfMonth:   "strftime(date_trunc('month', p.start_local), '%Y-%m-%d')",
	crmlink.DimStartOfQuarter: "strftime(date_trunc('quarter', p.start_local), '%Y-%m-%d')",
	crmlink.DimStartOfYear:    "strftime(date_trunc('year', p.start_local), '%Y-%m-%d')",
	crmlink.DimYear:           "strftime(p.start_local, '%Y')",
	crmlink.DimDayOfMonth:     "strftime(p.start_local, '%d')",
	crmlink.DimDayOfWeek:      "CAST(isodow(p.start_local) AS VARCHAR)",
	crmlink.DimHour:           "strftime(p.start_local, '%H:00')",
	crmlink.DimHourMinute:     "strftime(p.start_local, '%H:%M')",
	crmlink.DimIsNewUser:      "CASE WHEN p.first_sid = p.session_id THEN 'Yes' ELSE 'No' END",
	crmlink.DimClientID:       "CAST(p.client_id AS VARCHAR)",
	crmlink.DimIsRobot:        "CASE WHEN p.is_bot THEN 'Yes' ELSE 'No' END",
	crmlink.DimStartURLDomain: `lower(regexp_extract(p.landing_url, '^[A-Za-z][A-Za-z0-9+.-]*://([^/?#:]+)', 1))`,
	crmlink.DimStartURLPath:   `regexp_extract(p.landing_url, '^[A-Za-z][A-Za-z0-9+.-]*://[^/?#]*([^?#]*)', 1)`,
	crmlink.DimRefererDomain:  `lower(regexp_extract(p.referrer, '^[A-Za-z][A-Za-z0-9+.-]*://([^/?#:]+)', 1))`,
	crmlink.DimReferer:        `lower(regexp_extract(p.referrer, '^[A-Za-z][A-Za-z0-9+.-]*://([^/?#:]+)', 1))`,
}

// dimension is the SQL value of a dimension over p (and joins).
func (b *reportBuilder) dimension(d crmlink.Dimension) string {
	if c, ok := plainColumns[d.Field]; ok {
		return c
	}
	if d.Field == crmlink.DimGoal {
		// A place for the goal: aggregate joins each session's goals.
		return "NULL::VARCHAR"
	}
	if d.Field == crmlink.DimUserVisits {
		if !b.joined["uv"] {
			b.joined["uv"] = true
			b.joins = append(b.joins, "LEFT JOIN (SELECT client_id, count(*) AS n FROM sessions WHERE counter_id = $1 AND NOT is_bot GROUP BY client_id) uv ON uv.client_id = p.client_id")
		}
		return "CAST(uv.n AS VARCHAR)"
	}
	if d.Field == crmlink.DimOrderStatusType {
		return "o.rep_status_type"
	}
	switch d.Field {
	case crmlink.DimTrafficSource, crmlink.DimSourceEngine:
		col := map[crmlink.DimensionField]string{crmlink.DimTrafficSource: "source", crmlink.DimSourceEngine: "engine"}[d.Field]
		switch d.Attribution {
		case crmlink.AttributionFirst:
			return "p.first_" + col
		case crmlink.AttributionLastSign:
			return "p.lastsign_" + col
		case crmlink.AttributionCrossDeviceFirst:
			return b.crossDevice("first_" + col)
		case crmlink.AttributionCrossDeviceLastSign:
			return b.crossDevice("lastsign_" + col)
		}
		// last, and cross-device last: the latest session of the customer
		// at or before a session is that session itself.
		if d.Field == crmlink.DimTrafficSource {
			return "p.traffic_source"
		}
		return "p.source_engine"
	}
	col := utmColumns[d.Field]
	switch d.Attribution {
	case crmlink.AttributionFirst:
		return fmt.Sprintf("coalesce(%s.%s, '')", b.join("af", "p.first_sid"), col)
	case crmlink.AttributionLastSign:
		return fmt.Sprintf("coalesce(%s.%s, '')", b.join("al", "p.lastsign_sid"), col)
	case crmlink.AttributionCrossDeviceFirst:
		return fmt.Sprintf("coalesce(%s.%s, '')", b.join("acf", b.crossDevice("first_sid")), col)
	case crmlink.AttributionCrossDeviceLastSign:
		return fmt.Sprintf("coalesce(%s.%s, '')", b.join("acl", b.crossDevice("lastsign_sid")), col)
	}
	return "p." + col
}

// crossDevice is a session's kept cross-device attribution column col:
// its row's in session_cross_device, or, for a session whose ClientID no
// customer owns (no row), its ClientID's (migrations/0003).
func (b *reportBuilder) crossDevice(col string) string {
	if !b.joined["cdx"] {
		b.joined["cdx"] = true
		// First among the joins: the UTM joins read it.
		b.joins = append([]string{"LEFT JOIN (SELECT * FROM session_cross_device WHERE counter_id = $1) cdx ON cdx.session_id = p.session_id"}, b.joins...)
	}
	return fmt.Sprintf("CASE WHEN cdx.session_id IS NULL THEN p.%s ELSE cdx.%s END", col, col)
}

// filter is the SQL condition of a filter over the dimensions' values.
func (b *reportBuilder) filter(f *crmlink.Filter) string {
	switch f.Op {
	case "AND", "OR":
		var parts []string
		for _, c := range f.Children {
			parts = append(parts, "("+b.filter(c)+")")
		}
		return strings.Join(parts, " "+f.Op+" ")
	case "NOT":
		return "NOT coalesce((" + b.filter(f.Children[0]) + "), false)"
	}
	if f.Dimension.Field == crmlink.DimGoal {
		// The sessions that reached one of the goals, or none of them.
		var vs []string
		for _, v := range f.Values {
			vs = append(vs, b.arg(v)+"::VARCHAR")
		}
		not := ""
		if f.Op == "!=" || f.Op == "notin" {
			not = "NOT "
		}
		return "p.session_id " + not + "IN (SELECT session_id FROM goal_reaches WHERE counter_id = $1 AND CAST(goal_id AS VARCHAR) IN (" + strings.Join(vs, ", ") + "))"
	}
	return b.compare(b.dimension(f.Dimension), f, "")
}

// likePattern is a wildcard value (* for any text) as a LIKE pattern:
// LIKE's own % and _, and the escape, escaped.
func likePattern(v string) string {
	var b strings.Builder
	for _, r := range v {
		switch r {
		case '\\', '%', '_':
			b.WriteByte('\\')
			b.WriteRune(r)
		case '*':
			b.WriteByte('%')
		default:
			b.WriteRune(r)
		}
	}
	return b.String()
}

// compare is the SQL condition of one comparison of the value e; cast,
// when not "", is appended to each value the condition compares with.
func (b *reportBuilder) compare(e string, f *crmlink.Filter, cast string) string {
	v := func(i int) string { return b.arg(f.Values[i]) + cast }
	switch f.Op {
	case "==":
		return e + " = " + v(0)
	case "!=":
		return e + " <> " + v(0)
	case ">", "<", ">=", "<=":
		return e + " " + f.Op + " " + v(0)
	case "=@":
		return "contains(" + e + ", " + v(0) + ")"
	case "!@":
		return "NOT contains(" + e + ", " + v(0) + ")"
	case "=~":
		return "regexp_matches(" + e + ", " + v(0) + ")"
	case "!~":
		return "NOT regexp_matches(" + e + ", " + v(0) + ")"
	case "=*", "!*":
		not := ""
		if f.Op == "!*" {
			not = "NOT "
		}
		return e + " " + not + "LIKE " + b.arg(likePattern(f.Values[0])) + ` ESCAPE '\'`
	case "in", "notin":
		var vs []string
		for i := range f.Values {
			vs = append(vs, v(i))
		}
		not := ""
		if f.Op == "notin" {
			not = "NOT "
		}
		return e + " " + not + "IN (" + strings.Join(vs, ", ") + ")"
	}
	panic("report: unknown filter op " + f.Op)
}

// metricSQL is a metric's aggregate over j.
func (b *reportBuilder) metric(m crmlink.Metric, goal int) string {
	pct := func(num, den string) string {
		return fmt.Sprintf("round(100.0 * (%s) / nullif(%s, 0), 2)", num, den)
	}
	switch m.Field {
	case crmlink.MetVisits:
		return "count(*)"
	case crmlink.MetUsers:
		return "count(DISTINCT client_id)"
	case crmlink.MetPageviews:
		return "sum(page_views)"
	case crmlink.MetBounceRate:
		return pct("count(*) FILTER (WHERE is_bounce)", "count(*)")
	case crmlink.MetAvgVisitDuration:
		return "round(avg(duration_s), 2)"
	case crmlink.MetOrdersAll:
		return "sum(n_all)"
	case crmlink.MetOrdersInProgress:
		return "sum(n_in_progress)"
	case crmlink.MetOrdersPaid:
		return "sum(n_paid)"
	case crmlink.MetOrdersCancelled:
		return "sum(n_cancelled)"
	case crmlink.MetOrdersSpam:
		return "sum(n_spam)"
	case crmlink.MetOrdersOther:
		return "sum(n_other)"
	case crmlink.MetConversionToOrder:
		return pct("coalesce(sum(n_all), 0)", "count(*)")
	case crmlink.MetConversionToPayment:
		return pct("sum(n_paid)", "sum(n_all)")
	case crmlink.MetRevenue:
		return "sum(revenue)"
	case crmlink.MetProfit:
		return "sum(profit)"
	case crmlink.MetAverageCheque:
		return "round(sum(revenue) / nullif(sum(n_paid_cur), 0), 2)"
	case crmlink.MetGoalReaches:
		return fmt.Sprintf("sum(g%d_n)", goal)
	case crmlink.MetGoalRevenue:
		return fmt.Sprintf("sum(g%d_rev)", goal)
	case crmlink.MetGoalConversionRate:
		return pct(fmt.Sprintf("count(*) FILTER (WHERE g%d_n > 0)", goal), "count(*)")
	case crmlink.MetGoalVisits:
		return fmt.Sprintf("count(*) FILTER (WHERE g%d_n > 0)", goal)
	case crmlink.MetGoalUsers:
		return fmt.Sprintf("count(DISTINCT client_id) FILTER (WHERE g%d_n > 0)", goal)
	case crmlink.MetGoalUserConversion:
		return pct(fmt.Sprintf("count(DISTINCT client_id) FILTER (WHERE g%d_n > 0)", goal), "count(DISTINCT client_id)")
	case crmlink.MetGoalReachesPerUser:
		return fmt.Sprintf("round(sum(g%[1]d_n) / nullif(count(DISTINCT client_id) FILTER (WHERE g%[1]d_n > 0), 0), 2)", goal)
	case crmlink.MetPageDepth:
		return "round(sum(page_views) / count(*), 2)"
	case crmlink.MetNewUsers:
		return "count(DISTINCT client_id) FILTER (WHERE is_new)"
	case crmlink.MetPercentNewVisitors:
		return pct("count(DISTINCT client_id) FILTER (WHERE is_new)", "count(DISTINCT client_id)")
	case crmlink.MetEcommercePurchases:
		return "coalesce(sum(ep_n), 0)"
	case crmlink.MetGoalReachesAny:
		return "coalesce(sum(ga_n), 0)"
	case crmlink.MetAnyGoalConversion:
		return pct("count(*) FILTER (WHERE ga_n > 0)", "count(*)")
	}
	panic("report: unknown metric " + string(m.Field))
}

// orderCounts are the per-order (or per-session, summed) order columns.
func orderCounts(cur string) string {
	return `(o.rep_status_type <> 'SPAM')::INT AS n_all,
        (o.rep_status_type = 'IN_PROGRESS')::INT AS n_in_progress,
        (o.rep_status_type = 'PAID')::INT AS n_paid,
        (o.rep_status_type = 'CANCELLED')::INT AS n_cancelled,
        (o.rep_status_type = 'SPAM')::INT AS n_spam,
        (o.rep_status_type = 'OTHER')::INT AS n_other,
        (o.rep_status_type = 'PAID' AND o.currency = ` + cur + `)::INT AS n_paid_cur,
        CASE WHEN o.rep_status_type = 'PAID' AND o.currency = ` + cur + ` THEN o.rep_revenue END AS revenue,
        CASE WHEN o.rep_status_type = 'PAID' AND o.currency = ` + cur + ` THEN o.rep_revenue - coalesce(o.rep_cost, 0) END AS profit`
}

// Aggregate runs a report's one statement. See crmlink.ReportPort.
func (s *Store) Aggregate(ctx context.Context, p *crmlink.ReportPlan) ([]crmlink.ReportGroup, error) {
	if _, err := s.Counter(ctx, p.Query.CounterID); err != nil {
		return nil, err
	}
	b := &reportBuilder{joined: map[string]bool{}, byOrder: p.StatusDim >= 0}
	query := b.statement(p)
	// caller: Report
	rows, err := s.db.QueryContext(ctx, query, b.args...)
	if err != nil {
		return nil, fmt.Errorf("report: %w", outOfMemory(err))
	}
	defer rows.Close()
	return scanGroups(rows, p.Query)
}

// statement builds the report's statement, CTE by CTE (see the top of
// this file), numbering its arguments in b.
func (b *reportBuilder) statement(p *crmlink.ReportPlan) string {
	q := p.Query
	b.arg(int64(q.CounterID)) // $1
	var w strings.Builder
	w.WriteString("WITH ")
	if q.Segment != nil {
		g := &segmentBuilder{b: b, plan: q.Segment}
		w.WriteString(g.withs() + ",\nsegc AS (" + memberClientsSQL + "),\n")
	}
	dimNames := b.sessions(p, &w)
	j := b.orders(p, &w)
	j = b.goals(p, j, &w)
	fmt.Fprintf(&w, "j AS (%s),\n", j)
	if q.Expenses {
		b.aggregateExpenses(p, dimNames, &w)
	} else {
		b.aggregate(p, dimNames, &w)
	}
	return w.String()
}

// sessions writes p (the period's sessions) and s (p with the dimensions'
// values, filtered), and returns the dimensions' column names.
func (b *reportBuilder) sessions(p *crmlink.ReportPlan, w *strings.Builder) []string {
	q := p.Query
	from, to := q.Date1, q.Date2.AddDate(0, 0, 1)
	period := fmt.Sprintf("p.start_local >= %s::TIMESTAMP AND p.start_local < %s::TIMESTAMP", b.arg(tsText(from)), b.arg(tsText(to)))
	b.orderConds = nil
	for _, t := range p.OrderTerms {
		b.orderConds = append(b.orderConds, b.filter(t))
	}
	var sessionConds []string
	for _, t := range p.SessionTerms {
		sessionConds = append(sessionConds, b.filter(t))
	}
	var dimCols, dimNames []string
	for i, d := range q.Dimensions {
		dimNames = append(dimNames, fmt.Sprintf("d%d", i))
		if d.Field != crmlink.DimOrderStatusType {
			dimCols = append(dimCols, fmt.Sprintf("%s AS d%d", b.dimension(d), i))
		}
	}
	if q.Group != "" {
		dimCols = append(dimCols, fmt.Sprintf("date_trunc('%s', p.start_local)::DATE AS iv", q.Group))
	}
	cut := ""
	if q.Segment != nil {
		cut = " AND p.client_id IN (SELECT client_id FROM segc)"
	}
	bots := "NOT p.is_bot AND "
	if namesRobots(q) {
		bots = ""
	}
	w.WriteString("p AS (SELECT * FROM sessions p WHERE p.counter_id = $1 AND " + bots + period + cut + "),\n")
	sessCols := "p.session_id, p.client_id, p.page_views, p.duration_s, p.is_bounce"
	if slices.ContainsFunc(q.Metrics, func(m crmlink.Metric) bool {
		return m.Field == crmlink.MetNewUsers || m.Field == crmlink.MetPercentNewVisitors
	}) {
		// A ClientID's first session stored is its own first-click source's.
		sessCols += ", coalesce(p.first_sid = p.session_id, false) AS is_new"
	}
	if len(dimCols) > 0 {
		sessCols += ", " + strings.Join(dimCols, ", ")
	}
	where := ""
	if len(sessionConds) > 0 {
		where = "WHERE " + strings.Join(sessionConds, " AND ")
	}
	fmt.Fprintf(w, "s AS (SELECT %s FROM p %s %s),\n", sessCols, strings.Join(b.joins, " "), where)
	return dimNames
}

// namesRobots tells whether a report names ym:s:isRobot, as a dimension
// or in its filters: robots' sessions then count.
func namesRobots(q *crmlink.ReportQuery) bool {
	var in func(f *crmlink.Filter) bool
	in = func(f *crmlink.Filter) bool {
		if f == nil {
			return false
		}
		if f.Dimension.Field == crmlink.DimIsRobot {
			return true
		}
		return slices.ContainsFunc(f.Children, in)
	}
	return in(q.Filter) || slices.ContainsFunc(q.Dimensions, func(d crmlink.Dimension) bool { return d.Field == crmlink.DimIsRobot })
}

// orders writes o, the orders linked to s's sessions when the plan reads
// orders: per session, or per order when the order's status is a
// dimension. It returns the join of s with it.
func (b *reportBuilder) orders(p *crmlink.ReportPlan, w *strings.Builder) string {
	switch {
	case b.byOrder:
		fmt.Fprintf(w, "o AS (%s),\n", b.orderRows(p.Query))
		return fmt.Sprintf("SELECT s.*, o.* EXCLUDE (session_id, rep_status_type), o.rep_status_type AS d%d FROM s JOIN o USING (session_id)", p.StatusDim)
	case p.NeedOrders:
		fmt.Fprintf(w, `o AS (SELECT session_id, sum(n_all) AS n_all, sum(n_in_progress) AS n_in_progress, sum(n_paid) AS n_paid,
            sum(n_cancelled) AS n_cancelled, sum(n_spam) AS n_spam, sum(n_other) AS n_other, sum(n_paid_cur) AS n_paid_cur,
            sum(revenue) AS revenue, sum(profit) AS profit FROM (%s) GROUP BY session_id),`+"\n", b.orderRows(p.Query))
		return "SELECT s.*, o.* EXCLUDE (session_id) FROM s LEFT JOIN o USING (session_id)"
	}
	return "SELECT s.* FROM s"
}

// orderRows selects the linked orders, one row each. Links are read by
// their session's UTC start, a day wider than the period's local days:
// the join with s then keeps exactly the period. DuckDB wants every
// numbered parameter used, so these are numbered only when orders are
// read.
func (b *reportBuilder) orderRows(q *crmlink.ReportQuery) string {
	from, to := q.Date1, q.Date2.AddDate(0, 0, 1)
	cur := b.arg(q.Currency)
	linkFrom, linkTo := b.arg(tsText(from.Add(-26*time.Hour)))+"::TIMESTAMP", b.arg(tsText(to.Add(26*time.Hour)))+"::TIMESTAMP"
	orderWhere := ""
	if len(b.orderConds) > 0 {
		orderWhere = " AND " + strings.Join(b.orderConds, " AND ")
	}
	return fmt.Sprintf(`SELECT l.session_id, o.rep_status_type, %s
        FROM (SELECT order_id, session_id FROM order_links WHERE counter_id = $1 AND session_start >= %s AND session_start < %s) l
        JOIN (SELECT * FROM orders WHERE counter_id = $1) o ON o.id = l.order_id
        WHERE true%s`, orderCounts(cur), linkFrom, linkTo, orderWhere)
}

// goals writes, per session, what the plan's metrics read of the site's
// purchases (ep), of every goal's reaches (ga) and of the reaches of the
// goals that goal metrics name (g), and returns j joined with them.
func (b *reportBuilder) goals(p *crmlink.ReportPlan, j string, w *strings.Builder) string {
	if b.byOrder {
		return j
	}
	if p.Purchases {
		w.WriteString("ep AS (SELECT session_id, count(*) AS ep_n FROM site_purchases WHERE counter_id = $1 GROUP BY session_id),\n")
		j = "SELECT je.*, ep.ep_n FROM (" + j + ") je LEFT JOIN ep USING (session_id)"
	}
	if p.AnyGoal {
		w.WriteString("ga AS (SELECT session_id, count(*) AS ga_n FROM goal_reaches WHERE counter_id = $1 GROUP BY session_id),\n")
		j = "SELECT ja.*, ga.ga_n FROM (" + j + ") ja LEFT JOIN ga USING (session_id)"
	}
	if len(p.Goals) == 0 {
		return j
	}
	var cols, in []string
	for k, id := range p.Goals {
		a := b.arg(id)
		in = append(in, a)
		cols = append(cols, fmt.Sprintf("count(*) FILTER (WHERE goal_id = %s) AS g%d_n, sum(revenue) FILTER (WHERE goal_id = %s) AS g%d_rev", a, k, a, k))
	}
	fmt.Fprintf(w, "g AS (SELECT session_id, %s FROM goal_reaches WHERE counter_id = $1 AND goal_id IN (%s) GROUP BY session_id),\n",
		strings.Join(cols, ", "), strings.Join(in, ", "))
	return "SELECT j0.*, g.* EXCLUDE (session_id) FROM (" + j + ") j0 LEFT JOIN g USING (session_id)"
}

// aggregate writes agg, j grouped by the dimensions (and the interval),
// with the totals and, for a time series, the totals per interval, and
// the statement's final SELECT.
func (b *reportBuilder) aggregate(p *crmlink.ReportPlan, dimNames []string, w *strings.Builder) {
	q := p.Query
	var mets []string
	for i, m := range q.Metrics {
		mets = append(mets, fmt.Sprintf("%s AS m%d", b.metric(m, p.GoalIndex(m.GoalID)), i))
	}
	groups := dimNames
	if q.Group != "" {
		groups = append(append([]string{}, dimNames...), "iv")
	}
	sets := "()"
	switch {
	case q.Group != "" && len(dimNames) > 0:
		sets = fmt.Sprintf("(%s), (%s), (iv), ()", strings.Join(groups, ", "), strings.Join(dimNames, ", "))
	case q.Group != "":
		sets = "(iv), ()"
	case len(dimNames) > 0:
		sets = fmt.Sprintf("(%s), ()", strings.Join(dimNames, ", "))
	}
	gidCols := "0"
	if len(groups) > 0 {
		gidCols = "GROUPING(" + strings.Join(groups, ", ") + ")"
	}
	selDims := ""
	for _, g := range groups {
		if g == "iv" {
			selDims += "strftime(iv, '%Y-%m-%d') AS iv, "
			continue
		}
		selDims += g + ", "
	}
	var metText []string
	for i := range q.Metrics {
		metText = append(metText, fmt.Sprintf("coalesce(m%d, 0)::VARCHAR", i))
	}
	if gi := slices.IndexFunc(q.Dimensions, func(d crmlink.Dimension) bool { return d.Field == crmlink.DimGoal }); gi >= 0 {
		// A session is a row of each goal it reached (jr), but counts once
		// in the totals and the totals' series (j).
		g := dimNames[gi]
		fmt.Fprintf(w, `gd AS (SELECT DISTINCT session_id, CAST(goal_id AS VARCHAR) AS goal FROM goal_reaches WHERE counter_id = $1),
jr AS (SELECT j.* EXCLUDE (%s), gd.goal AS %s FROM j LEFT JOIN gd USING (session_id)),
`, g, g)
		withDims := fmt.Sprintf("(%s)", strings.Join(groups, ", "))
		if q.Group != "" {
			withDims += fmt.Sprintf(", (%s)", strings.Join(dimNames, ", "))
		}
		// The totals' groups have every dimension left out: all of
		// groups' bits, but the interval's in its series.
		full := 1<<len(groups) - 1
		gid2, noDims := strconv.Itoa(full), ""
		if q.Group != "" {
			gid2 = fmt.Sprintf("CASE WHEN GROUPING(iv) = 1 THEN %d ELSE %d END", full, full-1)
			noDims = " GROUP BY GROUPING SETS ((iv), ())"
		}
		var nulls string
		for range dimNames {
			nulls += "NULL::VARCHAR, "
		}
		if q.Group != "" {
			nulls += "strftime(iv, '%Y-%m-%d') AS iv, "
		}
		fmt.Fprintf(w, "agg AS (SELECT %s AS gid, %s%s FROM jr GROUP BY GROUPING SETS (%s)\n    UNION ALL SELECT %s AS gid, %s%s FROM j%s)\n",
			gidCols, selDims, strings.Join(mets, ", "), withDims, gid2, nulls, strings.Join(mets, ", "), noDims)
	} else {
		fmt.Fprintf(w, "agg AS (SELECT %s AS gid, %s%s FROM j GROUP BY GROUPING SETS (%s))\n", gidCols, selDims, strings.Join(mets, ", "), sets)
	}
	fmt.Fprintf(w, "SELECT gid, %s%s FROM agg", strings.Join(groups, ", ")+sep(groups), strings.Join(metText, ", "))
}

// scanGroups reads the statement's rows: each group's id, dimensions,
// interval and metrics (as text, for exact decimals).
func scanGroups(rows *sql.Rows, q *crmlink.ReportQuery) ([]crmlink.ReportGroup, error) {
	var all []crmlink.ReportGroup
	nd := len(q.Dimensions)
	for rows.Next() {
		g := crmlink.ReportGroup{Dims: make([]string, nd), Metrics: make([]decimal.Decimal, len(q.Metrics))}
		dims := make([]sql.NullString, nd)
		dest := []any{&g.GID}
		for i := range dims {
			dest = append(dest, &dims[i])
		}
		var iv sql.NullString
		if q.Group != "" {
			dest = append(dest, &iv)
		}
		texts := make([]string, len(q.Metrics))
		for i := range texts {
			dest = append(dest, &texts[i])
		}
		if err := rows.Scan(dest...); err != nil {
			return nil, fmt.Errorf("report: %w", err)
		}
		for i, d := range dims {
			g.Dims[i] = d.String
		}
		g.Interval = iv.String
		for i, t := range texts {
			var err error
			if g.Metrics[i], err = decimal.NewFromString(t); err != nil {
				return nil, fmt.Errorf("report: metric %s: %w", q.Metrics[i].Name, err)
			}
		}
		all = append(all, g)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("report: %w", outOfMemory(err))
	}
	return all, nil
}

// UnlinkedTotals returns the metrics of the orders created in the period
// that have no link. See crmlink.ReportPort.
func (s *Store) UnlinkedTotals(ctx context.Context, p *crmlink.ReportPlan) ([]decimal.Decimal, error) {
	q := p.Query
	counter, err := s.Counter(ctx, q.CounterID)
	if err != nil {
		return nil, err
	}
	loc, err := counter.Location()
	if err != nil {
		return nil, err
	}
	b := &reportBuilder{joined: map[string]bool{}}
	b.arg(int64(q.CounterID))
	from := time.Date(q.Date1.Year(), q.Date1.Month(), q.Date1.Day(), 0, 0, 0, 0, loc)
	to := time.Date(q.Date2.Year(), q.Date2.Month(), q.Date2.Day()+1, 0, 0, 0, 0, loc)
	where := fmt.Sprintf("o.created >= %s::TIMESTAMP AND o.created < %s::TIMESTAMP", b.arg(tsText(from.UTC())), b.arg(tsText(to.UTC())))
	for _, t := range p.OrderTerms {
		where += " AND " + b.filter(t)
	}
	var mets []string
	for _, m := range q.Metrics {
		e := "0"
		switch {
		case m.Field == crmlink.MetConversionToOrder, m.Field.SessionMetric():
		default:
			e = b.metric(m, 0)
		}
		mets = append(mets, "coalesce("+e+", 0)::VARCHAR")
	}
	cur := b.arg(q.Currency)
	texts := make([]string, len(q.Metrics))
	dest := make([]any, len(texts))
	for i := range texts {
		dest[i] = &texts[i]
	}
	// caller: Report (the unlinked row)
	err = s.db.QueryRowContext(ctx, `SELECT `+strings.Join(mets, ", ")+` FROM (SELECT `+orderCounts(cur)+`
		FROM (SELECT * FROM orders WHERE counter_id = $1) o
		ANTI JOIN (SELECT order_id FROM order_links WHERE counter_id = $1) l ON l.order_id = o.id
		WHERE `+where+`)`, b.args...).Scan(dest...)
	if err != nil {
		return nil, fmt.Errorf("report: unlinked orders: %w", outOfMemory(err))
	}
	out := make([]decimal.Decimal, len(texts))
	for i, t := range texts {
		if out[i], err = decimal.NewFromString(t); err != nil {
			return nil, fmt.Errorf("report: metric %s: %w", q.Metrics[i].Name, err)
		}
	}
	return out, nil
}

func sep(xs []string) string {
	if len(xs) > 0 {
		return ", "
	}
	return ""
}
