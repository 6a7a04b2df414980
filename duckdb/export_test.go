package duckdb

import "github.com/crmlink/crmlink"

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
