package duckdb

import (
	"time"

	"github.com/crmlink/crmlink"
	"github.com/crmlink/crmlink/spool"
)

// spoolSession writes one session in the order of spoolColumns; the caller ends
// the row.
func spoolSession(s *spool.Writer, line int, ss *crmlink.Session, loc *time.Location) {
	start := ss.Start.UTC()
	s.Int(int64(line))
	s.Uint(ss.ID)
	s.Uint(ss.ClientID)
	s.Str(ss.UserID)
	s.Int(start.UnixMicro())
	s.Int(wallClock(start, loc).UnixMicro())
	s.Int(int64(ss.Duration / time.Second))
	s.Int(int64(ss.PageViews))
	s.Bool(ss.Bounce)
	s.Str(string(ss.Source.Kind))
	s.Str(ss.Source.Engine)
	s.Str(ss.Source.UTMSource)
	s.Str(ss.Source.UTMMedium)
	s.Str(ss.Source.UTMCampaign)
	s.Str(ss.Source.UTMContent)
	s.Str(ss.Source.UTMTerm)
	s.Str(ss.Source.ClickID)
	s.Str(ss.Referrer)
	s.Str(ss.LandingURL)
	s.Str(ss.Country)
	s.Str(ss.Region)
	s.Str(ss.City)
	s.Str(string(ss.Device))
	s.Str(ss.OS)
	s.Str(ss.Browser)
	s.Bool(ss.Bot)
}

// spoolPurchase writes one purchase of the seq-th session in the order of
// purchaseColumns.
func spoolPurchase(s *spool.Writer, seq int, ss *crmlink.Session, id string) {
	s.Int(int64(seq))
	s.Uint(ss.ID)
	s.Uint(ss.ClientID)
	s.Str(id)
	s.Int(ss.Start.UTC().UnixMicro())
	s.End()
}

// spoolIdentity writes one site identity in the order of identityColumns.
func spoolIdentity(s *spool.Writer, client uint64, kind, value string, seen time.Time) {
	s.Uint(client)
	s.Str(kind)
	s.Str(value)
	s.Int(seen.UTC().UnixMicro())
	s.End()
}
