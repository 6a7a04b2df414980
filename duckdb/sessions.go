package duckdb

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/crmlink/crmlink"
	"github.com/crmlink/crmlink/spool"
	"github.com/duckdb/duckdb-go/v2"
)

// Sessions are imported through the loader pipeline (loader.go): Go reads,
// validates and classifies rows into spool chunks that DuckDB's CSV reader
// loads into sessions inside one transaction.

// spoolColumns are the spool file's columns and their DuckDB types.
const spoolColumns = `{'line': 'BIGINT', 'session_id': 'UBIGINT', 'client_id': 'UBIGINT', 'user_id': 'VARCHAR',
    'start_us': 'BIGINT', 'local_us': 'BIGINT', 'duration_s': 'INTEGER', 'page_views': 'INTEGER', 'is_bounce': 'BOOLEAN',
    'traffic_source': 'VARCHAR', 'source_engine': 'VARCHAR',
    'utm_source': 'VARCHAR', 'utm_medium': 'VARCHAR', 'utm_campaign': 'VARCHAR', 'utm_content': 'VARCHAR', 'utm_term': 'VARCHAR',
    'click_id': 'VARCHAR', 'referrer': 'VARCHAR', 'landing_url': 'VARCHAR',
    'country': 'VARCHAR', 'region': 'VARCHAR', 'city': 'VARCHAR', 'device': 'VARCHAR', 'os': 'VARCHAR', 'browser': 'VARCHAR',
    'is_bot': 'BOOLEAN'}`

const identityColumns = `{'client_id': 'UBIGINT', 'kind': 'VARCHAR', 'value': 'VARCHAR', 'first_us': 'BIGINT'}`

const purchaseColumns = `{'seq': 'BIGINT', 'session_id': 'UBIGINT', 'client_id': 'UBIGINT', 'purchase_id': 'VARCHAR', 'time_us': 'BIGINT'}`

// readSpool is the table expression that reads a spool file.
//
// DuckDB's CSV reader refuses a line over its max_line_size, 2 MB by
// default, and reads in buffers of 16 times that per thread. A spool
// knows its longest line, so both are fitted to it: lines of any length
// are read (a contact's attributes may run to megabytes), and the usual
// spool is read in small buffers, which halves what reading it alone
// leaves resident.
func readSpool(sp crmlink.SpoolFile, columns string) string {
	maxLine := max(1<<20, sp.MaxLine+1)
	return fmt.Sprintf(`read_csv(%s, delim = '\t', quote = '"', escape = '"', header = false,
        auto_detect = false, new_line = '\n', nullstr = '\N', max_line_size = %d, buffer_size = %d, columns = %s)`,
		sqlString(sp.Path), maxLine, 2*maxLine, columns)
}

// sqlString quotes s as an SQL string literal.
func sqlString(s string) string { return "'" + strings.ReplaceAll(s, "'", "''") + "'" }

const sessionColumns = `session_id, client_id, user_id, start_utc, start_local, duration_s, page_views, is_bounce,
    traffic_source, source_engine, utm_source, utm_medium, utm_campaign, utm_content, utm_term,
    click_id, referrer, landing_url, country, region, city, device, os, browser, is_bot`

// spoolSessionSelect is a spooled session as the sessions table's columns
// ($1 the counter, $2 the upload), attribution aside.
const spoolSessionSelect = `$1::BIGINT AS counter_id, session_id, client_id, user_id, make_timestamp(start_us) AS start_utc,
        make_timestamp(local_us) AS start_local, duration_s, page_views, is_bounce,
        traffic_source, source_engine, utm_source, utm_medium, utm_campaign, utm_content, utm_term,
        click_id, referrer, landing_url, country, region, city, device, os, browser, is_bot,
        $2 AS upload_id, line AS upload_line`

