package crmlink

import (
	"context"
	"time"

	"github.com/shopspring/decimal"
)

// Attribution is a model that picks which session's source an order or a
// session is credited to (SPEC.md §4, DESIGN.md).
type Attribution string

// Attribution models.
const (
	AttributionLast                Attribution = "last"
	AttributionFirst               Attribution = "first"
	AttributionLastSign            Attribution = "lastsign"
	AttributionCrossDeviceLast     Attribution = "cross_device_last"
	AttributionCrossDeviceFirst    Attribution = "cross_device_first"
	AttributionCrossDeviceLastSign Attribution = "cross_device_last_significant"
	DefaultAttribution                         = AttributionLastSign
)

// Attributions lists every model.
var Attributions = []Attribution{AttributionLast, AttributionFirst, AttributionLastSign,
	AttributionCrossDeviceLast, AttributionCrossDeviceFirst, AttributionCrossDeviceLastSign}

// DimensionField is what a report dimension shows of a session or order.
type DimensionField string

// Dimension fields. The source fields (TrafficSource to UTMTerm) take an
// attribution model; the others are the session's own.
const (
	DimDate            DimensionField = "date"
	DimMonth           DimensionField = "month"
	DimTrafficSource   DimensionField = "TrafficSource"
	DimSourceEngine    DimensionField = "SourceEngine"
	DimUTMSource       DimensionField = "UTMSource"
	DimUTMMedium       DimensionField = "UTMMedium"
	DimUTMCampaign     DimensionField = "UTMCampaign"
	DimUTMContent      DimensionField = "UTMContent"
	DimUTMTerm         DimensionField = "UTMTerm"
	DimReferer         DimensionField = "referer"
	DimStartURL        DimensionField = "startURL"
	DimCountry         DimensionField = "regionCountry"
	DimRegion          DimensionField = "regionArea"
	DimCity            DimensionField = "regionCity"
	DimDevice          DimensionField = "deviceCategory"
	DimOS              DimensionField = "operatingSystem"
	DimBrowser         DimensionField = "browser"
	DimOrderStatusType DimensionField = "cdpOrderStatusType"
	// DimMetric marks a filter term that names one of the report's
	// metrics: it becomes a MetricFilter.
	DimMetric DimensionField = "metric"

	// The session's start in the counter's time zone, in Metrica's forms:
	// YYYY-MM-DD HH:mm:ss (dateTime, startOfHour, startOfMinute),
	// YYYY-MM-DD (startOf*: the week from Monday), YYYY (year), DD
	// (dayOfMonth), 1 to 7 from Monday (dayOfWeek), HH:00 (hour), HH:MM
	// (hourMinute).
	DimDateTime       DimensionField = "dateTime"
	DimStartOfMinute  DimensionField = "startOfMinute"
	DimStartOfHour    DimensionField = "startOfHour"
	DimStartOfWeek    DimensionField = "startOfWeek"
	DimStartOfMonth   DimensionField = "startOfMonth"
	DimStartOfQuarter DimensionField = "startOfQuarter"
	DimStartOfYear    DimensionField = "startOfYear"
	DimYear           DimensionField = "year"
	DimDayOfMonth     DimensionField = "dayOfMonth"
	DimDayOfWeek      DimensionField = "dayOfWeek"
	DimHour           DimensionField = "hour"
	DimHourMinute     DimensionField = "hourMinute"

	// The visitor and the session's pages, as Metrica names them.
	DimIsNewUser      DimensionField = "isNewUser"      // Yes: the ClientID's first session stored
	DimClientID       DimensionField = "clientID"       // the session's ClientID
	DimStartURLDomain DimensionField = "startURLDomain" // the landing page's host
	DimStartURLPath   DimensionField = "startURLPath"   // its path, before ? and #
	DimRefererDomain  DimensionField = "refererDomain"  // the referrer's host (our referer too)
	// DimIsRobot is Yes for a robot's session. Robots' sessions are left
	// out of every report but one that names it, as a dimension or in its
	// filters.
	DimIsRobot DimensionField = "isRobot"
	// DimUserVisits is the number of sessions the session's ClientID has
	// in all the store's history (robots' aside).
	DimUserVisits DimensionField = "userVisits"
)

