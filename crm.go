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

// CustomerIDs are the identifiers of one customer, as a CRM sends them:
// the site's ClientIDs and UserIDs, and hashes of emails and phones. Hashes
// are lower-case hex of the normalised value (SPEC.md §1); a plain email or
// phone in an upload adds both its MD5 and its SHA-256.
type CustomerIDs struct {
	ClientIDs   []uint64
	UserIDs     []string
	EmailMD5    []string
	EmailSHA256 []string
	PhoneMD5    []string
	PhoneSHA256 []string
	// PhoneE164SHA256 are SHA-256 hashes of the phones in E.164, with the
	// "+" before the digits, as Google Customer Match hashes them. Only a
	// phone sent plain gives one: a hash cannot be normalised again.
	// Contacts keep them; they do not identify anyone for linking.
	PhoneE164SHA256 []string
	// Emails and Phones are the normalised plain values. Readers always
	// fill them; stores keep them only when the counter allows it
	// (Counter.KeepPII).
	Emails []string
	Phones []string
}

// Empty reports whether no identifier is set.
func (c *CustomerIDs) Empty() bool {
	return len(c.ClientIDs) == 0 && len(c.UserIDs) == 0 && len(c.EmailMD5) == 0 && len(c.EmailSHA256) == 0 &&
		len(c.PhoneMD5) == 0 && len(c.PhoneSHA256) == 0
}

// Fields is the set of fields an upload row carried, so that UPDATE and
// APPEND touch only those (SPEC.md §1). A CSV row carries a field when the
// file has its column and the cell is not empty; a JSON element carries the
// fields it names with a non-null value.
type Fields uint32

// Field bits. The email field covers emails, emails_md5 and emails_sha256
// (all of them become email hashes), the phone field likewise.
const (
	FieldName Fields = 1 << iota
	FieldCreated
	FieldUpdated
	FieldFinished
	FieldBirthDate
	FieldClientIDs
	FieldUserIDs
	FieldEmails
	FieldPhones
	FieldStatus
	FieldRevenue
	FieldCost
	FieldCurrency
	FieldProducts
	FieldGoals
	FieldCustomer // an order's client_uniq_id
	FieldAttrs
)

// Has reports whether every field of g is in f.
func (f Fields) Has(g Fields) bool { return f&g == g }

// Contact is one row of a contacts upload: a customer from the CRM.
type Contact struct {
	CounterID CounterID
	UniqID    string
	Name      string
	Created   time.Time
	Updated   time.Time
	BirthDate time.Time // zero: none
	IDs       CustomerIDs
	// Attrs are the custom columns: name to value as sent.
	Attrs  map[string]string
	Fields Fields
	Line   int // the row's line in a CSV file, or its 1-based element number in JSON
}

// Product is a line of an order: a product name and its quantity.
type Product struct {
	Name string
	Qty  decimal.Decimal
}

// OrderGoal is an extra site goal an order reached, with an optional price.
type OrderGoal struct {
	Goal  string
	Price decimal.NullDecimal
}

// Order is one row of an orders upload: one version of a CRM order.
type Order struct {
	CounterID CounterID
	ID        string // empty only for a simple order sent without one
	UniqID    string // the customer's uniq_id (client_uniq_id)
	Created   time.Time
	Updated   time.Time
	Finished  time.Time // zero: not paid, or not said
	Status    string    // the CRM's own status id
	// StatusType is the type Status maps to, resolved when the row is read.
	StatusType StatusType
	Revenue    decimal.Decimal
	Cost       decimal.NullDecimal
	Currency   string
	Products   []Product
	Goals      []OrderGoal
	Attrs      map[string]string
	// IDs are a simple order's own identifiers; full orders name their
	// customer by UniqID instead.
	IDs    CustomerIDs
	Fields Fields
	Line   int
	// Report is what reports count for the order: its state as of the last
	// version accepted within the counter's update window (SPEC.md §3).
	// Stores fill it; readers leave it empty.
	Report OrderReport
}

// OrderReport is the part of an order that session reports use.
type OrderReport struct {
	StatusType StatusType
	Revenue    decimal.Decimal
	Cost       decimal.NullDecimal
}

// Profit is revenue minus cost, or the revenue when no cost was sent.
func (r *OrderReport) Profit() decimal.Decimal { return profit(r.Revenue, r.Cost) }