// chunkInsertSQL inserts one spooled chunk of sessions ($1 the counter,
// $2 the upload) with their attribution, from the chunk and the sessions
// stored before it of the same ClientIDs. It is right for sessions that
// arrive in time order; finishSessionImport mends the rest.
var chunkInsertSQL = `INSERT INTO sessions BY NAME
WITH n AS (
    SELECT ` + spoolSessionSelect + `
    FROM {spool}
),
u AS (
    SELECT upload_line, true AS is_new, session_id, client_id, start_utc, traffic_source, source_engine FROM n
    UNION ALL
    SELECT 0, false, session_id, client_id, start_utc, traffic_source, source_engine FROM sessions
    WHERE counter_id = $1 AND client_id IN (SELECT client_id FROM n)
),
w AS (
    SELECT upload_line, is_new,
        ` + attributionWindows + `
    FROM u
)
SELECT n.*, ` + attributionColumns + `
FROM n JOIN w ON w.is_new AND w.upload_line = n.upload_line`

// ImportSessions spools the reader's sessions and loads them in one
// transaction. See crmlink.SessionStore.
func (s *Store) ImportSessions(ctx context.Context, up *crmlink.Upload, r crmlink.SessionReader) (err error) {
	counter, err := s.Counter(ctx, up.CounterID)
	if err != nil {
		return err
	}
	loc, err := counter.Location()
	if err != nil {
		return fmt.Errorf("import sessions: %w", err)
	}
	up.Entity = crmlink.EntitySessions
	if up.ID == "" {
		up.ID = crmlink.NewUploadID()
	}
	if up.Created.IsZero() {
		up.Created = s.clock.Now()
	}
	ids, err := spool.Create(s.spoolDir, "identities")
	if err != nil {
		return fmt.Errorf("import sessions: %w", err)
	}
	defer ids.Remove()
	purchases, err := spool.Create(s.spoolDir, "purchases")
	if err != nil {
		return fmt.Errorf("import sessions: %w", err)
	}
	defer purchases.Remove()

	s.writeMu.Lock()
	defer s.writeMu.Unlock()
	s.sessionsMu.Lock()
	defer s.sessionsMu.Unlock()
	// Imported sessions may come before a ClientID's latest, and bring
	// identities: the hit applier's attribution states and identity
	// filters are forgotten, whatever the outcome.
	defer s.forgetHitCaches()
	l := s.newLoader(ctx, "sessions", func(tx *sql.Tx, chunk *spool.Writer) error {
		// caller: ImportSessions (one chunk)
		_, err := tx.ExecContext(ctx, strings.Replace(chunkInsertSQL, "{spool}", readSpool(chunk.File(), spoolColumns), 1),
			int64(up.CounterID), up.ID)
		return err
	})
	l.whenFailing(r, nil)
	var sess crmlink.Session
	next := func(ss *crmlink.Session) error {
		*ss = crmlink.Session{PurchaseIDs: ss.PurchaseIDs[:0], Identities: ss.Identities[:0]}
		return r.Next(ss)
	}
	line := 0
	// The first line of each chunk, to tell after loading in which chunk
	// each session was attributed.
	var chunkStarts []int
	var chunk *spool.Writer
	n, readErr := spool.Pump(ctx, l, &sess, next, func(sp *spool.Writer, ss *crmlink.Session) {
		line++
		if sp != chunk {
			chunk = sp
			chunkStarts = append(chunkStarts, line)
		}
		spoolSession(sp, line, ss, loc)
		s.noteClient(up.CounterID, ss.ClientID)
		for _, id := range ss.Identities {
			spoolIdentity(ids, ss.ClientID, string(id.Kind), id.Value, ss.Start)
		}
		if ss.UserID != "" {
			spoolIdentity(ids, ss.ClientID, string(crmlink.IdentityUserID), ss.UserID, ss.Start)
		}
		for _, p := range ss.PurchaseIDs {
			spoolPurchase(purchases, line, ss, p)
		}
	})
	if err := errors.Join(ids.Close(), purchases.Close()); err != nil && readErr == nil {
		readErr = err
	}
	tx, done, err := s.readDone(ctx, "import sessions: load", up, l, nil, n, readErr, nil)
	if done {
		return err
	}
	if err := s.finishSessionImport(ctx, tx, up, ids, purchases, uniformChunks(chunkStarts, line)); err != nil {
		tx.Rollback()
		return fmt.Errorf("import sessions: %w", err)
	}
	if err := tx.Commit(); err != nil {
		return fmt.Errorf("import sessions: commit: %w", err)
	}
	return nil
}

