package duckdb

import (
	"errors"
	"strings"
	"testing"

	"github.com/crmlink/crmlink"
)

func TestOutOfMemory(t *testing.T) {
	oom := errors.New("Out of Memory Error: failed to pin block of size 256.0 KiB (122.2 MiB/122.0 MiB used)")
	err := outOfMemory(oom)
	if crmlink.KindOf(err) != crmlink.KindUnavailable || !strings.Contains(crmlink.MessageOf(err), "memory_limit") || !errors.Is(err, oom) {
		t.Errorf("out of memory: kind %v, message %q", crmlink.KindOf(err), crmlink.MessageOf(err))
	}
	other := errors.New("Constraint Error: something")
	if outOfMemory(other) != other || outOfMemory(nil) != nil {
		t.Error("other errors must pass unchanged")
	}
}
