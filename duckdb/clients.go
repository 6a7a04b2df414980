package duckdb

import (
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"slices"
	"strconv"
	"strings"

	"github.com/crmlink/crmlink"
	"github.com/shopspring/decimal"
)

// clientSorts are the Clients report's sortable columns, by their JSON
// names, and the SQL each sorts by.
var clientSorts = map[string]string{
	"uniq_id": "uniq_id", "name": "name", "orders": "orders", "paid": "paid",
	"in_progress": "in_progress", "cancelled": "cancelled", "spam": "spam", "other": "other",
	"total_spent": "total_spent", "days_since_first_order": "first_order", "days_since_last_order": "last_order",
}

// clientConds are the conditions of the Clients report's filters over a
// contacts row c joined with its orders' summary o, and whether any needs
// o.
func clientConds(b *reportBuilder, q *crmlink.ClientsQuery) (conds []string, needOrders bool) {
	if q.Search != "" {
		fold := func(e string) string { return "replace(lower(" + e + "), 'ё', 'е')" }
		a := b.arg(strings.ReplaceAll(strings.ToLower(q.Search), "ё", "е"))
		c := `(contains(` + fold("c.uniq_id") + `, ` + a + `) OR contains(` + fold("c.name") + `, ` + a + `)
			OR list_contains(list_transform(c.client_ids, x -> x::VARCHAR), ` + a + `) OR list_contains(list_transform(c.user_ids, x -> ` + fold("x") + `), ` + a + `)`
		if len(q.SearchHashes) > 0 {
			h := b.arg(q.SearchHashes)
			c += ` OR list_has_any(c.email_md5 || c.email_sha256 || c.phone_md5 || c.phone_sha256, ` + h + `::VARCHAR[])`
		}
		conds = append(conds, c+")")
	}
	if q.Source != "" {
		conds = append(conds, `c.uniq_id IN (SELECT cl.uniq_id FROM (`+customerClientsSQL("(SELECT * FROM contacts WHERE counter_id = $1)")+`) cl
			SEMI JOIN (SELECT client_id FROM sessions WHERE counter_id = $1 AND NOT is_bot AND traffic_source = `+b.arg(string(q.Source))+`) s
			ON s.client_id = cl.client_id)`)
	}
	if q.Status != "" {
		conds = append(conds, `c.uniq_id IN (SELECT uniq_id FROM orders WHERE counter_id = $1 AND NOT is_simple AND status_type = `+b.arg(string(q.Status))+`)`)
	}
	if !q.OrderedFrom.IsZero() || !q.OrderedTo.IsZero() {
		c := `c.uniq_id IN (SELECT uniq_id FROM orders WHERE counter_id = $1 AND NOT is_simple`
		if !q.OrderedFrom.IsZero() {
			c += ` AND created >= ` + b.arg(tsText(q.OrderedFrom)) + `::TIMESTAMP`
		}
		if !q.OrderedTo.IsZero() {
			c += ` AND created < ` + b.arg(tsText(q.OrderedTo)) + `::TIMESTAMP`
		}
		conds = append(conds, c+")")
	}
	if q.MinSpent.Valid {
		conds, needOrders = append(conds, `coalesce(o.total_spent, 0) >= `+b.arg(q.MinSpent.Decimal.String())+`::DECIMAL(18,4)`), true
	}
	if q.MaxSpent.Valid {
		conds, needOrders = append(conds, `coalesce(o.total_spent, 0) <= `+b.arg(q.MaxSpent.Decimal.String())+`::DECIMAL(18,4)`), true
	}
	return conds, needOrders
}

