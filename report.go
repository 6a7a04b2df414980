package crmlink

import (
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

// ReportQuery is a validated report request. Dimensions and metrics are
// Metrica's names (ym:s:...); the report package checks them before a store
// sees the query.
type ReportQuery struct {
	CounterID   CounterID
	Dimensions  []string
	Metrics     []string
	Date1       time.Time // first day, in the counter's time zone
	Date2       time.Time // last day, inclusive
	Filter      *Filter
	Sort        []SortKey
	Limit       int
	Offset      int
	Attribution Attribution
	// Group, for time series: "day", "week" or "month"; empty for a table.
	Group string
}

// SortKey orders report rows by one dimension or metric.
type SortKey struct {
	Field string
	Desc  bool
}

// Filter is a parsed filter expression: either a leaf comparison or an
// AND/OR of children.
type Filter struct {
	Op       string // "AND", "OR", or a comparison: ==, !=, =@, !@, =~, !~, in
	Children []*Filter
	Field    string
	Values   []string
}

// DimensionValue is one dimension's value in a report row: an id and the
// name shown for it, such as {"organic", "Search engine traffic"}.
type DimensionValue struct {
	ID   string
	Name string
}

// ReportRow is one row of a report.
type ReportRow struct {
	Dimensions []DimensionValue
	Metrics    []decimal.Decimal
}

// ReportResult is a report's answer: its rows (one page of them), how many
// rows there are in all, and totals, minima and maxima of every metric over
// all rows.
type ReportResult struct {
	Query     ReportQuery
	Rows      []ReportRow
	TotalRows int
	Totals    []decimal.Decimal
	Min       []decimal.Decimal
	Max       []decimal.Decimal
}
