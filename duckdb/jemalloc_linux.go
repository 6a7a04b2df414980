package duckdb

// DuckDB on Linux allocates through its own copy of jemalloc, configured
// for a database that owns the machine: one arena per two cores and
// freed pages kept for a second or more before they go back to the
// system. Inside an upload's apply that keeps a good deal resident over
// DuckDB's memory_limit, which a server that must stay under a few
// hundred MB cannot afford. jemalloc reads one more configuration after
// DuckDB's, from the weak symbol defined below, and that one wins:
//
//   - narenas:1: every thread allocates from one arena, so pages freed by
//     one thread serve the next; DuckDB runs two threads here and each
//     keeps its thread cache, so the single arena costs no measurable
//     time (docs/benchmarks.md).
//   - dirty_decay_ms:200, muzzy_decay_ms:0: freed pages go back within a
//     fifth of a second, by the allocator's background thread
//     (allocator_background_threads, on by default in Open). Purging at
//     once (0) slows an upload's apply.
//
// The server's peak during a large upload falls by about a fifth, with
// the apply no slower (docs/operations.md).
//
// If the library linked has no jemalloc (a system libduckdb, say), the
// string is an unused global and the statistics below report nothing.

/*
#include <stddef.h>
#include <stdlib.h>

const char *duckdb_je_malloc_conf_2_conf_harder = "narenas:1,dirty_decay_ms:200,muzzy_decay_ms:0";

extern int duckdb_je_mallctl(const char *name, void *oldp, size_t *oldlenp, void *newp, size_t newlen) __attribute__((weak));

// crmlink_mallctl is jemalloc's mallctl with the old value's size given,
// or -1 when the library has no jemalloc.
static int crmlink_mallctl(const char *name, void *oldp, size_t oldlen, void *newp, size_t newlen) {
	if (!duckdb_je_mallctl) return -1;
	return duckdb_je_mallctl(name, oldp, oldp ? &oldlen : NULL, newp, newlen);
}
*/
import "C"

import "unsafe"

// mallctl reads jemalloc's value name into old (size bytes), writing new
// (newSize bytes) first if given; false without jemalloc or on an error.
func mallctl(name string, old unsafe.Pointer, size uintptr, new unsafe.Pointer, newSize uintptr) bool {
	cs := C.CString(name)
	defer C.free(unsafe.Pointer(cs))
	return C.crmlink_mallctl(cs, old, C.size_t(size), new, C.size_t(newSize)) == 0
}

// allocatorStats returns the bytes DuckDB's allocator has handed out and
// the bytes it holds resident, or ok false without jemalloc.
func allocatorStats() (allocated, resident int64, ok bool) {
	epoch := uint64(1) // writing it refreshes the statistics
	if !mallctl("epoch", unsafe.Pointer(&epoch), 8, unsafe.Pointer(&epoch), 8) {
		return 0, 0, false
	}
	var a, r uint64 // size_t
	ok = mallctl("stats.allocated", unsafe.Pointer(&a), 8, nil, 0) && mallctl("stats.resident", unsafe.Pointer(&r), 8, nil, 0)
	return int64(a), int64(r), ok
}

// allocatorOpt returns one of jemalloc's options, such as opt.narenas
// (unsigned) or opt.dirty_decay_ms (signed), or ok false.
func allocatorOpt(name string) (int64, bool) {
	if name == "opt.narenas" {
		var v uint32
		ok := mallctl(name, unsafe.Pointer(&v), 4, nil, 0)
		return int64(v), ok
	}
	var v int64 // ssize_t
	ok := mallctl(name, unsafe.Pointer(&v), 8, nil, 0)
	return v, ok
}