// Profit is revenue minus cost, or the revenue when no cost was sent.
func (o *Order) Profit() decimal.Decimal { return profit(o.Revenue, o.Cost) }

func profit(revenue decimal.Decimal, cost decimal.NullDecimal) decimal.Decimal {
	if cost.Valid {
		return revenue.Sub(cost.Decimal)
	}
	return revenue
}

// StatusResolver maps a CRM status to its type: through the counter's
// mapping, else a type name accepted as itself (SPEC.md §2).
type StatusResolver func(status string) (StatusType, bool)

// ContactReader yields the rows of a contacts upload; see SessionReader for
// the contract of Next.
type ContactReader interface {
	Next(c *Contact) error
}

// OrderReader yields the rows of an orders upload.
type OrderReader interface {
	Next(o *Order) error
}

// Goal is a goal of a counter, such as "CRM: Order paid".
type Goal struct {
	ID        int64
	CounterID CounterID
	Name      string
	Type      string // "crm" for the automatic order goals, "action" for site goals
	// Action is an action goal's identifier: the tag's reachGoal, an
	// order's goals column and a status mapping's goal_action_ids name it.
	Action string
	// Reaches and Revenue sum the goal's reaches, for the goals list.
	Reaches int64
	Revenue decimal.Decimal
}

// The automatic CRM goals, created by a counter's first successful order
// upload, and the status types that reach them (SPEC.md §2).
// Key names each goal for stores.
var CRMGoals = []struct {
	Key   string
	Name  string
	Types []StatusType
}{
	{"created", "CRM: Order created", []StatusType{StatusInProgress, StatusPaid}},
	{"paid", "CRM: Order paid", []StatusType{StatusPaid}},
	{"cancelled", "CRM: Order cancelled", []StatusType{StatusCancelled}},
	{"spam", "CRM: Spam order", []StatusType{StatusSpam}},
}

// NewStatusResolver resolves statuses through a mapping, then accepts the
// five type names (in any case) as themselves.
func NewStatusResolver(ms []StatusMapping) StatusResolver {
	m := make(map[string]StatusType, len(ms))
	for _, s := range ms {
		m[s.ID] = s.Type
	}
	return func(status string) (StatusType, bool) {
		if t, ok := m[status]; ok {
			return t, true
		}
		return ParseStatusType(status)
	}
}

// ValidateStatusMappings checks a mapping sent by a client: each status has
// an id, a known type, and OTHER statuses name at least one goal.
func ValidateStatusMappings(ms []StatusMapping) error {
	if len(ms) == 0 {
		return Errorf(KindInvalid, "order_statuses is empty")
	}
	seen := map[string]bool{}
	for i := range ms {
		m := &ms[i]
		m.ID = strings.TrimSpace(m.ID)
		if m.ID == "" {
			return Errorf(KindInvalid, "order_statuses[%d]: id is required", i)
		}
		if seen[m.ID] {
			return Errorf(KindInvalid, "order_statuses[%d]: status %q appears twice", i, m.ID)
		}
		seen[m.ID] = true
		t, ok := ParseStatusType(string(m.Type))
		if !ok {
			return Errorf(KindInvalid, "order_statuses[%d] (%s): type %q is not one of IN_PROGRESS, PAID, CANCELLED, SPAM, OTHER", i, m.ID, m.Type)
		}
		m.Type = t
		if m.Humanized == "" {
			m.Humanized = m.ID
		}
		if t == StatusOther && len(m.GoalActionIDs) == 0 {
			return Errorf(KindInvalid, "order_statuses[%d] (%s): an OTHER status names the site goals it reaches in goal_action_ids", i, m.ID)
		}
	}
	return nil
}

// OfflineConversion is one row of an offline conversions upload: a site
// goal reached outside the site (a call, a visit to a shop), for a visitor
// named by one identifier.
type OfflineConversion struct {
	IDType   IdentityKind // client_id, user_id, yclid or purchase_id
	ID       string
	Target   string // the goal's identifier
	Time     time.Time
	Price    decimal.NullDecimal
	Currency string
	Line     int
}

// Identifier kinds only offline conversions use.
const (
	IdentityYclid      IdentityKind = "yclid"
	IdentityPurchaseID IdentityKind = "purchase_id"
)

// OfflineConversionReader yields the rows of an offline conversions upload.
type OfflineConversionReader interface {
	Next(c *OfflineConversion) error
}
