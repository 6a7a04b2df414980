package report

import (
	"fmt"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/crmlink/crmlink"
	"github.com/shopspring/decimal"
)

// A segment's expression is a condition on people: each customer (a
// contact), and, when it reads only site data, each visitor whose
// ClientID no customer owns. It reads four levels of names:
//
//	ym:s:...  a session of the person's ClientIDs (robots' aside): the
//	          report dimensions (any attribution model), ym:s:date,
//	          ym:s:daysAgo, ym:s:goal (a goal reached, by id),
//	          ym:s:purchases, ym:s:pageViews
//	cdp:o:... one of the customer's full orders, in its current state,
//	          or one product line of it (cdp:o:product, productQuantity)
//	cdp:c:... the customer: the contact's own values and aggregates of
//	          its orders, which take a condition on the orders counted
//	          in brackets: cdp:c:paidOrders[cdp:o:createDate>='2026-01-01']
//	ym:u:...  the visitor: aggregates of their sessions, which take a
//	          condition on the sessions in brackets
//
// Session and order names are conditions on rows: a term made only of
// one kind's names is true of a person when one of their rows meets it
// (EXISTS), and the terms of one kind in an AND are one such term, so
// ym:s:lastsignTrafficSource=='ad' AND ym:s:daysAgo<30 is a visit from
// an ad in the last 30 days. EXISTS(...), NONE(...) and
// ALL(...) say it outright; ALL needs at least one row. A comparison of
// a value a person lacks (the date of an order, for a customer with
// none) is false, and NOT of it true.

// segmentName is what the resolver knows of a segment name.
type segmentName struct {
	field crmlink.DimensionField
	typ   crmlink.ValueType
	arg   bool            // takes ('name')
	over  crmlink.RowKind // takes [condition] on these rows; "" takes none
}

var segmentNames = map[string]segmentName{}

func init() {
	add := func(f crmlink.DimensionField, typ crmlink.ValueType, arg bool, over crmlink.RowKind) {
		segmentNames[string(f)] = segmentName{field: f, typ: typ, arg: arg, over: over}
	}
	text, num, day, ago, yes, status := crmlink.TypeText, crmlink.TypeNumber, crmlink.TypeDay, crmlink.TypeDaysAgo, crmlink.TypeYesNo, crmlink.TypeStatus
	for f, t := range map[crmlink.DimensionField]crmlink.ValueType{
		crmlink.OrderID: text, crmlink.OrderStatus: text, crmlink.OrderStatusType: status, crmlink.OrderRevenue: num,
		crmlink.OrderCost: num, crmlink.OrderProfit: num, crmlink.OrderCurrency: text, crmlink.OrderCreateDate: day,
		crmlink.OrderDaysAgo: ago, crmlink.OrderProduct: text, crmlink.OrderProductQuantity: num,
		crmlink.CustID: text, crmlink.CustHasEmail: yes, crmlink.CustHasPhone: yes, crmlink.CustHasClientID: yes,
		crmlink.CustLastOrderStatus: text, crmlink.CustLastOrderStatusType: status,
	} {
		add(f, t, false, "")
	}
	add(crmlink.OrderAttribute, text, true, "")
	add(crmlink.CustAttribute, text, true, "")
	for f, t := range map[crmlink.DimensionField]crmlink.ValueType{
		crmlink.CustOrders: num, crmlink.CustInProgressOrders: num, crmlink.CustPaidOrders: num, crmlink.CustCancelledOrders: num,
		crmlink.CustSpamOrders: num, crmlink.CustOtherOrders: num, crmlink.CustPaidRevenue: num, crmlink.CustPaidProfit: num,
		crmlink.CustAverageCheque: num, crmlink.CustFirstOrderDate: day, crmlink.CustLastOrderDate: day,
		crmlink.CustDaysSinceFirstOrder: ago, crmlink.CustDaysSinceLastOrder: ago,
	} {
		add(f, t, false, crmlink.RowOrders)
	}
	add(crmlink.CustProductQuantity, num, false, crmlink.RowOrderLines)
	for f, t := range map[crmlink.DimensionField]crmlink.ValueType{
		crmlink.UserVisits: num, crmlink.UserPurchases: num, crmlink.UserFirstVisitDate: day, crmlink.UserLastVisitDate: day,
		crmlink.UserDaysSinceFirstVisit: ago, crmlink.UserDaysSinceLastVisit: ago,
	} {
		add(f, t, false, crmlink.RowSessions)
	}
	for f, t := range map[crmlink.DimensionField]crmlink.ValueType{
		crmlink.DimDaysAgo: ago, crmlink.DimGoal: text, crmlink.DimPurchases: num, crmlink.DimPageViews: num,
	} {
		segmentNames["ym:s:"+string(f)] = segmentName{field: f, typ: t}
	}
	segmentNames["ym:s:date"] = segmentName{field: crmlink.DimDay, typ: day}
}

