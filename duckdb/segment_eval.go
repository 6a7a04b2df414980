package duckdb

import (
	"context"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/crmlink/crmlink"
	"github.com/shopspring/decimal"
)

// A segment's members are one statement (see crmlink.SegmentPlan):
//
//	own     which customer owns each ClientID (client_owners)
//	people  the customers, and, for a condition on site data alone,
//	        the visitors: ClientIDs with sessions that no customer owns.
//	        A person is (cust, vid): a customer's uniq_id and 0, or ''
//	        and a visitor's ClientID.
//	eN      the people with a row (session, order or product line) that
//	        meets the condition of one EXISTS, NONE or ALL
//	ca, cl  aggregates of each customer's orders and product lines
//	ua      aggregates of each person's sessions
//	members people, joined with the sets and aggregates, where the
//	        condition holds
//
// Comparisons are two-valued: one of a value a person or row lacks
// (NULL) is false, so NOT of it is true.

// segmentBuilder accumulates a segment statement.
type segmentBuilder struct {
	b    *reportBuilder // the arguments ($1 the counter) and the joins being built
	plan *crmlink.SegmentPlan
	ctes []string
	// joins of people m with the sets and aggregates.
	joins []string
	// columns of the aggregates, each "expr AS aN".
	custAggs, lineAggs, userAggs []string
	// userTotals are ua's columns over a person's ClientIDs, each
	// combining one of userAggs, which are per ClientID; userNames name
	// them; userWheres are the conditions on the sessions each counts.
	userTotals, userNames, userWheres []string
	// rowAnchors are the comparisons of ua's values that no person
	// without a row in ua meets.
	rowAnchors map[*crmlink.Filter]bool
	// sessionSets name the sets of people with a session that meets a
	// condition.
	sessionSets []string
	// userJoins are the joins of ua's sessions p.
	userJoins joinSet
	n         int
	cur       string // the currency's argument, once numbered
}

// currency is the plan's currency's argument. DuckDB wants every
// numbered argument used, so it is numbered only when a value reads it.
func (g *segmentBuilder) currency() string {
	if g.cur == "" {
		g.cur = g.b.arg(g.plan.Currency)
	}
	return g.cur
}

// joinSet is the joins of one CTE's rows.
type joinSet struct {
	joins  []string
	joined map[string]bool
}

// within has g.b build into js's joins while fn runs.
func (g *segmentBuilder) within(js *joinSet, fn func()) {
	if js.joined == nil {
		js.joined = map[string]bool{}
	}
	saved, savedMap := g.b.joins, g.b.joined
	g.b.joins, g.b.joined = js.joins, js.joined
	fn()
	js.joins = g.b.joins
	g.b.joins, g.b.joined = saved, savedMap
}

// people is the CTE of the people a segment can hold: the customers,
// and for a condition on site data the visitors it can hold. A condition
// that only a person with a row in one of its sets (of people with a
// session that meets a condition, or with a row in ua) meets is
// anchored: only the visitors in those sets can be members. Else ua
// holds every visitor, when it reads every session; else every ClientID
// with sessions is found, the costliest.
func (g *segmentBuilder) people() string {
	q := `people AS (SELECT uniq_id AS cust, 0::UBIGINT AS vid, attrs, client_ids, email_sha256, email_md5, phone_sha256, phone_md5
	    FROM contacts WHERE counter_id = $1`
	if !g.plan.SiteOnly {
		return q + ")"
	}
	var visitors string
	switch {
	case g.anchored(g.plan.Cond):
		var sets []string
		for _, e := range g.sessionSets {
			sets = append(sets, "SELECT vid FROM "+e+" WHERE cust = ''")
		}
		if len(g.userAggs) > 0 {
			sets = append(sets, "SELECT vid FROM ua WHERE cust = ''")
		}
		visitors = strings.Join(sets, " UNION ")
	case len(g.userAggs) > 0 && g.userFilter() == "":
		visitors = "SELECT vid FROM ua WHERE cust = ''"
	default:
		visitors = `SELECT client_id AS vid FROM (SELECT DISTINCT client_id FROM sessions WHERE counter_id = $1 AND NOT is_bot) ANTI JOIN own USING (client_id)`
	}
	return q + `
	    UNION ALL BY NAME
	    SELECT '' AS cust, vid FROM (` + visitors + `))`
}