// Clients answers one page of the Clients report: every uploaded customer,
// visitors or not, with their orders by status (current status, whatever
// the update window) and the first and last traffic source of the
// sessions of all their ClientIDs. See crmlink.ReportStore.
func (s *Store) Clients(ctx context.Context, q *crmlink.ClientsQuery) (*crmlink.ClientsResult, error) {
	counter, err := s.Counter(ctx, q.CounterID)
	if err != nil {
		return nil, err
	}
	cur := q.Currency
	if cur == "" {
		cur = counter.Currency
	}
	order, err := clientsOrder(q.Sort)
	if err != nil {
		return nil, err
	}
	c := &clientsStatement{b: &reportBuilder{}, order: order}
	c.b.arg(int64(q.CounterID)) // $1
	c.cur = c.b.arg(cur)
	c.conds, c.needOrders = clientConds(c.b, q)
	if q.Segment != nil {
		g := &segmentBuilder{b: c.b, plan: q.Segment}
		c.with = g.withs() + ",\n"
		c.conds = append(c.conds, "c.uniq_id IN (SELECT cust FROM members WHERE cust <> '')")
	}
	c.now = c.b.arg(tsText(s.clock.Now())) + "::TIMESTAMP"
	res := &crmlink.ClientsResult{}
	if res.Rows, err = s.clientsPage(ctx, c, q); err != nil {
		return nil, err
	}
	if res.TotalRows, err = s.clientsCount(ctx, c); err != nil {
		return nil, err
	}
	if err := s.clientsSources(ctx, q.CounterID, res.Rows); err != nil {
		return nil, err
	}
	return res, nil
}

// clientsStatement is what the Clients report's statements share: their
// arguments and conditions.
type clientsStatement struct {
	b          *reportBuilder
	cur, now   string   // the currency's and the clock's arguments
	conds      []string // the filters' conditions on c (contacts) and o
	with       string   // CTEs the conditions read (a segment's), each followed by a comma
	needOrders bool     // the conditions read o
	order      string
}

// orders is the CTE o: each customer's full orders counted by status.
func (c *clientsStatement) orders() string {
	return `o AS (SELECT uniq_id, count(*) AS orders,
		          count(*) FILTER (WHERE status_type = 'IN_PROGRESS') AS in_progress,
		          count(*) FILTER (WHERE status_type = 'PAID') AS paid,
		          count(*) FILTER (WHERE status_type = 'CANCELLED') AS cancelled,
		          count(*) FILTER (WHERE status_type = 'SPAM') AS spam,
		          count(*) FILTER (WHERE status_type = 'OTHER') AS other,
		          sum(revenue) FILTER (WHERE status_type = 'PAID' AND currency = ` + c.cur + `) AS total_spent,
		          min(created) AS first_order, max(created) AS last_order
		      FROM orders WHERE counter_id = $1 AND NOT is_simple GROUP BY uniq_id)`
}

// clientsOrder is the ORDER BY of a sort (a column of ClientRow by its
// JSON name, "-" for descending); by default the latest order first.
func clientsOrder(sort string) (string, error) {
	if sort == "" {
		return "last_order DESC NULLS LAST, uniq_id", nil
	}
	name, desc := strings.CutPrefix(sort, "-")
	col, ok := clientSorts[name]
	if !ok {
		return "", crmlink.Errorf(crmlink.KindInvalid, "sort: %q is not a sortable column", sort)
	}
	dir := "ASC"
	if desc {
		dir = "DESC"
	}
	// days since the first or last order run opposite to the date.
	if name == "days_since_first_order" || name == "days_since_last_order" {
		dir = map[string]string{"ASC": "DESC", "DESC": "ASC"}[dir]
	}
	return col + " " + dir + " NULLS LAST, uniq_id", nil
}