// SegmentRequest is what a segment's expression is planned with.
type SegmentRequest struct {
	Counter *crmlink.Counter
	Goals   []crmlink.Goal // the counter's goals, to check ym:s:goal
	Now     time.Time
}

// ParseSegment validates a segment's expression and plans it for an
// engine (crmlink.SegmentPlan). Every error is KindInvalid and names the
// column of the expression where it is.
func ParseSegment(expr string, r SegmentRequest) (*crmlink.SegmentPlan, error) {
	q := &crmlink.ReportQuery{CounterID: r.Counter.ID, Attribution: crmlink.DefaultAttribution, Currency: r.Counter.Currency}
	rs := resolver{q: q, goals: r.Goals}
	p := &filterParser{src: expr, label: "expression", segment: true, dim: rs.segmentName}
	f, err := parseExpr(p)
	if err != nil {
		return nil, err
	}
	if f == nil {
		return nil, crmlink.Errorf(crmlink.KindInvalid, "expression: missing")
	}
	loc, err := r.Counter.Location()
	if err != nil {
		return nil, err
	}
	pl := &segmentPlanner{label: "expression", today: dateOf(r.Now.In(loc)), goals: r.Goals}
	cond, err := pl.person(f)
	if err != nil {
		return nil, err
	}
	return &crmlink.SegmentPlan{CounterID: r.Counter.ID, Cond: cond, SiteOnly: !pl.crm,
		Currency: r.Counter.Currency, Location: loc}, nil
}

// segmentName resolves a segment name: the report dimensions, and the
// names of segments alone.
func (r resolver) segmentName(name string) (crmlink.Dimension, error) {
	if n, ok := segmentNames[name]; ok {
		return crmlink.Dimension{Name: name, Field: n.field, Type: n.typ}, nil
	}
	d, err := r.dimension(name)
	if err != nil {
		return d, crmlink.Errorf(crmlink.KindInvalid, "unknown name %q: see the segment names in the README", name)
	}
	if d.Field == crmlink.DimOrderStatusType {
		return d, crmlink.Errorf(crmlink.KindInvalid, "%s is a report's; a segment reads cdp:o:statusType", name)
	}
	return d, nil
}

// segmentPlanner checks a parsed expression's names against where they
// stand and plans it.
type segmentPlanner struct {
	label string // starts every error: the parameter or field planned
	today time.Time
	goals []crmlink.Goal
	crm   bool // a CRM name is read
}

func (pl *segmentPlanner) errorf(f *crmlink.Filter, format string, args ...any) error {
	return crmlink.Errorf(crmlink.KindInvalid, "%s: column %d: %s", pl.label, f.Col, fmt.Sprintf(format, args...))
}

// family is the kind of rows every comparison under f reads, if they all
// read one kind's: sessions, or orders (RowOrderLines when a product
// line's name is among them); "" if f reads a person's own values or
// mixes kinds. Quantifiers under f make it "".
func family(f *crmlink.Filter) crmlink.RowKind {
	switch f.Op {
	case "AND", "OR", "NOT":
		var k crmlink.RowKind
		for _, c := range f.Children {
			ck := family(c)
			switch {
			case ck == "":
				return ""
			case k == "":
				k = ck
			case k == ck:
			case k != crmlink.RowSessions && ck != crmlink.RowSessions:
				k = crmlink.RowOrderLines
			default:
				return ""
			}
		}
		return k
	case "EXISTS", "NONE", "ALL":
		return ""
	}
	switch f.Dimension.Field.Level() {
	case crmlink.LevelSession:
		return crmlink.RowSessions
	case crmlink.LevelOrder:
		return crmlink.RowOrders
	case crmlink.LevelOrderLine:
		return crmlink.RowOrderLines
	}
	return ""
}

