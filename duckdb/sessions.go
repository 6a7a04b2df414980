package duckdb

import (
	"context"
	"database/sql"
	"database/sql/driver"
	"errors"
	"fmt"
	"io"
	"strconv"
	"time"

	"github.com/crmlink/crmlink"
	"github.com/duckdb/duckdb-go/v2"
)

// stageSessionsDDL is the per-connection staging table of an import. Rows go
// there through DuckDB's appender (no SQL per row); the move into sessions is
// one set-based statement in one transaction, which is what makes an import
// all or nothing.
const stageSessionsDDL = `CREATE OR REPLACE TEMP TABLE stage_sessions (
    line BIGINT, session_id UBIGINT, client_id UBIGINT, user_id VARCHAR,
    start_utc TIMESTAMP, start_local TIMESTAMP, duration_s INTEGER, page_views INTEGER, is_bounce BOOLEAN,
    traffic_source VARCHAR, source_engine VARCHAR,
    utm_source VARCHAR, utm_medium VARCHAR, utm_campaign VARCHAR, utm_content VARCHAR, utm_term VARCHAR,
    click_id VARCHAR, referrer VARCHAR, landing_url VARCHAR,
    country VARCHAR, region VARCHAR, city VARCHAR, device VARCHAR, os VARCHAR, browser VARCHAR,
    is_bot BOOLEAN, purchase_ids VARCHAR[]);
CREATE OR REPLACE TEMP TABLE stage_identities (client_id UBIGINT, kind VARCHAR, value VARCHAR, first_seen TIMESTAMP);`

const sessionColumns = `session_id, client_id, user_id, start_utc, start_local, duration_s, page_views, is_bounce,
    traffic_source, source_engine, utm_source, utm_medium, utm_campaign, utm_content, utm_term,
    click_id, referrer, landing_url, country, region, city, device, os, browser, is_bot, purchase_ids`

