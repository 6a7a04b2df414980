package duckdb

import (
	"context"
	"database/sql"
	"fmt"
	"time"

	"github.com/crmlink/crmlink"
)

// CreateToken stores a token's hash and scope.
func (s *Store) CreateToken(ctx context.Context, t *crmlink.Token) error {
	if t.Created.IsZero() {
		t.Created = utc(s.clock.Now()).Truncate(time.Second)
	}
	return s.inTx(ctx, func(tx *sql.Tx) error {
		// caller: CreateToken
		_, err := tx.ExecContext(ctx, `INSERT INTO tokens (hash, counter_id, scope, name, created) VALUES (?, ?, ?, ?, ?)`,
			t.Hash, int64(t.CounterID), t.Scope.String(), t.Name, utc(t.Created))
		if err != nil {
			return fmt.Errorf("create token: %w", err)
		}
		return nil
	})
}

func scanToken(row interface{ Scan(...any) error }) (*crmlink.Token, error) {
	var t crmlink.Token
	var scope string
	if err := row.Scan(&t.Hash, &t.CounterID, &scope, &t.Name, &t.Created); err != nil {
		return nil, err
	}
	sc, err := crmlink.ParseScope(scope)
	if err != nil {
		return nil, err
	}
	t.Scope = sc
	t.Created = t.Created.UTC()
	return &t, nil
}

// TokenByHash returns a live token.
func (s *Store) TokenByHash(ctx context.Context, hash string) (*crmlink.Token, error) {
	// caller: TokenByHash (every authenticated request)
	t, err := scanToken(s.db.QueryRowContext(ctx,
		`SELECT hash, counter_id, scope, name, created FROM tokens WHERE hash = ? AND revoked IS NULL`, hash))
	if isNoRows(err) {
		return nil, crmlink.Errorf(crmlink.KindUnauthorized, "invalid or revoked token")
	}
	if err != nil {
		return nil, fmt.Errorf("token: %w", err)
	}
	return t, nil
}

// Tokens lists the live tokens of one counter (0: the all-counter tokens).
func (s *Store) Tokens(ctx context.Context, counter crmlink.CounterID) ([]*crmlink.Token, error) {
	// caller: Tokens
	rows, err := s.db.QueryContext(ctx,
		`SELECT hash, counter_id, scope, name, created FROM tokens WHERE counter_id = ? AND revoked IS NULL ORDER BY created, hash`,
		int64(counter))
	if err != nil {
		return nil, fmt.Errorf("tokens: %w", err)
	}
	defer rows.Close()
	var out []*crmlink.Token
	for rows.Next() {
		t, err := scanToken(rows)
		if err != nil {
			return nil, fmt.Errorf("tokens: %w", err)
		}
		out = append(out, t)
	}
	return out, rows.Err()
}

// RevokeToken marks a live token revoked.
func (s *Store) RevokeToken(ctx context.Context, hash string) error {
	return s.inTx(ctx, func(tx *sql.Tx) error {
		// caller: RevokeToken
		res, err := tx.ExecContext(ctx, `UPDATE tokens SET revoked = ? WHERE hash = ? AND revoked IS NULL`,
			utc(s.clock.Now()), hash)
		if err != nil {
			return fmt.Errorf("revoke token: %w", err)
		}
		if n, _ := res.RowsAffected(); n == 0 {
			return notFound("token", hash)
		}
		return nil
	})
}
