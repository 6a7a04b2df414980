package duckdb

import (
	"context"
	"database/sql"
	"fmt"
	"strings"

	"github.com/crmlink/crmlink"
)

// schemaBatch is how many rows one INSERT of a declaration writes.
const schemaBatch = 500

// insertBatches writes rows of n values each with INSERT OR REPLACE,
// schemaBatch rows a statement.
func insertBatches(ctx context.Context, tx *sql.Tx, table string, n int, rows [][]any) error {
	one := "(" + strings.TrimSuffix(strings.Repeat("?, ", n), ", ") + ")"
	for start := 0; start < len(rows); start += schemaBatch {
		part := rows[start:min(start+schemaBatch, len(rows))]
		var args []any
		for _, r := range part {
			args = append(args, r...)
		}
		q := "INSERT OR REPLACE INTO " + table + " VALUES " + strings.TrimSuffix(strings.Repeat(one+", ", len(part)), ", ")
		// caller: SaveSchemaAttributes, SaveProducts
		if _, err := tx.ExecContext(ctx, q, args...); err != nil {
			return fmt.Errorf("%s: %w", table, err)
		}
	}
	return nil
}

// SaveSchemaAttributes declares attributes. See crmlink.SchemaStore.
func (s *Store) SaveSchemaAttributes(ctx context.Context, counter crmlink.CounterID, entity string, attrs []crmlink.SchemaAttribute) error {
	if _, err := s.Counter(ctx, counter); err != nil {
		return err
	}
	rows := make([][]any, len(attrs))
	for i, a := range attrs {
		rows[i] = []any{int64(counter), entity, a.Name, a.TypeName, a.TypeGroup, a.TypeHumanized, a.Multivalued, a.Humanized}
	}
	return s.inTx(ctx, func(tx *sql.Tx) error { return insertBatches(ctx, tx, "schema_attributes", 8, rows) })
}

// SchemaAttributes lists an entity's attributes. See crmlink.SchemaStore.
func (s *Store) SchemaAttributes(ctx context.Context, counter crmlink.CounterID, entity string) ([]crmlink.SchemaAttribute, error) {
	// caller: SchemaAttributes
	rows, err := s.db.QueryContext(ctx, `SELECT name, type_name, type_group, type_humanized, multivalued, humanized
		FROM schema_attributes WHERE counter_id = ? AND entity = ? ORDER BY name`, int64(counter), entity)
	if err != nil {
		return nil, fmt.Errorf("schema attributes: %w", err)
	}
	defer rows.Close()
	out := []crmlink.SchemaAttribute{}
	for rows.Next() {
		var a crmlink.SchemaAttribute
		if err := rows.Scan(&a.Name, &a.TypeName, &a.TypeGroup, &a.TypeHumanized, &a.Multivalued, &a.Humanized); err != nil {
			return nil, fmt.Errorf("schema attributes: %w", err)
		}
		out = append(out, a)
	}
	return out, rows.Err()
}

// SaveProducts adds items to the product list. See crmlink.SchemaStore.
func (s *Store) SaveProducts(ctx context.Context, counter crmlink.CounterID, items []crmlink.ProductItem) error {
	if _, err := s.Counter(ctx, counter); err != nil {
		return err
	}
	rows := make([][]any, len(items))
	for i, it := range items {
		rows[i] = []any{int64(counter), it.Name, it.Humanized}
	}
	return s.inTx(ctx, func(tx *sql.Tx) error { return insertBatches(ctx, tx, "schema_products", 3, rows) })
}

// Products lists the product list. See crmlink.SchemaStore.
func (s *Store) Products(ctx context.Context, counter crmlink.CounterID) ([]crmlink.ProductItem, error) {
	// caller: Products
	rows, err := s.db.QueryContext(ctx, `SELECT name, humanized FROM schema_products WHERE counter_id = ? ORDER BY name`, int64(counter))
	if err != nil {
		return nil, fmt.Errorf("products: %w", err)
	}
	defer rows.Close()
	out := []crmlink.ProductItem{}
	for rows.Next() {
		var it crmlink.ProductItem
		if err := rows.Scan(&it.Name, &it.Humanized); err != nil {
			return nil, fmt.Errorf("products: %w", err)
		}
		out = append(out, it)
	}
	return out, rows.Err()
}
