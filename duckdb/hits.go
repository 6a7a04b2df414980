package duckdb

import (
	"context"
	"database/sql"
	"fmt"
	"math"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/crmlink/crmlink"
	"github.com/crmlink/crmlink/spool"
)

// The tag's hits are stored in batches through spool files, the way
// imports are: a batch's new sessions are inserted with the attribution
// the collector gave them (or, where it gave none, with the one
// chunkInsertSQL derives from the stored sessions), the sessions its hits
// continue get their counters, and identities, purchases and goal reaches
// are appended, all in one transaction.

const hitUpdateColumns = `{'session_id': 'UBIGINT', 'page_views': 'INTEGER', 'duration_s': 'INTEGER', 'user_id': 'VARCHAR', 'goal': 'BOOLEAN'}`

const hitGoalColumns = `{'session_id': 'UBIGINT', 'goal': 'VARCHAR', 'time_us': 'BIGINT'}`

// bounceRuleSQL ends the bounce rule's condition on page views with its
// condition on duration, in whole seconds as sessions keep it.
var bounceRuleSQL = fmt.Sprintf("%d AND greatest(s.duration_s, u.duration_s) < %d",
	crmlink.BounceMaxPageViews, int(crmlink.BounceDuration/time.Second))

// HitsApplied returns the number of the last batch of hits applied
// (hit_log_state). See crmlink.HitPort.
func (s *Store) HitsApplied(ctx context.Context) (int64, error) {
	var n int64
	// caller: HitsApplied
	if err := s.db.QueryRowContext(ctx, `SELECT applied FROM hit_log_state`).Scan(&n); err != nil {
		return 0, fmt.Errorf("hits applied: %w", err)
	}
	return n, nil
}

// ApplyHits applies batches of hits and records upto as the last applied,
// in one transaction. See crmlink.HitPort.
func (s *Store) ApplyHits(ctx context.Context, upto int64, batches [][]crmlink.SessionHit) error {
	return s.applyHits(ctx, batches, func(tx *sql.Tx) error {
		// caller: ApplyHits
		_, err := tx.ExecContext(ctx, `UPDATE hit_log_state SET applied = ?`, upto)
		return err
	})
}

// applyHits applies batches of hits to sessions, goals, purchases and
// identities in one transaction, with also (recording the batches as
// applied) run in it.
func (s *Store) applyHits(ctx context.Context, batches [][]crmlink.SessionHit, also func(tx *sql.Tx) error) error {
	byCounter := map[crmlink.CounterID][]*crmlink.SessionHit{}
	for _, batch := range batches {
		for i := range batch {
			h := &batch[i]
			byCounter[h.CounterID] = append(byCounter[h.CounterID], h)
		}
	}
	counters := make([]crmlink.CounterID, 0, len(byCounter))
	for id := range byCounter {
		counters = append(counters, id)
	}
	sort.Slice(counters, func(i, j int) bool { return counters[i] < counters[j] })
	cnts := map[crmlink.CounterID]*crmlink.Counter{}
	for _, id := range counters {
		c, err := s.Counter(ctx, id)
		if err != nil {
			return err
		}
		cnts[id] = c
	}
	var spools []*spool.Writer
	defer func() {
		for _, sp := range spools {
			sp.Remove()
		}
	}()
	newSpool := func(name string) (*spool.Writer, error) {
		sp, err := spool.Create(s.spoolDir, name)
		if err == nil {
			spools = append(spools, sp)
		}
		return sp, err
	}
	s.writeMu.Lock()
	defer s.writeMu.Unlock()
	s.sessionsMu.Lock()
	defer s.sessionsMu.Unlock()
	err := s.inTxLocked(ctx, s.db, func(tx *sql.Tx) error {
		for _, id := range counters {
			if err := s.writeCounterHits(ctx, tx, cnts[id], byCounter[id], newSpool); err != nil {
				return fmt.Errorf("apply hits: %w", err)
			}
		}
		return also(tx)
	})
	if err == nil {
		for _, hits := range byCounter {
			s.goalsStored(hits)
		}
	}
	return err
}

