package crmlink

import (
	"context"
	"time"

	"github.com/shopspring/decimal"
)

// Store keeps everything crmlink knows. Package store makes one of an
// Engine (the embedded DuckDB, ClickHouse) by putting the shared pipelines
// in front of it, and store/storetest holds the contract every store must
// pass.
//
// Work that scans data runs inside the engine: imports stage rows and apply
// them set-based, and linking (LinkStore) and report aggregation are SQL
// the engine runs: Go decides what to ask, the engine scans.
type Store interface {
	StoreCore
	ReportStore
	HitStore
	// AcceptOrders validates and keeps an orders upload as UploadOrders
	// would, and returns once it is durably queued: it is applied in the
	// background, in the order accepted, and after a crash when the store
	// opens; up.Queued says it is. An upload that fails validation fails
	// here, recorded. One with on_error=skip (up.SkipInvalid) is applied
	// before it returns: which of its orders name a known contact is
	// decided when it is applied.
	AcceptOrders(ctx context.Context, up *Upload, r OrderReader) error
	// SyncUploads applies every queued upload now.
	SyncUploads(ctx context.Context) error
}

// Engine is what a store engine implements (package duckdb, ClickHouse to
// come): the Store without the pipelines that any engine shares, with
// the write ports those call instead. Package store puts the pipelines in
// front of an Engine, which makes it a Store.
type Engine interface {
	StoreCore
	ReportPort
	HitPort
	QueuePort
	// LocalDir is the directory for the store's files on this machine
	// (the hit log's); "" keeps them in memory, as for a store that lives
	// only as long as the process.
	LocalDir() string
}

// QueuePort is an engine's port for the orders uploads that package
// uploadqueue accepts: it reads and validates their rows, spools them in
// files of spool.OrderColumns, has the engine check them, keeps them
// durably, and has the engine apply them in the order accepted.
type QueuePort interface {
	// CheckOrders checks a spooled chunk of an orders upload against the
	// store, as UploadOrders would, and stores nothing: each full order's
	// customer must be a known contact, and each row of an upload whose
	// rows may be partial (Upload.PartialRows) a known order or a whole
	// one. It returns the rows refused, nil when none is.
	CheckOrders(ctx context.Context, up *Upload, chunk SpoolFile) (*ValidationError, error)
	// RecordUpload records an upload that failed before it could be
	// applied, for Upload and Uploads to return.
	RecordUpload(ctx context.Context, up *Upload) error
	// ApplyUpload applies an accepted orders upload from its chunks, in
	// order, and records it with its counts and links: atomically visible
	// and applied once. An upload the store has recorded already (by
	// counter and id) is not applied again, so that the caller can call
	// again after a crash or a call that failed or was cut short, which
	// applies nothing. An error wrapping ErrNoSpace or ErrStoreFailed is
	// not the upload's fault (it is tried again later); any other is, and
	// the caller records the upload as failed.
	ApplyUpload(ctx context.Context, up *Upload, chunks []SpoolFile) error
}

// StoreCore is what a Store and an Engine share.
type StoreCore interface {
	CounterStore
	TokenStore
	UserStore
	SessionStore
	UploadStore
	CRMStore
	OfflineConversionStore
	LinkStore
	SegmentStore
	SegmentPort
	ExpenseStore
	ConversionStore
	SchemaStore
	// Check probes the store with a real write and a real read, as a
	// health check must: an error says why the store cannot serve now
	// (a full disk, a failed engine), with the kind a user sees.
	Check(ctx context.Context) error
	// Close releases the store; it waits for writes in flight.
	Close() error
}

// CounterStore keeps counters.
type CounterStore interface {
	// CreateCounter stores a new counter, giving it an id and a creation
	// time. The counter must already be normalised.
	CreateCounter(ctx context.Context, c *Counter) error
	// Counter returns one counter, or an *Error of kind NotFound.
	Counter(ctx context.Context, id CounterID) (*Counter, error)
	// Counters returns every counter, by id.
	Counters(ctx context.Context) ([]*Counter, error)
	// UpdateCounter stores a counter's settings: name, currency, locale,
	// session timeout, link window and KeepPII. Its site, time zone and
	// update window stay as created (stored sessions keep their local
	// dates, stored orders their report versions). The counter must
	// already be normalised.
	UpdateCounter(ctx context.Context, c *Counter) error
}

