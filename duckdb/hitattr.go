package duckdb

import (
	"strings"

	"github.com/crmlink/crmlink"
	"github.com/crmlink/crmlink/spool"
)

// forgetHitCaches drops the filters of stored identities
// (identfilter.go), for a writer other than the hit applier. The caller
// holds s.writeMu, which guards them.
func (s *Store) forgetHitCaches() {
	s.identFilters = nil
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
func spoolAttribution(sp *spool.Writer, a *crmlink.SessionAttribution) {
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
