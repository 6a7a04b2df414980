package duckdb

import (
	"context"
	"database/sql"
	"fmt"
	"strings"
	"time"

	"github.com/crmlink/crmlink"
	"github.com/crmlink/crmlink/spool"
	"github.com/shopspring/decimal"
)

var expenseColumns = []column{
	{"line", "BIGINT"}, {"from_day", "DATE"}, {"to_day", "DATE"},
	{"utm_source", "VARCHAR"}, {"traffic_source", "VARCHAR"}, {"traffic_source_detail", "VARCHAR"},
	{"utm_medium", "VARCHAR"}, {"utm_campaign", "VARCHAR"}, {"utm_term", "VARCHAR"}, {"utm_content", "VARCHAR"},
	{"currency", "VARCHAR"}, {"clicks", "BIGINT"}, {"expenses", "DECIMAL(18,4)"},
}

// spoolExpense writes one expense row; currency defaults to cur.
func spoolExpense(sp *spool.Writer, e *crmlink.Expense, cur string) {
	if e.Currency != "" {
		cur = e.Currency
	}
	sp.Int(int64(e.Line))
	sp.Date(e.From)
	sp.Date(e.To)
	for _, v := range []string{e.UTMSource, e.TrafficSource, e.TrafficSourceDetail, e.UTMMedium, e.UTMCampaign, e.UTMTerm, e.UTMContent, cur} {
		sp.Str(v)
	}
	sp.Int(e.Clicks)
	sp.Decimal(e.Expenses, true)
}

// spreadSQL spreads a spooled chunk's rows over their days ($1 the
// counter, $2 the upload, $3 the provider): a row of one day is stored
// as it is; over more, each day gets the row's amount, in
// ten-thousandths, divided by its days, and the first days one
// ten-thousandth more until the remainder is gone, so that the days add
// up to the row exactly; clicks likewise.
const spreadSQL = `INSERT INTO expenses (counter_id, upload_id, line, provider, day, utm_source, traffic_source, traffic_source_detail,
    utm_medium, utm_campaign, utm_term, utm_content, currency, clicks, expenses)
WITH x AS (SELECT * FROM {spool}),
m AS (SELECT *, date_diff('day', from_day, to_day) + 1 AS n, CAST(expenses * 10000 AS BIGINT) AS units FROM x WHERE to_day > from_day),
d AS (SELECT m.*, unnest(range(n)) AS i FROM m)
SELECT $1, $2, line, $3, from_day, utm_source, traffic_source, traffic_source_detail,
    utm_medium, utm_campaign, utm_term, utm_content, currency, clicks, expenses
FROM x WHERE to_day = from_day
UNION ALL
SELECT $1, $2, line, $3, from_day + CAST(i AS INTEGER), utm_source, traffic_source, traffic_source_detail,
    utm_medium, utm_campaign, utm_term, utm_content, currency,
    clicks // n + CASE WHEN i < clicks % n THEN 1 ELSE 0 END,
    CAST(CAST(units // n + CASE WHEN i < units % n THEN 1 ELSE 0 END AS DECIMAL(18,0)) * 0.0001 AS DECIMAL(18,4))
FROM d`

// removeSQL deletes the stored days a spooled chunk of rows names ($1
// the counter, $2 the provider, ” for any): a row's days, and each
// field it sets.
const removeSQL = `DELETE FROM expenses WHERE rowid IN (
    SELECT e.rowid FROM expenses e JOIN {spool} d ON e.day BETWEEN d.from_day AND d.to_day
    WHERE e.counter_id = $1 AND ($2 = '' OR e.provider = $2)
      AND (d.utm_source = '' OR e.utm_source = d.utm_source)
      AND (d.traffic_source = '' OR e.traffic_source = d.traffic_source)
      AND (d.traffic_source_detail = '' OR e.traffic_source_detail = d.traffic_source_detail)
      AND (d.utm_medium = '' OR e.utm_medium = d.utm_medium)
      AND (d.utm_campaign = '' OR e.utm_campaign = d.utm_campaign)
      AND (d.utm_term = '' OR e.utm_term = d.utm_term)
      AND (d.utm_content = '' OR e.utm_content = d.utm_content))`

// UploadExpenses stores expenses spread over their days. See
// crmlink.ExpenseStore.
func (s *Store) UploadExpenses(ctx context.Context, up *crmlink.Upload, x *crmlink.ExpenseUpload, r crmlink.ExpenseReader) error {
	return s.expenseUpload(ctx, up, x, r, crmlink.EntityExpenses, spreadSQL, []any{up.ID, x.Provider})
}

// DeleteExpenses deletes the stored days the reader's rows name. See
// crmlink.ExpenseStore.
func (s *Store) DeleteExpenses(ctx context.Context, up *crmlink.Upload, x *crmlink.ExpenseUpload, r crmlink.ExpenseReader) error {
	return s.expenseUpload(ctx, up, x, r, crmlink.EntityExpenseRemoves, removeSQL, []any{x.Provider})
}