// person plans a condition on a person: a term of one kind of rows
// becomes an EXISTS over them.
func (pl *segmentPlanner) person(f *crmlink.Filter) (*crmlink.Filter, error) {
	switch f.Op {
	case "EXISTS", "NONE", "ALL":
		k := family(f.Children[0])
		if k == "" {
			return nil, pl.errorf(f, "%s(...) takes a condition on sessions (ym:s:) or on orders (cdp:o:), not both, nor a customer's or visitor's values", f.Op)
		}
		c, err := pl.rows(f.Children[0], k)
		if err != nil {
			return nil, err
		}
		return &crmlink.Filter{Op: f.Op, Rows: k, Children: []*crmlink.Filter{c}, Col: f.Col}, nil
	}
	if k := family(f); k != "" {
		c, err := pl.rows(f, k)
		if err != nil {
			return nil, err
		}
		return &crmlink.Filter{Op: "EXISTS", Rows: k, Children: []*crmlink.Filter{c}, Col: f.Col}, nil
	}
	switch f.Op {
	case "AND", "OR", "NOT":
		out := &crmlink.Filter{Op: f.Op, Col: f.Col}
		for _, c := range groupRows(f) {
			pc, err := pl.person(c)
			if err != nil {
				return nil, err
			}
			out.Children = append(out.Children, pc)
		}
		if len(out.Children) == 1 && f.Op != "NOT" {
			return out.Children[0], nil
		}
		return out, nil
	}
	return pl.compare(f)
}

// groupRows is an AND's children with its terms on sessions joined into
// one term, and its terms on orders into another, so that each is one
// row's condition: ym:s:lastsignTrafficSource=='ad' AND cdp:c:paidOrders>=2
// AND ym:s:daysAgo<30 asks for one visit from an ad in 30 days. Other
// nodes' children are as they are.
func groupRows(f *crmlink.Filter) []*crmlink.Filter {
	if f.Op != "AND" {
		return f.Children
	}
	var out, sessions, orders []*crmlink.Filter
	for _, c := range f.Children {
		switch family(c) {
		case crmlink.RowSessions:
			sessions = append(sessions, c)
		case crmlink.RowOrders, crmlink.RowOrderLines:
			orders = append(orders, c)
		default:
			out = append(out, c)
		}
	}
	for _, g := range [][]*crmlink.Filter{sessions, orders} {
		switch len(g) {
		case 0:
		case 1:
			out = append(out, g[0])
		default:
			out = append(out, &crmlink.Filter{Op: "AND", Children: g, Col: g[0].Col})
		}
	}
	return out
}

// rows plans a condition on rows of kind k.
func (pl *segmentPlanner) rows(f *crmlink.Filter, k crmlink.RowKind) (*crmlink.Filter, error) {
	switch f.Op {
	case "AND", "OR", "NOT":
		out := &crmlink.Filter{Op: f.Op, Col: f.Col}
		for _, c := range f.Children {
			pc, err := pl.rows(c, k)
			if err != nil {
				return nil, err
			}
			out.Children = append(out.Children, pc)
		}
		return out, nil
	case "EXISTS", "NONE", "ALL":
		return nil, pl.errorf(f, "%s(...) cannot stand inside a condition on rows", f.Op)
	}
	return pl.compare(f)
}

// opsFor are the comparisons each type of value takes.
var opsFor = map[crmlink.ValueType]string{
	crmlink.TypeText:    "== != =@ !@ =~ !~ in notin",
	crmlink.TypeNumber:  "== != > < >= <= in notin",
	crmlink.TypeDay:     "== != > < >= <=",
	crmlink.TypeDaysAgo: "== != > < >= <=",
	crmlink.TypeYesNo:   "== !=",
	crmlink.TypeStatus:  "== != in notin",
}

