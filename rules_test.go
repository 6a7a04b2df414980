package crmlink

import (
	"testing"
	"time"
)

func TestBounceRule(t *testing.T) {
	for _, tc := range []struct {
		pv   int
		d    time.Duration
		goal bool
		want bool
	}{
		{1, 0, false, true},
		{1, 14 * time.Second, false, true},
		{1, 15 * time.Second, false, false},
		{2, 0, false, false},
		{1, 0, true, false},
		{0, 0, false, true},
	} {
		if got := IsBounce(tc.pv, tc.d, tc.goal); got != tc.want {
			t.Errorf("IsBounce(%d, %v, %v) = %v", tc.pv, tc.d, tc.goal, got)
		}
	}
}

func TestSignificant(t *testing.T) {
	for k, want := range map[SourceKind]bool{SourceDirect: false, SourceInternal: false, SourceSaved: false, "": false,
		SourceOrganic: true, SourceAd: true} {
		if k.Significant() != want {
			t.Errorf("%q.Significant() = %v", k, !want)
		}
	}
}
