package duckdb

import (
	"fmt"
	"strings"

	"github.com/crmlink/crmlink"
)

// ClientFilter exposes the filter of ClientIDs to tests.
type ClientFilter struct{ f *clientFilter }

func NewClientFilter(capacity int) ClientFilter { return ClientFilter{newClientFilter(capacity)} }
func (c ClientFilter) Add(id uint64)            { c.f.add(id) }
func (c ClientFilter) MayHave(id uint64) bool   { return c.f.mayHave(id) }

// SetLinkRows makes linking take n orders at a time.
func SetLinkRows(s *Store, n int) { s.linkRows = n }

// Path is the store's database file.
func (s *Store) Path() string { return s.path }

// HitAttribution tells how many new hit sessions were stored with the
// collector's attribution and how many the store attributed from its
// stored sessions.
func HitAttribution(s *Store) (given, bySQL int64) {
	s.writeMu.Lock()
	defer s.writeMu.Unlock()
	return s.attrCounts[0], s.attrCounts[1]
}

// HasClientFilter tells whether the store has built a counter's filter of
// ClientIDs.
func HasClientFilter(s *Store, counter crmlink.CounterID) bool {
	s.filterMu.Lock()
	defer s.filterMu.Unlock()
	return s.filters[counter] != nil
}

// crossDeviceScratchSQL attributes the sessions (p) across all ClientIDs of
// the customer that owns each (the contact whose ClientIDs, or whose
// UserIDs, emails or phones seen on the site, lead to it; a ClientID no
// customer owns is its own customer).
var crossDeviceScratchSQL = `
owner AS (
    SELECT client_id, min(uniq_id) AS cust FROM (` + customerClientsSQL(`(SELECT * FROM contacts WHERE counter_id = $1)`) + `)
    GROUP BY client_id
),
pg AS (SELECT p.session_id, p.start_utc, coalesce(ow.cust, '#' || p.client_id) AS grp FROM p LEFT JOIN owner ow USING (client_id)),
gs AS (
    SELECT s.session_id, s.start_utc, s.traffic_source, s.source_engine, coalesce(ow.cust, '#' || s.client_id) AS grp
    FROM sessions s LEFT JOIN owner ow USING (client_id)
    WHERE s.counter_id = $1 AND NOT s.is_bot AND coalesce(ow.cust, '#' || s.client_id) IN (SELECT grp FROM pg)
),
gfirst AS (SELECT grp, arg_min({'sid': session_id, 'src': traffic_source, 'eng': source_engine}, (start_utc, session_id)) AS f FROM gs GROUP BY grp),
gsig AS (SELECT grp, start_utc, session_id, traffic_source, source_engine FROM gs WHERE ` + significantSQL + `),
glast AS (
    SELECT pg.session_id, gsig.session_id AS sid, gsig.traffic_source AS src, gsig.source_engine AS eng
    FROM pg ASOF LEFT JOIN gsig ON pg.grp = gsig.grp AND gsig.start_utc <= pg.start_utc
),
cd AS (
    SELECT pg.session_id, gfirst.f.sid AS first_sid, gfirst.f.src AS first_source, gfirst.f.eng AS first_engine,
        glast.sid AS lastsign_sid, coalesce(glast.src, 'direct') AS lastsign_source, coalesce(glast.eng, '') AS lastsign_engine
    FROM pg JOIN gfirst USING (grp) LEFT JOIN glast USING (session_id)
),`

// CrossDevice is a session's cross-device attribution: first and last
// significant sources (session id, source, engine).
type CrossDevice struct {
	FirstSID        uint64
	First, FirstEng string
	LastSID         uint64
	Last, LastEng   string
}

// CrossDeviceAttribution returns every non-robot session's cross-device
// attribution of a counter, as kept (kept) or computed from scratch in one
// query over all its sessions, contacts and identities.
func CrossDeviceAttribution(s *Store, counter crmlink.CounterID, kept bool) (map[uint64]CrossDevice, error) {
	q := `SELECT s.session_id, coalesce(x.first_sid, s.first_sid), coalesce(x.first_source, s.first_source),
	    coalesce(x.first_engine, s.first_engine),
	    CASE WHEN x.session_id IS NULL THEN coalesce(s.lastsign_sid, 0) ELSE coalesce(x.lastsign_sid, 0) END,
	    coalesce(x.lastsign_source, s.lastsign_source), coalesce(x.lastsign_engine, s.lastsign_engine)
	    FROM sessions s LEFT JOIN (SELECT * FROM session_cross_device WHERE counter_id = $1) x USING (session_id)
	    WHERE s.counter_id = $1 AND NOT s.is_bot`
	if !kept {
		q = `WITH p AS (SELECT * FROM sessions WHERE counter_id = $1 AND NOT is_bot),
		` + strings.TrimSuffix(strings.TrimSpace(crossDeviceScratchSQL), ",") + `
		SELECT session_id, first_sid, first_source, first_engine, coalesce(lastsign_sid, 0), lastsign_source, lastsign_engine FROM cd`
	}
	rows, err := s.db.Query(q, int64(counter))
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	out := map[uint64]CrossDevice{}
	for rows.Next() {
		var sid uint64
		var a CrossDevice
		if err := rows.Scan(&sid, &a.FirstSID, &a.First, &a.FirstEng, &a.LastSID, &a.Last, &a.LastEng); err != nil {
			return nil, err
		}
		if _, dup := out[sid]; dup {
			return nil, fmt.Errorf("session %d twice", sid)
		}
		out[sid] = a
	}
	return out, rows.Err()
}

// ClientAttributionDiffs counts the sessions of a counter whose kept first
// and lastsign attribution differ from one computed over all of its
// sessions.
func ClientAttributionDiffs(s *Store, counter crmlink.CounterID) (int64, error) {
	var n int64
	q := replaceScope(attributeSQL, `SELECT DISTINCT client_id FROM sessions WHERE counter_id = $1`)
	err := s.db.QueryRow(`SELECT count(*) FROM (`+q+`)`, int64(counter)).Scan(&n)
	return n, err
}

// SetAudiencePage makes SegmentAudience read n members at a time.
func SetAudiencePage(s *Store, n int) { s.audiencePage = n }