// writeCounterHits writes one counter's hits. Each step writes only the
// spools and runs only the statements the batch needs: each costs
// milliseconds, however few its rows.
func (s *Store) writeCounterHits(ctx context.Context, tx *sql.Tx, cnt *crmlink.Counter, hits []*crmlink.SessionHit,
	newSpool func(string) (*spool.Writer, error)) error {
	cid := int64(cnt.ID)
	loc, err := cnt.Location()
	if err != nil {
		return err
	}
	p := s.planHits(cnt.ID, hits)
	sp, err := s.spoolHits(ctx, tx, cnt.ID, loc, hits, p, newSpool)
	if err != nil {
		return err
	}
	if err := insertHitSessions(ctx, tx, cid, p, sp); err != nil {
		return err
	}
	s.attrCounts[0] += int64(len(p.attributed))
	s.attrCounts[1] += int64(p.newSQL)
	if err := updateHitSessions(ctx, tx, cid, p, sp); err != nil {
		return err
	}
	if err := s.insertHitFacts(ctx, tx, cnt, p, sp); err != nil {
		return err
	}
	return hitsCrossDevice(ctx, tx, cid, sp)
}

// hitsCrossDevice brings the kept cross-device attribution up to date for
// a counter's hits: their new sessions of ClientIDs a customer owns, and
// identities that may give a ClientID an owner. A batch of visitors no
// customer owns, with identities no contact has, costs one query of small
// tables.
func hitsCrossDevice(ctx context.Context, tx *sql.Tx, cid int64, sp *hitSpools) error {
	var news []string
	for _, f := range []*spool.Writer{sp.sessions, sp.attributed} {
		if f != nil {
			cols := spoolColumns
			if f == sp.attributed {
				cols = attributedColumns
			}
			news = append(news, `SELECT client_id FROM `+readSpool(f.File(), cols))
		}
	}
	var ids []string
	for _, f := range []*spool.Writer{sp.identities, sp.newIDs} {
		if f != nil && f.Rows() > 0 {
			ids = append(ids, `SELECT client_id, value FROM `+readSpool(f.File(), identityColumns))
		}
	}
	if len(news) == 0 && len(ids) == 0 {
		return nil
	}
	scope := strings.Join(news, " UNION ALL ")
	ownedSQL, idsSQL := "false", "false"
	if scope != "" {
		ownedSQL = `EXISTS (SELECT 1 FROM client_owners WHERE counter_id = $1 AND client_id IN (` + scope + `))`
	}
	if len(ids) > 0 {
		// An identity can give its ClientID a new owner only if it is a
		// contact's that sorts before the ClientID's owner, or the
		// ClientID has none: a customer's repeated identities do not.
		idsSQL = `EXISTS (SELECT 1 FROM (` + strings.Join(ids, " UNION ALL ") + `) i
			JOIN (SELECT uniq_id, unnest(user_ids || email_md5 || email_sha256 || phone_md5 || phone_sha256) AS v
			      FROM contacts WHERE counter_id = $1) c ON c.v = i.value
			WHERE NOT EXISTS (SELECT 1 FROM client_owners o WHERE o.counter_id = $1 AND o.client_id = i.client_id AND o.cust <= c.uniq_id))`
	}
	var owned, ownerMayChange bool
	// caller: ApplyHits (cross-device)
	if err := tx.QueryRowContext(ctx, `SELECT `+ownedSQL+`, `+idsSQL, cid).Scan(&owned, &ownerMayChange); err != nil {
		return fmt.Errorf("cross-device: %w", err)
	}
	if !owned && !ownerMayChange {
		return nil
	}
	return refreshCrossDevice(ctx, tx, cid, ownerMayChange, scope)
}

// hitPlan is what one read of a counter's hits tells: which new sessions
// come attributed, the sessions the hits continue, and how many
// identities, purchases and goal reaches they carry.
type hitPlan struct {
	viaSQL     map[uint64]bool                    // ClientIDs whose new sessions chunkInsertSQL attributes
	attributed map[int]crmlink.SessionAttribution // by hit, the new sessions the collector attributed
	newSQL     int                                // new sessions chunkInsertSQL attributes
	updates    map[uint64]*hitUpdate              // by session, the sessions continued
	ids        int
	purchases  int
	goals      int
	newGoal    bool // a goal the store may not have yet
}

