package crmlink

import (
	"context"
	"strings"
	"time"
)

// SegmentID identifies a saved segment within its counter.
type SegmentID int64

// Segment is a saved, named condition on a counter's customers and
// visitors (package report parses and plans its expression). Metrica's
// management API gives segments this shape.
type Segment struct {
	ID         SegmentID
	CounterID  CounterID
	Name       string
	Expression string
	Created    time.Time
	Updated    time.Time
}

// Limits of a segment.
const (
	MaxSegmentName        = 255
	MaxSegmentExpression  = 4096
	MaxSegmentsPerCounter = 1000 // segments a counter keeps
)

// Normalize trims the name and checks both fields, returning an *Error
// of kind Invalid that names the bad one.
func (s *Segment) Normalize() error {
	s.Name = strings.TrimSpace(s.Name)
	if s.Name == "" || len([]rune(s.Name)) > MaxSegmentName {
		return Errorf(KindInvalid, "name: want 1 to %d characters", MaxSegmentName)
	}
	if strings.TrimSpace(s.Expression) == "" {
		return Errorf(KindInvalid, "expression: missing")
	}
	if len(s.Expression) > MaxSegmentExpression {
		return Errorf(KindInvalid, "expression: longer than %d bytes", MaxSegmentExpression)
	}
	return nil
}

// SegmentStore keeps a counter's saved segments.
type SegmentStore interface {
	// CreateSegment stores a new segment, giving it an id and its times.
	// The segment must already be normalised and its expression valid.
	CreateSegment(ctx context.Context, s *Segment) error
	// Segment returns one segment, or an *Error of kind NotFound.
	Segment(ctx context.Context, counter CounterID, id SegmentID) (*Segment, error)
	// Segments lists a counter's segments by id.
	Segments(ctx context.Context, counter CounterID) ([]*Segment, error)
	// UpdateSegment stores a segment's name and expression, and its
	// Updated time; NotFound when there is no such segment.
	UpdateSegment(ctx context.Context, s *Segment) error
	// DeleteSegment removes a segment; NotFound when there is none.
	DeleteSegment(ctx context.Context, counter CounterID, id SegmentID) error
	// RecordSegmentExport records an audience file downloaded or pushed,
	// stamping its time.
	RecordSegmentExport(ctx context.Context, e *SegmentExport) error
	// SegmentExports lists a counter's exports, newest first, of one
	// segment (0: of all), at most limit.
	SegmentExports(ctx context.Context, counter CounterID, segment SegmentID, limit int) ([]SegmentExport, error)
	// SetAudienceTarget stores where a counter's audiences go on a
	// platform, stamping its time.
	SetAudienceTarget(ctx context.Context, t *AudienceTarget) error
	// AudienceTarget returns a counter's target on a platform, or an
	// *Error of kind NotFound.
	AudienceTarget(ctx context.Context, counter CounterID, platform string) (*AudienceTarget, error)
	// SetSegmentPush stores a segment's push in a format (by counter,
	// segment and format).
	SetSegmentPush(ctx context.Context, p *SegmentPush) error
	// SegmentPushes lists the pushes of a counter's segments (counter 0:
	// of every counter).
	SegmentPushes(ctx context.Context, counter CounterID) ([]SegmentPush, error)
}

// AudienceTarget is where a counter's audiences go on a platform: its
// API's base URL and the OAuth token to call it with.
type AudienceTarget struct {
	CounterID CounterID
	Platform  string // "yandex"
	BaseURL   string
	Token     string
	Updated   time.Time
}

// SegmentPush is a segment pushed to a platform in a format: the
// platform's segment, which later pushes replace the data of, and how
// often to push again on a schedule (0: only when asked).
type SegmentPush struct {
	CounterID  CounterID
	SegmentID  SegmentID
	Format     string
	TargetID   int64
	EveryHours int
	LastPush   time.Time // zero: never pushed
}

// SegmentExport is one audience file downloaded, or pushed to a platform.
type SegmentExport struct {
	CounterID   CounterID
	SegmentID   SegmentID
	SegmentName string
	Kind        string // "download" or "push"
	Format      string
	Who         string // the token's or the user's name
	At          time.Time
	Rows        int64
	Members     int64
	LeftOut     int64
	Target      string // a push's segment id at the platform
	Error       string // why a push failed
}

// Level is whose value a segment name reads: a session's, an order's (or
// one product line of an order), a customer's, or a visitor's over all
// their sessions.
type Level int

// Levels.
const (
	LevelSession Level = iota
	LevelOrder
	LevelOrderLine
	LevelCustomer
	LevelVisitor
)

// RowKind is what an EXISTS, NONE or ALL of a segment ranges over: the
// sessions of the person's ClientIDs (robots' aside), the customer's full
// orders, or their orders' product lines.
type RowKind string

