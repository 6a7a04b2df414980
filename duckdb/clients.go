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
	order := "last_order DESC NULLS LAST, uniq_id"
	if q.Sort != "" {
		name, desc := strings.CutPrefix(q.Sort, "-")
		col, ok := clientSorts[name]
		if !ok {
			return nil, crmlink.Errorf(crmlink.KindInvalid, "sort: %q is not a sortable column", q.Sort)
		}
		dir := "ASC"
		if desc {
			dir = "DESC"
		}
		// days since the first or last order run opposite to the date.
		if name == "days_since_first_order" || name == "days_since_last_order" {
			dir = map[string]string{"ASC": "DESC", "DESC": "ASC"}[dir]
		}
		order = col + " " + dir + " NULLS LAST, uniq_id"
	}
	b := &reportBuilder{}
	b.arg(int64(q.CounterID)) // $1
	curArg := b.arg(cur)
	conds, needOrders := clientConds(b, q)
	where := ""
	if len(conds) > 0 {
		where = " WHERE " + strings.Join(conds, " AND ")
	}
	limit := q.Limit
	if limit <= 0 {
		limit = 100
	}
	nowArg := b.arg(tsText(s.clock.Now())) + "::TIMESTAMP"
	ordersSQL := `o AS (SELECT uniq_id, count(*) AS orders,
		          count(*) FILTER (WHERE status_type = 'IN_PROGRESS') AS in_progress,
		          count(*) FILTER (WHERE status_type = 'PAID') AS paid,
		          count(*) FILTER (WHERE status_type = 'CANCELLED') AS cancelled,
		          count(*) FILTER (WHERE status_type = 'SPAM') AS spam,
		          count(*) FILTER (WHERE status_type = 'OTHER') AS other,
		          sum(revenue) FILTER (WHERE status_type = 'PAID' AND currency = ` + curArg + `) AS total_spent,
		          min(created) AS first_order, max(created) AS last_order
		      FROM orders WHERE counter_id = $1 AND NOT is_simple GROUP BY uniq_id)`
	// The page is chosen over narrow rows, and only its contacts' lists
	// are read; the count is a query of its own, as a window over every
	// row would hold them all.
	// caller: Clients (page)
	rows, err := s.db.QueryContext(ctx, `
		WITH `+ordersSQL+`,
		page AS (SELECT uniq_id, name, o.* EXCLUDE (uniq_id)
		      FROM (SELECT * FROM contacts WHERE counter_id = $1) c LEFT JOIN o USING (uniq_id)`+where+`
		      ORDER BY `+order+` LIMIT `+strconv.Itoa(limit)+` OFFSET `+strconv.Itoa(max(q.Offset, 0))+`)
		SELECT page.uniq_id, page.name, list_transform(c.client_ids, x -> x::VARCHAR), c.user_ids,
		    greatest(len(c.email_md5), len(c.email_sha256)), greatest(len(c.phone_md5), len(c.phone_sha256)),
		    coalesce(orders, 0), coalesce(in_progress, 0), coalesce(paid, 0), coalesce(cancelled, 0), coalesce(spam, 0), coalesce(other, 0),
		    coalesce(total_spent, 0)::VARCHAR,
		    date_diff('day', first_order, `+nowArg+`), date_diff('day', last_order, `+nowArg+`)
		FROM page JOIN (SELECT * FROM contacts WHERE counter_id = $1) c USING (uniq_id)
		ORDER BY `+order, b.args...)
	if err != nil {
		return nil, fmt.Errorf("clients: %w", outOfMemory(err))
	}
	res := &crmlink.ClientsResult{Rows: []crmlink.ClientRow{}}
	var ids []string
	for rows.Next() {
		var r crmlink.ClientRow
		var spent string
		var first, last sql.NullInt64
		if err := rows.Scan(&r.UniqID, &r.Name, scanList(&r.ClientIDs), scanList(&r.UserIDs), &r.Emails, &r.Phones,
			&r.Orders, &r.InProgress, &r.Paid, &r.Cancelled, &r.Spam, &r.Other, &spent, &first, &last); err != nil {
			rows.Close()
			return nil, fmt.Errorf("clients: %w", err)
		}
		if r.TotalSpent, err = decimal.NewFromString(spent); err != nil {
			rows.Close()
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
		res.Rows = append(res.Rows, r)
		ids = append(ids, r.UniqID)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("clients: %w", err)
	}
	// caller: Clients (count)
	// DuckDB wants every numbered argument used: the clock's and the
	// currency's are the page's.
	countWhere := " WHERE " + strings.Join(append(slices.Clone(conds), nowArg+" IS NOT NULL", curArg+" IS NOT NULL"), " AND ")
	countSQL := `SELECT count(*) FROM (SELECT * FROM contacts WHERE counter_id = $1) c` + countWhere
	if needOrders {
		countSQL = `WITH ` + ordersSQL + ` SELECT count(*) FROM (SELECT * FROM contacts WHERE counter_id = $1) c LEFT JOIN o USING (uniq_id)` + countWhere
	}
	if err := s.db.QueryRowContext(ctx, countSQL, b.args...).Scan(&res.TotalRows); err != nil {
		return nil, fmt.Errorf("clients: %w", err)
	}
	if len(ids) == 0 {
		return res, nil
	}
	idsJSON, err := json.Marshal(ids)
	if err != nil {
		return nil, err
	}
	// The page's customers' sessions, over their ClientIDs and the
	// visitors whose UserIDs, emails or phones match theirs.
	// caller: Clients (sources)
	srows, err := s.db.QueryContext(ctx, `
		WITH c AS (SELECT * FROM contacts WHERE counter_id = $1 AND uniq_id IN (SELECT unnest(from_json($2, '["VARCHAR"]')))),
		cl AS (`+customerClientsSQL("c")+`)
		SELECT cl.uniq_id, arg_min(s.traffic_source, (s.start_utc, s.session_id)), arg_max(s.traffic_source, (s.start_utc, s.session_id)), count(*)
		FROM cl JOIN sessions s ON s.counter_id = $1 AND s.client_id = cl.client_id AND NOT s.is_bot
		GROUP BY cl.uniq_id`, int64(q.CounterID), string(idsJSON))
	if err != nil {
		return nil, fmt.Errorf("clients: sources: %w", err)
	}
	defer srows.Close()
	at := map[string]int{}
	for i, r := range res.Rows {
		at[r.UniqID] = i
	}
	for srows.Next() {
		var id, first, last string
		var n int
		if err := srows.Scan(&id, &first, &last, &n); err != nil {
			return nil, fmt.Errorf("clients: sources: %w", err)
		}
		r := &res.Rows[at[id]]
		r.FirstSource, r.LastSource, r.Sessions = first, last, n
	}
	return res, srows.Err()
}