// Numeric tells whether the field's values are whole numbers, which sort
// as numbers.
func (f DimensionField) Numeric() bool { return f == DimUserVisits || f == DimClientID || f == DimGoal }

// Attributed tells whether the field follows an attribution model.
func (f DimensionField) Attributed() bool {
	switch f {
	case DimTrafficSource, DimSourceEngine, DimUTMSource, DimUTMMedium, DimUTMCampaign, DimUTMContent, DimUTMTerm:
		return true
	}
	return false
}

// Dimension is one validated dimension of a report.
type Dimension struct {
	Name        string // as the request named it, e.g. ym:s:lastsignTrafficSource
	Field       DimensionField
	Attribution Attribution // for attributed fields
	// Arg is the attribute that cdp:c:attribute('...') and
	// cdp:o:attribute('...') name.
	Arg string
	// Over is the condition on its rows that a customer's or visitor's
	// count, sum or date takes in brackets: cdp:c:paidOrders[...].
	Over *Filter
	// Type is the value's type, for segment names.
	Type ValueType
}

// MetricField is what a report metric measures.
type MetricField string

// Metric fields.
const (
	MetVisits              MetricField = "visits"
	MetUsers               MetricField = "users"
	MetPageviews           MetricField = "pageviews"
	MetBounceRate          MetricField = "bounceRate"
	MetAvgVisitDuration    MetricField = "avgVisitDurationSeconds"
	MetOrdersAll           MetricField = "cdpOrdersAllOrders"
	MetOrdersInProgress    MetricField = "cdpOrdersInProgress"
	MetOrdersPaid          MetricField = "cdpOrdersPayed"
	MetOrdersCancelled     MetricField = "cdpOrdersCancelled"
	MetOrdersSpam          MetricField = "cdpOrdersSpam"
	MetOrdersOther         MetricField = "cdpOrdersOther"
	MetConversionToOrder   MetricField = "cdpOrdersConversionIntoOrder"
	MetConversionToPayment MetricField = "cdpOrdersConversionIntoPayment"
	MetRevenue             MetricField = "Revenue"                // cdpOrders<CUR>Revenue
	MetProfit              MetricField = "Profit"                 // cdpOrders<CUR>Profit
	MetAverageCheque       MetricField = "AverageCheque"          // cdpOrders<CUR>AverageCheque
	MetGoalReaches         MetricField = "reaches"                // ym:s:goal<id>reaches
	MetGoalRevenue         MetricField = "revenue"                // ym:s:goal<id>revenue
	MetGoalConversionRate  MetricField = "conversionRate"         // ym:s:goal<id>conversionRate
	MetGoalVisits          MetricField = "goalVisits"             // ym:s:goal<id>visits: sessions with a reach
	MetGoalUsers           MetricField = "goalUsers"              // ym:s:goal<id>users: ClientIDs with a reach
	MetGoalUserConversion  MetricField = "goalUserConversionRate" // ym:s:goal<id>userConversionRate: goal users / users, %
	MetGoalReachesPerUser  MetricField = "goalReachesPerUser"     // ym:s:goal<id>reachesPerUser: reaches / goal users
	MetEcommercePurchases  MetricField = "ecommercePurchases"     // purchases the site reported
	MetPageDepth           MetricField = "pageDepth"              // page views per session
	MetNewUsers            MetricField = "newUsers"               // ClientIDs whose first session stored is in the period
	MetPercentNewVisitors  MetricField = "percentNewVisitors"     // newUsers / users, %
	MetGoalReachesAny      MetricField = "sumGoalReachesAny"      // reaches of any goal
	MetAnyGoalConversion   MetricField = "anyGoalConversionRate"  // sessions with a reach of any goal / sessions, %

	// Ad spend (the ym:ev: namespace): money in the report's currency.
	MetExpenses      MetricField = "expenses"      // ym:ev:expenses<CUR>
	MetExpenseClicks MetricField = "expenseClicks" // ym:ev:expenseClicks
	MetExpenseCPC    MetricField = "expenseCPC"    // ym:ev:expense<CUR>CPC: spend per click
	MetROI           MetricField = "ROI"           // ym:ev:cdpOrders<CUR>ROI: (revenue − spend) / spend, %
	MetCPA           MetricField = "CPA"           // ym:ev:cdpOrders<CUR>CPA: spend per order (all orders)
	MetCPO           MetricField = "CPO"           // ym:ev:cdpOrders<CUR>CPO: spend per paid order
	MetCRR           MetricField = "CRR"           // ym:ev:cdpOrders<CUR>CRR: spend / revenue, % (ДРР)
	MetROMI          MetricField = "ROMI"          // ours, ym:ev:cdpOrders<CUR>ROMI: (profit − spend) / spend, %
	MetPOAS          MetricField = "POAS"          // ours, ym:ev:cdpOrders<CUR>POAS: profit / spend, %

	// Ad spend against one goal (GoalID), ym:ev:goal<id>expense<CUR>X. A
	// goal's value is its reaches' revenue: for the CRM goals, the
	// orders' profit.
	MetGoalExpenseROI MetricField = "goalExpenseROI" // ROI: (goal value − spend) / spend, %
	MetGoalExpenseCRR MetricField = "goalExpenseCRR" // CRR: spend / goal value, %
	MetGoalReachCPA   MetricField = "ReachCPA"       // spend per reach
	MetGoalVisitCPA   MetricField = "VisitCPA"       // spend per session that reached the goal
	MetGoalUserCPA    MetricField = "UserCPA"        // spend per visitor (ClientID) that reached it
)

