package duckdb

import (
	"slices"
	"testing"

	"github.com/crmlink/crmlink/spool"
)

// TestSpoolColumns: the store reads an orders spool with the columns
// package spool writes, in its order.
func TestSpoolColumns(t *testing.T) {
	var names []string
	for _, c := range orderColumns {
		names = append(names, c.name)
	}
	if !slices.Equal(names, spool.OrderColumns) {
		t.Errorf("the store reads orders spools as\n%v\nspool writes\n%v", names, spool.OrderColumns)
	}
}
