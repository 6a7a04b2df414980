package crmlink

import (
	"context"
	"time"

	"github.com/shopspring/decimal"
)

// Conversion is one goal reached at a session, as conversions sent back
// to ad platforms read it: the goal, the session's ClientID and ad click
// id, when, and the value (the reach's revenue: the order's profit for
// the CRM goals).
type Conversion struct {
	GoalID   int64
	GoalName string
	// GoalKey is a CRM goal's key (created, paid, cancelled, spam), or a
	// site goal's action identifier.
	GoalKey   string
	CRM       bool
	OrderID   string // "" for a site goal reached by a hit
	SessionID uint64
	ClientID  uint64
	ClickID   string // the session's ad click id, "name=value" (gclid=..., yclid=...), or ""
	Time      time.Time
	Value     decimal.Decimal
}

// ConversionQuery asks for the goal reaches of a counter in [From, To)
// (UTC), of the given goals (none: every goal), in time order.
type ConversionQuery struct {
	CounterID CounterID
	From, To  time.Time
	Goals     []int64
}

// ConversionStore streams goal reaches for conversion exports.
type ConversionStore interface {
	// Conversions calls each with every goal reach the query selects, in
	// time order, streaming; c is reused between calls.
	Conversions(ctx context.Context, q ConversionQuery, each func(c *Conversion) error) error
}