// Row kinds.
const (
	RowSessions   RowKind = "sessions"
	RowOrders     RowKind = "orders"
	RowOrderLines RowKind = "order_lines"
)

// ValueType is what kind of value a name has, which decides the
// comparisons it takes.
type ValueType int

// Value types.
const (
	TypeText    ValueType = iota
	TypeNumber            // a decimal
	TypeDay               // a date in the counter's time zone, YYYY-MM-DD
	TypeDaysAgo           // whole days before today in the counter's time zone
	TypeYesNo             // 'yes' or 'no'
	TypeStatus            // an order status type (paid, in_progress, ...)
)

// The names only segments read. Session names (ym:s:) beyond the
// report dimensions, then orders' (cdp:o:), customers' (cdp:c:) and
// visitors' (ym:u:). A customer's aggregates count full orders, and
// "orders" are those not marked spam; money is in the counter's
// currency. Field values of the later levels are the names themselves.
const (
	DimDaysAgo DimensionField = "daysAgo" // days from the session's date to today
	// DimGoal is a goal the session reached (site or CRM), by id. As a
	// report's dimension (ym:s:goal), a session is a row of each goal it
	// reached, and of none (empty) when it reached none, and the totals
	// count each session once.
	DimGoal      DimensionField = "goal"
	DimPurchases DimensionField = "purchases" // the session's e-commerce purchases
	DimPageViews DimensionField = "pageViews"
	DimDay       DimensionField = "day" // ym:s:date in a segment: the session's date as a day

	OrderID              DimensionField = "cdp:o:id"
	OrderStatus          DimensionField = "cdp:o:status"     // the CRM's own status
	OrderStatusType      DimensionField = "cdp:o:statusType" // its type
	OrderRevenue         DimensionField = "cdp:o:revenue"
	OrderCost            DimensionField = "cdp:o:cost"
	OrderProfit          DimensionField = "cdp:o:profit" // revenue less cost
	OrderCurrency        DimensionField = "cdp:o:currency"
	OrderCreateDate      DimensionField = "cdp:o:createDate"
	OrderDaysAgo         DimensionField = "cdp:o:daysAgo" // days since it was created
	OrderAttribute       DimensionField = "cdp:o:attribute"
	OrderProduct         DimensionField = "cdp:o:product" // a product line's name
	OrderProductQuantity DimensionField = "cdp:o:productQuantity"

	CustID                  DimensionField = "cdp:c:id"
	CustAttribute           DimensionField = "cdp:c:attribute"
	CustHasEmail            DimensionField = "cdp:c:hasEmail"
	CustHasPhone            DimensionField = "cdp:c:hasPhone"
	CustHasClientID         DimensionField = "cdp:c:hasClientID"
	CustOrders              DimensionField = "cdp:c:orders"
	CustInProgressOrders    DimensionField = "cdp:c:inProgressOrders"
	CustPaidOrders          DimensionField = "cdp:c:paidOrders"
	CustCancelledOrders     DimensionField = "cdp:c:cancelledOrders"
	CustSpamOrders          DimensionField = "cdp:c:spamOrders"
	CustOtherOrders         DimensionField = "cdp:c:otherOrders"
	CustPaidRevenue         DimensionField = "cdp:c:paidRevenue"
	CustPaidProfit          DimensionField = "cdp:c:paidProfit"
	CustAverageCheque       DimensionField = "cdp:c:averageCheque"
	CustProductQuantity     DimensionField = "cdp:c:productQuantity"
	CustFirstOrderDate      DimensionField = "cdp:c:firstOrderDate"
	CustLastOrderDate       DimensionField = "cdp:c:lastOrderDate"
	CustDaysSinceFirstOrder DimensionField = "cdp:c:daysSinceFirstOrder"
	CustDaysSinceLastOrder  DimensionField = "cdp:c:daysSinceLastOrder"
	CustLastOrderStatus     DimensionField = "cdp:c:lastOrderStatus"
	CustLastOrderStatusType DimensionField = "cdp:c:lastOrderStatusType"

	UserVisits              DimensionField = "ym:u:visits"
	UserPurchases           DimensionField = "ym:u:purchases"
	UserFirstVisitDate      DimensionField = "ym:u:firstVisitDate"
	UserLastVisitDate       DimensionField = "ym:u:lastVisitDate"
	UserDaysSinceFirstVisit DimensionField = "ym:u:daysSinceFirstVisit"
	UserDaysSinceLastVisit  DimensionField = "ym:u:daysSinceLastVisit"
)

