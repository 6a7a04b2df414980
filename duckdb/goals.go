package duckdb

import (
	"context"
	"database/sql"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/crmlink/crmlink"
	"github.com/shopspring/decimal"
)

// ensureCRMGoals creates the automatic CRM goals of a counter if it has
// none yet: its first successful order upload does (SPEC.md §2).
func ensureCRMGoals(ctx context.Context, tx *sql.Tx, counter crmlink.CounterID, now time.Time) error {
	var n int
	// caller: ensureCRMGoals
	if err := tx.QueryRowContext(ctx, `SELECT count(*) FROM goals WHERE counter_id = ? AND type = 'crm'`, int64(counter)).Scan(&n); err != nil {
		return err
	}
	if n > 0 {
		return nil
	}
	for _, g := range crmlink.CRMGoals {
		// caller: ensureCRMGoals
		if _, err := tx.ExecContext(ctx, `INSERT INTO goals (counter_id, name, type, crm_key, created) VALUES (?, ?, 'crm', ?, ?)`,
			int64(counter), g.Name, g.Key, utc(now)); err != nil {
			return fmt.Errorf("create CRM goals: %w", err)
		}
	}
	return nil
}

// ensureActionGoals creates the site (action) goals that the orders of an
// upload name and the counter does not have yet: the goals of their OTHER
// statuses (status mapping goal_action_ids) and of their goals column. A
// goal is known by its identifier; crmlink has no site goal editor yet, so
// the identifier is also its name.
func ensureActionGoals(ctx context.Context, tx *sql.Tx, counter crmlink.CounterID, uploadID string, now time.Time) error {
	// caller: ensureActionGoals
	_, err := tx.ExecContext(ctx, `INSERT INTO goals (counter_id, name, type, crm_key, action, created)
		SELECT $1, a, 'action', '', a, $3 FROM (
		    SELECT DISTINCT unnest(sm.goal_ids) AS a
		    FROM order_history h JOIN status_map sm ON sm.counter_id = $1 AND sm.crm_status = h.status
		    WHERE h.counter_id = $1 AND h.upload_id = $2 AND h.status_type = 'OTHER'
		    UNION
		    SELECT DISTINCT g->>'$[0]' FROM (
		        SELECT unnest(from_json(goals, '["JSON"]')) AS g FROM orders WHERE counter_id = $1 AND upload_id = $2)
		) n
		WHERE a <> '' AND NOT EXISTS (SELECT 1 FROM goals x WHERE x.counter_id = $1 AND x.type = 'action' AND x.action = n.a)`,
		int64(counter), uploadID, utc(now))
	return err
}

// goalTypesSQL maps a version's status type to the CRM goals it reaches,
// by the goals' crm_key (crmlink.CRMGoals).
func goalTypesSQL() string {
	q := "(VALUES "
	first := true
	for _, g := range crmlink.CRMGoals {
		key := g.Key
		for _, t := range g.Types {
			if !first {
				q += ", "
			}
			first = false
			q += fmt.Sprintf("('%s', '%s')", t, key)
		}
	}
	return q + ") AS m(status_type, goal_key)"
}

