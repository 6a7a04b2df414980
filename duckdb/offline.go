package duckdb

import (
	"context"
	"database/sql"
	"fmt"
	"time"

	"github.com/crmlink/crmlink"
	"github.com/crmlink/crmlink/spool"
)

var offlineColumns = []column{
	{"line", "BIGINT"}, {"id_type", "VARCHAR"}, {"id_value", "VARCHAR"}, {"target", "VARCHAR"},
	{"time_us", "BIGINT"}, {"price", "DECIMAL(18,4)"}, {"currency", "VARCHAR"},
}

// UploadOfflineConversions appends conversions in one transaction.
func (s *Store) UploadOfflineConversions(ctx context.Context, up *crmlink.Upload, r crmlink.OfflineConversionReader) error {
	counter, err := s.Counter(ctx, up.CounterID)
	if err != nil {
		return err
	}
	up.Start(crmlink.EntityOfflineConversions, s.clock.Now())
	s.writeMu.Lock()
	defer s.writeMu.Unlock()
	l := s.newLoader(ctx, "offline", func(tx *sql.Tx, chunk *spool.Writer) error {
		// caller: UploadOfflineConversions (one chunk)
		_, err := tx.ExecContext(ctx, `INSERT INTO offline_conversions (counter_id, upload_id, line, id_type, id_value, target, time, price, currency)
			SELECT ?, ?, line, id_type, id_value, target, make_timestamp(time_us), price, currency
			FROM `+readSpool(chunk.File(), columnsStruct(offlineColumns)), int64(up.CounterID), up.ID)
		return err
	})
	l.whenFailing(r, nil)
	n, readErr := spool.Pump(ctx, l, &crmlink.OfflineConversion{}, r.Next, func(sp *spool.Writer, c *crmlink.OfflineConversion) {
		currency := c.Currency
		if currency == "" {
			currency = counter.Currency
		}
		sp.Int(int64(c.Line))
		sp.Str(string(c.IDType))
		sp.Str(c.ID)
		sp.Str(c.Target)
		sp.Micros(c.Time)
		sp.Decimal(c.Price.Decimal, c.Price.Valid)
		sp.Str(currency)
	})
	tx, done, err := s.readDone(ctx, "upload offline conversions", up, l, r, n, readErr, nil)
	if done {
		return err
	}
	if err := reachOfflineGoals(ctx, tx, counter, up.ID, s.clock.Now()); err != nil {
		tx.Rollback()
		return fmt.Errorf("upload offline conversions: %w", err)
	}
	if err := insertUpload(ctx, tx, up); err != nil {
		tx.Rollback()
		return err
	}
	if err := tx.Commit(); err != nil {
		return fmt.Errorf("upload offline conversions: commit: %w", err)
	}
	return nil
}

// OfflineConversions returns one upload's conversions in file order.
func (s *Store) OfflineConversions(ctx context.Context, counter crmlink.CounterID, uploadID string) ([]crmlink.OfflineConversion, error) {
	// caller: OfflineConversions
	rows, err := s.db.QueryContext(ctx, `SELECT line, id_type, id_value, target, time, price::VARCHAR, currency
		FROM offline_conversions WHERE counter_id = ? AND upload_id = ? ORDER BY line`, int64(counter), uploadID)
	if err != nil {
		return nil, fmt.Errorf("offline conversions: %w", err)
	}
	defer rows.Close()
	var out []crmlink.OfflineConversion
	for rows.Next() {
		var c crmlink.OfflineConversion
		var kind string
		if err := rows.Scan(&c.Line, &kind, &c.ID, &c.Target, &c.Time, &c.Price, &c.Currency); err != nil {
			return nil, fmt.Errorf("offline conversions: %w", err)
		}
		c.IDType = crmlink.IdentityKind(kind)
		c.Time = c.Time.UTC()
		out = append(out, c)
	}
	return out, rows.Err()
}

// reachOfflineGoals records the goals an upload's conversions reached, at
// the session each came from: the ClientID's (or the UserID's visitors')
// latest session at or before the conversion within the link window, the
// session whose ad click carried the Yclid, or the purchase's session.
// A conversion whose session is unknown is kept but reaches nothing; its
// target becomes a site goal either way.
func reachOfflineGoals(ctx context.Context, tx *sql.Tx, counter *crmlink.Counter, uploadID string, now time.Time) error {
	cid := int64(counter.ID)
	// caller: UploadOfflineConversions (goals)
	if _, err := tx.ExecContext(ctx, `INSERT INTO goals (counter_id, name, type, crm_key, action, created)
		SELECT $1, target, 'action', '', target, $3::TIMESTAMP FROM offline_conversions c
		WHERE c.counter_id = $1 AND c.upload_id = $2
		  AND NOT EXISTS (SELECT 1 FROM goals x WHERE x.counter_id = $1 AND x.type = 'action' AND x.action = c.target)
		GROUP BY target ORDER BY min(line)`,
		cid, uploadID, tsText(now)); err != nil {
		return err
	}
	// caller: UploadOfflineConversions (goal reaches)
	_, err := tx.ExecContext(ctx, `INSERT INTO goal_reaches (counter_id, goal_id, order_id, session_id, time, revenue)
		WITH c AS (SELECT * FROM offline_conversions WHERE counter_id = $1 AND upload_id = $2),
		cl AS (
		    SELECT line, time, TRY_CAST(id_value AS UBIGINT) AS client_id FROM c WHERE id_type = 'client_id'
		    UNION ALL
		    SELECT c.line, c.time, si.client_id FROM c
		    JOIN site_identities si ON si.counter_id = $1 AND si.kind = 'user_id' AND si.value = c.id_value
		    WHERE c.id_type = 'user_id'
		),
		s AS (SELECT client_id, start_utc, session_id FROM sessions WHERE counter_id = $1 AND client_id IN (SELECT client_id FROM cl)),
		cand AS (
		    SELECT cl.line, s.session_id, s.start_utc FROM cl ASOF JOIN s ON s.client_id = cl.client_id AND s.start_utc <= cl.time
		    WHERE s.start_utc >= cl.time - to_microseconds($3)
		    UNION ALL
		    SELECT c.line, x.session_id, x.start_utc FROM c
		    JOIN sessions x ON x.counter_id = $1 AND x.click_id = 'yclid=' || c.id_value
		    WHERE c.id_type = 'yclid' AND x.start_utc <= c.time
		    UNION ALL
		    SELECT c.line, p.session_id, p.time FROM c
		    JOIN site_purchases p ON p.counter_id = $1 AND p.purchase_id = c.id_value
		    WHERE c.id_type = 'purchase_id'
		),
		best AS (SELECT line, arg_max(session_id, start_utc) AS session_id FROM cand GROUP BY line)
		SELECT $1, g.id, '', b.session_id, c.time, coalesce(c.price, 0)
		FROM best b JOIN c USING (line)
		JOIN goals g ON g.counter_id = $1 AND g.type = 'action' AND g.action = c.target`,
		cid, uploadID, counter.LinkWindow.Microseconds())
	return err
}
