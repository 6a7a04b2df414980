package storetest

import (
	"context"
	"fmt"
	"slices"
	"testing"

	"github.com/crmlink/crmlink"
)

func runConversions(t *testing.T, open Opener) {
	t.Run("Conversions", func(t *testing.T) { testConversions(t, open) })
}

// testConversions: the conversions of a period are the goal reaches of
// its time, each with its goal, its session's ClientID and click id, and
// its value, and only the goals asked for.
func testConversions(t *testing.T, open Opener) {
	ctx := context.Background()
	s, _ := newStore(t, open)
	w := buildSegmentWorld(t, s)
	var sids []uint64
	click := map[uint64]string{}
	client := map[uint64]uint64{}
	for _, se := range w.sessions {
		sids = append(sids, se.ID)
		click[se.ID], client[se.ID] = se.Source.ClickID, se.ClientID
	}
	reaches, err := s.SessionGoalReaches(ctx, w.c.ID, sids)
	if err != nil {
		t.Fatal(err)
	}
	from, to := Epoch.AddDate(0, 0, -60), Epoch.AddDate(0, 0, -10)
	goal := w.goals[0].ID
	for _, goals := range [][]int64{nil, {goal}} {
		var want []string
		for _, r := range reaches {
			if r.Time.Before(from) || !r.Time.Before(to) || len(goals) > 0 && !slices.Contains(goals, r.GoalID) {
				continue
			}
			want = append(want, fmt.Sprint(r.GoalID, r.OrderID, r.SessionID, client[r.SessionID], click[r.SessionID], r.Time.Unix(), r.Revenue.String()))
		}
		var got []string
		err := s.Conversions(ctx, crmlink.ConversionQuery{CounterID: w.c.ID, From: from, To: to, Goals: goals}, func(c *crmlink.Conversion) error {
			got = append(got, fmt.Sprint(c.GoalID, c.OrderID, c.SessionID, c.ClientID, c.ClickID, c.Time.Unix(), c.Value.String()))
			if c.GoalName == "" || c.GoalKey == "" {
				t.Errorf("conversion without its goal: %+v", c)
			}
			return nil
		})
		slices.Sort(got)
		slices.Sort(want)
		if err != nil || !slices.Equal(got, want) || len(want) < 2 {
			t.Errorf("goals %v: %v\n got %q\nwant %q", goals, err, got, want)
		}
	}
}