// reachGoals records the goals that the orders of reach_scope (linked
// orders, with their sessions) reached and had not reached yet: every status an order was registered
// with counts its goal once, at the order's linked session, with the
// profit of the first version that reached it (or the price the order's
// goals column gives). Reaches never change.
func reachGoals(ctx context.Context, tx *sql.Tx, counter crmlink.CounterID) error {
	// Joins here have equalities only, and the reaches already recorded
	// leave by an ANTI JOIN: constant or correlated conditions made DuckDB
	// loop.
	// caller: reachGoals
	_, err := tx.ExecContext(ctx, `INSERT INTO goal_reaches (counter_id, goal_id, order_id, session_id, time, revenue)
		WITH g AS (SELECT id, crm_key FROM goals WHERE counter_id = $1 AND type = 'crm'),
		r AS (SELECT order_id, goal_id FROM goal_reaches WHERE counter_id = $1),
		h AS (SELECT * FROM order_history WHERE counter_id = $1),
		cand AS (
		    SELECT g.id AS goal_id, h.order_id, any_value(l.session_id) AS session_id,
		        arg_min(CASE WHEN g.crm_key = 'paid' THEN coalesce(h.finished, h.created) ELSE h.created END, h.version) AS time,
		        arg_min(h.revenue - coalesce(h.cost, 0), h.version) AS revenue
		    FROM h
		    JOIN reach_scope l ON l.id = h.order_id
		    JOIN `+goalTypesSQL()+` ON m.status_type = h.status_type
		    JOIN g ON g.crm_key = m.goal_key
		    GROUP BY g.id, h.order_id
		)
		SELECT $1, cand.goal_id, cand.order_id, cand.session_id, cand.time, cand.revenue
		FROM cand ANTI JOIN r ON r.order_id = cand.order_id AND r.goal_id = cand.goal_id`, int64(counter))
	if err != nil {
		return err
	}
	// Site goals: those the OTHER statuses name, and the order's goals
	// column; a price given there is the reach's revenue, else the profit.
	// caller: reachGoals (action goals)
	_, err = tx.ExecContext(ctx, `INSERT INTO goal_reaches (counter_id, goal_id, order_id, session_id, time, revenue)
		WITH linked AS (SELECT id, session_id FROM reach_scope),
		g AS (SELECT id, action FROM goals WHERE counter_id = $1 AND type = 'action'),
		r AS (SELECT order_id, goal_id FROM goal_reaches WHERE counter_id = $1),
		o AS (SELECT o.* FROM orders o SEMI JOIN linked ON linked.id = o.id WHERE o.counter_id = $1 AND o.goals <> '[]'),
		priced AS (
		    SELECT id AS order_id, g->>'$[0]' AS action, TRY_CAST(g->>'$[1]' AS DECIMAL(18,4)) AS price
		    FROM (SELECT id, unnest(from_json(goals, '["JSON"]')) AS g FROM o)
		),
		sm AS (SELECT crm_status, goal_ids FROM status_map WHERE counter_id = $1 AND type = 'OTHER'),
		named AS (
		    SELECT h.order_id, unnest(sm.goal_ids) AS action, h.created AS time, h.revenue - coalesce(h.cost, 0) AS profit, h.version
		    FROM (SELECT * FROM order_history WHERE counter_id = $1 AND status_type = 'OTHER') h
		    JOIN sm ON sm.crm_status = h.status
		    SEMI JOIN linked ON linked.id = h.order_id
		    UNION ALL
		    SELECT o.id, p.action, o.created, o.revenue - coalesce(o.cost, 0), 0
		    FROM o JOIN priced p ON p.order_id = o.id
		),
		cand AS (
		    SELECT g.id AS goal_id, n.order_id, any_value(l.session_id) AS session_id, arg_min(n.time, n.version) AS time,
		        coalesce(any_value(p.price), arg_min(n.profit, n.version)) AS revenue
		    FROM named n
		    JOIN linked l ON l.id = n.order_id
		    JOIN g ON g.action = n.action
		    LEFT JOIN priced p ON p.order_id = n.order_id AND p.action = n.action
		    GROUP BY g.id, n.order_id
		)
		SELECT $1, cand.goal_id, cand.order_id, cand.session_id, cand.time, cand.revenue
		FROM cand ANTI JOIN r ON r.order_id = cand.order_id AND r.goal_id = cand.goal_id`, int64(counter))
	return err
}

// Goals lists a counter's goals with their reaches and revenue.
func (s *Store) Goals(ctx context.Context, counter crmlink.CounterID) ([]crmlink.Goal, error) {
	// caller: Goals
	rows, err := s.db.QueryContext(ctx, `SELECT g.id, g.name, g.type, g.action, count(r.goal_id), coalesce(sum(r.revenue), 0)::VARCHAR
		FROM goals g LEFT JOIN goal_reaches r ON r.counter_id = g.counter_id AND r.goal_id = g.id
		WHERE g.counter_id = ? GROUP BY g.id, g.name, g.type, g.action ORDER BY g.id`, int64(counter))
	if err != nil {
		return nil, fmt.Errorf("goals: %w", err)
	}
	defer rows.Close()
	out := []crmlink.Goal{}
	for rows.Next() {
		g := crmlink.Goal{CounterID: counter}
		var rev string
		if err := rows.Scan(&g.ID, &g.Name, &g.Type, &g.Action, &g.Reaches, &rev); err != nil {
			return nil, fmt.Errorf("goals: %w", err)
		}
		if g.Revenue, err = decimal.NewFromString(rev); err != nil {
			return nil, fmt.Errorf("goals: %w", err)
		}
		out = append(out, g)
	}
	return out, rows.Err()
}

// GoalReaches lists one order's goal reaches, by goal.
func (s *Store) GoalReaches(ctx context.Context, counter crmlink.CounterID, orderID string) ([]crmlink.GoalReach, error) {
	// caller: GoalReaches
	rows, err := s.db.QueryContext(ctx, `SELECT goal_id, session_id, time, revenue::VARCHAR FROM goal_reaches
		WHERE counter_id = ? AND order_id = ? ORDER BY goal_id`, int64(counter), orderID)
	if err != nil {
		return nil, fmt.Errorf("goal reaches: %w", err)
	}
	defer rows.Close()
	var out []crmlink.GoalReach
	for rows.Next() {
		r := crmlink.GoalReach{OrderID: orderID}
		var rev string
		if err := rows.Scan(&r.GoalID, &r.SessionID, &r.Time, &rev); err != nil {
			return nil, fmt.Errorf("goal reaches: %w", err)
		}
		r.Time = r.Time.UTC()
		if r.Revenue, err = decimal.NewFromString(rev); err != nil {
			return nil, err
		}
		out = append(out, r)
	}
	return out, rows.Err()
}

