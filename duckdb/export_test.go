package duckdb

// SetChunkRows makes imports spool and apply n rows at a time, so that
// tests cross chunk boundaries with small files.
func SetChunkRows(s *Store, n int) { s.chunkRows = n }

// ClientFilter exposes the filter of ClientIDs to tests.
type ClientFilter struct{ f *clientFilter }

func NewClientFilter(capacity int) ClientFilter { return ClientFilter{newClientFilter(capacity)} }
func (c ClientFilter) Add(id uint64)            { c.f.add(id) }
func (c ClientFilter) MayHave(id uint64) bool   { return c.f.mayHave(id) }