// expenseUpload runs an expenses upload or delete: stmt applied to each
// spooled chunk ($1 the counter, then args), and the record.
func (s *Store) expenseUpload(ctx context.Context, up *crmlink.Upload, x *crmlink.ExpenseUpload, r crmlink.ExpenseReader,
	entity crmlink.UploadEntity, stmt string, args []any) error {
	counter, err := s.Counter(ctx, up.CounterID)
	if err != nil {
		return err
	}
	up.Start(entity, s.clock.Now())
	s.writeMu.Lock()
	defer s.writeMu.Unlock()
	x.Removed = 0
	l := s.newLoader(ctx, "expenses", func(tx *sql.Tx, chunk *spool.Writer) error {
		q := strings.Replace(stmt, "{spool}", readSpool(chunk.File(), columnsStruct(expenseColumns)), 1)
		// caller: UploadExpenses, DeleteExpenses (one chunk)
		res, err := tx.ExecContext(ctx, q, append([]any{int64(up.CounterID)}, args...)...)
		if err != nil {
			return err
		}
		if entity == crmlink.EntityExpenseRemoves {
			n, _ := res.RowsAffected()
			x.Removed += n
		}
		return nil
	})
	// Chunks of a fifth of the usual: an expenses file is small, and
	// reading the next chunk goes on while DuckDB stores the last.
	l.chunkRows = max(1, s.chunkRows/5)
	l.whenFailing(r, nil)
	n, readErr := spool.Pump(ctx, l, &crmlink.Expense{}, r.Next, func(sp *spool.Writer, e *crmlink.Expense) {
		spoolExpense(sp, e, counter.Currency)
	})
	what := "upload expenses"
	if entity == crmlink.EntityExpenseRemoves {
		what = "delete expenses"
	}
	tx, done, err := s.readDone(ctx, what, up, l, r, n, readErr, nil)
	if done {
		return err
	}
	// caller: UploadExpenses, DeleteExpenses (record)
	if _, err := tx.ExecContext(ctx, `INSERT INTO expense_uploads (counter_id, upload_id, provider, comment, removed) VALUES (?, ?, ?, ?, ?)`,
		int64(up.CounterID), up.ID, x.Provider, x.Comment, x.Removed); err != nil {
		tx.Rollback()
		return fmt.Errorf("%s: %w", what, err)
	}
	if err := insertUpload(ctx, tx, up); err != nil {
		tx.Rollback()
		return err
	}
	if err := tx.Commit(); err != nil {
		return fmt.Errorf("%s: commit: %w", what, err)
	}
	return nil
}

// ExpenseUploadInfo returns what the expense calls say of an upload. See
// crmlink.ExpenseStore.
func (s *Store) ExpenseUploadInfo(ctx context.Context, counter crmlink.CounterID, uploadID string) (*crmlink.ExpenseUpload, error) {
	var x crmlink.ExpenseUpload
	// caller: ExpenseUploadInfo
	err := s.db.QueryRowContext(ctx, `SELECT provider, comment, removed FROM expense_uploads WHERE counter_id = ? AND upload_id = ?`,
		int64(counter), uploadID).Scan(&x.Provider, &x.Comment, &x.Removed)
	if isNoRows(err) {
		return nil, notFound("expense upload", uploadID)
	}
	if err != nil {
		return nil, fmt.Errorf("expense upload: %w", err)
	}
	return &x, nil
}

// ExpenseDays lists stored days of spend. See crmlink.ExpenseStore.
func (s *Store) ExpenseDays(ctx context.Context, counter crmlink.CounterID, from, to time.Time) ([]crmlink.ExpenseDay, error) {
	// caller: ExpenseDays
	rows, err := s.db.QueryContext(ctx, `SELECT upload_id, line, provider, day, utm_source, traffic_source, traffic_source_detail,
		utm_medium, utm_campaign, utm_term, utm_content, currency, clicks, expenses::VARCHAR
		FROM expenses WHERE counter_id = ? AND day BETWEEN ?::DATE AND ?::DATE ORDER BY day, upload_id, line`,
		int64(counter), from.Format(time.DateOnly), to.Format(time.DateOnly))
	if err != nil {
		return nil, fmt.Errorf("expense days: %w", err)
	}
	defer rows.Close()
	var out []crmlink.ExpenseDay
	for rows.Next() {
		var d crmlink.ExpenseDay
		var amount string
		if err := rows.Scan(&d.UploadID, &d.Line, &d.Provider, &d.Day, &d.UTMSource, &d.TrafficSource, &d.TrafficSourceDetail,
			&d.UTMMedium, &d.UTMCampaign, &d.UTMTerm, &d.UTMContent, &d.Currency, &d.Clicks, &amount); err != nil {
			return nil, fmt.Errorf("expense days: %w", err)
		}
		if d.Expenses, err = decimal.NewFromString(amount); err != nil {
			return nil, fmt.Errorf("expense days: %w", err)
		}
		d.Day = d.Day.UTC()
		out = append(out, d)
	}
	return out, rows.Err()
}