// planHits reads a counter's hits. A new session the collector attributed
// is stored with its attribution; the rest are attributed by
// chunkInsertSQL from the stored sessions, as imported ones are, and so
// are the ClientID's later sessions in the batch, which follow from them.
func (s *Store) planHits(counter crmlink.CounterID, hits []*crmlink.SessionHit) *hitPlan {
	p := &hitPlan{viaSQL: map[uint64]bool{}, attributed: map[int]crmlink.SessionAttribution{}, updates: map[uint64]*hitUpdate{}}
	for i, h := range hits {
		switch {
		case !h.New:
			p.update(h)
		case h.Attribution.Known() && !p.viaSQL[h.ClientID]:
			p.attributed[i] = h.Attribution
		default:
			p.viaSQL[h.ClientID] = true
			p.newSQL++
		}
		p.ids += len(h.Identities)
		if h.Purchase != nil {
			p.purchases++
		}
		if h.Kind == crmlink.HitGoal {
			p.goals++
			p.newGoal = p.newGoal || !s.goalKnown(counter, h.Goal)
		}
	}
	return p
}

// update folds a hit that continues a session into the session's update.
func (p *hitPlan) update(h *crmlink.SessionHit) {
	u := p.updates[h.SessionID]
	if u == nil {
		u = &hitUpdate{}
		p.updates[h.SessionID] = u
	}
	u.start = h.Start
	u.pageViews = max(u.pageViews, h.PageViews)
	u.duration = max(u.duration, h.Duration)
	if h.UserID != "" {
		u.userID = h.UserID
	}
	u.goal = u.goal || h.Kind == crmlink.HitGoal
}

// hitSpools are the spool files of a counter's hits; nil where the batch
// has no such rows.
type hitSpools struct {
	sessions     *spool.Writer // new sessions chunkInsertSQL attributes
	attributed   *spool.Writer // new sessions the collector attributed
	identities   *spool.Writer
	newIDs       *spool.Writer // identities the counter surely lacks (identfilter.go)
	purchases    *spool.Writer
	goals        *spool.Writer
	updates      *spool.Writer
	lo, hi       uint64 // the continued sessions' ids
	updatesSince int64  // the continued sessions' earliest start, Unix µs
}

