package duckdb

import (
	"context"
	"fmt"
	"strings"

	"github.com/crmlink/crmlink"
	"github.com/shopspring/decimal"
)

// Conversions streams a counter's goal reaches with their sessions'
// ClientIDs and click ids. See crmlink.ConversionStore.
func (s *Store) Conversions(ctx context.Context, q crmlink.ConversionQuery, each func(c *crmlink.Conversion) error) error {
	if _, err := s.Counter(ctx, q.CounterID); err != nil {
		return err
	}
	b := &reportBuilder{}
	b.arg(int64(q.CounterID))
	where := "r.counter_id = $1 AND r.time >= " + b.arg(tsText(q.From)) + "::TIMESTAMP AND r.time < " + b.arg(tsText(q.To)) + "::TIMESTAMP"
	if len(q.Goals) > 0 {
		var ids []string
		for _, id := range q.Goals {
			ids = append(ids, b.arg(id))
		}
		where += " AND r.goal_id IN (" + strings.Join(ids, ", ") + ")"
	}
	// caller: Conversions
	rows, err := s.db.QueryContext(ctx, `SELECT r.goal_id, g.name, CASE WHEN g.type = 'crm' THEN g.crm_key ELSE g.action END, g.type = 'crm',
		    r.order_id, r.session_id, s.client_id, s.click_id, r.time, r.revenue::VARCHAR
		FROM goal_reaches r
		JOIN (SELECT * FROM goals WHERE counter_id = $1) g ON g.id = r.goal_id
		JOIN (SELECT session_id, client_id, click_id FROM sessions WHERE counter_id = $1) s ON s.session_id = r.session_id
		WHERE `+where+`
		ORDER BY r.time, r.goal_id, r.order_id`, b.args...)
	if err != nil {
		return fmt.Errorf("conversions: %w", outOfMemory(err))
	}
	defer rows.Close()
	var c crmlink.Conversion
	for rows.Next() {
		var value string
		if err := rows.Scan(&c.GoalID, &c.GoalName, &c.GoalKey, &c.CRM, &c.OrderID, &c.SessionID, &c.ClientID, &c.ClickID, &c.Time, &value); err != nil {
			return fmt.Errorf("conversions: %w", err)
		}
		if c.Value, err = decimal.NewFromString(value); err != nil {
			return fmt.Errorf("conversions: %w", err)
		}
		c.Time = c.Time.UTC()
		if err := each(&c); err != nil {
			return err
		}
	}
	return rows.Err()
}