// anchored tells whether a condition can hold only for a person who is
// in one of its sets of people with a row: a session or order that meets
// an EXISTS or ALL, or a row in ua.
func (g *segmentBuilder) anchored(f *crmlink.Filter) bool {
	switch f.Op {
	case "EXISTS", "ALL":
		return true
	case "AND":
		return slices.ContainsFunc(f.Children, g.anchored)
	case "OR":
		return !slices.ContainsFunc(f.Children, func(c *crmlink.Filter) bool { return !g.anchored(c) })
	}
	return g.rowAnchors[f]
}

// userFilter is the condition that keeps the sessions ua's columns count
// (any of theirs), or "" when one counts every session. A person whose
// sessions are all left out has no row in ua, which is what their
// columns would be: counts and sums of none, and no first or last date.
func (g *segmentBuilder) userFilter() string {
	if slices.Contains(g.userWheres, "true") {
		return ""
	}
	return "(" + strings.Join(g.userWheres, " OR ") + ")"
}

// userCTE is ua: each person's aggregates over their sessions.
func (g *segmentBuilder) userCTE() string {
	sessions := fmt.Sprintf(`(SELECT * FROM sessions WHERE counter_id = $1 AND NOT is_bot) p %s`, strings.Join(g.userJoins.joins, " "))
	where := ""
	if f := g.userFilter(); f != "" {
		where = " WHERE " + f
	}
	if !g.plan.SiteOnly {
		// Only customers' ClientIDs: the join keeps few sessions.
		return fmt.Sprintf(`ua AS (SELECT own.cust, 0::UBIGINT AS vid, %s FROM %s JOIN own ON own.client_id = p.client_id%s GROUP BY own.cust)`,
			strings.Join(g.userAggs, ", "), sessions, where)
	}
	// Every ClientID can be a person: aggregated by ClientID first, a
	// number, the cheaper grouping; then customers' ClientIDs by customer,
	// and the others as they are.
	return fmt.Sprintf(`ua0 AS (SELECT p.client_id, %s FROM %s%s GROUP BY p.client_id),
ua AS (SELECT own.cust, 0::UBIGINT AS vid, %s FROM ua0 p JOIN own ON own.client_id = p.client_id GROUP BY own.cust
    UNION ALL SELECT '' AS cust, p.client_id AS vid, %s FROM ua0 p ANTI JOIN own ON own.client_id = p.client_id)`,
		strings.Join(g.userAggs, ", "), sessions, where, strings.Join(g.userTotals, ", "), strings.Join(g.userNames, ", "))
}

// ownJoin is how sessions p meet their person: a customer's ClientIDs
// only, unless visitors are people too.
func (g *segmentBuilder) ownJoin() string {
	if g.plan.SiteOnly {
		return "LEFT JOIN own ON own.client_id = p.client_id"
	}
	return "JOIN own ON own.client_id = p.client_id"
}

// personCols are the person's columns of a row of sessions p joined with
// own.
const personCols = `coalesce(own.cust, '') AS cust, CASE WHEN own.cust IS NULL THEN p.client_id ELSE 0 END::UBIGINT AS vid`

// statement builds the CTEs up to members, numbering the counter $1.
func (g *segmentBuilder) statement() string {
	g.b.arg(int64(g.plan.CounterID)) // $1
	return "WITH " + g.withs()
}

// withs builds the CTEs up to members, $1 being the counter already.
func (g *segmentBuilder) withs() string {
	cond := g.person(g.plan.Cond)
	ctes := append([]string{"own AS (SELECT client_id, cust FROM client_owners WHERE counter_id = $1)"}, g.ctes...)
	if len(g.custAggs) > 0 {
		ctes = append(ctes, fmt.Sprintf(`ca AS (SELECT uniq_id AS cust, %s FROM (%s) o GROUP BY uniq_id)`, strings.Join(g.custAggs, ", "), ordersSQL))
		g.joins = append(g.joins, "LEFT JOIN ca ON ca.cust = m.cust")
	}
	if len(g.lineAggs) > 0 {
		ctes = append(ctes, fmt.Sprintf(`cl AS (SELECT uniq_id AS cust, %s FROM (%s) o GROUP BY uniq_id)`, strings.Join(g.lineAggs, ", "), linesSQL))
		g.joins = append(g.joins, "LEFT JOIN cl ON cl.cust = m.cust")
	}
	if len(g.userAggs) > 0 {
		ctes = append(ctes, g.userCTE())
		g.joins = append(g.joins, "LEFT JOIN ua ON ua.cust = m.cust AND ua.vid = m.vid")
	}
	ctes = append(ctes, g.people())
	ctes = append(ctes, fmt.Sprintf("members AS (SELECT m.cust, m.vid FROM people m %s WHERE %s)", strings.Join(g.joins, " "), cond))
	return strings.Join(ctes, ",\n")
}