// TokenStore keeps access tokens, by hash only.
type TokenStore interface {
	CreateToken(ctx context.Context, t *Token) error
	// TokenByHash returns a live token, or an *Error of kind Unauthorized.
	TokenByHash(ctx context.Context, hash string) (*Token, error)
	// Tokens lists the live tokens of a counter (0: tokens for all counters).
	Tokens(ctx context.Context, counter CounterID) ([]*Token, error)
	// RevokeToken makes a token unusable; NotFound if there is no such live token.
	RevokeToken(ctx context.Context, hash string) error
}

// SessionStore keeps sessions.
type SessionStore interface {
	// ImportSessions reads every session from r and stores them in one
	// transaction, recording up as the import's upload: all of r's sessions
	// or none. A session whose id the counter already has replaces it, so a
	// file imported twice gives the same sessions. On return up holds the
	// counts, status and row errors, and has been recorded even if the
	// import failed.
	ImportSessions(ctx context.Context, up *Upload, r SessionReader) error
	// SessionStats summarises a counter's sessions.
	SessionStats(ctx context.Context, counter CounterID) (SessionStats, error)
	// ClientSessions returns the sessions of one ClientID, oldest first.
	ClientSessions(ctx context.Context, counter CounterID, clientID uint64) ([]Session, error)
}

// SessionStats summarises a counter's sessions.
type SessionStats struct {
	Sessions int64
	Clients  int64
	First    time.Time
	Last     time.Time
}

// UploadStore keeps the record of uploads.
type UploadStore interface {
	// Upload returns one upload of a counter with its row errors.
	Upload(ctx context.Context, counter CounterID, id string) (*Upload, error)
	// Uploads lists a counter's uploads, newest first, created before the
	// given time (zero: no bound), at most limit of them, without row errors.
	Uploads(ctx context.Context, counter CounterID, before time.Time, limit int) ([]*Upload, error)
}

// CRMStore keeps the CRM's customers and orders.
type CRMStore interface {
	// UploadContacts merges the reader's contacts by up.MergeMode in one
	// transaction and records up, as ImportSessions does. A reader that
	// skips bad rows (on_error=skip) and has an Errors method gets them
	// recorded with the upload.
	UploadContacts(ctx context.Context, up *Upload, r ContactReader) error
	// UploadOrders merges full orders (up.Entity orders) or simple orders
	// (simple_orders) and keeps every accepted row as a version in the
	// order's history. A full order whose contact the counter does not have
	// is a row error.
	UploadOrders(ctx context.Context, up *Upload, r OrderReader) error
	// Contact returns one contact.
	Contact(ctx context.Context, counter CounterID, uniqID string) (*Contact, error)
	// CustomerOrders returns a customer's full orders, newest first, at
	// most limit of them, each with its versions and its link: what the
	// customer's page shows. Their Order holds the id, times, status,
	// money and report data, not the products or identifiers.
	CustomerOrders(ctx context.Context, counter CounterID, uniqID string, limit int) ([]CustomerOrder, error)
	// Order returns one order's current state and its versions, oldest first.
	Order(ctx context.Context, counter CounterID, id string) (*Order, []OrderVersion, error)
	// StatusMappings returns the counter's status mapping.
	StatusMappings(ctx context.Context, counter CounterID) ([]StatusMapping, error)
	// SetStatusMappings adds or replaces the given statuses of the mapping.
	SetStatusMappings(ctx context.Context, counter CounterID, m []StatusMapping) error
}

// CustomerOrder is one order of a customer, with its history and link.
type CustomerOrder struct {
	Order    Order
	Versions []OrderVersion
	Link     *OrderLink // nil: not linked
}

// OrderVersion is one accepted version of an order.
type OrderVersion struct {
	Version    int
	UploadID   string
	Line       int
	Accepted   time.Time
	Status     string
	StatusType StatusType
	Revenue    decimal.Decimal
	Cost       decimal.NullDecimal
	Created    time.Time
	Updated    time.Time
	Finished   time.Time
}

