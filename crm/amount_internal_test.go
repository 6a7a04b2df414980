package crm

import (
	"regexp"
	"testing"

	"github.com/shopspring/decimal"
)

// amountSyntax is what expenseAmount accepts, as a regular expression.
var amountSyntax = regexp.MustCompile(`^[0-9]{1,14}(\.[0-9]{1,4})?$`)

// FuzzExpenseAmount: expenseAmount accepts exactly the amounts of
// amountSyntax and reads the decimal the text says.
func FuzzExpenseAmount(f *testing.F) {
	for _, s := range []string{"0", "1520.50", "007.5", "1.", ".5", "1.23456", "99999999999999.9999", "999999999999999", "1e3", "-1", "1,5", "", "１２"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		got, ok := expenseAmount(s)
		if want := amountSyntax.MatchString(s); ok != want {
			t.Fatalf("expenseAmount(%q) ok = %v, want %v", s, ok, want)
		}
		if ok && !got.Equal(decimal.RequireFromString(s)) {
			t.Fatalf("expenseAmount(%q) = %s", s, got)
		}
	})
}
