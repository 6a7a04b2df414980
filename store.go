package crmlink

import (
	"context"
	"time"
)

// Store keeps everything crmlink knows. Each engine (the embedded DuckDB,
// ClickHouse) implements it in its own package, and store/storetest holds the
// contract every implementation must pass.
//
// Work that scans data runs inside the engine: imports stage rows and apply
// them in one statement, and the linking and report methods that later parts
// add (LinkOrders, Report) are SQL run by the store, not loops in Go.
type Store interface {
	CounterStore
	TokenStore
	SessionStore
	UploadStore
	// Ping checks that the store answers.
	Ping(ctx context.Context) error
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