// compare checks and plans one comparison.
func (pl *segmentPlanner) compare(f *crmlink.Filter) (*crmlink.Filter, error) {
	d := f.Dimension
	if d.Field == crmlink.DimDate {
		// A report's date is text; a segment compares it as a day.
		d = crmlink.Dimension{Name: d.Name, Field: crmlink.DimDay, Type: crmlink.TypeDay}
	}
	name, known := segmentNames[d.Name]
	if strings.HasPrefix(d.Name, "cdp:") {
		pl.crm = true
	}
	switch {
	case known && name.arg && d.Arg == "":
		return nil, pl.errorf(f, "%s takes the attribute's name: %s('name')", d.Name, d.Name)
	case (!known || !name.arg) && d.Arg != "":
		return nil, pl.errorf(f, "%s takes no ('...')", d.Name)
	case d.Over != nil && (!known || name.over == ""):
		return nil, pl.errorf(f, "%s takes no [condition]", d.Name)
	case d.Arg != "" && len(d.Arg) > 256:
		return nil, pl.errorf(f, "an attribute's name is at most 256 bytes")
	}
	if d.Over != nil {
		// The rows an aggregate counts: orders for the customer's, with
		// product lines for productQuantity; sessions for the visitor's.
		rk := family(d.Over)
		ok := rk == name.over || name.over == crmlink.RowOrderLines && rk == crmlink.RowOrders
		if !ok {
			want := map[crmlink.RowKind]string{crmlink.RowOrders: "orders (cdp:o:, no product names)",
				crmlink.RowOrderLines: "orders and their product lines (cdp:o:)", crmlink.RowSessions: "sessions (ym:s:)"}[name.over]
			return nil, pl.errorf(d.Over, "%s[...] takes a condition on %s", d.Name, want)
		}
		over, err := pl.rows(d.Over, name.over)
		if err != nil {
			return nil, err
		}
		d.Over = over
	}
	out := &crmlink.Filter{Op: f.Op, Dimension: d, Values: slices.Clone(f.Values), Col: f.Col}
	if !strings.Contains(" "+opsFor[d.Type]+" ", " "+f.Op+" ") && !(d.Arg != "" && isNumericOp(f.Op)) {
		return nil, pl.errorf(f, "%s takes %s, not %s", d.Name, strings.ReplaceAll(strings.ReplaceAll(opsFor[d.Type], "notin", ".notIn(...)"), " in ", " .in(...) "), f.Op)
	}
	if d.Field == crmlink.DimGoal && f.Op != "==" && f.Op != "!=" && f.Op != "in" && f.Op != "notin" {
		return nil, pl.errorf(f, "ym:s:goal takes == != .in(...) .notIn(...), not %s", f.Op)
	}
	for i, v := range f.Values {
		switch {
		case d.Type == crmlink.TypeNumber || d.Arg != "" && isNumericOp(f.Op):
			if !conditionNumber.MatchString(v) {
				return nil, pl.errorf(f, "%s compares numbers: %q is not one (at most 18 digits, and 10 after the point)", d.Name, v)
			}
		case d.Type == crmlink.TypeYesNo:
			switch strings.ToLower(v) {
			case "yes", "no":
				out.Values[i] = strings.ToLower(v)
			default:
				return nil, pl.errorf(f, "%s is 'yes' or 'no', not %q", d.Name, v)
			}
		case d.Type == crmlink.TypeStatus:
			st, ok := crmlink.ParseStatusType(v)
			if !ok {
				return nil, pl.errorf(f, "%s is one of in_progress, paid, cancelled, spam, other, not %q", d.Name, v)
			}
			out.Values[i] = string(st)
		case d.Field == crmlink.DimGoal:
			id, err := strconv.ParseInt(v, 10, 64)
			if err != nil || !goalKnown(pl.goals, id) {
				return nil, pl.errorf(f, "the counter has no goal %q: ym:s:goal takes a goal's id", v)
			}
		}
	}
	if d.Type == crmlink.TypeDay || d.Type == crmlink.TypeDaysAgo {
		return pl.dayRange(out)
	}
	return out, nil
}

// conditionNumber is a number a condition compares with: decimal digits,
// within what DECIMAL(38,10) holds, and no exponent, which would let a
// few bytes ask for a number of a billion digits.
var conditionNumber = regexp.MustCompile(`^-?[0-9]{1,18}(\.[0-9]{1,10})?$`)

func isNumericOp(op string) bool { return op == ">" || op == "<" || op == ">=" || op == "<=" }

func goalKnown(goals []crmlink.Goal, id int64) bool {
	for _, g := range goals {
		if g.ID == id {
			return true
		}
	}
	return false
}

