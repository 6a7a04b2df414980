package duckdb

import (
	"errors"
	"fmt"
	"os"
	"strings"
	"syscall"
	"testing"

	ddb "github.com/duckdb/duckdb-go/v2"

	"github.com/crmlink/crmlink"
)

func TestOutOfMemory(t *testing.T) {
	oom := fmt.Errorf("report: %w", &ddb.Error{Type: ddb.ErrorTypeOutOfMemory,
		Msg: "Out of Memory Error: failed to pin block of size 256.0 KiB (122.2 MiB/122.0 MiB used)"})
	err := outOfMemory(oom)
	if crmlink.KindOf(err) != crmlink.KindUnavailable || !strings.Contains(crmlink.MessageOf(err), "memory_limit") || !errors.Is(err, oom) {
		t.Errorf("out of memory: kind %v, message %q", crmlink.KindOf(err), crmlink.MessageOf(err))
	}
	// The type decides, not the text.
	for _, other := range []error{
		&ddb.Error{Type: ddb.ErrorTypeConstraint, Msg: "Constraint Error: Out of Memory Error in a value"},
		errors.New("Out of Memory Error: a message that is not DuckDB's"),
	} {
		if outOfMemory(other) != other {
			t.Errorf("%v: changed", other)
		}
	}
	if outOfMemory(nil) != nil {
		t.Error("nil changed")
	}
}

// TestClassify: a full disk, reported by the system or quoted by DuckDB,
// and a database DuckDB invalidated get their kinds and marks; other
// errors, and errors meant for the user whatever their text, pass
// unchanged.
func TestClassify(t *testing.T) {
	noSpace := &ddb.Error{Type: ddb.ErrorTypeIO, Msg: `IO Error: Could not write file "x.db.wal": No space left on device`}
	fatal := &ddb.Error{Type: ddb.ErrorTypeFatal, Msg: "FATAL Error: Failed: database has been invalidated because of a previous fatal error"}
	fatalFull := &ddb.Error{Type: ddb.ErrorTypeFatal, Msg: "FATAL Error: Could not write checkpoint: No space left on device"}
	for _, tc := range []struct {
		err          error
		failed, full bool
	}{
		{fmt.Errorf("upload: %w", noSpace), false, true},
		{&os.PathError{Op: "write", Path: "hits-1.log", Err: syscall.ENOSPC}, false, true},
		{fmt.Errorf("report: %w", fatal), true, false},
		{fatalFull, true, true},
	} {
		got := Classify(tc.err)
		if crmlink.KindOf(got) != crmlink.KindUnavailable || errors.Is(got, crmlink.ErrStoreFailed) != tc.failed ||
			errors.Is(got, crmlink.ErrNoSpace) != tc.full || !errors.Is(got, tc.err) {
			t.Errorf("Classify(%v) = %v (kind %v)", tc.err, got, crmlink.KindOf(got))
		}
	}
	for _, same := range []error{
		nil,
		errors.New("FATAL Error: database has been invalidated, in an error that is not DuckDB's"),
		&ddb.Error{Type: ddb.ErrorTypeConstraint, Msg: "Constraint Error: No space left on device"},
		crmlink.Errorf(crmlink.KindInvalid, "line 3: No space left on device"),
	} {
		if got := Classify(same); got != same {
			t.Errorf("Classify(%v) = %v; want it unchanged", same, got)
		}
	}
}

func TestIsLocked(t *testing.T) {
	locked := fmt.Errorf("could not connect to database: %w", &ddb.Error{Type: ddb.ErrorTypeIO,
		Msg: `IO Error: Could not set lock on file "/x/crmlink.db": Conflicting lock is held in /usr/bin/crmlink (PID 7)`})
	if !isLocked(locked) {
		t.Error("a lock held by another process not seen")
	}
	if err := openError("/x/crmlink.db", locked); !errors.Is(err, crmlink.ErrInUse) || crmlink.KindOf(err) != crmlink.KindUnavailable {
		t.Errorf("openError = %v", err)
	}
	if isLocked(&ddb.Error{Type: ddb.ErrorTypeIO, Msg: "IO Error: Cannot open file: Permission denied"}) {
		t.Error("another IO error taken for a lock")
	}
}
