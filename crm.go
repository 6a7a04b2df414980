package crmlink

import (
	"strings"
	"time"

	"github.com/shopspring/decimal"
)

// StatusType is one of the five types every CRM order status maps to
// (SPEC.md §2).
type StatusType string

// Status types.
const (
	StatusInProgress StatusType = "IN_PROGRESS"
	StatusPaid       StatusType = "PAID"
	StatusCancelled  StatusType = "CANCELLED"
	StatusSpam       StatusType = "SPAM"
	StatusOther      StatusType = "OTHER"
)

// ParseStatusType parses a type name, in any case.
func ParseStatusType(s string) (StatusType, bool) {
	switch t := StatusType(strings.ToUpper(strings.TrimSpace(s))); t {
	case StatusInProgress, StatusPaid, StatusCancelled, StatusSpam, StatusOther:
		return t, true
	}
	return "", false
}

// StatusMapping maps one CRM status to its type.
type StatusMapping struct {
	ID        string     `json:"id"`
	Humanized string     `json:"humanized"`
	Type      StatusType `json:"type"`
	// GoalActionIDs are the site goals an OTHER status reaches.
	GoalActionIDs []string `json:"goal_action_ids,omitempty"`
}

// MergeMode says how an upload treats records that already exist (SPEC.md §1).
type MergeMode string

// Merge modes.
const (
	MergeSave   MergeMode = "SAVE"
	MergeUpdate MergeMode = "UPDATE"
	MergeAppend MergeMode = "APPEND"
)

// ParseMergeMode parses a merge mode in any case; empty means SAVE.
func ParseMergeMode(s string) (MergeMode, error) {
	switch m := MergeMode(strings.ToUpper(strings.TrimSpace(s))); m {
	case "":
		return MergeSave, nil
	case MergeSave, MergeUpdate, MergeAppend:
		return m, nil
	}
	return "", Errorf(KindInvalid, "invalid merge_mode %q: want SAVE, UPDATE or APPEND", s)
}

// Contact is a customer from the CRM.
type Contact struct {
	CounterID  CounterID
	UniqID     string
	Name       string
	Created    time.Time
	Updated    time.Time
	BirthDate  time.Time
	Identities []Identity
	// Emails and Phones are the plain values, kept only when the counter
	// allows it; their hashes are always among Identities.
	Emails []string
	Phones []string
	Attrs  map[string]string
}

// Order is one version of a CRM order.
type Order struct {
	CounterID  CounterID
	ID         string
	UniqID     string // the customer's uniq_id
	Created    time.Time
	Updated    time.Time
	Finished   time.Time
	Status     string // the CRM's own status id
	StatusType StatusType
	Revenue    decimal.Decimal
	Cost       decimal.NullDecimal
	Currency   string
	Products   map[string]decimal.Decimal
	Goals      []OrderGoal
	Attrs      map[string]string
}

// Profit is revenue minus cost, or the revenue when no cost was sent.
func (o *Order) Profit() decimal.Decimal {
	if o.Cost.Valid {
		return o.Revenue.Sub(o.Cost.Decimal)
	}
	return o.Revenue
}

// OrderGoal is an extra site goal an order reached, with an optional price.
type OrderGoal struct {
	Goal  string
	Price decimal.NullDecimal
}

// Goal is a goal of a counter, such as "CRM: Order paid".
type Goal struct {
	ID        int64
	CounterID CounterID
	Name      string
	Type      string // "crm" for the automatic order goals, "action" for site goals
}
