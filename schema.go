package crmlink

import (
	"context"
	"regexp"
)

// SchemaAttribute is a custom attribute a CRM declares for its contacts,
// companies, orders or simple orders (Metrica's schema/attributes), or for
// the items of its product list (schema/products). Uploads keep any
// column that is not one of ours as an attribute whether declared or not;
// a declaration names and types it, as Metrica's does.
type SchemaAttribute struct {
	Name          string `json:"name"`
	TypeName      string `json:"type_name"`
	TypeGroup     string `json:"type_group,omitempty"`
	TypeHumanized string `json:"type_humanized,omitempty"`
	Multivalued   bool   `json:"multivalued"`
	Humanized     string `json:"humanized,omitempty"`
}

// ProductItem is an item of a counter's product list.
type ProductItem struct {
	Name      string `json:"name"`
	Humanized string `json:"humanized,omitempty"`
}

// SchemaEntities are the entities attributes are declared for (Metrica's
// entity_type), and SchemaProduct the product list's.
var SchemaEntities = []string{"CONTACT", "COMPANY", "ORDER", "SIMPLE_ORDER"}

// SchemaProduct is the entity of the product list's attributes.
const SchemaProduct = "PRODUCT"

// Metrica's limits on a declaration.
const (
	MaxSchemaItems     = 160_000
	maxSchemaName      = 255
	maxSchemaHumanized = 4096
)

var schemaName = regexp.MustCompile(`^[\w:-]+$`)

// ValidateSchemaAttributes checks declared attributes as Metrica does: a
// name of letters, digits, _, - and :, at most 255 bytes, each once; a
// type; a name for people of at most 4096 bytes.
func ValidateSchemaAttributes(attrs []SchemaAttribute) error {
	if len(attrs) > MaxSchemaItems {
		return Errorf(KindInvalid, "attributes: %d: at most %d", len(attrs), MaxSchemaItems)
	}
	seen := map[string]bool{}
	for i, a := range attrs {
		switch {
		case a.Name == "" || len(a.Name) > maxSchemaName || !schemaName.MatchString(a.Name):
			return Errorf(KindInvalid, "attributes[%d].name: %q: want 1 to %d letters, digits, _, - or :", i, a.Name, maxSchemaName)
		case seen[a.Name]:
			return Errorf(KindInvalid, "attributes[%d].name: %q is declared twice", i, a.Name)
		case a.TypeName == "" || len(a.TypeName) > maxSchemaName:
			return Errorf(KindInvalid, "attributes[%d].type_name: want the attribute's type (numeric, date, datetime, email, text, or a list's)", i)
		case len(a.Humanized) > maxSchemaHumanized || len(a.TypeHumanized) > maxSchemaHumanized || len(a.TypeGroup) > maxSchemaName:
			return Errorf(KindInvalid, "attributes[%d]: a name for people is at most %d bytes", i, maxSchemaHumanized)
		}
		seen[a.Name] = true
	}
	return nil
}

// ValidateProductItems checks a product list's items: names as
// attributes' are, each once.
func ValidateProductItems(items []ProductItem) error {
	if len(items) > MaxSchemaItems {
		return Errorf(KindInvalid, "items: %d: at most %d", len(items), MaxSchemaItems)
	}
	seen := map[string]bool{}
	for i, it := range items {
		switch {
		case it.Name == "" || len(it.Name) > maxSchemaName || !schemaName.MatchString(it.Name):
			return Errorf(KindInvalid, "items[%d].name: %q: want 1 to %d letters, digits, _, - or :", i, it.Name, maxSchemaName)
		case seen[it.Name]:
			return Errorf(KindInvalid, "items[%d].name: %q is listed twice", i, it.Name)
		case len(it.Humanized) > maxSchemaHumanized:
			return Errorf(KindInvalid, "items[%d].humanized: at most %d bytes", i, maxSchemaHumanized)
		}
		seen[it.Name] = true
	}
	return nil
}

// SchemaStore keeps the attributes and product list a CRM declares.
type SchemaStore interface {
	// SaveSchemaAttributes declares attributes of an entity (one of
	// SchemaEntities, or SchemaProduct), replacing those of the same
	// names, in one transaction.
	SaveSchemaAttributes(ctx context.Context, counter CounterID, entity string, attrs []SchemaAttribute) error
	// SchemaAttributes lists an entity's declared attributes by name.
	SchemaAttributes(ctx context.Context, counter CounterID, entity string) ([]SchemaAttribute, error)
	// SaveProducts adds items to the counter's product list, replacing
	// those of the same names, in one transaction.
	SaveProducts(ctx context.Context, counter CounterID, items []ProductItem) error
	// Products lists the product list's items by name.
	Products(ctx context.Context, counter CounterID) ([]ProductItem, error)
}