// memberClientsSQL is the ClientIDs of a segment's members: those the
// member customers own, and the member visitors'.
const memberClientsSQL = `SELECT own.client_id FROM own SEMI JOIN members ON members.cust = own.cust AND members.cust <> ''
    UNION ALL SELECT vid FROM members WHERE cust = ''`

// ordersSQL is a counter's full orders, with their profit.
const ordersSQL = `SELECT *, revenue - coalesce(cost, 0) AS profit FROM orders WHERE counter_id = $1 AND NOT is_simple`

// linesSQL is the product lines of a counter's full orders, each with its
// order's columns.
const linesSQL = `SELECT o.*, l->>'$[0]' AS product, TRY_CAST(l->>'$[1]' AS DECIMAL(38,10)) AS quantity
    FROM (` + ordersSQL + `) o, unnest(from_json(o.products, '["JSON"]')) AS t(l)`

// numCast is the type numbers in conditions compare as.
const numCast = "::DECIMAL(38,10)"

// truth makes a condition two-valued.
func truth(c string) string { return "coalesce((" + c + "), false)" }

// boolean is f's AND, OR or NOT over its children's conditions (cond);
// ok is false when f is none of them. Where a condition decides (WHERE,
// FILTER), NULL counts as false, and AND and OR keep that; only NOT
// would turn a NULL into NULL rather than true, so only its operand is
// made two-valued. Left bare, comparisons of columns with constants
// reach the scans as filters, which skip row groups.
func boolean(f *crmlink.Filter, cond func(*crmlink.Filter) string) (sql string, ok bool) {
	switch f.Op {
	case "AND", "OR":
		var parts []string
		for _, c := range f.Children {
			parts = append(parts, "("+cond(c)+")")
		}
		return strings.Join(parts, " "+f.Op+" "), true
	case "NOT":
		return "NOT " + truth(cond(f.Children[0])), true
	}
	return "", false
}

// person is the SQL condition of f on a person m.
func (g *segmentBuilder) person(f *crmlink.Filter) string {
	if c, ok := boolean(f, g.person); ok {
		return c
	}
	switch f.Op {
	case "EXISTS":
		return g.rowSet(f.Children[0], f.Rows)
	case "NONE":
		return "NOT " + g.rowSet(f.Children[0], f.Rows)
	case "ALL":
		every := &crmlink.Filter{Op: "NOT", Children: []*crmlink.Filter{f.Children[0]}}
		return g.rowSet(nil, f.Rows) + " AND NOT " + g.rowSet(every, f.Rows)
	}
	return g.personValue(f)
}

// rowSet adds the set of people with a row of kind k that meets f (any
// row, for nil), and returns the condition that m is among them.
func (g *segmentBuilder) rowSet(f *crmlink.Filter, k crmlink.RowKind) string {
	g.n++
	name := "e" + strconv.Itoa(g.n)
	var js joinSet
	cond := "true"
	var q string
	if k == crmlink.RowSessions {
		if f != nil {
			g.within(&js, func() { cond = g.sessionCond(f) })
		}
		sessions := fmt.Sprintf(`(SELECT * FROM sessions WHERE counter_id = $1 AND NOT is_bot) p %s`, strings.Join(js.joins, " "))
		if g.plan.SiteOnly {
			// Every ClientID can be a person: the ClientIDs first, then
			// their people.
			q = fmt.Sprintf(`SELECT DISTINCT %s FROM (SELECT DISTINCT p.client_id FROM %s WHERE %s) p %s`, personCols, sessions, cond, g.ownJoin())
		} else {
			// Only customers' ClientIDs: the join keeps few sessions.
			q = fmt.Sprintf(`SELECT DISTINCT %s FROM %s %s WHERE %s`, personCols, sessions, g.ownJoin(), cond)
		}
		g.sessionSets = append(g.sessionSets, name)
	} else {
		if f != nil {
			cond = g.orderCond(f)
		}
		from := ordersSQL
		if k == crmlink.RowOrderLines {
			from = linesSQL
		}
		q = fmt.Sprintf(`SELECT DISTINCT uniq_id AS cust, 0::UBIGINT AS vid FROM (%s) o WHERE %s`, from, cond)
	}
	g.ctes = append(g.ctes, name+" AS ("+q+")")
	g.joins = append(g.joins, fmt.Sprintf("LEFT JOIN %s ON %s.cust = m.cust AND %s.vid = m.vid", name, name, name))
	return name + ".cust IS NOT NULL"
}

