package duckdb

import (
	"context"
	"database/sql"
	"fmt"
	"strings"

	"github.com/crmlink/crmlink"
)

// significantSQL tells whether a session's source counts for last
// significant attribution (crmlink.SourceKind.Significant).
var significantSQL = func() string {
	var in []string
	for _, k := range crmlink.InsignificantSources {
		in = append(in, "'"+string(k)+"'")
	}
	return "traffic_source NOT IN (" + strings.Join(in, ", ") + ")"
}()

// attributionWindows are, over the sessions of one ClientID in time
// order, each session's first (f) and last significant (ls) source as
// {sid, src, eng} structs: ls is the session itself if significant, else
// the latest earlier significant one, else NULL (direct).
var attributionWindows = attributionWindowsBy("client_id")

// attributionWindowsBy is attributionWindows over the sessions of each
// value of key (a ClientID, or a customer for cross-device attribution).
func attributionWindowsBy(key string) string {
	return `first_value({'sid': session_id, 'src': traffic_source, 'eng': source_engine})
            OVER (PARTITION BY ` + key + ` ORDER BY start_utc, session_id) AS f,
        CASE WHEN ` + significantSQL + ` THEN {'sid': session_id, 'src': traffic_source, 'eng': source_engine}
        ELSE last_value(CASE WHEN ` + significantSQL + ` THEN {'sid': session_id, 'src': traffic_source, 'eng': source_engine} END IGNORE NULLS)
            OVER (PARTITION BY ` + key + ` ORDER BY start_utc, session_id ROWS BETWEEN UNBOUNDED PRECEDING AND 1 PRECEDING)
        END AS ls`
}

// attributionColumns turn f and ls into the sessions' attribution columns.
const attributionColumns = `f.sid AS first_sid, f.src AS first_source, f.eng AS first_engine,
    ls.sid AS lastsign_sid, coalesce(ls.src, 'direct') AS lastsign_source, coalesce(ls.eng, '') AS lastsign_engine`

// attributeSQL computes, for the sessions of the ClientIDs that scope
// selects ($1 is the counter), their first and lastsign attribution, and
// keeps the sessions whose stored attribution differs. The windows run
// over the few columns attribution reads; only the sessions that changed
// are read whole.
var attributeSQL = `
WITH c AS ({scope}),
s AS (
    SELECT session_id, client_id, start_utc, traffic_source, source_engine,
        first_sid, first_source, first_engine, lastsign_sid, lastsign_source, lastsign_engine
    FROM sessions SEMI JOIN c USING (client_id) WHERE counter_id = $1
),
w AS (
    SELECT *,
        ` + attributionWindows + `
    FROM s
),
changed AS (
    SELECT session_id, f, ls FROM w
    WHERE first_sid IS DISTINCT FROM f.sid OR first_source IS DISTINCT FROM f.src OR first_engine IS DISTINCT FROM f.eng
       OR lastsign_sid IS DISTINCT FROM ls.sid OR lastsign_source IS DISTINCT FROM coalesce(ls.src, 'direct')
       OR lastsign_engine IS DISTINCT FROM coalesce(ls.eng, '')
)
SELECT s.* EXCLUDE (first_sid, first_source, first_engine, lastsign_sid, lastsign_source, lastsign_engine),
    ` + attributionColumns + `
FROM sessions s JOIN changed USING (session_id)
WHERE s.counter_id = $1`

// attributeSessions brings the stored attribution of the sessions of the
// ClientIDs that scope selects (an SQL query of client_id, with $1 the
// counter and args after it) up to date. DuckDB updates rows in place
// slowly when many change, so the sessions whose attribution changed are
// deleted and inserted again.
func attributeSessions(ctx context.Context, tx *sql.Tx, counter int64, scope string, args ...any) error {
	q := replaceScope(attributeSQL, scope)
	// caller: attributeSessions
	if _, err := tx.ExecContext(ctx, `CREATE OR REPLACE TEMP TABLE attribution_new AS `+q, append([]any{counter}, args...)...); err != nil {
		return fmt.Errorf("attribution: %w", err)
	}
	var n int64
	// caller: attributeSessions
	if err := tx.QueryRowContext(ctx, `SELECT count(*) FROM attribution_new`).Scan(&n); err != nil {
		return fmt.Errorf("attribution: %w", err)
	}
	if n > 0 {
		// caller: attributeSessions (rewrite)
		if _, err := tx.ExecContext(ctx, `DELETE FROM sessions WHERE counter_id = ? AND session_id IN (SELECT session_id FROM attribution_new)`, counter); err != nil {
			return fmt.Errorf("attribution: %w", err)
		}
		// caller: attributeSessions (rewrite)
		if _, err := tx.ExecContext(ctx, `INSERT INTO sessions BY NAME SELECT * FROM attribution_new`); err != nil {
			return fmt.Errorf("attribution: %w", err)
		}
	}
	// caller: attributeSessions
	_, err := tx.ExecContext(ctx, `DROP TABLE attribution_new`)
	return err
}

// replaceScope puts a scope query into q's {scope}.
func replaceScope(q, scope string) string { return strings.Replace(q, "{scope}", scope, 1) }