// ExpenseMetric tells whether the metric reads ad spend.
func (f MetricField) ExpenseMetric() bool {
	switch f {
	case MetExpenses, MetExpenseClicks, MetExpenseCPC, MetROI, MetCPA, MetCPO, MetCRR, MetROMI, MetPOAS,
		MetGoalExpenseROI, MetGoalExpenseCRR, MetGoalReachCPA, MetGoalVisitCPA, MetGoalUserCPA:
		return true
	}
	return false
}

// SessionMetric tells whether the metric counts sessions (and so cannot be
// cut by an order's status).
func (f MetricField) SessionMetric() bool {
	switch f {
	case MetVisits, MetUsers, MetPageviews, MetBounceRate, MetAvgVisitDuration, MetConversionToOrder,
		MetGoalReaches, MetGoalRevenue, MetGoalConversionRate, MetGoalVisits, MetGoalUsers, MetGoalUserConversion,
		MetGoalReachesPerUser, MetPageDepth, MetNewUsers, MetPercentNewVisitors, MetEcommercePurchases,
		MetGoalReachesAny, MetAnyGoalConversion:
		return true
	}
	return false
}

// Metric is one validated metric of a report.
type Metric struct {
	Name   string // as the request named it
	Field  MetricField
	GoalID int64 // for goal metrics
}

// ReportQuery is a validated report request (package report builds it).
type ReportQuery struct {
	CounterID  CounterID
	Dimensions []Dimension
	Metrics    []Metric
	// Date1 and Date2 are the first and last day, inclusive, as dates in
	// the counter's time zone (midnight, UTC location).
	Date1, Date2 time.Time
	Filter       *Filter
	Sort         []SortKey
	Limit        int // rows per page
	Offset       int // rows skipped (0-based; the API's offset is 1-based)
	Attribution  Attribution
	// Currency is the currency whose orders the money metrics sum: orders
	// in other currencies still count as orders, but their money is not
	// added to it, as crmlink keeps no exchange rates.
	Currency string
	// Group, for time series: "day", "week" or "month"; empty for a table.
	Group string
	// Unlinked asks a table for the row of orders linked to no session
	// (ReportResult.Unlinked). It is ours, off by default, so that
	// answers keep Metrica's numbers.
	Unlinked bool
	// Segment, when not nil, cuts the report to the sessions of a
	// segment's members (and the orders linked to them): a saved segment
	// the request names, and the filter's terms on people, joined by AND.
	Segment *SegmentPlan
	// Expenses says the report is in Metrica's ym:ev: namespace: its rows
	// join the period's ad spend (by the expense's UTM fields, traffic
	// source and day) with the sessions and their orders (by the same
	// fields of the session under the attribution model); spend that no
	// session matches is a row of its own.
	Expenses bool
	// MetricFilters are the filters' conditions on metrics, applied to
	// the rows after grouping (Metrica's filters on metrics); totals are
	// the sessions', whichever rows pass.
	MetricFilters []MetricFilter
	// GoalNames names the counter's goals by id, for ym:s:goal's rows.
	GoalNames map[string]string
}

