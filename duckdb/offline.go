package duckdb

import (
	"context"
	"database/sql"
	"fmt"

	"github.com/crmlink/crmlink"
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
	s.uploadStart(up, crmlink.EntityOfflineConversions)
	s.writeMu.Lock()
	defer s.writeMu.Unlock()
	l := s.newLoader(ctx, "offline", nil, func(tx *sql.Tx, path string) error {
		// caller: UploadOfflineConversions (one chunk)
		_, err := tx.ExecContext(ctx, `INSERT INTO offline_conversions (counter_id, upload_id, line, id_type, id_value, target, time, price, currency)
			SELECT ?, ?, line, id_type, id_value, target, make_timestamp(time_us), price, currency
			FROM `+readSpool(path, columnsStruct(offlineColumns)), int64(up.CounterID), up.ID)
		return err
	})
	n, readErr := pump(ctx, l, &crmlink.OfflineConversion{}, r.Next, func(sp *spool, c *crmlink.OfflineConversion) {
		currency := c.Currency
		if currency == "" {
			currency = counter.Currency
		}
		sp.int(int64(c.Line))
		sp.str(string(c.IDType))
		sp.str(c.ID)
		sp.str(c.Target)
		sp.micros(c.Time)
		sp.decimal(c.Price.Decimal, c.Price.Valid)
		sp.str(currency)
	})
	tx, err := l.finish(readErr)
	up.Finished = s.clock.Now()
	if readErr != nil {
		return s.recordFailedImport(ctx, s.db, up, n, readErr)
	}
	if err != nil {
		return fmt.Errorf("upload offline conversions: %w", err)
	}
	uploadCounts(up, r, n)
	up.Status = crmlink.UploadPassed
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