// spoolHits writes a counter's hits to the spools the plan needs.
func (s *Store) spoolHits(ctx context.Context, tx *sql.Tx, counter crmlink.CounterID, loc *time.Location, hits []*crmlink.SessionHit,
	p *hitPlan, newSpool func(string) (*spool.Writer, error)) (*hitSpools, error) {
	sp := &hitSpools{}
	for _, f := range []struct {
		dst  **spool.Writer
		name string
		n    int
	}{
		{&sp.sessions, "hit-sessions", p.newSQL},
		{&sp.attributed, "hit-sessions-attributed", len(p.attributed)},
		{&sp.identities, "hit-identities", p.ids},
		{&sp.newIDs, "hit-identities-new", p.ids},
		{&sp.purchases, "hit-purchases", p.purchases},
		{&sp.goals, "hit-goals", p.goals},
		{&sp.updates, "hit-updates", len(p.updates)},
	} {
		if f.n == 0 {
			continue
		}
		var err error
		if *f.dst, err = newSpool(f.name); err != nil {
			return nil, err
		}
	}
	var idFilter *clientFilter
	if p.ids > 0 {
		var err error
		if idFilter, err = s.identityFilter(ctx, tx, counter); err != nil {
			return nil, err
		}
	}
	line := 0
	for i, h := range hits {
		if h.New {
			s.noteClient(counter, h.ClientID)
			line++
			ss := crmlink.Session{ID: h.SessionID, ClientID: h.ClientID, UserID: h.UserID, Start: h.Start,
				Duration: h.Duration, PageViews: h.PageViews, Bounce: crmlink.IsBounce(h.PageViews, h.Duration, h.Kind == crmlink.HitGoal),
				Source: h.Source, Referrer: h.Referrer, LandingURL: h.URL, Country: h.Country, Region: h.Region, City: h.City,
				Device: h.Device, OS: h.OS, Browser: h.Browser, Bot: h.Bot}
			if a, ok := p.attributed[i]; ok {
				spoolSession(sp.attributed, line, &ss, loc)
				spoolAttribution(sp.attributed, &a)
				sp.attributed.End()
			} else {
				spoolSession(sp.sessions, line, &ss, loc)
				sp.sessions.End()
			}
		}
		for _, id := range h.Identities {
			if key := s.identityKey(h.ClientID, string(id.Kind), id.Value); !idFilter.mayHave(key) {
				idFilter.add(key)
				spoolIdentity(sp.newIDs, h.ClientID, string(id.Kind), id.Value, h.Time)
			} else {
				spoolIdentity(sp.identities, h.ClientID, string(id.Kind), id.Value, h.Time)
			}
		}
		if h.Purchase != nil {
			// A purchase keeps its session's start, as imports do: linking
			// reads it instead of the sessions.
			spoolPurchase(sp.purchases, i, &crmlink.Session{ID: h.SessionID, ClientID: h.ClientID, Start: h.Start}, h.Purchase.ID)
		}
		if h.Kind == crmlink.HitGoal {
			sp.goals.Uint(h.SessionID)
			sp.goals.Str(h.Goal)
			sp.goals.Int(h.Time.UnixMicro())
			sp.goals.End()
		}
	}
	// The continued sessions' ids and starts bound the UPDATE's scan, so
	// that DuckDB skips the row groups of older sessions: the collector's
	// ids grow with time, and the start does for the sessions an import
	// wrote, whose ids (Metrica's) may take any value.
	sp.lo, sp.hi, sp.updatesSince = math.MaxUint64, 0, math.MaxInt64
	for id, u := range p.updates {
		sp.lo, sp.hi = min(sp.lo, id), max(sp.hi, id)
		sp.updatesSince = min(sp.updatesSince, u.start.UnixMicro())
		sp.updates.Uint(id)
		sp.updates.Int(int64(u.pageViews))
		sp.updates.Int(int64(u.duration / time.Second))
		sp.updates.Str(u.userID)
		sp.updates.Bool(u.goal)
		sp.updates.End()
	}
	for _, f := range []*spool.Writer{sp.sessions, sp.attributed, sp.identities, sp.newIDs, sp.purchases, sp.goals, sp.updates} {
		if f == nil {
			continue
		}
		if err := f.Close(); err != nil {
			return nil, err
		}
	}
	return sp, nil
}

// insertHitSessions inserts a counter's new hit sessions: those the
// collector attributed, then the rest, attributed by SQL, which reads the
// first.
// Hits that continue a session opened in the same batch update it after
// its insert; their page views count from its first hit, so the update's
// maximum already covers it.
func insertHitSessions(ctx context.Context, tx *sql.Tx, cid int64, p *hitPlan, sp *hitSpools) error {
	if len(p.attributed) > 0 {
		// caller: ApplyHits (new sessions, attributed)
		if _, err := tx.ExecContext(ctx, strings.Replace(attributedInsertSQL, "{spool}", readSpool(sp.attributed.File(), attributedColumns), 1), cid, ""); err != nil {
			return err
		}
	}
	if p.newSQL > 0 {
		// caller: ApplyHits (new sessions, attributed from the stored ones)
		_, err := tx.ExecContext(ctx, strings.Replace(chunkInsertSQL, "{spool}", readSpool(sp.sessions.File(), spoolColumns), 1), cid, "")
		return err
	}
	return nil
}

// updateHitSessions updates the sessions a counter's hits continue.
func updateHitSessions(ctx context.Context, tx *sql.Tx, cid int64, p *hitPlan, sp *hitSpools) error {
	if len(p.updates) == 0 {
		return nil
	}
	// The bounce rule (crmlink.IsBounce): once not, never again.
	// caller: ApplyHits (continued sessions)
	_, err := tx.ExecContext(ctx, `UPDATE sessions s SET
			page_views = greatest(s.page_views, u.page_views),
			duration_s = greatest(s.duration_s, u.duration_s),
			is_bounce = s.is_bounce AND NOT u.goal AND greatest(s.page_views, u.page_views) <= `+bounceRuleSQL+`,
			user_id = CASE WHEN u.user_id <> '' THEN u.user_id ELSE s.user_id END
		FROM `+readSpool(sp.updates.File(), hitUpdateColumns)+` u
		WHERE s.counter_id = $1 AND s.session_id BETWEEN CAST($2 AS UBIGINT) AND CAST($3 AS UBIGINT)
			AND s.start_utc >= make_timestamp($4::BIGINT) AND s.session_id = u.session_id`,
		cid, strconv.FormatUint(sp.lo, 10), strconv.FormatUint(sp.hi, 10), sp.updatesSince)
	return err
}

