package duckdb

// SetChunkRows makes imports spool and apply n rows at a time, so that
// tests cross chunk boundaries with small files.
func SetChunkRows(s *Store, n int) { s.chunkRows = n }
