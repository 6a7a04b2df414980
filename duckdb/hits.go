package duckdb

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/crmlink/crmlink"
)

// The tag's hits are stored in batches through spool files, the way
// imports are: a batch's new sessions are inserted with their attribution
// (chunkInsertSQL), the sessions its hits continue get their counters, and
// identities, purchases and goal reaches are appended, all in one
// transaction.

const hitUpdateColumns = `{'session_id': 'UBIGINT', 'page_views': 'INTEGER', 'duration_s': 'INTEGER', 'user_id': 'VARCHAR'}`

const hitGoalColumns = `{'session_id': 'UBIGINT', 'goal': 'VARCHAR', 'time_us': 'BIGINT'}`

// WriteHits stores a batch of hits. See crmlink.HitStore.
func (s *Store) WriteHits(ctx context.Context, hits []crmlink.SessionHit) error {
	byCounter := map[crmlink.CounterID][]crmlink.SessionHit{}
	for _, h := range hits {
		byCounter[h.CounterID] = append(byCounter[h.CounterID], h)
	}
	counters := make([]crmlink.CounterID, 0, len(byCounter))
	for id := range byCounter {
		counters = append(counters, id)
	}
	sort.Slice(counters, func(i, j int) bool { return counters[i] < counters[j] })
	locs := map[crmlink.CounterID]*time.Location{}
	for _, id := range counters {
		c, err := s.Counter(ctx, id)
		if err != nil {
			return err
		}
		if locs[id], err = c.Location(); err != nil {
			return err
		}
	}
	var spools []*spool
	defer func() {
		for _, sp := range spools {
			sp.remove()
		}
	}()
	newSpool := func(name string) (*spool, error) {
		sp, err := newSpool(s.spoolDir, name)
		if err == nil {
			spools = append(spools, sp)
		}
		return sp, err
	}
	return s.inTx(ctx, func(tx *sql.Tx) error {
		for _, id := range counters {
			if err := writeCounterHits(ctx, tx, id, byCounter[id], locs[id], newSpool); err != nil {
				return fmt.Errorf("write hits: %w", err)
			}
		}
		return nil
	})
}

func writeCounterHits(ctx context.Context, tx *sql.Tx, counter crmlink.CounterID, hits []crmlink.SessionHit, loc *time.Location,
	newSpool func(string) (*spool, error)) error {
	cid := int64(counter)
	sessions, err := newSpool("hit-sessions")
	if err != nil {
		return err
	}
	updates, ids, purchases, goals := map[uint64]*hitUpdate{}, 0, 0, 0
	idSpool, err := newSpool("hit-identities")
	if err != nil {
		return err
	}
	purchaseSpool, err := newSpool("hit-purchases")
	if err != nil {
		return err
	}
	goalSpool, err := newSpool("hit-goals")
	if err != nil {
		return err
	}
	line := 0
	for i := range hits {
		h := &hits[i]
		if h.New {
			line++
			ss := crmlink.Session{ID: h.SessionID, ClientID: h.ClientID, UserID: h.UserID, Start: h.Start,
				Duration: h.Duration, PageViews: h.PageViews, Bounce: true, Source: h.Source, Referrer: h.Referrer,
				LandingURL: h.URL, Country: h.Country, Region: h.Region, City: h.City, Device: h.Device, OS: h.OS,
				Browser: h.Browser, Bot: h.Bot}
			sessions.session(line, &ss, loc)
			sessions.end()
		} else {
			u := updates[h.SessionID]
			if u == nil {
				u = &hitUpdate{}
				updates[h.SessionID] = u
			}
			u.pageViews = max(u.pageViews, h.PageViews)
			u.duration = max(u.duration, h.Duration)
			if h.UserID != "" {
				u.userID = h.UserID
			}
		}
		for _, id := range h.Identities {
			idSpool.identity(h.ClientID, string(id.Kind), id.Value, h.Time)
			ids++
		}
		if h.Purchase != nil {
			purchaseSpool.purchase(i, &crmlink.Session{ID: h.SessionID, ClientID: h.ClientID, Start: h.Time}, h.Purchase.ID)
			purchases++
		}
		if h.Kind == crmlink.HitGoal {
			goalSpool.uint(h.SessionID)
			goalSpool.str(h.Goal)
			goalSpool.int(h.Time.UnixMicro())
			goalSpool.end()
			goals++
		}
	}
	// Hits that continue a session opened in this same batch update it
	// after its insert.
	for i := range hits {
		if h := &hits[i]; h.New {
			if u := updates[h.SessionID]; u != nil {
				u.pageViews = max(u.pageViews, h.PageViews)
			}
		}
	}
	updSpool, err := newSpool("hit-updates")
	if err != nil {
		return err
	}
	for id, u := range updates {
		updSpool.uint(id)
		updSpool.int(int64(u.pageViews))
		updSpool.int(int64(u.duration / time.Second))
		updSpool.str(u.userID)
		updSpool.end()
	}
	for _, sp := range []*spool{sessions, idSpool, purchaseSpool, goalSpool, updSpool} {
		if err := sp.close(); err != nil {
			return err
		}
	}
	if line > 0 {
		// caller: WriteHits (new sessions)
		if _, err := tx.ExecContext(ctx, strings.Replace(chunkInsertSQL, "{spool}", readSpool(sessions.path, spoolColumns), 1), cid, ""); err != nil {
			return err
		}
	}
	if len(updates) > 0 {
		// A session is a bounce while it has one page view and lasts under
		// 15 seconds.
		// caller: WriteHits (continued sessions)
		if _, err := tx.ExecContext(ctx, `UPDATE sessions s SET
				page_views = greatest(s.page_views, u.page_views),
				duration_s = greatest(s.duration_s, u.duration_s),
				is_bounce = greatest(s.page_views, u.page_views) <= 1 AND greatest(s.duration_s, u.duration_s) < 15,
				user_id = CASE WHEN u.user_id <> '' THEN u.user_id ELSE s.user_id END
			FROM `+readSpool(updSpool.path, hitUpdateColumns)+` u
			WHERE s.counter_id = $1 AND s.session_id = u.session_id`, cid); err != nil {
			return err
		}
	}
	if ids > 0 {
		if err := insertIdentities(ctx, tx, cid, idSpool.path); err != nil {
			return err
		}
	}
	if purchases > 0 {
		// caller: WriteHits (purchases)
		if _, err := tx.ExecContext(ctx, `INSERT INTO site_purchases (counter_id, session_id, client_id, purchase_id, time)
			SELECT DISTINCT $1, session_id, client_id, purchase_id, make_timestamp(time_us) FROM `+readSpool(purchaseSpool.path, purchaseColumns)+` p
			WHERE NOT EXISTS (SELECT 1 FROM site_purchases x WHERE x.counter_id = $1 AND x.session_id = p.session_id AND x.purchase_id = p.purchase_id)`, cid); err != nil {
			return err
		}
	}
	if goals > 0 {
		// Site goals are created on first use, named by their identifier.
		// caller: WriteHits (goals)
		if _, err := tx.ExecContext(ctx, `INSERT INTO goals (counter_id, name, type, crm_key, action, created)
			SELECT DISTINCT $1, goal, 'action', '', goal, make_timestamp(min(time_us) OVER (PARTITION BY goal)) FROM `+readSpool(goalSpool.path, hitGoalColumns)+` g
			WHERE NOT EXISTS (SELECT 1 FROM goals x WHERE x.counter_id = $1 AND x.type = 'action' AND x.action = g.goal)`, cid); err != nil {
			return err
		}
		// caller: WriteHits (goal reaches)
		if _, err := tx.ExecContext(ctx, `INSERT INTO goal_reaches (counter_id, goal_id, order_id, session_id, time, revenue)
			SELECT $1, x.id, '', g.session_id, make_timestamp(g.time_us), 0
			FROM `+readSpool(goalSpool.path, hitGoalColumns)+` g JOIN goals x ON x.counter_id = $1 AND x.type = 'action' AND x.action = g.goal`, cid); err != nil {
			return err
		}
	}
	return nil
}