// MetricFilter is a condition on one of a report's metrics (its index in
// Metrics): ==, !=, >, <, >= or <= a number.
type MetricFilter struct {
	Metric int
	Op     string
	Value  decimal.Decimal
}

// Holds tells whether a row's value v meets the condition.
func (f MetricFilter) Holds(v decimal.Decimal) bool {
	c := v.Cmp(f.Value)
	switch f.Op {
	case "==":
		return c == 0
	case "!=":
		return c != 0
	case ">":
		return c > 0
	case "<":
		return c < 0
	case ">=":
		return c >= 0
	case "<=":
		return c <= 0
	}
	return false
}

// UnlinkedName is the name the unlinked row's dimensions show.
const UnlinkedName = "Not linked to a session"

// SortKey orders report rows by one dimension or metric of the query.
type SortKey struct {
	Dimension int // index into Dimensions, or -1
	Metric    int // index into Metrics, or -1
	Desc      bool
}

// Filter is a parsed filter expression: either a comparison of a
// dimension, or an AND, OR or NOT of children, or (in segments) an
// EXISTS, NONE or ALL of one child over the person's rows.
type Filter struct {
	// Op is "AND", "OR", "NOT", "EXISTS", "NONE", "ALL", or a comparison:
	// ==, !=, =@, !@, =~, !~, in, notin, >, <, >=, <=; a planned day
	// comparison is "range" or "notrange" (From and To).
	Op        string
	Children  []*Filter
	Dimension Dimension
	Values    []string
	// Rows is what EXISTS, NONE and ALL range over.
	Rows RowKind
	// From and To bound a range of days, [From, To), as dates (midnight
	// UTC) in the counter's time zone; zero: no bound.
	From, To time.Time
	// Col is where in the expression the term starts (1-based, in
	// characters), for errors found after parsing.
	Col int
}

// DimensionValue is one dimension's value in a report row: an id and the
// name shown for it, such as {"organic", "Search engine traffic"}.
type DimensionValue struct {
	ID   string
	Name string
}

// ReportRow is one row of a report. For a time series, Series holds each
// metric's value per interval and Metrics its total.
type ReportRow struct {
	Dimensions []DimensionValue
	Metrics    []decimal.Decimal
	Series     [][]decimal.Decimal
}

// ReportResult is a report's answer: its rows (one page of them), how many
// rows there are in all, and totals, minima and maxima of every metric over
// all rows. Totals are computed over the sessions, not summed over rows:
// users and rates are not additive.
type ReportResult struct {
	Query     ReportQuery
	Rows      []ReportRow
	TotalRows int
	Totals    []decimal.Decimal
	Min       []decimal.Decimal
	Max       []decimal.Decimal
	// Intervals are the time series' intervals, [start, end] days.
	Intervals [][2]time.Time
	// Unlinked, when the query asks for it, is the row of the orders
	// created in the period that are linked to no session: each
	// dimension's value is empty with UnlinkedName, order counts and money
	// are theirs, and session metrics are 0. Totals leave it out. A
	// filter on a session's dimension leaves no such row (nil), as those
	// orders have no session to match it.
	Unlinked *ReportRow
	// TotalSeries is each metric's total per interval.
	TotalSeries [][]decimal.Decimal
	// DataLag is how far the report trails what the store has accepted:
	// the age of the oldest upload or hit batch of the counter that is
	// accepted and not yet applied, zero when none is waiting.
	DataLag time.Duration
}

// ClientsQuery asks for a page of the Clients report.
type ClientsQuery struct {
	CounterID CounterID
	// Search is a substring of the customer's id, name, ClientIDs or
	// UserIDs, matched without regard to case or to ё and е.
	Search string
	// SearchHashes are hashes of Search read as an email or phone (see
	// crm.SearchHashes): a customer carrying one matches too.
	SearchHashes []string
	// Source keeps customers with a session from this traffic source
	// (over all their ClientIDs); Status those with an order whose
	// current status is of this type.
	Source SourceKind
	Status StatusType
	// MinSpent and MaxSpent bound TotalSpent, inclusive.
	MinSpent, MaxSpent decimal.NullDecimal
	// OrderedFrom and OrderedTo keep customers with an order created in
	// [OrderedFrom, OrderedTo), UTC; zero: no bound.
	OrderedFrom, OrderedTo time.Time
	// Segment, when not nil, keeps the customers a segment holds.
	Segment  *SegmentPlan
	Sort     string // a column of ClientRow by its JSON name; "-" prefix for descending
	Limit    int
	Offset   int
	Currency string
}

