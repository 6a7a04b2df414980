//go:build !linux

package duckdb

// DuckDB uses its own jemalloc on Linux only (jemalloc_linux.go); elsewhere
// it allocates with the system's allocator, which reports nothing here.

func allocatorStats() (allocated, resident int64, ok bool) { return 0, 0, false }

func allocatorOpt(string) (int64, bool) { return 0, false }