// insertHitFacts appends what a counter's hits carry beside their
// sessions: identities, purchases (which link the orders whose ids they
// carry), site goals and their reaches.
func (s *Store) insertHitFacts(ctx context.Context, tx *sql.Tx, cnt *crmlink.Counter, p *hitPlan, sp *hitSpools) error {
	cid := int64(cnt.ID)
	if p.ids > 0 {
		if sp.newIDs.Rows() > 0 {
			if err := insertNewIdentities(ctx, tx, cid, sp.newIDs); err != nil {
				return err
			}
		}
		// After the new ones, which a repeat in this batch then finds.
		if sp.identities.Rows() > 0 {
			if err := insertIdentities(ctx, tx, cid, sp.identities); err != nil {
				return err
			}
		}
	}
	if p.purchases > 0 {
		// caller: ApplyHits (purchases)
		if _, err := tx.ExecContext(ctx, `INSERT INTO site_purchases (counter_id, session_id, client_id, purchase_id, time)
			SELECT DISTINCT $1, session_id, client_id, purchase_id, make_timestamp(time_us) FROM `+readSpool(sp.purchases.File(), purchaseColumns)+` p
			WHERE NOT EXISTS (SELECT 1 FROM site_purchases x WHERE x.counter_id = $1 AND x.session_id = p.session_id AND x.purchase_id = p.purchase_id)`, cid); err != nil {
			return err
		}
		// A purchase that carries an uploaded order's id wins that order's
		// link (SPEC.md §3), whenever it arrives.
		if _, _, err := s.linkOrders(ctx, tx, cnt, s.clock.Now(), `o.id IN (SELECT purchase_id FROM `+readSpool(sp.purchases.File(), purchaseColumns)+`)`, nil, false); err != nil {
			return err
		}
	}
	if p.newGoal {
		// Site goals are created on first use, named by their identifier.
		// Goals are never deleted: once the store has one, the batches
		// that reach only known goals skip this statement.
		// caller: ApplyHits (goals)
		if _, err := tx.ExecContext(ctx, `INSERT INTO goals (counter_id, name, type, crm_key, action, created)
			SELECT DISTINCT $1, goal, 'action', '', goal, make_timestamp(min(time_us) OVER (PARTITION BY goal)) FROM `+readSpool(sp.goals.File(), hitGoalColumns)+` g
			WHERE NOT EXISTS (SELECT 1 FROM goals x WHERE x.counter_id = $1 AND x.type = 'action' AND x.action = g.goal)`, cid); err != nil {
			return err
		}
	}
	if p.goals > 0 {
		// caller: ApplyHits (goal reaches)
		if _, err := tx.ExecContext(ctx, `INSERT INTO goal_reaches (counter_id, goal_id, order_id, session_id, time, revenue)
			SELECT $1, x.id, '', g.session_id, make_timestamp(g.time_us), 0
			FROM `+readSpool(sp.goals.File(), hitGoalColumns)+` g JOIN goals x ON x.counter_id = $1 AND x.type = 'action' AND x.action = g.goal`, cid); err != nil {
			return err
		}
	}
	return nil
}

// goalKnown tells whether the store surely has a counter's action goal.
func (s *Store) goalKnown(counter crmlink.CounterID, action string) bool {
	s.goalsMu.Lock()
	defer s.goalsMu.Unlock()
	return s.knownGoals[goalKey{counter, action}]
}

