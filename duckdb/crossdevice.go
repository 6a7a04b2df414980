package duckdb

import (
	"context"
	"database/sql"
	"fmt"
)

// Cross-device attribution is kept (session_cross_device, migrations/0003)
// so that reports only group. Every write that can change it brings it up
// to date in its own transaction (refreshCrossDevice):
//
//   - a contacts upload, or identities seen on the site (imports, hits),
//     can change which customer owns a ClientID: the owners are computed
//     again, and the customers whose ClientIDs changed are attributed
//     again, over all their sessions;
//   - new sessions (imports, hits) change their customer's attribution:
//     their customers are attributed again.
//
// Only the customers concerned are read: a session of a ClientID no
// customer owns has its ClientID's attribution, which the sessions'
// per-ClientID columns already hold, and no row.

// ownersSQL is each owned ClientID's customer, computed from the contacts
// and the site's identities ($1 the counter).
var ownersSQL = `SELECT client_id, min(uniq_id) AS cust FROM (` +
	customerClientsSQL(`(SELECT * FROM contacts WHERE counter_id = $1)`) + `) GROUP BY client_id`

// keptOwnersSQL is each owned ClientID's customer as kept.
const keptOwnersSQL = `SELECT client_id, cust FROM client_owners WHERE counter_id = $1`

// crossDeviceRowsSQL is the session_cross_device rows of the sessions of
// the ClientIDs in cd_clients ($1 the counter).
var crossDeviceRowsSQL = `
WITH g AS (
    SELECT s.session_id, s.client_id, s.start_utc, s.traffic_source, s.source_engine, o.cust
    FROM sessions s JOIN (` + keptOwnersSQL + `) o USING (client_id)
    WHERE s.counter_id = $1 AND NOT s.is_bot AND s.client_id IN (SELECT client_id FROM cd_clients)
),
w AS (SELECT session_id, client_id, ` + attributionWindowsBy("cust") + ` FROM g)
SELECT $1, session_id, client_id, f.sid, f.src, f.eng, ls.sid, coalesce(ls.src, 'direct'), coalesce(ls.eng, '') FROM w`

// refreshCrossDevice brings a counter's kept cross-device attribution up
// to date after a write in tx. With owners set, which customer owns each
// ClientID is computed again (the write changed contacts or site
// identities); scope, when not "", is an SQL query of ClientIDs whose
// sessions changed ($1 the counter, its only parameter).
func refreshCrossDevice(ctx context.Context, tx *sql.Tx, counter int64, owners bool, scope string) error {
	exec := func(q string) error {
		_, err := tx.ExecContext(ctx, q, counter)
		return err
	}
	cur := keptOwnersSQL
	changed := `SELECT NULL::UBIGINT AS client_id WHERE false`
	if owners {
		// caller: refreshCrossDevice (owners)
		if err := exec(`CREATE OR REPLACE TEMP TABLE cd_owners AS ` + ownersSQL); err != nil {
			return fmt.Errorf("cross-device: %w", err)
		}
		cur = `SELECT client_id, cust FROM cd_owners`
		changed = `SELECT client_id FROM cd_owners n FULL JOIN (` + keptOwnersSQL + `) o USING (client_id)
			WHERE n.cust IS DISTINCT FROM o.cust`
	}
	if scope != "" {
		// Of the ClientIDs whose sessions changed, only the owned ones
		// have rows: one owned before and not now is among those whose
		// owner changed.
		changed += ` UNION SELECT client_id FROM (` + scope + `) WHERE client_id IN (SELECT client_id FROM (` + cur + `))`
	}
	// The ClientIDs to attribute again: those changed, and every ClientID
	// of a customer that owned or owns one of them.
	// caller: refreshCrossDevice (ClientIDs concerned)
	if err := exec(`CREATE OR REPLACE TEMP TABLE cd_changed AS ` + changed); err != nil {
		return fmt.Errorf("cross-device: %w", err)
	}
	// caller: refreshCrossDevice (ClientIDs concerned)
	if err := exec(`CREATE OR REPLACE TEMP TABLE cd_clients AS
		WITH g AS (
		    SELECT cust FROM (` + cur + `) WHERE client_id IN (SELECT client_id FROM cd_changed)
		    UNION SELECT cust FROM (` + keptOwnersSQL + `) WHERE client_id IN (SELECT client_id FROM cd_changed)
		)
		SELECT client_id FROM cd_changed
		UNION SELECT client_id FROM (` + cur + `) WHERE cust IN (SELECT cust FROM g)
		UNION SELECT client_id FROM (` + keptOwnersSQL + `) WHERE cust IN (SELECT cust FROM g)`); err != nil {
		return fmt.Errorf("cross-device: %w", err)
	}
	if owners {
		// caller: refreshCrossDevice (owners kept)
		if err := exec(`DELETE FROM client_owners WHERE counter_id = $1 AND client_id IN (SELECT client_id FROM cd_changed)`); err != nil {
			return fmt.Errorf("cross-device: %w", err)
		}
		// caller: refreshCrossDevice (owners kept)
		if err := exec(`INSERT INTO client_owners SELECT $1, client_id, cust FROM cd_owners
			WHERE client_id IN (SELECT client_id FROM cd_changed)`); err != nil {
			return fmt.Errorf("cross-device: %w", err)
		}
	}
	// caller: refreshCrossDevice (rows of the ClientIDs concerned)
	if err := exec(`DELETE FROM session_cross_device WHERE counter_id = $1 AND client_id IN (SELECT client_id FROM cd_clients)`); err != nil {
		return fmt.Errorf("cross-device: %w", err)
	}
	// caller: refreshCrossDevice (rows of the ClientIDs concerned)
	if err := exec(`INSERT INTO session_cross_device ` + crossDeviceRowsSQL); err != nil {
		return fmt.Errorf("cross-device: %w", err)
	}
	// caller: refreshCrossDevice
	_, err := tx.ExecContext(ctx, `DROP TABLE IF EXISTS cd_owners; DROP TABLE cd_changed; DROP TABLE cd_clients`)
	return err
}

// buildCrossDevice keeps the cross-device attribution of the counters
// that have contacts and no ClientID owned: a store made before it was
// kept, or contacts that own no ClientID (then it is quick).
func (s *Store) buildCrossDevice(ctx context.Context) error {
	// caller: Open (cross-device attribution to build)
	rows, err := s.db.QueryContext(ctx, `SELECT id FROM counters c
		WHERE EXISTS (SELECT 1 FROM contacts WHERE counter_id = c.id)
		  AND NOT EXISTS (SELECT 1 FROM client_owners WHERE counter_id = c.id)`)
	if err != nil {
		return err
	}
	var ids []int64
	for rows.Next() {
		var id int64
		if err := rows.Scan(&id); err != nil {
			rows.Close()
			return err
		}
		ids = append(ids, id)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return err
	}
	for _, id := range ids {
		if err := s.inTx(ctx, func(tx *sql.Tx) error { return refreshCrossDevice(ctx, tx, id, true, "") }); err != nil {
			return err
		}
	}
	return nil
}
