package storetest

import (
	"context"
	"testing"
	"time"

	"github.com/crmlink/crmlink"
)

// testGoalsCRUD: an action goal created ahead is the one a hit's
// reachGoal of its identifier reaches; identifiers are unique; a goal
// renamed keeps its reaches, and one deleted loses them; the CRM goals
// cannot be changed or deleted.
func testGoalsCRUD(t *testing.T, open Opener) {
	ctx := context.Background()
	s, _ := newStore(t, open)
	c := MustCounter(t, s, "Shop", "UTC")
	cart := &crmlink.Goal{CounterID: c.ID, Name: "Корзина", Type: "action", Action: "add_to_cart"}
	if err := s.CreateGoal(ctx, cart); err != nil || cart.ID <= 0 {
		t.Fatalf("create: %v, id %d", err, cart.ID)
	}
	if err := s.CreateGoal(ctx, &crmlink.Goal{CounterID: c.ID, Name: "again", Type: "action", Action: "add_to_cart"}); crmlink.KindOf(err) != crmlink.KindConflict {
		t.Errorf("an identifier twice: %v", err)
	}
	// A hit reaches it, by its identifier.
	t0 := day.Add(-24 * time.Hour)
	a := openHit(c, 70, 7001, t0, crmlink.TrafficSource{Kind: crmlink.SourceDirect})
	reach := nextHit(a, crmlink.HitGoal, t0.Add(5*time.Second), 1)
	reach.Goal = "add_to_cart"
	writeHits(t, s, []crmlink.SessionHit{a, reach})
	goals, err := s.Goals(ctx, c.ID)
	if err != nil || len(goals) != 1 || goals[0].ID != cart.ID || goals[0].Reaches != 1 || goals[0].Action != "add_to_cart" || goals[0].Name != "Корзина" {
		t.Fatalf("goals after the hit: %+v, %v", goals, err)
	}
	cart.Name, cart.Action = "Cart", "cart"
	if err := s.UpdateGoal(ctx, cart); err != nil {
		t.Fatal(err)
	}
	if goals, _ = s.Goals(ctx, c.ID); goals[0].Name != "Cart" || goals[0].Action != "cart" || goals[0].Reaches != 1 {
		t.Errorf("renamed: %+v", goals[0])
	}
	// The old identifier is free again.
	other := &crmlink.Goal{CounterID: c.ID, Name: "add", Type: "action", Action: "add_to_cart"}
	if err := s.CreateGoal(ctx, other); err != nil {
		t.Fatal(err)
	}
	if err := s.DeleteGoal(ctx, c.ID, cart.ID); err != nil {
		t.Fatal(err)
	}
	if reaches, err := s.SessionGoalReaches(ctx, c.ID, []uint64{7001}); err != nil || len(reaches) != 0 {
		t.Errorf("reaches of a deleted goal: %+v, %v", reaches, err)
	}
	if goals, _ = s.Goals(ctx, c.ID); len(goals) != 1 || goals[0].ID != other.ID {
		t.Errorf("after the delete: %+v", goals)
	}
	if err := s.DeleteGoal(ctx, c.ID, cart.ID); crmlink.KindOf(err) != crmlink.KindNotFound {
		t.Errorf("deleted twice: %v", err)
	}
	// The CRM goals, which an order upload creates, are the counter's own.
	uploadContacts(t, s, c, crmlink.MergeSave, crmlink.Contact{UniqID: "C1", Fields: crmlink.FieldName, Name: "x"})
	if err := uploadOrders(t, s, c, &crmlink.Upload{}, order("O1", "C1", crmlink.StatusPaid, "10", t0)); err != nil {
		t.Fatal(err)
	}
	goals, _ = s.Goals(ctx, c.ID)
	for _, g := range goals {
		if g.Type != "crm" {
			continue
		}
		if err := s.DeleteGoal(ctx, c.ID, g.ID); crmlink.KindOf(err) != crmlink.KindInvalid {
			t.Errorf("deleting CRM goal %d: %v", g.ID, err)
		}
		g.Name = "mine"
		if err := s.UpdateGoal(ctx, &g); crmlink.KindOf(err) != crmlink.KindInvalid {
			t.Errorf("renaming CRM goal %d: %v", g.ID, err)
		}
	}
}
