package duckdb

import (
	"context"
	"database/sql"
	"fmt"
	"time"

	"github.com/crmlink/crmlink"
)

// CreateUser stores a new dashboard user.
func (s *Store) CreateUser(ctx context.Context, u *crmlink.User) error {
	if u.Created.IsZero() {
		u.Created = utc(s.clock.Now()).Truncate(time.Second)
	}
	return s.inTx(ctx, func(tx *sql.Tx) error {
		var n int
		// caller: CreateUser
		if err := tx.QueryRowContext(ctx, `SELECT count(*) FROM users WHERE name = ?`, u.Name).Scan(&n); err != nil {
			return fmt.Errorf("create user: %w", err)
		}
		if n > 0 {
			return crmlink.Errorf(crmlink.KindConflict, "user %q already exists", u.Name)
		}
		// caller: CreateUser
		_, err := tx.ExecContext(ctx, `INSERT INTO users (name, password_hash, counter_id, scope, created) VALUES (?, ?, ?, ?, ?)`,
			u.Name, u.PasswordHash, int64(u.CounterID), u.Scope.String(), utc(u.Created))
		if err != nil {
			return fmt.Errorf("create user: %w", err)
		}
		return nil
	})
}

const userColumns = `name, password_hash, counter_id, scope, created`

func scanUser(row interface{ Scan(...any) error }) (*crmlink.User, error) {
	var u crmlink.User
	var scope string
	if err := row.Scan(&u.Name, &u.PasswordHash, &u.CounterID, &scope, &u.Created); err != nil {
		return nil, err
	}
	var err error
	if u.Scope, err = crmlink.ParseScope(scope); err != nil {
		return nil, fmt.Errorf("user %q: %w", u.Name, err)
	}
	u.Created = u.Created.UTC()
	return &u, nil
}

// User returns one user.
func (s *Store) User(ctx context.Context, name string) (*crmlink.User, error) {
	// caller: User (every request of a user's browser)
	u, err := scanUser(s.db.QueryRowContext(ctx, `SELECT `+userColumns+` FROM users WHERE name = ?`, name))
	if isNoRows(err) {
		return nil, notFound("user", name)
	}
	if err != nil {
		return nil, fmt.Errorf("user: %w", err)
	}
	return u, nil
}

// Users lists one counter's users.
func (s *Store) Users(ctx context.Context, counter crmlink.CounterID) ([]*crmlink.User, error) {
	// caller: Users (Settings)
	rows, err := s.db.QueryContext(ctx, `SELECT `+userColumns+` FROM users WHERE counter_id = ? ORDER BY name`, int64(counter))
	if err != nil {
		return nil, fmt.Errorf("users: %w", err)
	}
	defer rows.Close()
	var out []*crmlink.User
	for rows.Next() {
		u, err := scanUser(rows)
		if err != nil {
			return nil, fmt.Errorf("users: %w", err)
		}
		out = append(out, u)
	}
	return out, rows.Err()
}

// DeleteUser removes a user and their signed-in browsers.
func (s *Store) DeleteUser(ctx context.Context, name string) error {
	return s.inTx(ctx, func(tx *sql.Tx) error {
		// caller: DeleteUser
		res, err := tx.ExecContext(ctx, `DELETE FROM users WHERE name = ?`, name)
		if err != nil {
			return fmt.Errorf("delete user: %w", err)
		}
		if n, _ := res.RowsAffected(); n == 0 {
			return notFound("user", name)
		}
		// caller: DeleteUser (sessions)
		if _, err := tx.ExecContext(ctx, `DELETE FROM web_sessions WHERE user_name = ?`, name); err != nil {
			return fmt.Errorf("delete user: %w", err)
		}
		return nil
	})
}

// SetUserPassword replaces a user's password hash.
func (s *Store) SetUserPassword(ctx context.Context, name, hash string) error {
	return s.inTx(ctx, func(tx *sql.Tx) error {
		// caller: SetUserPassword
		res, err := tx.ExecContext(ctx, `UPDATE users SET password_hash = ? WHERE name = ?`, hash, name)
		if err != nil {
			return fmt.Errorf("set password: %w", err)
		}
		if n, _ := res.RowsAffected(); n == 0 {
			return notFound("user", name)
		}
		return nil
	})
}

// CreateWebSession stores a signed-in browser, and forgets the expired ones.
func (s *Store) CreateWebSession(ctx context.Context, ws *crmlink.WebSession) error {
	if ws.Created.IsZero() {
		ws.Created = utc(s.clock.Now()).Truncate(time.Second)
	}
	return s.inTx(ctx, func(tx *sql.Tx) error {
		// caller: CreateWebSession
		if _, err := tx.ExecContext(ctx, `DELETE FROM web_sessions WHERE expires < ?::TIMESTAMP`, tsText(ws.Created)); err != nil {
			return fmt.Errorf("create web session: %w", err)
		}
		// caller: CreateWebSession
		_, err := tx.ExecContext(ctx, `INSERT INTO web_sessions (hash, token_hash, user_name, created, expires) VALUES (?, ?, ?, ?, ?)`,
			ws.Hash, ws.TokenHash, ws.UserName, utc(ws.Created), utc(ws.Expires))
		if err != nil {
			return fmt.Errorf("create web session: %w", err)
		}
		return nil
	})
}

// WebSession returns a live signed-in browser.
func (s *Store) WebSession(ctx context.Context, hash string, now time.Time) (*crmlink.WebSession, error) {
	var ws crmlink.WebSession
	// caller: WebSession (every request of a signed-in browser)
	err := s.db.QueryRowContext(ctx, `SELECT hash, token_hash, user_name, created, expires FROM web_sessions
		WHERE hash = ? AND expires > ?::TIMESTAMP`, hash, tsText(now)).
		Scan(&ws.Hash, &ws.TokenHash, &ws.UserName, &ws.Created, &ws.Expires)
	if isNoRows(err) {
		return nil, crmlink.Errorf(crmlink.KindUnauthorized, "signed out: sign in again")
	}
	if err != nil {
		return nil, fmt.Errorf("web session: %w", err)
	}
	ws.Created, ws.Expires = ws.Created.UTC(), ws.Expires.UTC()
	return &ws, nil
}

// DeleteWebSession signs a browser out.
func (s *Store) DeleteWebSession(ctx context.Context, hash string) error {
	return s.inTx(ctx, func(tx *sql.Tx) error {
		// caller: DeleteWebSession
		if _, err := tx.ExecContext(ctx, `DELETE FROM web_sessions WHERE hash = ?`, hash); err != nil {
			return fmt.Errorf("delete web session: %w", err)
		}
		return nil
	})
}
