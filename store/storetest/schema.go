package storetest

import (
	"context"
	"fmt"
	"testing"

	"github.com/crmlink/crmlink"
)

// testSchema: declared attributes, by entity, replacing those of the same
// names; a product list of more items than one statement writes.
func testSchema(t *testing.T, open Opener) {
	ctx := context.Background()
	s, _ := newStore(t, open)
	c := MustCounter(t, s, "Shop", "UTC")
	age := crmlink.SchemaAttribute{Name: "age", TypeName: "numeric", TypeGroup: "PREDEFINED", Humanized: "Возраст"}
	dates := crmlink.SchemaAttribute{Name: "dates_of_meetings", TypeName: "date", Multivalued: true, Humanized: "Даты обращений"}
	if err := s.SaveSchemaAttributes(ctx, c.ID, "CONTACT", []crmlink.SchemaAttribute{dates, age}); err != nil {
		t.Fatal(err)
	}
	age2 := age
	age2.Humanized = "Age"
	level := crmlink.SchemaAttribute{Name: "level", TypeName: "text"}
	if err := s.SaveSchemaAttributes(ctx, c.ID, "CONTACT", []crmlink.SchemaAttribute{age2, level}); err != nil {
		t.Fatal(err)
	}
	if err := s.SaveSchemaAttributes(ctx, c.ID, "ORDER", []crmlink.SchemaAttribute{level}); err != nil {
		t.Fatal(err)
	}
	got, err := s.SchemaAttributes(ctx, c.ID, "CONTACT")
	if err != nil {
		t.Fatal(err)
	}
	if want := fmt.Sprint([]crmlink.SchemaAttribute{age2, dates, level}); fmt.Sprint(got) != want {
		t.Errorf("contact attributes:\n%v\nwant\n%v", got, want)
	}
	if got, err := s.SchemaAttributes(ctx, c.ID, "COMPANY"); err != nil || len(got) != 0 {
		t.Errorf("company attributes: %v, %v", got, err)
	}

	var items []crmlink.ProductItem
	for i := range 1200 {
		items = append(items, crmlink.ProductItem{Name: fmt.Sprintf("p%04d", i), Humanized: fmt.Sprintf("Товар %d", i)})
	}
	if err := s.SaveProducts(ctx, c.ID, items); err != nil {
		t.Fatal(err)
	}
	if err := s.SaveProducts(ctx, c.ID, []crmlink.ProductItem{{Name: "p0007", Humanized: "Груша"}, {Name: "zz"}}); err != nil {
		t.Fatal(err)
	}
	list, err := s.Products(ctx, c.ID)
	if err != nil {
		t.Fatal(err)
	}
	if len(list) != 1201 || list[7] != (crmlink.ProductItem{Name: "p0007", Humanized: "Груша"}) || list[1199].Humanized != "Товар 1199" || list[1200].Name != "zz" {
		t.Errorf("products: %d items, %v %v %v", len(list), list[7], list[1199], list[len(list)-1])
	}
	if err := s.SaveProducts(ctx, 999999, items[:1]); crmlink.KindOf(err) != crmlink.KindNotFound {
		t.Errorf("an unknown counter's products: %v", err)
	}
}