// clientsPage reads one page of customers. The page is chosen over
// narrow rows, and only its contacts' lists are read.
func (s *Store) clientsPage(ctx context.Context, c *clientsStatement, q *crmlink.ClientsQuery) ([]crmlink.ClientRow, error) {
	where := ""
	if len(c.conds) > 0 {
		where = " WHERE " + strings.Join(c.conds, " AND ")
	}
	limit := q.Limit
	if limit <= 0 {
		limit = 100
	}
	// caller: Clients (page)
	rows, err := s.db.QueryContext(ctx, `
		WITH `+c.with+c.orders()+`,
		page AS (SELECT uniq_id, name, o.* EXCLUDE (uniq_id)
		      FROM (SELECT * FROM contacts WHERE counter_id = $1) c LEFT JOIN o USING (uniq_id)`+where+`
		      ORDER BY `+c.order+` LIMIT `+strconv.Itoa(limit)+` OFFSET `+strconv.Itoa(max(q.Offset, 0))+`)
		SELECT page.uniq_id, page.name, list_transform(c.client_ids, x -> x::VARCHAR), c.user_ids,
		    greatest(len(c.email_md5), len(c.email_sha256)), greatest(len(c.phone_md5), len(c.phone_sha256)),
		    coalesce(orders, 0), coalesce(in_progress, 0), coalesce(paid, 0), coalesce(cancelled, 0), coalesce(spam, 0), coalesce(other, 0),
		    coalesce(total_spent, 0)::VARCHAR,
		    date_diff('day', first_order, `+c.now+`), date_diff('day', last_order, `+c.now+`)
		FROM page JOIN (SELECT * FROM contacts WHERE counter_id = $1) c USING (uniq_id)
		ORDER BY `+c.order, c.b.args...)
	if err != nil {
		return nil, fmt.Errorf("clients: %w", outOfMemory(err))
	}
	defer rows.Close()
	out := []crmlink.ClientRow{}
	for rows.Next() {
		var r crmlink.ClientRow
		var spent string
		var first, last sql.NullInt64
		if err := rows.Scan(&r.UniqID, &r.Name, scanList(&r.ClientIDs), scanList(&r.UserIDs), &r.Emails, &r.Phones,
			&r.Orders, &r.InProgress, &r.Paid, &r.Cancelled, &r.Spam, &r.Other, &spent, &first, &last); err != nil {
			return nil, fmt.Errorf("clients: %w", err)
		}
		if r.TotalSpent, err = decimal.NewFromString(spent); err != nil {
			return nil, fmt.Errorf("clients: %w", err)
		}
		if first.Valid {
			d, l := int(first.Int64), int(last.Int64)
			r.DaysSinceFirst, r.DaysSinceLast = &d, &l
		}
		if r.ClientIDs == nil {
			r.ClientIDs = []string{}
		}
		if r.UserIDs == nil {
			r.UserIDs = []string{}
		}
		out = append(out, r)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("clients: %w", err)
	}
	return out, nil
}

// clientsCount counts the customers the conditions select: a query of
// its own, as a window over every row would hold them all.
func (s *Store) clientsCount(ctx context.Context, c *clientsStatement) (int, error) {
	// DuckDB wants every numbered argument used: the clock's and the
	// currency's are the page's.
	where := " WHERE " + strings.Join(append(slices.Clone(c.conds), c.now+" IS NOT NULL", c.cur+" IS NOT NULL"), " AND ")
	query := `WITH ` + c.with + `z AS (SELECT 1) SELECT count(*) FROM (SELECT * FROM contacts WHERE counter_id = $1) c` + where
	if c.needOrders {
		query = `WITH ` + c.with + c.orders() + ` SELECT count(*) FROM (SELECT * FROM contacts WHERE counter_id = $1) c LEFT JOIN o USING (uniq_id)` + where
	}
	var n int
	// caller: Clients (count)
	if err := s.db.QueryRowContext(ctx, query, c.b.args...).Scan(&n); err != nil {
		return 0, fmt.Errorf("clients: %w", err)
	}
	return n, nil
}

// clientsSources fills in a page's customers' first and last sources and
// sessions, over their ClientIDs and the visitors whose UserIDs, emails
// or phones match theirs.
func (s *Store) clientsSources(ctx context.Context, counter crmlink.CounterID, page []crmlink.ClientRow) error {
	if len(page) == 0 {
		return nil
	}
	at := map[string]int{}
	ids := make([]string, len(page))
	for i, r := range page {
		at[r.UniqID], ids[i] = i, r.UniqID
	}
	idsJSON, err := json.Marshal(ids)
	if err != nil {
		return err
	}
	// caller: Clients (sources)
	rows, err := s.db.QueryContext(ctx, `
		WITH c AS (SELECT * FROM contacts WHERE counter_id = $1 AND uniq_id IN (SELECT unnest(from_json($2, '["VARCHAR"]')))),
		cl AS (`+customerClientsSQL("c")+`)
		SELECT cl.uniq_id, arg_min(s.traffic_source, (s.start_utc, s.session_id)), arg_max(s.traffic_source, (s.start_utc, s.session_id)), count(*)
		FROM cl JOIN sessions s ON s.counter_id = $1 AND s.client_id = cl.client_id AND NOT s.is_bot
		GROUP BY cl.uniq_id`, int64(counter), string(idsJSON))
	if err != nil {
		return fmt.Errorf("clients: sources: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		var id, first, last string
		var n int
		if err := rows.Scan(&id, &first, &last, &n); err != nil {
			return fmt.Errorf("clients: sources: %w", err)
		}
		r := &page[at[id]]
		r.FirstSource, r.LastSource, r.Sessions = first, last, n
	}
	return rows.Err()
}