// Level is the level a field's value belongs to.
func (f DimensionField) Level() Level {
	s := string(f)
	switch {
	case f == OrderProduct || f == OrderProductQuantity:
		return LevelOrderLine
	case strings.HasPrefix(s, "cdp:o:"):
		return LevelOrder
	case strings.HasPrefix(s, "cdp:c:"):
		return LevelCustomer
	case strings.HasPrefix(s, "ym:u:"):
		return LevelVisitor
	}
	return LevelSession
}

// SegmentPlan is a segment's condition as package report plans it for an
// engine: a condition on each person (a customer, or a visitor whose
// ClientID no customer owns), made of EXISTS, NONE and ALL over their
// rows, comparisons of their own values, and AND, OR and NOT. Day
// comparisons come planned as ranges of days.
type SegmentPlan struct {
	CounterID CounterID
	Cond      *Filter
	// SiteOnly says the condition reads no CRM data, so visitors without
	// a customer record can be members.
	SiteOnly bool
	// Currency is the currency whose orders the money values sum.
	Currency string
	// Location is the counter's time zone, which day ranges are in.
	Location *time.Location
}

// DayStart is the instant a day (a date as midnight UTC) begins in loc.
func DayStart(day time.Time, loc *time.Location) time.Time {
	return time.Date(day.Year(), day.Month(), day.Day(), 0, 0, 0, 0, loc)
}

// SegmentSize is how many people a segment holds, and of their
// identifiers: distinct ClientIDs, and distinct emails and phones (as the
// SHA-256 hashes kept of them). The Identified counts are what audience
// files can use (package audience turns them into each format's rows).
type SegmentSize struct {
	Customers int64 `json:"customers"`
	Visitors  int64 `json:"visitors"` // members with no customer record, by ClientID
	ClientIDs int64 `json:"client_ids"`
	Emails    int64 `json:"emails"`
	Phones    int64 `json:"phones"`
	// Identified counts the member customers by the identifiers they
	// have, and the rows their identifiers fill.
	Identified IdentifiedCounts `json:"-"`
}

// IdentifiedCounts count member customers by the hashes kept of their
// emails and phones.
type IdentifiedCounts struct {
	WithEmail     int64 // with an email's SHA-256
	WithPhone     int64 // with a phone's SHA-256 (digits with the country code)
	WithPhoneE164 int64 // with a phone's SHA-256 in E.164 (with "+")
	// EmailOrPhone: with either SHA-256; EmailOrE164: with an email's or
	// an E.164 phone's.
	EmailOrPhone, EmailOrE164 int64
	// MD5Only: with no SHA-256 of an email or phone, but an MD5 of one.
	MD5Only int64
	// RowsEmailPhone sums, over the customers, the larger of their counts
	// of emails and phones: the rows of a file that pairs them up;
	// RowsEmailE164 likewise with E.164 phones.
	RowsEmailPhone, RowsEmailE164 int64
	// EmailValues and PhoneValues sum the customers' emails and phones
	// (SHA-256), ClientIDValues the members' ClientIDs; WithClientID
	// counts the members with one (every visitor).
	EmailValues, PhoneValues, ClientIDValues, WithClientID int64
}

// SegmentMember is one member of a segment: a customer (UniqID) or a
// visitor (one ClientID), with the identifiers known for them. Emails
// and phones are SHA-256 hashes, never plain.
type SegmentMember struct {
	UniqID    string   `json:"uniq_id,omitempty"`
	ClientIDs []string `json:"client_ids"`
	Emails    []string `json:"email_sha256"`
	Phones    []string `json:"phone_sha256"`
}

// AudienceMember is a segment's member as audience files read them:
// every identifier kept. Emails and Phones are plain only where the
// counter keeps plain values.
type AudienceMember struct {
	UniqID                string   // "" for a visitor
	ClientIDs             []uint64 // a customer's own and those they own; a visitor's one
	EmailSHA256, EmailMD5 []string
	PhoneSHA256, PhoneMD5 []string
	PhoneE164SHA256       []string
	Emails, Phones        []string
}

// SegmentPort is an engine's part of segments: it evaluates a planned
// condition set-based in its own SQL.
type SegmentPort interface {
	// SegmentSize counts a segment's members and their identifiers.
	SegmentSize(ctx context.Context, p *SegmentPlan) (SegmentSize, error)
	// SegmentMembers returns a page of a segment's members: customers by
	// uniq_id, then visitors by ClientID.
	SegmentMembers(ctx context.Context, p *SegmentPlan, offset, limit int) ([]SegmentMember, error)
	// SegmentAudience calls each with every member in the order of
	// SegmentMembers, streaming: memory stays flat in the segment's
	// size. m is reused between calls.
	SegmentAudience(ctx context.Context, p *SegmentPlan, each func(m *AudienceMember) error) error
}
