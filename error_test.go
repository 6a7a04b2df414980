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

	// Errors of later lines merged first come after: the list is in line
	// order, an error of one line after those of that line already there.
	c := crmlink.ValidationError{}
	c.Add(crmlink.RowError{Line: 2, Reason: "a"})
	c.Add(crmlink.RowError{Line: 9, Reason: "b"})
	c.Add(crmlink.RowError{Line: 9, Reason: "c"})
	d := crmlink.ValidationError{}
	d.Add(crmlink.RowError{Line: 4, Reason: "d"})
	d.Add(crmlink.RowError{Line: 9, Reason: "e"})
	d.Add(crmlink.RowError{Line: 12, Reason: "f"})
	c.Merge(&d)
	var got string
	for _, e := range c.Errors {
		got += e.Reason
	}
	if got != "adbcef" || c.Total != 6 {
		t.Errorf("merged %q (%d), want adbcef (6)", got, c.Total)
	}
}