// ImportSessions stages the reader's sessions and moves them into sessions in
// one transaction. See crmlink.SessionStore.
func (s *Store) ImportSessions(ctx context.Context, up *crmlink.Upload, r crmlink.SessionReader) error {
	counter, err := s.Counter(ctx, up.CounterID)
	if err != nil {
		return err
	}
	loc, err := counter.Location()
	if err != nil {
		return fmt.Errorf("import sessions: %w", err)
	}
	s.writeMu.Lock()
	defer s.writeMu.Unlock()
	up.Entity = crmlink.EntitySessions
	if up.ID == "" {
		up.ID = crmlink.NewUploadID()
	}
	if up.Created.IsZero() {
		up.Created = s.clock.Now()
	}
	conn, err := s.db.Conn(ctx)
	if err != nil {
		return fmt.Errorf("import sessions: %w", err)
	}
	defer conn.Close()
	defer conn.ExecContext(context.WithoutCancel(ctx), `DROP TABLE IF EXISTS stage_sessions; DROP TABLE IF EXISTS stage_identities`)
	// caller: ImportSessions
	if _, err := conn.ExecContext(ctx, stageSessionsDDL); err != nil {
		return fmt.Errorf("import sessions: stage: %w", err)
	}
	var readErr error
	n := 0
	err = conn.Raw(func(dc any) error {
		sessApp, err := duckdb.NewAppender(dc.(driver.Conn), "temp", "main", "stage_sessions")
		if err != nil {
			return err
		}
		idApp, err := duckdb.NewAppender(dc.(driver.Conn), "temp", "main", "stage_identities")
		if err != nil {
			sessApp.Close()
			return err
		}
		var sess crmlink.Session
		for {
			if n%4096 == 0 {
				if err := ctx.Err(); err != nil {
					readErr = err
					break
				}
			}
			sess = crmlink.Session{PurchaseIDs: sess.PurchaseIDs[:0], Identities: sess.Identities[:0]}
			if err := r.Next(&sess); err != nil {
				if !errors.Is(err, io.EOF) {
					readErr = err
				}
				break
			}
			n++
			start := sess.Start.UTC()
			purchases := make([]string, len(sess.PurchaseIDs))
			copy(purchases, sess.PurchaseIDs)
			if err := sessApp.AppendRow(int64(n), sess.ID, sess.ClientID, sess.UserID,
				start, wallClock(start, loc), int32(sess.Duration/time.Second), int32(sess.PageViews), sess.Bounce,
				string(sess.Source.Kind), sess.Source.Engine,
				sess.Source.UTMSource, sess.Source.UTMMedium, sess.Source.UTMCampaign, sess.Source.UTMContent, sess.Source.UTMTerm,
				sess.Source.ClickID, sess.Referrer, sess.LandingURL,
				sess.Country, sess.Region, sess.City, string(sess.Device), sess.OS, sess.Browser,
				sess.Bot, purchases); err != nil {
				sessApp.Close()
				idApp.Close()
				return fmt.Errorf("stage session %d: %w", n, err)
			}
			for _, id := range sess.Identities {
				if err := idApp.AppendRow(sess.ClientID, string(id.Kind), id.Value, start); err != nil {
					sessApp.Close()
					idApp.Close()
					return fmt.Errorf("stage identity: %w", err)
				}
			}
			if sess.UserID != "" {
				if err := idApp.AppendRow(sess.ClientID, string(crmlink.IdentityUserID), sess.UserID, start); err != nil {
					sessApp.Close()
					idApp.Close()
					return fmt.Errorf("stage identity: %w", err)
				}
			}
		}
		err1 := sessApp.Close()
		err2 := idApp.Close()
		return errors.Join(err1, err2)
	})
	if err != nil {
		return fmt.Errorf("import sessions: %w", err)
	}
	up.Finished = s.clock.Now()
	if readErr != nil {
		return s.recordFailedImport(ctx, conn, up, n, readErr)
	}
	up.Status = crmlink.UploadPassed
	up.Rows, up.Accepted = n, n
	err = s.inTxLocked(ctx, conn, func(tx *sql.Tx) error {
		// Replace sessions the counter already has under the same ids, so a
		// file imported twice gives the same sessions; within one file the
		// last row with an id wins.
		// caller: ImportSessions
		if _, err := tx.ExecContext(ctx, `DELETE FROM sessions WHERE counter_id = ?
			AND session_id IN (SELECT session_id FROM stage_sessions)`, int64(up.CounterID)); err != nil {
			return err
		}
		if _, err := tx.ExecContext(ctx, `INSERT INTO sessions (counter_id, `+sessionColumns+`, upload_id)
			SELECT ?, `+sessionColumns+`, ? FROM stage_sessions
			QUALIFY count(*) OVER (PARTITION BY session_id) = 1
			     OR row_number() OVER (PARTITION BY session_id ORDER BY line DESC) = 1`,
			int64(up.CounterID), up.ID); err != nil {
			return err
		}
		if _, err := tx.ExecContext(ctx, `INSERT INTO site_identities (counter_id, client_id, kind, value, first_seen)
			SELECT ?, client_id, kind, value, min(first_seen) FROM stage_identities s
			WHERE NOT EXISTS (SELECT 1 FROM site_identities t WHERE t.counter_id = ? AND t.client_id = s.client_id
			                  AND t.kind = s.kind AND t.value = s.value)
			GROUP BY client_id, kind, value`, int64(up.CounterID), int64(up.CounterID)); err != nil {
			return err
		}
		return insertUpload(ctx, tx, up)
	})
	if err != nil {
		return fmt.Errorf("import sessions: %w", err)
	}
	return nil
}

// recordFailedImport records a failed import with its row errors; the
// staged rows are dropped with the staging table.
func (s *Store) recordFailedImport(ctx context.Context, conn *sql.Conn, up *crmlink.Upload, good int, readErr error) error {
	up.Status = crmlink.UploadFailed
	up.Accepted = 0
	var v *crmlink.ValidationError
	if errors.As(readErr, &v) {
		up.Errors = v.Errors
		up.ErrorsTotal = v.Total
		up.Rejected = v.BadRows
		up.Rows = good + v.BadRows
	} else {
		up.Rows = good
		if kind := crmlink.KindOf(readErr); kind == crmlink.KindInvalid || kind == crmlink.KindTooLarge {
			up.Errors = []crmlink.RowError{{Reason: crmlink.MessageOf(readErr)}}
			up.ErrorsTotal = 1
		}
	}
	if ctx.Err() == nil {
		if err := insertUpload(ctx, conn, up); err != nil {
			return errors.Join(readErr, err)
		}
	}
	return readErr
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
	rows, err := s.db.QueryContext(ctx, `SELECT `+sessionColumns+` FROM sessions
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