type hitUpdate struct {
	pageViews int
	duration  time.Duration
	userID    string
}

// insertIdentities adds the identities of a spool file that the counter
// does not have yet.
func insertIdentities(ctx context.Context, tx *sql.Tx, cid int64, path string) error {
	// caller: identities (imports and hits)
	_, err := tx.ExecContext(ctx, `INSERT INTO site_identities (counter_id, client_id, kind, value, first_seen)
		SELECT ?, client_id, kind, value, make_timestamp(min(first_us)) FROM `+readSpool(path, identityColumns)+` s
		WHERE NOT EXISTS (SELECT 1 FROM site_identities t WHERE t.counter_id = ? AND t.client_id = s.client_id
		                  AND t.kind = s.kind AND t.value = s.value)
		GROUP BY client_id, kind, value`, cid, cid)
	return err
}

// LastSession returns a ClientID's latest session, or nil. See
// crmlink.HitStore.
func (s *Store) LastSession(ctx context.Context, counter crmlink.CounterID, clientID uint64) (*crmlink.Session, error) {
	var ss crmlink.Session
	var dur, pv int32
	var kind string
	// caller: LastSession
	err := s.db.QueryRowContext(ctx, `SELECT session_id, start_utc, duration_s, page_views, traffic_source, source_engine,
		    utm_source, utm_medium, utm_campaign, utm_content, utm_term, click_id
		FROM sessions WHERE counter_id = ? AND client_id = CAST(? AS UBIGINT) ORDER BY start_utc DESC, session_id DESC LIMIT 1`,
		int64(counter), strconv.FormatUint(clientID, 10)).Scan(&ss.ID, &ss.Start, &dur, &pv, &kind, &ss.Source.Engine,
		&ss.Source.UTMSource, &ss.Source.UTMMedium, &ss.Source.UTMCampaign, &ss.Source.UTMContent, &ss.Source.UTMTerm, &ss.Source.ClickID)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("last session: %w", err)
	}
	ss.CounterID, ss.ClientID = counter, clientID
	ss.Start = ss.Start.UTC()
	ss.Duration, ss.PageViews = time.Duration(dur)*time.Second, int(pv)
	ss.Source.Kind = crmlink.SourceKind(kind)
	return &ss, nil
}