// sessionImportScope chooses the orders an import's sessions can concern
// ($3 is the upload): orders created from the earliest new session to a
// link window after the latest, orders linked to a session the import
// replaced, and orders whose purchase the import carries. Relinking every
// order of the counter on every import would be the same answer at many
// times the cost.
const sessionImportScope = `(
    o.created BETWEEN (SELECT min(start_utc) FROM sessions WHERE counter_id = $1 AND upload_id = $3)
                  AND (SELECT max(start_utc) FROM sessions WHERE counter_id = $1 AND upload_id = $3) + to_microseconds($2)
    OR o.id IN (SELECT order_id FROM order_links WHERE counter_id = $1
                AND session_id IN (SELECT session_id FROM sessions WHERE counter_id = $1 AND upload_id = $3))
    OR o.id IN (SELECT purchase_id FROM site_purchases WHERE counter_id = $1
                AND session_id IN (SELECT session_id FROM sessions WHERE counter_id = $1 AND upload_id = $3)))`

// uniformChunks returns the rows of each chunk but the last of an import
// of lines rows whose chunks began at starts, when each began that many
// lines after the one before it (the loader's chunks do); lines when there
// was one chunk; 0 when they were not uniform, or there were none.
func uniformChunks(starts []int, lines int) int {
	switch len(starts) {
	case 0:
		return 0
	case 1:
		return lines
	}
	n := starts[1] - starts[0]
	for i, at := range starts {
		if at != starts[0]+i*n {
			return 0
		}
	}
	return n
}

// disorderedClientsSQL selects the ClientIDs an import ($2) attributed
// wrongly chunk by chunk ($3 is the rows of a chunk, lines numbered from
// 1): those with a session that starts no later than one that was stored
// before its chunk, an earlier chunk's or one from before the import.
// Each chunk's sessions were attributed over themselves and the sessions
// stored before them (chunkInsertSQL): right unless a later chunk brought
// an earlier session. Equal starts count as out of order, as the windows
// then order by session id.
const disorderedClientsSQL = `SELECT client_id FROM (
    SELECT client_id, k, min(start_utc) AS first_start, max(start_utc) AS last_start FROM (
        SELECT client_id, start_utc, CASE WHEN upload_id = $2 THEN (upload_line - 1) // $3 + 1 ELSE 0 END AS k
        FROM sessions
        WHERE counter_id = $1 AND client_id IN (SELECT client_id FROM sessions WHERE counter_id = $1 AND upload_id = $2))
    GROUP BY client_id, k)
QUALIFY first_start <= max(last_start) OVER (PARTITION BY client_id ORDER BY k ROWS BETWEEN UNBOUNDED PRECEDING AND 1 PRECEDING)`