// OfflineConversionStore keeps offline conversions.
type OfflineConversionStore interface {
	// UploadOfflineConversions stores the reader's conversions in one
	// transaction and records up, as the other uploads do.
	UploadOfflineConversions(ctx context.Context, up *Upload, r OfflineConversionReader) error
	// OfflineConversions returns the conversions of one upload, in file order.
	OfflineConversions(ctx context.Context, counter CounterID, uploadID string) ([]OfflineConversion, error)
}

// LinkStats tells how many orders linked to a session, and why the others
// did not, by reason (no_identifier, unknown_customer,
// no_session_before_order, outside_link_window).
type LinkStats struct {
	Linked   int
	Unlinked map[string]int
}

// LinkStore links CRM orders to sessions. Uploads link the orders they
// touch as part of their transaction; Relink links a whole counter again
// and gives the same links.
type LinkStore interface {
	Relink(ctx context.Context, counter CounterID) (LinkStats, error)
	// RelinkUpload links again the orders one upload wrote: what the
	// upload itself did as it ended.
	RelinkUpload(ctx context.Context, counter CounterID, uploadID string) (LinkStats, error)
	// OrderLink returns the link of one order, or an *Error of kind
	// NotFound when it has none.
	OrderLink(ctx context.Context, counter CounterID, orderID string) (*OrderLink, error)
	// UnlinkedOrders lists the orders that link to no session, each with
	// the reason linking gives for it now: those an upload wrote (q.UploadID)
	// or a customer's (q.UniqID), by id, at most q.Limit of them.
	UnlinkedOrders(ctx context.Context, q UnlinkedQuery) ([]UnlinkedOrder, error)
	// Goals lists a counter's goals with their reaches.
	Goals(ctx context.Context, counter CounterID) ([]Goal, error)
	// CreateGoal creates an action goal (g.Type "action", g.Action its
	// identifier, not another goal's) and sets g.ID.
	CreateGoal(ctx context.Context, g *Goal) error
	// UpdateGoal renames an action goal and changes its identifier.
	UpdateGoal(ctx context.Context, g *Goal) error
	// DeleteGoal deletes an action goal and its reaches; the CRM goals
	// are the counter's own and cannot be deleted.
	DeleteGoal(ctx context.Context, counter CounterID, id int64) error
	// GoalReaches lists one order's goal reaches.
	GoalReaches(ctx context.Context, counter CounterID, orderID string) ([]GoalReach, error)
	// SessionGoalReaches lists the goal reaches at the given sessions,
	// by time.
	SessionGoalReaches(ctx context.Context, counter CounterID, sessions []uint64) ([]GoalReach, error)
}

// UnlinkedQuery asks for unlinked orders: of one upload, or of one
// customer.
type UnlinkedQuery struct {
	CounterID CounterID
	UploadID  string
	UniqID    string
	Limit     int
}

// Reasons an order links to no session, as linking gives them.
const (
	UnlinkedNoIdentifier    = "no_identifier"           // the order's customer has no identifier at all
	UnlinkedUnknownCustomer = "unknown_customer"        // none of the customer's identifiers was seen on the site
	UnlinkedNoSession       = "no_session_before_order" // the customer's sessions all began after the order
	UnlinkedOutsideWindow   = "outside_link_window"     // the latest session before the order is older than the link window
	UnlinkedRobot           = "robot_session"           // only a robot's session carries the order's purchase id
	// UnlinkedPending: the order would link now, and will at the next
	// relink (identifiers or sessions arrived since it was linked).
	UnlinkedPending = "pending"
)

// UnlinkedOrder is an order that links to no session, and why.
type UnlinkedOrder struct {
	OrderID    string
	UniqID     string // empty for a simple order without client_uniq_id
	Created    time.Time
	StatusType StatusType
	Revenue    decimal.Decimal
	Currency   string
	Reason     string
}

// GoalReach is one goal reached by one order, at its linked session. It
// never changes once recorded.
type GoalReach struct {
	GoalID    int64
	OrderID   string
	SessionID uint64
	Time      time.Time
	Revenue   decimal.Decimal
}

// OrderLink is an order's link to its session.
type OrderLink struct {
	OrderID      string
	SessionID    uint64
	ClientID     uint64
	Method       string // purchase_id, client_id, user_id, email, phone
	SessionStart time.Time
	// ClickID is the session's ad click id ("gclid=...", "yclid=..."),
	// which conversions sent back to the ad platforms name; "" for none.
	ClickID string
}