// ClientRow is one customer on the Clients page.
type ClientRow struct {
	UniqID         string          `json:"uniq_id"`
	Name           string          `json:"name"`
	ClientIDs      []string        `json:"client_ids"`
	UserIDs        []string        `json:"user_ids"`
	Emails         int             `json:"emails"` // emails known (each kept as MD5, SHA-256 or both)
	Phones         int             `json:"phones"`
	Orders         int             `json:"orders"`
	InProgress     int             `json:"in_progress"`
	Paid           int             `json:"paid"`
	Cancelled      int             `json:"cancelled"`
	Spam           int             `json:"spam"`
	Other          int             `json:"other"`
	TotalSpent     decimal.Decimal `json:"total_spent"`
	DaysSinceFirst *int            `json:"days_since_first_order"`
	DaysSinceLast  *int            `json:"days_since_last_order"`
	FirstSource    string          `json:"first_source"`
	LastSource     string          `json:"last_source"`
	Sessions       int             `json:"sessions"`
}

// ClientsResult is one page of the Clients report.
type ClientsResult struct {
	Rows      []ClientRow `json:"data"`
	TotalRows int         `json:"total_rows"`
}

// ReportStore answers reports.
type ReportStore interface {
	Report(ctx context.Context, q *ReportQuery) (*ReportResult, error)
	Clients(ctx context.Context, q *ClientsQuery) (*ClientsResult, error)
}

// ReportPort is an engine's part of a report: the aggregation, in its own
// SQL. Package report plans the query (ReportPlan) and assembles the
// answer from the groups (sorting, paging, totals, intervals, names).
type ReportPort interface {
	// Aggregate returns the report's grouping sets: for a table, each
	// row's dimensions and the totals (no dimension); for a time series,
	// also each row's and the totals' values per interval. A report over
	// no dimension returns the totals alone.
	Aggregate(ctx context.Context, p *ReportPlan) ([]ReportGroup, error)
	// UnlinkedTotals returns the plan's metrics over the orders created
	// in the period (the counter's days) that are linked to no session,
	// under the plan's order terms: order counts and money are theirs,
	// session metrics 0.
	UnlinkedTotals(ctx context.Context, p *ReportPlan) ([]decimal.Decimal, error)
	Clients(ctx context.Context, q *ClientsQuery) (*ClientsResult, error)
}

// ReportPlan is what an engine's aggregation needs to know of a query,
// decided once for every engine by package report.
type ReportPlan struct {
	Query *ReportQuery
	// SessionTerms and OrderTerms are the filter's terms joined by AND:
	// conditions on sessions, and conditions on the order's status type,
	// which select orders rather than sessions.
	SessionTerms, OrderTerms []*Filter
	// StatusDim is the index of the order-status dimension, or -1. With
	// one, the rows grouped are orders (each under its linked session),
	// not sessions.
	StatusDim int
	// NeedOrders says a metric or a condition reads the linked orders.
	NeedOrders bool
	// Goals are the goals that goal metrics read, in the order of their
	// first metric.
	Goals []int64
	// AnyGoal says a metric reads the reaches of every goal.
	AnyGoal bool
	// Purchases says a metric reads the site's purchases.
	Purchases bool
	// Unlinked says the answer has the unlinked row: asked for, in a
	// table, with no condition on sessions (those orders have no session
	// to meet it).
	Unlinked bool
}

// GoalIndex is the position of a goal in Goals, or -1.
func (p *ReportPlan) GoalIndex(id int64) int {
	for i, g := range p.Goals {
		if g == id {
			return i
		}
	}
	return -1
}

// ReportGroup is one group of a report's aggregation.
type ReportGroup struct {
	// GID has a bit per grouped column the group leaves out, as SQL's
	// GROUPING() gives it: the dimensions in order, then the interval
	// (time series), the last column in the lowest bit.
	GID int64
	// Dims are the dimensions' ids ("" for none, or a column left out).
	Dims []string
	// Interval is the first day of the group's interval, YYYY-MM-DD, in
	// a time series.
	Interval string
	// Metrics are in the query's order.
	Metrics []decimal.Decimal
}
