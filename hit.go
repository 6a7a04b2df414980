package crmlink

import (
	"context"
	"time"

	"github.com/shopspring/decimal"
)

// HitKind is what a hit from the tag reports.
type HitKind string

// Hit kinds.
const (
	HitPageview  HitKind = "pageview"  // a page was shown (a full load, or a history or hash change)
	HitGoal      HitKind = "goal"      // reachGoal
	HitParams    HitKind = "params"    // params or userParams, or setUserID
	HitPurchase  HitKind = "purchase"  // an e-commerce purchase read from dataLayer
	HitHeartbeat HitKind = "heartbeat" // the visitor is still on the page
)

// Hit is one event from the tag, validated and enriched by the collector.
type Hit struct {
	CounterID CounterID
	ClientID  uint64
	Time      time.Time // when the collector received it
	Kind      HitKind
	URL       string
	Referrer  string
	Title     string
	Goal      string            // HitGoal: the goal's identifier
	Params    map[string]string // visit or user parameters, flattened
	UserID    string
	// Identities are the emails and phones the hit carried, hashed (and
	// plain only if the counter keeps PII).
	Identities []Identity
	Purchase   *Purchase

	// Enrichment.
	Bot      bool
	Device   DeviceCategory
	OS       string
	Browser  string
	Country  string
	Region   string
	City     string
	Source   TrafficSource // the source this hit would give a new session
	External bool          // the hit arrived from outside the site (a new source may start a session)
}

// Purchase is an e-commerce purchase a hit carries.
type Purchase struct {
	ID       string
	Revenue  decimal.Decimal
	Currency string
}

// SessionHit is a hit placed in its session by the collector: either the
// first hit of a new session, which carries the session's fields, or a
// later one, which moves the session's end and counters.
type SessionHit struct {
	Hit
	SessionID uint64
	New       bool          // the session starts with this hit
	Start     time.Time     // the session's start
	Duration  time.Duration // from the session's start to this hit
	PageViews int           // the session's page views including this hit
	// Attribution is, on the hit that opens a session (New), the
	// session's attribution (NextAttribution), when the collector knows
	// the ClientID's sessions before it; the engine stores it as it is.
	// When it does not (First.SessionID is 0: an import of the counter's
	// sessions was under way, or the ClientID's latest session does not
	// come before this one), the engine attributes the session from the
	// sessions it has stored, as it does for imported ones.
	Attribution SessionAttribution
}

// HitStore stores hits.
type HitStore interface {
	// WriteHits stores a batch of hits. When it returns nil, every hit of
	// the batch is durable; the store applies them to new sessions, the
	// counters of continuing ones, identities, purchases and goal reaches
	// in order, at once or a moment later.
	WriteHits(ctx context.Context, hits []SessionHit) error
	// SyncHits returns once every hit written before it is applied.
	SyncHits(ctx context.Context) error
	// LastSessions returns the latest session of each of the ClientIDs
	// that has one, with its attribution, for a collector that has no
	// memory of them (new visitors, or after a restart). The collector
	// asks for many at once.
	LastSessions(ctx context.Context, counter CounterID, clientIDs []uint64) (map[uint64]*Session, error)
}

// HitPort is an engine's write port for the tag's hits. Package hitlog
// makes each batch durable and numbers it, then hands the engine batches
// in number order; the engine turns them into sessions, identities,
// purchases and goal reaches.
type HitPort interface {
	// HitsApplied returns the number of the last batch applied; 0 when
	// none was.
	HitsApplied(ctx context.Context) (int64, error)
	// ApplyHits applies batches, in order, the last of them numbered
	// upto, and records upto as applied. It is atomically visible and
	// applied once: until it returns nil, none of it may show, and a
	// call that failed or was cut short by a crash is made again with the
	// same batches, which must then count once (in a transaction, or by
	// inserts an engine deduplicates, keyed by batch).
	ApplyHits(ctx context.Context, upto int64, batches [][]SessionHit) error
	// LastSessions is HitStore's.
	LastSessions(ctx context.Context, counter CounterID, clientIDs []uint64) (map[uint64]*Session, error)
}