// maxDaysAgo bounds a count of days, so that dates stay in range.
const maxDaysAgo = 100_000

// dayRange plans a comparison of a day, or of days ago, as a range of
// days [From, To) in the counter's time zone: "range", or "notrange"
// for !=.
func (pl *segmentPlanner) dayRange(f *crmlink.Filter) (*crmlink.Filter, error) {
	d := f.Dimension
	v := f.Values[0]
	var day time.Time
	op := f.Op
	if d.Type == crmlink.TypeDay {
		t, err := time.Parse(time.DateOnly, v)
		if err != nil || t.Year() < 1970 || t.Year() > 9000 {
			return nil, pl.errorf(f, "%s compares dates: want 'YYYY-MM-DD' from 1970, not %q", d.Name, v)
		}
		day = t
	} else {
		n, err := strconv.Atoi(v)
		if err != nil || n < 0 || n > maxDaysAgo {
			return nil, pl.errorf(f, "%s counts whole days: want 0 to %d, not %q", d.Name, maxDaysAgo, v)
		}
		// More days ago is an earlier day.
		day = pl.today.AddDate(0, 0, -n)
		op = map[string]string{"==": "==", "!=": "!=", ">": "<", "<": ">", ">=": "<=", "<=": ">="}[op]
	}
	next := day.AddDate(0, 0, 1)
	out := &crmlink.Filter{Op: "range", Dimension: d, Col: f.Col}
	switch op {
	case "==":
		out.From, out.To = day, next
	case "!=":
		out.Op, out.From, out.To = "notrange", day, next
	case ">":
		out.From = next
	case ">=":
		out.From = day
	case "<":
		out.To = day
	case "<=":
		out.To = next
	}
	return out, nil
}

// parseFilters reads a report's filters and the segment it names: the
// filters' terms joined by AND that read only the report's dimensions
// (AND, OR, NOT and the comparisons of reports) select sessions, or
// orders by their status, as they always have; the other terms are a
// condition on people, which, with the named segment's, cuts the report
// to the sessions of the people who meet it.
func parseFilters(q *crmlink.ReportQuery, rs resolver, r Request, loc *time.Location) error {
	var people []*crmlink.Filter
	if s := r.Params.Get("filters"); s != "" {
		f, err := parseExpr(&filterParser{src: s, dim: rs.filterName, label: "filters", segment: true})
		if err != nil {
			return err
		}
		terms := []*crmlink.Filter{f}
		if f != nil && f.Op == "AND" {
			terms = f.Children
		}
		var report []*crmlink.Filter
		for _, t := range terms {
			if t == nil {
				continue
			}
			if t.Dimension.Field == crmlink.DimMetric {
				mf, err := metricFilter(q, t)
				if err != nil {
					return err
				}
				q.MetricFilters = append(q.MetricFilters, mf)
				continue
			}
			if m := findMetricTerm(t); m != nil {
				return crmlink.Errorf(crmlink.KindInvalid, "filters: column %d: a condition on the metric %s stands at the top level, joined to the others with AND", m.Col, m.Dimension.Name)
			}
			if g := findGoalTerm(t); g != nil {
				return crmlink.Errorf(crmlink.KindInvalid, "filters: column %d: ym:s:goal compares with ==, !=, .in(...) or .notIn(...): a session reached a goal or did not", g.Col)
			}
			if reportTerm(t) {
				report = append(report, t)
			} else {
				people = append(people, t)
			}
		}
		switch len(report) {
		case 0:
		case 1:
			q.Filter = report[0]
		default:
			q.Filter = &crmlink.Filter{Op: "AND", Children: report}
		}
		if len(people) > 0 {
			cond, err := planPeople(people, r, loc, "filters")
			if err != nil {
				return err
			}
			q.Segment = cond
		}
	}
	if r.Segment != "" {
		f, err := parseExpr(&filterParser{src: r.Segment, dim: rs.segmentName, label: "segment", segment: true})
		if err != nil {
			return err
		}
		if f == nil {
			return crmlink.Errorf(crmlink.KindInvalid, "segment: its expression is empty")
		}
		people = append(people, f)
		cond, err := planPeople(people, r, loc, "segment")
		if err != nil {
			return err
		}
		q.Segment = cond
	}
	return nil
}