// finishSessionImport replaces older sessions with the same ids, keeps the
// last of repeated ids within the file, stores purchases and identities and records
// the upload, all in the import's transaction. chunkRows is the rows of
// each chunk but the last (0: unknown).
func (s *Store) finishSessionImport(ctx context.Context, tx *sql.Tx, up *crmlink.Upload, ids, purchases *spool.Writer, chunkRows int) error {
	cid := int64(up.CounterID)
	// Within one file the last row with an id wins.
	var dups int64
	// caller: ImportSessions (duplicates within the file)
	if err := tx.QueryRowContext(ctx, `SELECT count(*) - count(DISTINCT session_id) FROM sessions
		WHERE counter_id = ? AND upload_id = ?`, cid, up.ID).Scan(&dups); err != nil {
		return err
	}
	if dups > 0 {
		// caller: ImportSessions (duplicates within the file)
		if _, err := tx.ExecContext(ctx, `DELETE FROM sessions WHERE counter_id = ? AND upload_id = ?
			AND upload_line NOT IN (SELECT max(upload_line) FROM sessions WHERE counter_id = ? AND upload_id = ? GROUP BY session_id)`,
			cid, up.ID, cid, up.ID); err != nil {
			return err
		}
	}
	// The ClientIDs of the sessions it replaces, which may be others than
	// the new sessions': their attribution changes too.
	// caller: ImportSessions (replaced sessions' ClientIDs)
	if _, err := tx.ExecContext(ctx, `CREATE OR REPLACE TEMP TABLE replaced_clients AS SELECT DISTINCT client_id FROM sessions
		WHERE counter_id = ? AND upload_id <> ? AND session_id IN (SELECT session_id FROM sessions WHERE counter_id = ? AND upload_id = ?)`,
		cid, up.ID, cid, up.ID); err != nil {
		return err
	}
	// Replace sessions the counter already had under the same ids, so a
	// file imported twice gives the same sessions.
	// caller: ImportSessions (replace older sessions)
	if _, err := tx.ExecContext(ctx, `DELETE FROM sessions WHERE counter_id = ? AND upload_id <> ?
		AND session_id IN (SELECT session_id FROM sessions WHERE counter_id = ? AND upload_id = ?)`,
		cid, up.ID, cid, up.ID); err != nil {
		return err
	}
	// caller: ImportSessions (replace older sessions' purchases)
	if _, err := tx.ExecContext(ctx, `DELETE FROM site_purchases WHERE counter_id = ?
		AND session_id IN (SELECT session_id FROM sessions WHERE counter_id = ? AND upload_id = ?)`,
		cid, cid, up.ID); err != nil {
		return err
	}
	if purchases.Rows() > 0 {
		// The purchases of the row that won, when an id repeats.
		// caller: ImportSessions (purchases)
		if _, err := tx.ExecContext(ctx, `INSERT INTO site_purchases (counter_id, session_id, client_id, purchase_id, time)
			SELECT DISTINCT ?, session_id, client_id, purchase_id, make_timestamp(time_us) FROM `+readSpool(purchases.File(), purchaseColumns)+`
			QUALIFY seq = max(seq) OVER (PARTITION BY session_id)`, cid); err != nil {
			return err
		}
	}
	if ids.Rows() > 0 {
		if err := insertIdentities(ctx, tx, cid, ids); err != nil {
			return err
		}
	}
	// The attribution each chunk got stands but for the ClientIDs whose
	// sessions came out of time order across chunks, and those whose
	// sessions the import replaced or removed. Without the chunks'
	// bounds, or with repeated ids removed, every ClientID it touched is
	// attributed again.
	scope, args := `SELECT client_id FROM (`+disorderedClientsSQL+`) UNION SELECT client_id FROM replaced_clients`, []any{up.ID, chunkRows}
	if chunkRows == 0 || dups > 0 {
		scope, args = `SELECT DISTINCT client_id FROM sessions WHERE counter_id = $1 AND upload_id = $2
			UNION SELECT client_id FROM replaced_clients`, []any{up.ID}
	}
	// caller: ImportSessions (attribution of the ClientIDs it touched)
	if err := attributeSessions(ctx, tx, cid, scope, args...); err != nil {
		return err
	}
	// Identities seen on the site may give ClientIDs an owner.
	if err := refreshCrossDevice(ctx, tx, cid, ids.Rows() > 0, `SELECT client_id FROM sessions WHERE counter_id = $1 AND upload_id = `+
		sqlString(up.ID)+` UNION SELECT client_id FROM replaced_clients`); err != nil {
		return err
	}
	// caller: ImportSessions
	if _, err := tx.ExecContext(ctx, `DROP TABLE replaced_clients`); err != nil {
		return err
	}
	// New sessions can change which session an order came from.
	counter, err := s.Counter(ctx, up.CounterID)
	if err != nil {
		return err
	}
	if _, _, err := s.linkOrders(ctx, tx, counter, s.clock.Now(), sessionImportScope, up.ID, false); err != nil {
		return err
	}
	return insertUpload(ctx, tx, up)
}