// goalsStored records the action goals of committed hits.
func (s *Store) goalsStored(hits []*crmlink.SessionHit) {
	s.goalsMu.Lock()
	defer s.goalsMu.Unlock()
	for _, h := range hits {
		if h.Kind == crmlink.HitGoal {
			if s.knownGoals == nil {
				s.knownGoals = map[goalKey]bool{}
			}
			s.knownGoals[goalKey{h.CounterID, h.Goal}] = true
		}
	}
}

type goalKey struct {
	counter crmlink.CounterID
	action  string
}

type hitUpdate struct {
	start     time.Time // the session's
	pageViews int
	duration  time.Duration
	userID    string
	goal      bool // a goal was reached: not a bounce
}

// insertIdentities adds the identities of a spool file that the counter
// does not have yet.
func insertIdentities(ctx context.Context, tx *sql.Tx, cid int64, sp *spool.Writer) error {
	// caller: identities (imports and hits)
	_, err := tx.ExecContext(ctx, `INSERT INTO site_identities (counter_id, client_id, kind, value, first_seen)
		SELECT ?, client_id, kind, value, make_timestamp(min(first_us)) FROM `+readSpool(sp.File(), identityColumns)+` s
		WHERE NOT EXISTS (SELECT 1 FROM site_identities t WHERE t.counter_id = ? AND t.client_id = s.client_id
		                  AND t.kind = s.kind AND t.value = s.value)
		GROUP BY client_id, kind, value`, cid, cid)
	return err
}

// LastSessions returns the latest session of each ClientID that has one.
// See crmlink.HitStore.
func (s *Store) LastSessions(ctx context.Context, counter crmlink.CounterID, clientIDs []uint64) (map[uint64]*crmlink.Session, error) {
	out := map[uint64]*crmlink.Session{}
	// New visitors, most of those asked about, have no session.
	clientIDs, err := s.mayHaveClients(ctx, counter, clientIDs)
	if err != nil || len(clientIDs) == 0 {
		return out, err
	}
	// The ClientIDs as one list literal: UBIGINTs above the largest BIGINT
	// do not bind as numbers.
	list := make([]byte, 0, 21*len(clientIDs)+2)
	list = append(list, '[')
	for i, id := range clientIDs {
		if i > 0 {
			list = append(list, ',')
		}
		list = strconv.AppendUint(list, id, 10)
	}
	list = append(list, ']')
	// caller: LastSessions
	rows, err := s.db.QueryContext(ctx, `SELECT client_id, session_id, start_utc, duration_s, page_views, traffic_source, source_engine,
		    utm_source, utm_medium, utm_campaign, utm_content, utm_term, click_id,
		    first_sid, first_source, first_engine, lastsign_sid, lastsign_source, lastsign_engine
		FROM sessions WHERE counter_id = ? AND client_id IN (SELECT unnest(CAST(CAST(? AS VARCHAR) AS UBIGINT[])))
		QUALIFY row_number() OVER (PARTITION BY client_id ORDER BY start_utc DESC, session_id DESC) = 1`,
		int64(counter), string(list))
	if err != nil {
		return nil, fmt.Errorf("last sessions: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		ss := &crmlink.Session{CounterID: counter}
		var dur, pv int32
		var kind string
		var ls sql.Null[uint64]
		a := &ss.Attribution
		if err := rows.Scan(&ss.ClientID, &ss.ID, &ss.Start, &dur, &pv, &kind, &ss.Source.Engine,
			&ss.Source.UTMSource, &ss.Source.UTMMedium, &ss.Source.UTMCampaign, &ss.Source.UTMContent, &ss.Source.UTMTerm, &ss.Source.ClickID,
			&a.First.SessionID, &a.First.Kind, &a.First.Engine, &ls, &a.LastSign.Kind, &a.LastSign.Engine); err != nil {
			return nil, fmt.Errorf("last sessions: %w", err)
		}
		if ls.Valid {
			a.LastSign.SessionID = ls.V
		} else {
			a.LastSign = crmlink.SourceRef{} // no significant session yet
		}
		ss.Start = ss.Start.UTC()
		ss.Duration, ss.PageViews = time.Duration(dur)*time.Second, int(pv)
		ss.Source.Kind = crmlink.SourceKind(kind)
		out[ss.ClientID] = ss
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("last sessions: %w", err)
	}
	return out, nil
}
