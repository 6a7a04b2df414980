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

// TestNextAttribution: a ClientID's first source stays its first
// session's; the last significant source moves only with a significant
// one, and is none until the first.
func TestNextAttribution(t *testing.T) {
	direct := TrafficSource{Kind: SourceDirect}
	organic := TrafficSource{Kind: SourceOrganic, Engine: "yandex"}
	a := NextAttribution(nil, 1, direct)
	if a.First != (SourceRef{1, SourceDirect, ""}) || a.LastSign != (SourceRef{}) {
		t.Errorf("first session: %+v", a)
	}
	a = NextAttribution(&a, 2, organic)
	if a.First.SessionID != 1 || a.LastSign != (SourceRef{2, SourceOrganic, "yandex"}) {
		t.Errorf("after organic: %+v", a)
	}
	a = NextAttribution(&a, 3, direct)
	if a.First.SessionID != 1 || a.LastSign.SessionID != 2 {
		t.Errorf("direct after organic: %+v", a)
	}
}