// planPeople plans terms on people joined by AND.
func planPeople(terms []*crmlink.Filter, r Request, loc *time.Location, label string) (*crmlink.SegmentPlan, error) {
	f := terms[0]
	if len(terms) > 1 {
		f = &crmlink.Filter{Op: "AND", Children: terms}
	}
	pl := &segmentPlanner{label: label, today: dateOf(r.Now.In(loc)), goals: r.Goals}
	cond, err := pl.person(f)
	if err != nil {
		return nil, err
	}
	return &crmlink.SegmentPlan{CounterID: r.Counter.ID, Cond: cond, SiteOnly: !pl.crm, Currency: r.Counter.Currency, Location: loc}, nil
}

// reportOps are the comparisons a report's own terms take.
var reportOps = map[string]bool{"==": true, "!=": true, "=@": true, "!@": true, "=~": true, "!~": true, "=*": true, "!*": true,
	">": true, "<": true, ">=": true, "<=": true, "in": true, "notin": true}

// reportTerm tells whether a filter reads only the report's dimensions
// with the report's comparisons.
func reportTerm(f *crmlink.Filter) bool {
	switch f.Op {
	case "AND", "OR", "NOT":
		for _, c := range f.Children {
			if !reportTerm(c) {
				return false
			}
		}
		return true
	}
	if f.Dimension.Field == crmlink.DimGoal && f.Dimension.Over == nil {
		// In a report's filters, the sessions that reached the goal.
		return true
	}
	_, segmentOnly := segmentNames[f.Dimension.Name]
	return reportOps[f.Op] && !segmentOnly && f.Dimension.Arg == "" && f.Dimension.Over == nil
}

// metricFilter reads a filter term on one of the report's metrics.
func metricFilter(q *crmlink.ReportQuery, t *crmlink.Filter) (crmlink.MetricFilter, error) {
	i := slices.IndexFunc(q.Metrics, func(m crmlink.Metric) bool { return m.Name == t.Dimension.Name })
	switch t.Op {
	case "==", "!=", ">", "<", ">=", "<=":
	default:
		return crmlink.MetricFilter{}, crmlink.Errorf(crmlink.KindInvalid, "filters: column %d: a metric compares with ==, !=, >, <, >= or <=", t.Col)
	}
	v, err := decimal.NewFromString(t.Values[0])
	if err != nil || len(t.Values[0]) > 40 {
		return crmlink.MetricFilter{}, crmlink.Errorf(crmlink.KindInvalid, "filters: column %d: %s compares with a number, not %q", t.Col, t.Dimension.Name, t.Values[0])
	}
	return crmlink.MetricFilter{Metric: i, Op: t.Op, Value: v}, nil
}

// findGoalTerm returns a term on ym:s:goal inside f with an operator it
// does not take, or nil.
func findGoalTerm(f *crmlink.Filter) *crmlink.Filter {
	if f.Dimension.Field == crmlink.DimGoal {
		switch f.Op {
		case "==", "!=", "in", "notin":
			return nil
		}
		return f
	}
	for _, c := range f.Children {
		if g := findGoalTerm(c); g != nil {
			return g
		}
	}
	return nil
}

// findMetricTerm returns a term on a metric inside f, or nil.
func findMetricTerm(f *crmlink.Filter) *crmlink.Filter {
	if f.Dimension.Field == crmlink.DimMetric {
		return f
	}
	for _, c := range f.Children {
		if m := findMetricTerm(c); m != nil {
			return m
		}
	}
	return nil
}

// filterName resolves a name in a report's filters: a report dimension,
// or a name of segments.
func (r resolver) filterName(name string) (crmlink.Dimension, error) {
	d, err := r.dimension(name)
	if err == nil {
		return d, nil
	}
	if slices.ContainsFunc(r.q.Metrics, func(m crmlink.Metric) bool { return m.Name == name }) {
		return crmlink.Dimension{Name: name, Field: crmlink.DimMetric}, nil
	}
	if _, merr := r.metric(name); merr == nil {
		return d, crmlink.Errorf(crmlink.KindInvalid, "%s is a metric: a condition on a metric names one of the report's metrics", name)
	}
	if n, ok := segmentNames[name]; ok {
		return crmlink.Dimension{Name: name, Field: n.field, Type: n.typ}, nil
	}
	return d, err
}