// SessionGoalReaches lists the goal reaches at some sessions, by time.
func (s *Store) SessionGoalReaches(ctx context.Context, counter crmlink.CounterID, sessions []uint64) ([]crmlink.GoalReach, error) {
	if len(sessions) == 0 {
		return nil, nil
	}
	// The ids are numbers we format ourselves: a literal list keeps the
	// UBIGINTs exact (database/sql refuses uint64 over 2^63).
	ids := make([]string, len(sessions))
	for i, id := range sessions {
		ids[i] = strconv.FormatUint(id, 10)
	}
	// caller: SessionGoalReaches (a customer's page)
	rows, err := s.db.QueryContext(ctx, `SELECT goal_id, order_id, session_id, time, revenue::VARCHAR FROM goal_reaches
		WHERE counter_id = ? AND session_id IN (`+strings.Join(ids, ",")+`) ORDER BY time, goal_id, order_id`, int64(counter))
	if err != nil {
		return nil, fmt.Errorf("session goal reaches: %w", err)
	}
	defer rows.Close()
	var out []crmlink.GoalReach
	for rows.Next() {
		var r crmlink.GoalReach
		var rev string
		if err := rows.Scan(&r.GoalID, &r.OrderID, &r.SessionID, &r.Time, &rev); err != nil {
			return nil, fmt.Errorf("session goal reaches: %w", err)
		}
		r.Time = r.Time.UTC()
		if r.Revenue, err = decimal.NewFromString(rev); err != nil {
			return nil, err
		}
		out = append(out, r)
	}
	return out, rows.Err()
}

// CreateGoal creates an action goal. See crmlink.LinkStore.
func (s *Store) CreateGoal(ctx context.Context, g *crmlink.Goal) error {
	if _, err := s.Counter(ctx, g.CounterID); err != nil {
		return err
	}
	return s.inTx(ctx, func(tx *sql.Tx) error {
		if err := actionFree(ctx, tx, g.CounterID, g.Action, 0); err != nil {
			return err
		}
		// caller: CreateGoal
		return tx.QueryRowContext(ctx, `INSERT INTO goals (counter_id, name, type, crm_key, action, created) VALUES (?, ?, 'action', '', ?, ?) RETURNING id`,
			int64(g.CounterID), g.Name, g.Action, utc(s.clock.Now())).Scan(&g.ID)
	})
}

// actionFree says an identifier is taken by another action goal than id.
func actionFree(ctx context.Context, tx *sql.Tx, counter crmlink.CounterID, action string, id int64) error {
	var other int64
	// caller: CreateGoal, UpdateGoal
	err := tx.QueryRowContext(ctx, `SELECT id FROM goals WHERE counter_id = ? AND type = 'action' AND action = ? AND id <> ?`,
		int64(counter), action, id).Scan(&other)
	switch {
	case isNoRows(err):
		return nil
	case err != nil:
		return err
	}
	return crmlink.Errorf(crmlink.KindConflict, "goal %d already has the identifier %q", other, action)
}

// actionGoal checks that a counter's goal exists and is an action goal.
func actionGoal(ctx context.Context, tx *sql.Tx, counter crmlink.CounterID, id int64) error {
	var typ string
	// caller: UpdateGoal, DeleteGoal
	err := tx.QueryRowContext(ctx, `SELECT type FROM goals WHERE counter_id = ? AND id = ?`, int64(counter), id).Scan(&typ)
	switch {
	case isNoRows(err):
		return notFound("goal", id)
	case err != nil:
		return err
	case typ != "action":
		return crmlink.Errorf(crmlink.KindInvalid, "goal %d is one of the CRM goals, which are the counter's own: they cannot be changed or deleted", id)
	}
	return nil
}

// UpdateGoal renames an action goal. See crmlink.LinkStore.
func (s *Store) UpdateGoal(ctx context.Context, g *crmlink.Goal) error {
	return s.inTx(ctx, func(tx *sql.Tx) error {
		if err := actionGoal(ctx, tx, g.CounterID, g.ID); err != nil {
			return err
		}
		if err := actionFree(ctx, tx, g.CounterID, g.Action, g.ID); err != nil {
			return err
		}
		// caller: UpdateGoal
		_, err := tx.ExecContext(ctx, `UPDATE goals SET name = ?, action = ? WHERE counter_id = ? AND id = ?`, g.Name, g.Action, int64(g.CounterID), g.ID)
		return err
	})
}

// DeleteGoal deletes an action goal and its reaches. See crmlink.LinkStore.
func (s *Store) DeleteGoal(ctx context.Context, counter crmlink.CounterID, id int64) error {
	return s.inTx(ctx, func(tx *sql.Tx) error {
		if err := actionGoal(ctx, tx, counter, id); err != nil {
			return err
		}
		// caller: DeleteGoal
		if _, err := tx.ExecContext(ctx, `DELETE FROM goal_reaches WHERE counter_id = ? AND goal_id = ?`, int64(counter), id); err != nil {
			return err
		}
		// caller: DeleteGoal
		_, err := tx.ExecContext(ctx, `DELETE FROM goals WHERE counter_id = ? AND id = ?`, int64(counter), id)
		return err
	})
}
