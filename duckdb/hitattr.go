package duckdb

import (
	"strings"

	"github.com/crmlink/crmlink"
	"github.com/crmlink/crmlink/spool"
)

// The collector's new sessions are attributed without reading the
// ClientID's earlier sessions.
//
// A session's first and last significant sources (attribution.go) follow
// from the sessions of its ClientID before it. chunkInsertSQL finds those
// by joining the new sessions against every stored session of the
// counter: a scan that grows with the store, which slows the hit applier
// and, through it, the collector.
//
// Hits arrive in time order, so a ClientID's next session follows from
// its latest one alone: its first source is the latest's first; its last
// significant source is itself when it is significant, else the latest's
// (which is the latest itself when that was significant, as stored). The
// store keeps that state for the ClientIDs whose sessions it wrote, and
// knows from the counter's client filter when a ClientID has no session
// at all. Any other ClientID goes through chunkInsertSQL, as does a
// session that does not start after the ClientID's latest one (whose
// ClientID's state is then forgotten), and the state that statement
// computes is kept for the next time.
//
// Importing sessions changes the earlier sessions of ClientIDs, so it
// forgets the state (forgetHitCaches).

// clientAttr is the attribution of a ClientID's latest session, which
// its next session starts from.
type clientAttr struct {
	startUS int64 // the latest session's start, Unix µs
	sid     uint64
	crmlink.SessionAttribution
}

// nextAttr is the attribution of a session of the given id, start and
// source after prev (nil: the ClientID's first session): the root's rule,
// crmlink.NextAttribution.
func nextAttr(prev *clientAttr, sid uint64, startUS int64, src *crmlink.TrafficSource) clientAttr {
	var p *crmlink.SessionAttribution
	if prev != nil {
		p = &prev.SessionAttribution
	}
	return clientAttr{startUS: startUS, sid: sid, SessionAttribution: crmlink.NextAttribution(p, sid, *src)}
}

// follows tells whether a session of the given start and id comes after
// the latest one, in the order attribution sorts sessions by.
func (a *clientAttr) follows(startUS int64, sid uint64) bool {
	return startUS > a.startUS || startUS == a.startUS && sid > a.sid
}

// maxClientAttrs bounds the ClientIDs whose state the store keeps, over
// all counters: about 100 bytes each. Past it the state is forgotten and
// built again as sessions are written.
const maxClientAttrs = 1 << 18

// forgetHitCaches drops every kept attribution state and the filters of
// stored identities (identfilter.go), for a writer other than the hit
// applier. The caller holds s.writeMu, which guards them.
func (s *Store) forgetHitCaches() {
	s.attrs, s.nAttrs = nil, 0
	s.identFilters = nil
}

// keepAttrs records the ClientIDs' latest attributions in a counter, and
// forgets those given a zero one. The caller holds s.writeMu, and the
// transaction that wrote the sessions has committed.
func (s *Store) keepAttrs(counter crmlink.CounterID, attrs map[uint64]clientAttr) {
	if len(attrs) == 0 {
		return
	}
	if s.nAttrs+len(attrs) > maxClientAttrs {
		s.attrs, s.nAttrs = nil, 0
	}
	if s.attrs == nil {
		s.attrs = map[crmlink.CounterID]map[uint64]clientAttr{}
	}
	m := s.attrs[counter]
	if m == nil {
		m = map[uint64]clientAttr{}
		s.attrs[counter] = m
	}
	for c, a := range attrs {
		_, had := m[c]
		if a.sid == 0 {
			if had {
				delete(m, c)
				s.nAttrs--
			}
			continue
		}
		if !had {
			s.nAttrs++
		}
		m[c] = a
	}
}

// attributedColumns are spoolColumns and a session's attribution.
var attributedColumns = strings.TrimSuffix(spoolColumns, "}") + `,
    'first_sid': 'UBIGINT', 'first_source': 'VARCHAR', 'first_engine': 'VARCHAR',
    'lastsign_sid': 'UBIGINT', 'lastsign_source': 'VARCHAR', 'lastsign_engine': 'VARCHAR'}`

// attributedInsertSQL inserts spooled sessions ($1 the counter, $2 the
// upload) with the attribution the spool carries.
const attributedInsertSQL = `INSERT INTO sessions BY NAME
SELECT ` + spoolSessionSelect + `,
    first_sid, first_source, first_engine, lastsign_sid, lastsign_source, lastsign_engine
FROM {spool}`

// spoolAttribution writes a session's attribution in the order of the columns
// attributedColumns adds to spoolColumns.
func spoolAttribution(sp *spool.Writer, a *clientAttr) {
	sp.Uint(a.First.SessionID)
	sp.Str(string(a.First.Kind))
	sp.Str(a.First.Engine)
	if a.LastSign.SessionID == 0 {
		sp.Null()
		sp.Str(string(crmlink.SourceDirect))
		sp.Str("")
		return
	}
	sp.Uint(a.LastSign.SessionID)
	sp.Str(string(a.LastSign.Kind))
	sp.Str(a.LastSign.Engine)
}