// recordFailed records an upload that failed with err (Upload.Fail has
// filled in its counts) and returns err; what it loaded went with its
// rolled-back transaction.
func (s *Store) recordFailed(ctx context.Context, up *crmlink.Upload, err error) error {
	if ctx.Err() == nil {
		if ierr := insertUpload(ctx, s.db, up); ierr != nil {
			return errors.Join(err, ierr)
		}
	}
	return err
}

// wallClock returns t's wall-clock reading in loc as a zone-less time, the
// way start_local stores it.
func wallClock(t time.Time, loc *time.Location) time.Time {
	l := t.In(loc)
	return time.Date(l.Year(), l.Month(), l.Day(), l.Hour(), l.Minute(), l.Second(), l.Nanosecond(), time.UTC)
}

// SessionStats summarises a counter's sessions.
func (s *Store) SessionStats(ctx context.Context, counter crmlink.CounterID) (crmlink.SessionStats, error) {
	var st crmlink.SessionStats
	var first, last sql.NullTime
	// caller: SessionStats
	err := s.db.QueryRowContext(ctx, `SELECT count(*), count(DISTINCT client_id), min(start_utc), max(start_utc)
		FROM sessions WHERE counter_id = ?`, int64(counter)).Scan(&st.Sessions, &st.Clients, &first, &last)
	if err != nil {
		return st, fmt.Errorf("session stats: %w", err)
	}
	st.First, st.Last = first.Time.UTC(), last.Time.UTC()
	if !first.Valid {
		st.First, st.Last = time.Time{}, time.Time{}
	}
	return st, nil
}

// ClientSessions returns one ClientID's sessions, oldest first.
func (s *Store) ClientSessions(ctx context.Context, counter crmlink.CounterID, clientID uint64) ([]crmlink.Session, error) {
	// caller: ClientSessions
	rows, err := s.db.QueryContext(ctx, `SELECT `+sessionColumns+`,
		    coalesce((SELECT list(purchase_id ORDER BY purchase_id) FROM site_purchases p
		              WHERE p.counter_id = s.counter_id AND p.session_id = s.session_id), [])
		FROM sessions s
		WHERE counter_id = ? AND client_id = CAST(? AS UBIGINT) ORDER BY start_utc, session_id`,
		int64(counter), strconv.FormatUint(clientID, 10)) // database/sql refuses uint64 arguments over 2^63
	if err != nil {
		return nil, fmt.Errorf("client sessions: %w", err)
	}
	defer rows.Close()
	var out []crmlink.Session
	for rows.Next() {
		var ss crmlink.Session
		var local time.Time
		var dur, pv int32
		var kind, device string
		var purchases duckdb.Composite[[]string]
		if err := rows.Scan(&ss.ID, &ss.ClientID, &ss.UserID, &ss.Start, &local, &dur, &pv, &ss.Bounce,
			&kind, &ss.Source.Engine, &ss.Source.UTMSource, &ss.Source.UTMMedium, &ss.Source.UTMCampaign,
			&ss.Source.UTMContent, &ss.Source.UTMTerm, &ss.Source.ClickID, &ss.Referrer, &ss.LandingURL,
			&ss.Country, &ss.Region, &ss.City, &device, &ss.OS, &ss.Browser, &ss.Bot, &purchases); err != nil {
			return nil, fmt.Errorf("client sessions: %w", err)
		}
		ss.CounterID = counter
		ss.Start = ss.Start.UTC()
		ss.Duration = time.Duration(dur) * time.Second
		ss.PageViews = int(pv)
		ss.Source.Kind = crmlink.SourceKind(kind)
		ss.Device = crmlink.DeviceCategory(device)
		ss.PurchaseIDs = purchases.Get()
		out = append(out, ss)
	}
	return out, rows.Err()
}
