package duckdb

import (
	"errors"
	"strings"
	"syscall"

	ddb "github.com/duckdb/duckdb-go/v2"
)

// DuckDB's errors are classified by the type the driver gives them
// (*ddb.Error). Two causes share their type with others, and only the
// message tells them apart: a full disk (DuckDB reports the system's error
// as text, without its number) and a file locked by another process, both
// of type IO.

// isType reports whether err carries a DuckDB error of type t.
func isType(err error, t ddb.ErrorType) bool {
	var e *ddb.Error
	return errors.As(err, &e) && e.Type == t
}

// isNoSpace reports whether err is a write the disk had no room for: the
// system's ENOSPC, or DuckDB's IO or fatal error that quotes it.
func isNoSpace(err error) bool {
	if errors.Is(err, syscall.ENOSPC) {
		return true
	}
	var e *ddb.Error
	return errors.As(err, &e) && (e.Type == ddb.ErrorTypeIO || e.Type == ddb.ErrorTypeFatal) &&
		strings.Contains(strings.ToLower(e.Msg), "no space left on device")
}

// isLocked reports whether opening a database failed because another
// process holds its file.
func isLocked(err error) bool {
	var e *ddb.Error
	return errors.As(err, &e) && e.Type == ddb.ErrorTypeIO &&
		(strings.Contains(e.Msg, "Could not set lock") || strings.Contains(e.Msg, "Conflicting lock"))
}
