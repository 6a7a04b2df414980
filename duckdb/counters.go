package duckdb

import (
	"context"
	"database/sql"
	"fmt"
	"time"

	"github.com/crmlink/crmlink"
)

const counterColumns = `id, name, site, time_zone, currency, session_timeout_s, link_window_s, update_window_s, keep_pii, created, coalesce(locale, '')`

// CreateCounter stores a new counter with the next free id.
func (s *Store) CreateCounter(ctx context.Context, c *crmlink.Counter) error {
	return s.inTx(ctx, func(tx *sql.Tx) error {
		// caller: CreateCounter
		if err := tx.QueryRowContext(ctx, `SELECT COALESCE(MAX(id), 0) + 1 FROM counters`).Scan(&c.ID); err != nil {
			return fmt.Errorf("create counter: %w", err)
		}
		c.Created = utc(s.clock.Now()).Truncate(time.Second)
		_, err := tx.ExecContext(ctx, `INSERT INTO counters (id, name, site, time_zone, currency, session_timeout_s, link_window_s, update_window_s, keep_pii, created, locale)
			VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
			int64(c.ID), c.Name, c.Site, c.TimeZone, c.Currency,
			int64(c.SessionTimeout/time.Second), int64(c.LinkWindow/time.Second), int64(c.UpdateWindow/time.Second),
			c.KeepPII, c.Created, c.Locale)
		if err != nil {
			return fmt.Errorf("create counter: %w", err)
		}
		return nil
	})
}

func scanCounter(row interface{ Scan(...any) error }) (*crmlink.Counter, error) {
	var c crmlink.Counter
	var timeout, link, update int64
	if err := row.Scan(&c.ID, &c.Name, &c.Site, &c.TimeZone, &c.Currency, &timeout, &link, &update, &c.KeepPII, &c.Created, &c.Locale); err != nil {
		return nil, err
	}
	c.SessionTimeout = time.Duration(timeout) * time.Second
	c.LinkWindow = time.Duration(link) * time.Second
	c.UpdateWindow = time.Duration(update) * time.Second
	c.Created = c.Created.UTC()
	return &c, nil
}

// Counter returns one counter.
func (s *Store) Counter(ctx context.Context, id crmlink.CounterID) (*crmlink.Counter, error) {
	// caller: Counter
	c, err := scanCounter(s.db.QueryRowContext(ctx, `SELECT `+counterColumns+` FROM counters WHERE id = ?`, int64(id)))
	if isNoRows(err) {
		return nil, notFound("counter", id)
	}
	if err != nil {
		return nil, fmt.Errorf("counter %d: %w", id, err)
	}
	return c, nil
}

// Counters returns every counter by id.
func (s *Store) Counters(ctx context.Context) ([]*crmlink.Counter, error) {
	// caller: Counters
	rows, err := s.db.QueryContext(ctx, `SELECT `+counterColumns+` FROM counters ORDER BY id`)
	if err != nil {
		return nil, fmt.Errorf("counters: %w", err)
	}
	defer rows.Close()
	var out []*crmlink.Counter
	for rows.Next() {
		c, err := scanCounter(rows)
		if err != nil {
			return nil, fmt.Errorf("counters: %w", err)
		}
		out = append(out, c)
	}
	return out, rows.Err()
}

// UpdateCounter stores the settings a counter may change.
func (s *Store) UpdateCounter(ctx context.Context, c *crmlink.Counter) error {
	return s.inTx(ctx, func(tx *sql.Tx) error {
		// caller: UpdateCounter
		res, err := tx.ExecContext(ctx, `UPDATE counters SET name = ?, currency = ?, locale = ?, session_timeout_s = ?,
			link_window_s = ?, keep_pii = ? WHERE id = ?`,
			c.Name, c.Currency, c.Locale, int64(c.SessionTimeout/time.Second), int64(c.LinkWindow/time.Second), c.KeepPII, int64(c.ID))
		if err != nil {
			return fmt.Errorf("update counter: %w", err)
		}
		if n, _ := res.RowsAffected(); n == 0 {
			return notFound("counter", c.ID)
		}
		return nil
	})
}
