package duckdb

import (
	"context"
	"database/sql"
	"fmt"

	"github.com/crmlink/crmlink"
)

// StatusMappings returns the counter's status mapping, by status id.
func (s *Store) StatusMappings(ctx context.Context, counter crmlink.CounterID) ([]crmlink.StatusMapping, error) {
	// caller: StatusMappings
	rows, err := s.db.QueryContext(ctx, `SELECT crm_status, humanized, type, goal_ids FROM status_map
		WHERE counter_id = ? ORDER BY crm_status`, int64(counter))
	if err != nil {
		return nil, fmt.Errorf("status mappings: %w", err)
	}
	defer rows.Close()
	out := []crmlink.StatusMapping{}
	for rows.Next() {
		var m crmlink.StatusMapping
		var typ string
		if err := rows.Scan(&m.ID, &m.Humanized, &typ, scanList(&m.GoalActionIDs)); err != nil {
			return nil, fmt.Errorf("status mappings: %w", err)
		}
		m.Type = crmlink.StatusType(typ)
		out = append(out, m)
	}
	return out, rows.Err()
}

// SetStatusMappings adds or replaces statuses of the mapping.
func (s *Store) SetStatusMappings(ctx context.Context, counter crmlink.CounterID, ms []crmlink.StatusMapping) error {
	return s.inTx(ctx, func(tx *sql.Tx) error {
		for _, m := range ms {
			goals := m.GoalActionIDs
			if goals == nil {
				goals = []string{}
			}
			// caller: SetStatusMappings
			if _, err := tx.ExecContext(ctx, `INSERT OR REPLACE INTO status_map (counter_id, crm_status, humanized, type, goal_ids)
				VALUES (?, ?, ?, ?, ?)`, int64(counter), m.ID, m.Humanized, string(m.Type), goals); err != nil {
				return fmt.Errorf("set status mapping %q: %w", m.ID, err)
			}
		}
		return nil
	})
}
