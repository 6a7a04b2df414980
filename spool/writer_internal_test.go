package spool

import (
	"math/rand/v2"
	"testing"

	"github.com/shopspring/decimal"
)

// TestAppendDecimal: appendDecimal writes what Decimal.String does, on its
// fast way and off it.
func TestAppendDecimal(t *testing.T) {
	check := func(d decimal.Decimal) {
		t.Helper()
		if got, want := string(appendDecimal([]byte("x"), d)), "x"+d.String(); got != want {
			t.Fatalf("appendDecimal(%d e%d) = %q, want %q", d.CoefficientInt64(), d.Exponent(), got, want)
		}
	}
	for _, c := range []struct {
		m   int64
		exp int32
	}{
		{0, 0}, {0, -4}, {1, 0}, {1, -1}, {1, -4}, {10, -1}, {100, -2}, {123450, -2}, {-123450, -2},
		{42, -4}, {-42, -4}, {5, -18}, {999999999999999999, 0}, {999999999999999999, -18},
		{-999999999999999999, -9}, {1, 3}, {7, -19}, {1000000000000000000, -2}, {-1, -1},
	} {
		check(decimal.New(c.m, c.exp))
	}
	check(decimal.RequireFromString("123456789012345678901234.5678"))
	check(decimal.RequireFromString("-0.00000000000000000000001"))
	r := rand.New(rand.NewPCG(1, 2))
	for range 100_000 {
		m := r.Int64N(1_000_000_000_000_000_000) >> r.IntN(60)
		if r.IntN(4) == 0 {
			m = -m
		}
		check(decimal.New(m, -int32(r.IntN(20))))
	}
}
