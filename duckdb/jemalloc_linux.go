package duckdb

// DuckDB on Linux allocates through its own copy of jemalloc, configured
// for a database that owns the machine: one arena per two cores and
// freed pages kept for a second or more before they go back to the
// system. Inside an upload's apply that kept 100–200 MB resident over
// DuckDB's memory_limit, which a server that must stay under a few
// hundred MB cannot afford. jemalloc reads one more configuration after
// DuckDB's, from the weak symbol defined below, and that one wins:
//
//   - narenas:1: every thread allocates from one arena, so pages freed by
//     one thread serve the next; DuckDB runs two threads here and each
//     keeps its thread cache, so the single arena costs no measurable
//     time (bench collect and bench upload, back to back).
//   - dirty_decay_ms:200, muzzy_decay_ms:0: freed pages go back within a
//     fifth of a second, by the allocator's background thread
//     (allocator_background_threads, on by default in Open). Purging at
//     once (0) made an upload's apply 30% slower.
//
// Measured with bench upload, memory_limit=96MB: the server's peak for 5M
// orders fell from 309–323 MiB to 243–251 MiB, with the apply no slower.
//
// If the library linked has no jemalloc (a system libduckdb, say), the
// string is an unused global and the statistics below report nothing.

/*
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <sys/types.h>

const char *duckdb_je_malloc_conf_2_conf_harder = "narenas:1,dirty_decay_ms:200,muzzy_decay_ms:0";

extern int duckdb_je_mallctl(const char *name, void *oldp, size_t *oldlenp, void *newp, size_t newlen) __attribute__((weak));

static int crmlink_je_ssize(const char *name, int64_t *out) {
	if (!duckdb_je_mallctl) return -1;
	ssize_t v;
	size_t len = sizeof v;
	if (duckdb_je_mallctl(name, &v, &len, NULL, 0) != 0) return -1;
	*out = (int64_t)v;
	return 0;
}

static int crmlink_je_unsigned(const char *name, int64_t *out) {
	if (!duckdb_je_mallctl) return -1;
	unsigned v;
	size_t len = sizeof v;
	if (duckdb_je_mallctl(name, &v, &len, NULL, 0) != 0) return -1;
	*out = (int64_t)v;
	return 0;
}

static int crmlink_je_stats(int64_t *allocated, int64_t *resident) {
	if (!duckdb_je_mallctl) return -1;
	uint64_t epoch = 1;
	size_t len = sizeof epoch;
	if (duckdb_je_mallctl("epoch", &epoch, &len, &epoch, len) != 0) return -1;
	size_t v;
	len = sizeof v;
	if (duckdb_je_mallctl("stats.allocated", &v, &len, NULL, 0) != 0) return -1;
	*allocated = (int64_t)v;
	len = sizeof v;
	if (duckdb_je_mallctl("stats.resident", &v, &len, NULL, 0) != 0) return -1;
	*resident = (int64_t)v;
	return 0;
}
*/
import "C"

import "unsafe"

// allocatorStats returns the bytes DuckDB's allocator has handed out and
// the bytes it holds resident, or ok false without jemalloc.
func allocatorStats() (allocated, resident int64, ok bool) {
	var a, r C.int64_t
	if C.crmlink_je_stats(&a, &r) != 0 {
		return 0, 0, false
	}
	return int64(a), int64(r), true
}

// allocatorOpt returns one of jemalloc's options, such as opt.narenas
// (unsigned) or opt.dirty_decay_ms (signed), or ok false.
func allocatorOpt(name string) (int64, bool) {
	cs := C.CString(name)
	defer C.free(unsafe.Pointer(cs))
	var v C.int64_t
	var rc C.int
	if name == "opt.narenas" {
		rc = C.crmlink_je_unsigned(cs, &v)
	} else {
		rc = C.crmlink_je_ssize(cs, &v)
	}
	return int64(v), rc == 0
}