// sessionCond is the SQL condition of f on a session p, its joins built
// into g.b.
func (g *segmentBuilder) sessionCond(f *crmlink.Filter) string {
	if c, ok := boolean(f, g.sessionCond); ok {
		return c
	}
	b := g.b
	d := f.Dimension
	switch d.Field {
	case crmlink.DimDay, crmlink.DimDaysAgo:
		return rangeCond(b, "p.start_local", f, localDay)
	case crmlink.DimGoal:
		return g.goalCond(f)
	case crmlink.DimPurchases:
		return b.compare("coalesce("+purchasesJoin(b)+".n, 0)", f, numCast)
	case crmlink.DimPageViews:
		return b.compare("p.page_views", f, numCast)
	}
	return b.compare(b.dimension(d), f, "")
}

// goalCond is the condition that session p reached one of f's goals (==,
// in) or none of them (!=, notin).
func (g *segmentBuilder) goalCond(f *crmlink.Filter) string {
	var ids []string
	for _, v := range f.Values {
		id, _ := strconv.ParseInt(v, 10, 64)
		ids = append(ids, g.b.arg(id))
	}
	not := ""
	if f.Op == "!=" || f.Op == "notin" {
		not = "NOT "
	}
	return fmt.Sprintf("p.session_id %sIN (SELECT session_id FROM goal_reaches WHERE counter_id = $1 AND goal_id IN (%s))", not, strings.Join(ids, ", "))
}

// purchasesJoin joins each session p with its count of e-commerce
// purchases, once, and returns the join's alias.
func purchasesJoin(b *reportBuilder) string {
	if !b.joined["sp"] {
		b.joined["sp"] = true
		b.joins = append(b.joins, "LEFT JOIN (SELECT session_id, count(*) AS n FROM site_purchases WHERE counter_id = $1 GROUP BY session_id) sp ON sp.session_id = p.session_id")
	}
	return "sp"
}

// segOrderColumns are the order names' columns of a row of orders (or
// product lines) o.
var segOrderColumns = map[crmlink.DimensionField]string{
	crmlink.OrderID: "o.id", crmlink.OrderStatus: "o.status", crmlink.OrderStatusType: "o.status_type",
	crmlink.OrderCurrency: "o.currency", crmlink.OrderProduct: "o.product",
}

// segOrderNumbers are the columns of the order names that are numbers.
var segOrderNumbers = map[crmlink.DimensionField]string{
	crmlink.OrderRevenue: "o.revenue", crmlink.OrderCost: "o.cost", crmlink.OrderProfit: "o.profit",
	crmlink.OrderProductQuantity: "o.quantity",
}

// orderCond is the SQL condition of f on an order or product line o.
func (g *segmentBuilder) orderCond(f *crmlink.Filter) string {
	if c, ok := boolean(f, g.orderCond); ok {
		return c
	}
	d := f.Dimension
	if c, ok := segOrderColumns[d.Field]; ok {
		return g.b.compare(c, f, "")
	}
	if c, ok := segOrderNumbers[d.Field]; ok {
		return g.b.compare(c, f, numCast)
	}
	switch d.Field {
	case crmlink.OrderCreateDate, crmlink.OrderDaysAgo:
		return rangeCond(g.b, "o.created", f, g.utcDay)
	case crmlink.OrderAttribute:
		return attributeCond(g.b, "o.attrs", f)
	}
	panic("segment: unknown order name " + d.Name)
}

// attributeCond compares the attribute f names in the JSON object col:
// as text, or as a number for >, <, >= and <=.
func attributeCond(b *reportBuilder, col string, f *crmlink.Filter) string {
	e := "json_extract_string(" + col + ", " + b.arg(jsonPath(f.Dimension.Arg)) + ")"
	switch f.Op {
	case ">", "<", ">=", "<=":
		return b.compare("TRY_CAST("+e+" AS DECIMAL(38,10))", f, numCast)
	}
	return b.compare(e, f, "")
}

