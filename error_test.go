package crmlink_test

import (
	"testing"

	"github.com/crmlink/crmlink"
)

// TestValidationErrorMerge: merged errors keep file order and stop at
// MaxRowErrors, while the counts add up in full.
func TestValidationErrorMerge(t *testing.T) {
	var a, b crmlink.ValidationError
	for i := range crmlink.MaxRowErrors - 2 {
		a.Add(crmlink.RowError{Line: i + 1})
	}
	a.BadRows = 7
	for i := range 5 {
		b.Add(crmlink.RowError{Line: crmlink.MaxRowErrors + i})
	}
	b.Total, b.BadRows = 40, 4 // more errors than b lists
	a.Merge(&b)
	if len(a.Errors) != crmlink.MaxRowErrors || a.Errors[crmlink.MaxRowErrors-1].Line != crmlink.MaxRowErrors+1 {
		t.Errorf("merged %d errors, the last at line %d; want %d, the last at line %d",
			len(a.Errors), a.Errors[len(a.Errors)-1].Line, crmlink.MaxRowErrors, crmlink.MaxRowErrors+1)
	}
	if a.Total != crmlink.MaxRowErrors-2+40 || a.BadRows != 11 {
		t.Errorf("Total %d, BadRows %d; want %d, 11", a.Total, a.BadRows, crmlink.MaxRowErrors-2+40)
	}
}