// jsonPath is the JSON path of one key of an object.
func jsonPath(key string) string {
	return `$."` + strings.NewReplacer(`\`, `\\`, `"`, `\"`).Replace(key) + `"`
}

// localDay is where a day starts on wall-clock timestamps.
func localDay(day time.Time) time.Time { return day }

// utcDay is where a day of the counter's time zone starts, in UTC.
func (g *segmentBuilder) utcDay(day time.Time) time.Time {
	return crmlink.DayStart(day, g.plan.Location)
}

// rangeCond is the condition that e is in [From, To) of f (or out of it,
// for notrange), each bound mapped by at.
func rangeCond(b *reportBuilder, e string, f *crmlink.Filter, at func(time.Time) time.Time) string {
	var parts []string
	if !f.From.IsZero() {
		parts = append(parts, e+" >= "+b.arg(tsText(at(f.From)))+"::TIMESTAMP")
	}
	if !f.To.IsZero() {
		parts = append(parts, e+" < "+b.arg(tsText(at(f.To)))+"::TIMESTAMP")
	}
	c := strings.Join(parts, " AND ")
	if f.Op == "notrange" {
		return "NOT (" + c + ")"
	}
	return c
}

// orderStatuses are the status types each count of orders counts.
var orderStatuses = map[crmlink.DimensionField]string{
	crmlink.CustOrders: "o.status_type <> 'SPAM'", crmlink.CustInProgressOrders: "o.status_type = 'IN_PROGRESS'",
	crmlink.CustPaidOrders: "o.status_type = 'PAID'", crmlink.CustCancelledOrders: "o.status_type = 'CANCELLED'",
	crmlink.CustSpamOrders: "o.status_type = 'SPAM'", crmlink.CustOtherOrders: "o.status_type = 'OTHER'",
}

// personValue is the SQL condition of one comparison of a person's own
// value: the contact's, or an aggregate of their orders or sessions.
func (g *segmentBuilder) personValue(f *crmlink.Filter) string {
	d := f.Dimension
	b := g.b
	notSpam := "o.status_type <> 'SPAM'"
	paidHere := func() string { return "o.status_type = 'PAID' AND o.currency = " + g.currency() }
	if st, ok := orderStatuses[d.Field]; ok {
		return b.compare("coalesce("+g.custAgg("count(*)", st, d.Over)+", 0)", f, numCast)
	}
	switch d.Field {
	case crmlink.CustID:
		return b.compare("m.cust", f, "")
	case crmlink.CustAttribute:
		return attributeCond(b, "m.attrs", f)
	case crmlink.CustHasEmail:
		return yesNo(b, "len(m.email_sha256) + len(m.email_md5) > 0", f)
	case crmlink.CustHasPhone:
		return yesNo(b, "len(m.phone_sha256) + len(m.phone_md5) > 0", f)
	case crmlink.CustHasClientID:
		return yesNo(b, "len(m.client_ids) > 0 OR m.cust IN (SELECT cust FROM own)", f)
	case crmlink.CustLastOrderStatus:
		return b.compare(g.custAgg("arg_max(o.status, strftime(o.created, '%Y-%m-%d %H:%M:%S.%f') || o.id)", notSpam, nil), f, "")
	case crmlink.CustLastOrderStatusType:
		return b.compare(g.custAgg("arg_max(o.status_type, strftime(o.created, '%Y-%m-%d %H:%M:%S.%f') || o.id)", notSpam, nil), f, "")
	case crmlink.CustPaidRevenue:
		return b.compare("coalesce("+g.custAgg("sum(o.revenue)", paidHere(), d.Over)+", 0)", f, numCast)
	case crmlink.CustPaidProfit:
		return b.compare("coalesce("+g.custAgg("sum(o.profit)", paidHere(), d.Over)+", 0)", f, numCast)
	case crmlink.CustAverageCheque:
		return g.cheque(g.custAgg("sum(o.revenue)", paidHere(), d.Over), g.custAgg("count(*)", paidHere(), d.Over), f)
	case crmlink.CustFirstOrderDate, crmlink.CustDaysSinceFirstOrder:
		return rangeCond(b, g.custAgg("min(o.created)", notSpam, d.Over), f, g.utcDay)
	case crmlink.CustLastOrderDate, crmlink.CustDaysSinceLastOrder:
		return rangeCond(b, g.custAgg("max(o.created)", notSpam, d.Over), f, g.utcDay)
	case crmlink.CustProductQuantity:
		return b.compare("coalesce("+g.aggregate(&g.lineAggs, "cl", "sum(o.quantity)", notSpam+" AND "+g.overOrders(d.Over))+", 0)", f, numCast)
	case crmlink.UserVisits:
		g.anchor(f, !zeroMeets(f))
		return b.compare("coalesce("+g.userAgg("count(*)", "sum", d.Over)+", 0)", f, numCast)
	case crmlink.UserPurchases:
		g.anchor(f, !zeroMeets(f))
		var col string
		g.within(&g.userJoins, func() { col = "sum(coalesce(" + purchasesJoin(g.b) + ".n, 0))" })
		return b.compare("coalesce("+g.userAgg(col, "sum", d.Over)+", 0)", f, numCast)
	case crmlink.UserFirstVisitDate, crmlink.UserDaysSinceFirstVisit:
		g.anchor(f, true)
		return rangeCond(b, g.userAgg("min(p.start_local)", "min", d.Over), f, localDay)
	case crmlink.UserLastVisitDate, crmlink.UserDaysSinceLastVisit:
		g.anchor(f, true)
		return rangeCond(b, g.userAgg("max(p.start_local)", "max", d.Over), f, localDay)
	}
	panic("segment: unknown name " + d.Name)
}

// anchor records whether no person without a row in ua meets f.
func (g *segmentBuilder) anchor(f *crmlink.Filter, yes bool) {
	if g.rowAnchors == nil {
		g.rowAnchors = map[*crmlink.Filter]bool{}
	}
	g.rowAnchors[f] = yes
}

// zeroMeets tells whether a count or sum of nothing, 0, meets f.
func zeroMeets(f *crmlink.Filter) bool {
	var vs []decimal.Decimal
	for _, v := range f.Values {
		d, err := decimal.NewFromString(v)
		if err != nil {
			return true
		}
		vs = append(vs, d)
	}
	c := func(i int) int { return decimal.Zero.Cmp(vs[i]) }
	switch f.Op {
	case "==":
		return c(0) == 0
	case "!=":
		return c(0) != 0
	case ">":
		return c(0) > 0
	case "<":
		return c(0) < 0
	case ">=":
		return c(0) >= 0
	case "<=":
		return c(0) <= 0
	case "in":
		return slices.ContainsFunc(vs, decimal.Zero.Equal)
	case "notin":
		return !slices.ContainsFunc(vs, decimal.Zero.Equal)
	}
	return true
}

// aggregate adds the column agg FILTER (WHERE where) to the aggregates
// cols of the CTE alias, and returns it.
func (g *segmentBuilder) aggregate(cols *[]string, alias, agg, where string) string {
	g.n++
	name := "a" + strconv.Itoa(g.n)
	*cols = append(*cols, fmt.Sprintf("%s FILTER (WHERE %s) AS %s", agg, where, name))
	return alias + "." + name
}

// custAgg is an aggregate of the customer's orders that meet where and
// over.
func (g *segmentBuilder) custAgg(agg, where string, over *crmlink.Filter) string {
	return g.aggregate(&g.custAggs, "ca", agg, where+" AND "+g.overOrders(over))
}

// overOrders is the condition of an aggregate's brackets on orders.
func (g *segmentBuilder) overOrders(over *crmlink.Filter) string {
	if over == nil {
		return "true"
	}
	return "(" + g.orderCond(over) + ")"
}

// userAgg is an aggregate of the person's sessions that meet over: agg
// per ClientID, then combine (sum, min, max) over the person's.
func (g *segmentBuilder) userAgg(agg, combine string, over *crmlink.Filter) string {
	where := "true"
	if over != nil {
		g.within(&g.userJoins, func() { where = "(" + g.sessionCond(over) + ")" })
	}
	col := g.aggregate(&g.userAggs, "ua", agg, where)
	name := strings.TrimPrefix(col, "ua.")
	g.userTotals = append(g.userTotals, fmt.Sprintf("%s(%s) AS %s", combine, name, name))
	g.userNames = append(g.userNames, name)
	g.userWheres = append(g.userWheres, where)
	return col
}

// yesNo compares the truth of cond with f's 'yes' or 'no'.
func yesNo(b *reportBuilder, cond string, f *crmlink.Filter) string {
	want := (f.Values[0] == "yes") == (f.Op == "==")
	if want {
		return "(" + cond + ")"
	}
	return "NOT (" + cond + ")"
}

// cheque compares an average order value, sum / n, without dividing: the
// average of a customer with no paid order is no value.
func (g *segmentBuilder) cheque(sum, n string, f *crmlink.Filter) string {
	b := g.b
	v := func(i int) string { return b.arg(f.Values[i]) + numCast + " * " + n }
	switch f.Op {
	case "==":
		return n + " > 0 AND " + sum + " = " + v(0)
	case "!=":
		return n + " > 0 AND " + sum + " <> " + v(0)
	case ">", "<", ">=", "<=":
		return n + " > 0 AND " + sum + " " + f.Op + " " + v(0)
	case "in", "notin":
		var eq []string
		for i := range f.Values {
			eq = append(eq, sum+" = "+v(i))
		}
		not := ""
		if f.Op == "notin" {
			not = "NOT "
		}
		return n + " > 0 AND " + not + "(" + strings.Join(eq, " OR ") + ")"
	}
	panic("segment: unknown op " + f.Op)
}

// SegmentSize counts a segment's members. See crmlink.SegmentPort.
func (s *Store) SegmentSize(ctx context.Context, p *crmlink.SegmentPlan) (crmlink.SegmentSize, error) {
	var out crmlink.SegmentSize
	if _, err := s.Counter(ctx, p.CounterID); err != nil {
		return out, err
	}
	g := &segmentBuilder{b: &reportBuilder{joined: map[string]bool{}}, plan: p}
	q := g.statement() + `,
	mc AS (SELECT cust FROM members WHERE cust <> ''),
	ids AS (
	    SELECT cust, client_id FROM own SEMI JOIN mc USING (cust)
	    UNION SELECT c.uniq_id, unnest(c.client_ids) FROM contacts c SEMI JOIN mc ON mc.cust = c.uniq_id WHERE c.counter_id = $1
	    UNION SELECT '', vid FROM members WHERE cust = ''),
	mcc AS (SELECT c.email_sha256 AS e, c.phone_sha256 AS p, c.phone_e164_sha256 AS p164, len(c.email_md5) + len(c.phone_md5) AS md5
	    FROM contacts c SEMI JOIN mc ON mc.cust = c.uniq_id WHERE c.counter_id = $1)
	SELECT (SELECT count(*) FROM mc), (SELECT count(*) FROM members WHERE cust = ''), (SELECT count(DISTINCT client_id) FROM ids),
	    (SELECT count(DISTINCT x) FROM (SELECT unnest(e) AS x FROM mcc)),
	    (SELECT count(DISTINCT x) FROM (SELECT unnest(p) AS x FROM mcc)),
	    count(*) FILTER (WHERE len(e) > 0), count(*) FILTER (WHERE len(p) > 0), count(*) FILTER (WHERE len(p164) > 0),
	    count(*) FILTER (WHERE len(e) + len(p) > 0), count(*) FILTER (WHERE len(e) + len(p164) > 0),
	    count(*) FILTER (WHERE len(e) + len(p) = 0 AND md5 > 0),
	    coalesce(sum(greatest(len(e), len(p))), 0), coalesce(sum(greatest(len(e), len(p164))), 0),
	    coalesce(sum(len(e)), 0), coalesce(sum(len(p)), 0), (SELECT count(*) FROM ids),
	    (SELECT count(DISTINCT cust) FROM ids WHERE cust <> '') + (SELECT count(*) FROM members WHERE cust = '')
	FROM mcc`
	id := &out.Identified
	// caller: SegmentSize
	err := s.db.QueryRowContext(ctx, q, g.b.args...).Scan(&out.Customers, &out.Visitors, &out.ClientIDs, &out.Emails, &out.Phones,
		&id.WithEmail, &id.WithPhone, &id.WithPhoneE164, &id.EmailOrPhone, &id.EmailOrE164, &id.MD5Only, &id.RowsEmailPhone, &id.RowsEmailE164,
		&id.EmailValues, &id.PhoneValues, &id.ClientIDValues, &id.WithClientID)
	if err != nil {
		return out, fmt.Errorf("segment size: %w", outOfMemory(err))
	}
	return out, nil
}

// SegmentMembers returns a page of a segment's members. See
// crmlink.SegmentPort.
func (s *Store) SegmentMembers(ctx context.Context, p *crmlink.SegmentPlan, offset, limit int) ([]crmlink.SegmentMember, error) {
	if _, err := s.Counter(ctx, p.CounterID); err != nil {
		return nil, err
	}
	g := &segmentBuilder{b: &reportBuilder{joined: map[string]bool{}}, plan: p}
	q := g.statement() + `,
	page AS (SELECT * FROM members ORDER BY cust = '', cust, vid LIMIT ` + strconv.Itoa(max(limit, 0)) + ` OFFSET ` + strconv.Itoa(max(offset, 0)) + `),
	oc AS (SELECT cust, list(client_id) AS ids FROM own SEMI JOIN page USING (cust) GROUP BY cust)
	SELECT page.cust,
	    list_transform(CASE WHEN page.cust = '' THEN [page.vid]
	        ELSE list_sort(list_distinct(coalesce(c.client_ids, []::UBIGINT[]) || coalesce(oc.ids, []::UBIGINT[]))) END, x -> x::VARCHAR),
	    coalesce(c.email_sha256, []::VARCHAR[]), coalesce(c.phone_sha256, []::VARCHAR[])
	FROM page LEFT JOIN (SELECT * FROM contacts WHERE counter_id = $1) c ON c.uniq_id = page.cust LEFT JOIN oc ON oc.cust = page.cust
	ORDER BY page.cust = '', page.cust, page.vid`
	// caller: SegmentMembers
	rows, err := s.db.QueryContext(ctx, q, g.b.args...)
	if err != nil {
		return nil, fmt.Errorf("segment members: %w", outOfMemory(err))
	}
	defer rows.Close()
	out := []crmlink.SegmentMember{}
	for rows.Next() {
		var m crmlink.SegmentMember
		if err := rows.Scan(&m.UniqID, scanList(&m.ClientIDs), scanList(&m.Emails), scanList(&m.Phones)); err != nil {
			return nil, fmt.Errorf("segment members: %w", err)
		}
		for _, l := range []*[]string{&m.ClientIDs, &m.Emails, &m.Phones} {
			if *l == nil {
				*l = []string{}
			}
		}
		out = append(out, m)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("segment members: %w", err)
	}
	return out, nil
}

// audiencePage is how many members SegmentAudience reads at a time: a
// page's lists are what it holds.
const audiencePage = 50_000

// SegmentAudience streams a segment's members with their identifiers.
// See crmlink.SegmentPort. The members (their keys alone) are computed
// once into a temporary table of their own connection, numbered in
// order; their identifiers are then read a page at a time, so that no
// statement sorts or holds every member's lists.
func (s *Store) SegmentAudience(ctx context.Context, p *crmlink.SegmentPlan, each func(m *crmlink.AudienceMember) error) error {
	if _, err := s.Counter(ctx, p.CounterID); err != nil {
		return err
	}
	conn, err := s.db.Conn(ctx)
	if err != nil {
		return fmt.Errorf("segment audience: %w", err)
	}
	defer conn.Close()
	g := &segmentBuilder{b: &reportBuilder{joined: map[string]bool{}}, plan: p}
	q := g.statement() + ` SELECT row_number() OVER (ORDER BY cust = '', cust, vid) AS n, cust, vid FROM members`
	// caller: SegmentAudience (members)
	if _, err := conn.ExecContext(ctx, `CREATE OR REPLACE TEMP TABLE audience_members AS `+q, g.b.args...); err != nil {
		return fmt.Errorf("segment audience: %w", outOfMemory(err))
	}
	defer conn.ExecContext(context.WithoutCancel(ctx), `DROP TABLE IF EXISTS audience_members`)
	var m crmlink.AudienceMember
	page := s.audiencePage
	for from := 0; ; from += page {
		// caller: SegmentAudience (a page)
		rows, err := conn.QueryContext(ctx, `
			WITH page AS (SELECT * FROM audience_members WHERE n > $2 AND n <= $3),
			oc AS (SELECT o.cust, list(o.client_id) AS ids FROM client_owners o SEMI JOIN page ON page.cust = o.cust
			    WHERE o.counter_id = $1 GROUP BY o.cust)
			SELECT m.cust,
			    CASE WHEN m.cust = '' THEN [m.vid] ELSE list_sort(list_distinct(coalesce(c.client_ids, []::UBIGINT[]) || coalesce(oc.ids, []::UBIGINT[]))) END,
			    coalesce(c.email_sha256, []::VARCHAR[]), coalesce(c.email_md5, []::VARCHAR[]),
			    coalesce(c.phone_sha256, []::VARCHAR[]), coalesce(c.phone_md5, []::VARCHAR[]), coalesce(c.phone_e164_sha256, []::VARCHAR[]),
			    coalesce(c.emails, []::VARCHAR[]), coalesce(c.phones, []::VARCHAR[])
			FROM page m LEFT JOIN (SELECT * FROM contacts WHERE counter_id = $1) c ON c.uniq_id = m.cust LEFT JOIN oc ON oc.cust = m.cust
			ORDER BY m.n`, int64(p.CounterID), from, from+page)
		if err != nil {
			return fmt.Errorf("segment audience: %w", outOfMemory(err))
		}
		n := 0
		for rows.Next() {
			n++
			if err := rows.Scan(&m.UniqID, scanList(&m.ClientIDs), scanList(&m.EmailSHA256), scanList(&m.EmailMD5),
				scanList(&m.PhoneSHA256), scanList(&m.PhoneMD5), scanList(&m.PhoneE164SHA256), scanList(&m.Emails), scanList(&m.Phones)); err != nil {
				rows.Close()
				return fmt.Errorf("segment audience: %w", err)
			}
			if err := each(&m); err != nil {
				rows.Close()
				return err
			}
		}
		err = rows.Err()
		rows.Close()
		if err != nil {
			return fmt.Errorf("segment audience: %w", outOfMemory(err))
		}
		if n < page {
			return nil
		}
	}
}
