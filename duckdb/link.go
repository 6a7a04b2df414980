package duckdb

import (
	"context"
	"database/sql"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/crmlink/crmlink"
	"github.com/shopspring/decimal"
)

// Linking runs as SQL inside DuckDB (SPEC.md §3): an order's identifiers
// become ClientIDs (the contact's own, and the site's visitors whose UserID
// or hashed email or phone match); an ASOF JOIN finds, for each of them,
// the latest session at or before the order's creation; the latest of those
// within the link window wins, unless an e-commerce purchase on the site
// carries the order's id, which wins outright.

// customerClientsSQL is the query of (uniq_id, client_id): the ClientIDs
// each customer of contacts (an SQL source of contacts rows; $1 is the
// counter) owns: its own, and the site's visitors whose UserID, or hashed
// email or phone, is one of its own. Reports' cross-device attribution and
// the Clients page group sessions by it.
func customerClientsSQL(contacts string) string {
	return `SELECT uniq_id, unnest(client_ids) AS client_id FROM ` + contacts + `
    UNION
    SELECT c.uniq_id, si.client_id FROM (SELECT uniq_id, unnest(user_ids) AS v FROM ` + contacts + `) c
    JOIN site_identities si ON si.counter_id = $1 AND si.kind = 'user_id' AND si.value = c.v
    UNION
    SELECT c.uniq_id, si.client_id FROM (SELECT uniq_id, unnest(email_md5 || email_sha256 || phone_md5 || phone_sha256) AS v FROM ` + contacts + `) c
    JOIN site_identities si ON si.counter_id = $1 AND si.kind <> 'user_id' AND si.value = c.v`
}

// Reasons an order did not link (crmlink.UnlinkedNoIdentifier and the rest).
const (
	UnlinkedNoIdentifier    = crmlink.UnlinkedNoIdentifier
	UnlinkedUnknownCustomer = crmlink.UnlinkedUnknownCustomer
	UnlinkedNoSession       = crmlink.UnlinkedNoSession
	UnlinkedOutsideWindow   = crmlink.UnlinkedOutsideWindow
	UnlinkedRobot           = crmlink.UnlinkedRobot
)

// idsFullSQL is the identifiers of each order when the orders in scope are
// full ones: a full order's are its contact's.
const idsFullSQL = `ids AS (
    SELECT o.id, o.created, c.client_ids, c.user_ids,
        c.email_md5 || c.email_sha256 AS emails, c.phone_md5 || c.phone_sha256 AS phones
    -- Only equalities in this ON: a constant condition there turns the join
    -- into a nested loop.
    FROM o LEFT JOIN (SELECT * FROM contacts WHERE counter_id = $1) c ON c.uniq_id = o.uniq_id
),`

// idsSimpleSQL is the identifiers of each order when simple orders are in
// scope: a simple order's own, and those of every contact it names by
// client_uniq_id or shares a UserID, email or phone hash with, so that a
// customer's ClientIDs link the order as they link the customer's full
// orders.
const idsSimpleSQL = `sc AS (
    SELECT id, uniq_id FROM o WHERE o.is_simple AND o.uniq_id <> ''
    UNION
    SELECT x.id, h.uniq_id
    FROM (SELECT id, unnest(email_md5 || email_sha256 || phone_md5 || phone_sha256) AS v FROM o WHERE is_simple) x
    JOIN (SELECT uniq_id, unnest(email_md5 || email_sha256 || phone_md5 || phone_sha256) AS v FROM contacts WHERE counter_id = $1) h ON h.v = x.v
    UNION
    SELECT x.id, h.uniq_id
    FROM (SELECT id, unnest(user_ids) AS v FROM o WHERE is_simple) x
    JOIN (SELECT uniq_id, unnest(user_ids) AS v FROM contacts WHERE counter_id = $1) h ON h.v = x.v
),
sm AS (
    SELECT sc.id, flatten(list(c.client_ids)) AS client_ids, flatten(list(c.user_ids)) AS user_ids,
        flatten(list(c.email_md5 || c.email_sha256)) AS emails, flatten(list(c.phone_md5 || c.phone_sha256)) AS phones
    FROM sc JOIN (SELECT * FROM contacts WHERE counter_id = $1) c ON c.uniq_id = sc.uniq_id
    GROUP BY sc.id
),
ids AS (
    SELECT o.id, o.created,
        CASE WHEN o.is_simple THEN list_distinct(o.client_ids || coalesce(sm.client_ids, [])) ELSE c.client_ids END AS client_ids,
        CASE WHEN o.is_simple THEN list_distinct(o.user_ids || coalesce(sm.user_ids, [])) ELSE c.user_ids END AS user_ids,
        CASE WHEN o.is_simple THEN list_distinct(o.email_md5 || o.email_sha256 || coalesce(sm.emails, [])) ELSE c.email_md5 || c.email_sha256 END AS emails,
        CASE WHEN o.is_simple THEN list_distinct(o.phone_md5 || o.phone_sha256 || coalesce(sm.phones, [])) ELSE c.phone_md5 || c.phone_sha256 END AS phones
    FROM o LEFT JOIN (SELECT * FROM contacts WHERE counter_id = $1) c ON c.uniq_id = o.uniq_id
    LEFT JOIN sm ON sm.id = o.id
),`

// linkSQL links the orders chosen by the {scope} condition over o (an alias
// of orders). $1 is the counter, $2 the link window in microseconds; the
// scope may use $3.
const linkSQL = `
WITH o AS (
    SELECT o.id, o.uniq_id, o.created, o.is_simple, o.client_ids, o.user_ids, o.email_md5, o.email_sha256, o.phone_md5, o.phone_sha256
    FROM orders o WHERE o.counter_id = $1 AND {scope}
),
{ids}
-- Each order's candidate ClientIDs, with the method that found them (rank:
-- lower is more precise).
clients AS (
    SELECT id, created, unnest(client_ids) AS client_id, 'client_id' AS method, 1 AS rank FROM ids
    UNION ALL
    SELECT i.id, i.created, si.client_id, 'user_id', 2
    FROM (SELECT id, created, unnest(user_ids) AS v FROM ids) i
    JOIN site_identities si ON si.counter_id = $1 AND si.kind = 'user_id' AND si.value = i.v
    UNION ALL
    SELECT i.id, i.created, si.client_id, 'email', 3
    FROM (SELECT id, created, unnest(emails) AS v FROM ids) i
    JOIN site_identities si ON si.counter_id = $1 AND si.kind IN ('email_md5', 'email_sha256') AND si.value = i.v
    UNION ALL
    SELECT i.id, i.created, si.client_id, 'phone', 4
    FROM (SELECT id, created, unnest(phones) AS v FROM ids) i
    JOIN site_identities si ON si.counter_id = $1 AND si.kind IN ('phone_md5', 'phone_sha256') AND si.value = i.v
),
-- Only the sessions of those ClientIDs: the ASOF JOIN sorts what it gets.
-- Robots' sessions are left out, as reports leave them out: an order linked
-- to one would vanish from every report.
s AS (
    SELECT session_id, client_id, start_utc FROM sessions
    WHERE counter_id = $1 AND NOT is_bot AND client_id IN (SELECT client_id FROM clients)
),
-- For each (order, ClientID): the latest session at or before the order.
latest AS (
    SELECT c.id, c.method, c.rank, c.client_id, s.session_id, s.start_utc,
        s.start_utc >= c.created - to_microseconds($2) AS in_window
    FROM clients c ASOF LEFT JOIN s ON s.client_id = c.client_id AND s.start_utc <= c.created
),
by_clients AS (
    SELECT id, l.best.session_id, l.best.client_id, l.best.method, l.best.start_utc AS session_start, any_before
    FROM (
        SELECT id,
            arg_max({'session_id': session_id, 'client_id': client_id, 'method': method, 'start_utc': start_utc},
                    (start_utc, -rank)) FILTER (WHERE in_window) AS best,
            count(start_utc) AS any_before
        FROM latest GROUP BY id
    ) l
),
-- An e-commerce purchase carrying the order id wins; the latest if several.
-- A purchase keeps its session's start (time), so sessions are not read
-- but for the robots' rule: a purchase in a robot's session links nothing,
-- as robots' sessions are in no report; robot says one was seen.
by_purchase AS (
    SELECT id, arg_max(session_id, time) FILTER (WHERE NOT bot) AS session_id,
        arg_max(client_id, time) FILTER (WHERE NOT bot) AS client_id,
        max(time) FILTER (WHERE NOT bot) AS session_start, bool_or(bot) AS robot
    FROM (SELECT p.purchase_id AS id, p.session_id, p.client_id, p.time,
            p.session_id IN (SELECT session_id FROM sessions WHERE counter_id = $1 AND is_bot) AS bot
        FROM site_purchases p SEMI JOIN o ON o.id = p.purchase_id WHERE p.counter_id = $1)
    GROUP BY id
),
known AS (
    -- ClientIDs that have any session: a customer none of whose ClientIDs
    -- ever visited is unknown to the site.
    SELECT DISTINCT c.id FROM clients c SEMI JOIN s ON s.client_id = c.client_id
)
SELECT ids.id,
    coalesce(p.session_id, b.session_id) AS session_id,
    coalesce(p.client_id, b.client_id) AS client_id,
    CASE WHEN p.session_id IS NOT NULL THEN 'purchase_id' ELSE b.method END AS method,
    CASE WHEN p.session_id IS NOT NULL THEN p.session_start ELSE b.session_start END AS session_start,
    CASE
        WHEN p.session_id IS NOT NULL OR b.session_id IS NOT NULL THEN NULL
        WHEN p.robot THEN '` + UnlinkedRobot + `'
        WHEN len(ids.client_ids) + len(ids.user_ids) + len(ids.emails) + len(ids.phones) = 0 THEN '` + UnlinkedNoIdentifier + `'
        WHEN k.id IS NULL THEN '` + UnlinkedUnknownCustomer + `'
        WHEN coalesce(b.any_before, 0) = 0 THEN '` + UnlinkedNoSession + `'
        ELSE '` + UnlinkedOutsideWindow + `'
    END AS reason
FROM ids
LEFT JOIN by_purchase p ON p.id = ids.id
LEFT JOIN by_clients b ON b.id = ids.id
LEFT JOIN known k ON k.id = ids.id`

// linkSliceRows is how many orders one linking statement takes at most.
// An order's link depends on that order alone, so more are linked in
// slices by a hash of their ids: under a small memory_limit, one
// statement over millions of orders sorts and aggregates on disk, and
// slices that fit in memory link them in a good deal less time.
const linkSliceRows = 1_000_000

// linkOrders relinks the orders chosen by scope (an SQL condition on o,
// with scopeArg as $3 unless nil) inside tx, records the goals they reach,
// and returns how many linked and why the others did not. newVersions says
// the orders may have versions whose goals were never looked at (an orders
// upload); otherwise only orders linked for the first time can reach goals
// they have not reached.
func (s *Store) linkOrders(ctx context.Context, tx *sql.Tx, counter *crmlink.Counter, now time.Time, scope string, scopeArg any, newVersions bool) (int, map[string]int, error) {
	args := []any{int64(counter.ID), counter.LinkWindow.Microseconds()}
	if scopeArg != nil {
		args = append(args, scopeArg)
	}
	// How many orders the scope holds: none (a counter without orders, a
	// batch of hits whose purchases name none) needs nothing more, more
	// than linkRows are linked in slices.
	var n, simple int64
	// caller: linkOrders (orders in scope; $2 is only there to be used)
	if err := tx.QueryRowContext(ctx, `SELECT count(*), count(*) FILTER (WHERE o.is_simple) FROM orders o
		WHERE o.counter_id = $1 AND $2::BIGINT IS NOT NULL AND (`+scope+`)`,
		args...).Scan(&n, &simple); err != nil {
		return 0, nil, fmt.Errorf("link orders: %w", err)
	}
	ids := idsFullSQL
	if simple > 0 {
		ids = idsSimpleSQL
	}
	link := strings.Replace(linkSQL, "{ids}", ids, 1)
	if n == 0 {
		return 0, map[string]int{}, nil
	}
	parts := int64(1)
	if s.linkRows > 0 {
		parts = max(1, (n+int64(s.linkRows)-1)/int64(s.linkRows))
	}
	for i := range parts {
		sliceScope, into := scope, `CREATE OR REPLACE TEMP TABLE link_result AS `
		if parts > 1 {
			sliceScope = fmt.Sprintf("(%s) AND hash(o.id) %% %d = %d", scope, parts, i)
		}
		if i > 0 {
			into = `INSERT INTO link_result `
		}
		// caller: linkOrders (results)
		if _, err := tx.ExecContext(ctx, into+strings.Replace(link, "{scope}", sliceScope, 1), args...); err != nil {
			return 0, nil, fmt.Errorf("link orders: %w", err)
		}
	}
	reachScope := `SELECT id, session_id FROM link_result WHERE session_id IS NOT NULL`
	if !newVersions {
		reachScope = `SELECT l.id, l.session_id FROM link_result l
			ANTI JOIN (SELECT order_id FROM order_links WHERE counter_id = $1) x ON x.order_id = l.id
			WHERE l.session_id IS NOT NULL`
	}
	// caller: linkOrders (orders that may reach goals)
	if _, err := tx.ExecContext(ctx, `CREATE OR REPLACE TEMP TABLE reach_scope AS `+reachScope, int64(counter.ID)); err != nil {
		return 0, nil, fmt.Errorf("link orders: %w", err)
	}
	// caller: linkOrders (replace links)
	del := `DELETE FROM order_links WHERE counter_id = $1 AND order_id IN (SELECT id FROM link_result)`
	if scope == "TRUE" {
		del = `DELETE FROM order_links WHERE counter_id = $1` // every order is relinked
	}
	if _, err := tx.ExecContext(ctx, del, int64(counter.ID)); err != nil {
		return 0, nil, fmt.Errorf("link orders: %w", err)
	}
	// caller: linkOrders (insert links)
	if _, err := tx.ExecContext(ctx, `INSERT INTO order_links (counter_id, order_id, session_id, client_id, method, session_start, linked_at)
		SELECT $1, id, session_id, client_id, method, session_start, $2 FROM link_result WHERE session_id IS NOT NULL`,
		int64(counter.ID), utc(now)); err != nil {
		return 0, nil, fmt.Errorf("link orders: %w", err)
	}
	// caller: linkOrders (counts)
	rows, err := tx.QueryContext(ctx, `SELECT coalesce(reason, ''), count(*) FROM link_result GROUP BY ALL`)
	if err != nil {
		return 0, nil, fmt.Errorf("link orders: %w", err)
	}
	linked, unlinked := 0, map[string]int{}
	for rows.Next() {
		var reason string
		var n int
		if err := rows.Scan(&reason, &n); err != nil {
			rows.Close()
			return 0, nil, err
		}
		if reason == "" {
			linked = n
		} else {
			unlinked[reason] = n
		}
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return 0, nil, err
	}
	if err := reachGoals(ctx, tx, counter.ID); err != nil {
		return 0, nil, fmt.Errorf("reach goals: %w", err)
	}
	if _, err := tx.ExecContext(ctx, `DROP TABLE link_result; DROP TABLE reach_scope`); err != nil {
		return 0, nil, err
	}
	return linked, unlinked, nil
}

// Relink links every order of a counter again, in one transaction.
func (s *Store) Relink(ctx context.Context, counterID crmlink.CounterID) (crmlink.LinkStats, error) {
	return s.relink(ctx, counterID, "TRUE", nil)
}

// RelinkUpload links again the orders one upload wrote.
func (s *Store) RelinkUpload(ctx context.Context, counterID crmlink.CounterID, uploadID string) (crmlink.LinkStats, error) {
	return s.relink(ctx, counterID, "o.upload_id = $3", uploadID)
}

func (s *Store) relink(ctx context.Context, counterID crmlink.CounterID, scope string, scopeArg any) (crmlink.LinkStats, error) {
	var st crmlink.LinkStats
	counter, err := s.Counter(ctx, counterID)
	if err != nil {
		return st, err
	}
	err = s.inTx(ctx, func(tx *sql.Tx) error {
		var err error
		st.Linked, st.Unlinked, err = s.linkOrders(ctx, tx, counter, s.clock.Now(), scope, scopeArg, false)
		return err
	})
	return st, err
}

// UnlinkedOrders lists unlinked orders with the reason linking gives now:
// linkSQL run as a query over them. See crmlink.LinkStore.
func (s *Store) UnlinkedOrders(ctx context.Context, q crmlink.UnlinkedQuery) ([]crmlink.UnlinkedOrder, error) {
	counter, err := s.Counter(ctx, q.CounterID)
	if err != nil {
		return nil, err
	}
	limit := q.Limit
	if limit <= 0 {
		limit = 100
	}
	var pick string
	var arg any
	switch {
	case q.UploadID != "":
		pick, arg = `SELECT DISTINCT order_id FROM order_history WHERE counter_id = $1 AND upload_id = $3`, q.UploadID
	case q.UniqID != "":
		pick, arg = `SELECT id FROM orders WHERE counter_id = $1 AND uniq_id = $3`, q.UniqID
	default:
		return nil, crmlink.Errorf(crmlink.KindInvalid, "unlinked orders: name an upload or a customer")
	}
	scope := `o.id IN (SELECT order_id FROM (` + pick + `) x(order_id)
		WHERE order_id NOT IN (SELECT order_id FROM order_links WHERE counter_id = $1)
		ORDER BY order_id LIMIT ` + strconv.Itoa(limit) + `)`
	link := strings.Replace(strings.Replace(linkSQL, "{ids}", idsSimpleSQL, 1), "{scope}", scope, 1)
	// caller: UnlinkedOrders
	rows, err := s.db.QueryContext(ctx, `SELECT o.id, o.uniq_id, o.created, o.status_type, o.revenue::VARCHAR, o.currency, coalesce(r.reason, '`+crmlink.UnlinkedPending+`')
		FROM (`+link+`) r JOIN (SELECT * FROM orders WHERE counter_id = $1) o ON o.id = r.id
		ORDER BY o.id`, int64(counter.ID), counter.LinkWindow.Microseconds(), arg)
	if err != nil {
		return nil, fmt.Errorf("unlinked orders: %w", outOfMemory(err))
	}
	defer rows.Close()
	out := []crmlink.UnlinkedOrder{}
	for rows.Next() {
		var u crmlink.UnlinkedOrder
		var status, revenue string
		var created sql.NullTime
		if err := rows.Scan(&u.OrderID, &u.UniqID, &created, &status, &revenue, &u.Currency, &u.Reason); err != nil {
			return nil, fmt.Errorf("unlinked orders: %w", err)
		}
		u.Created, u.StatusType = created.Time.UTC(), crmlink.StatusType(status)
		if u.Revenue, err = decimal.NewFromString(revenue); err != nil {
			return nil, fmt.Errorf("unlinked orders: %w", err)
		}
		out = append(out, u)
	}
	return out, rows.Err()
}

// OrderLink returns one order's link.
func (s *Store) OrderLink(ctx context.Context, counter crmlink.CounterID, orderID string) (*crmlink.OrderLink, error) {
	l := crmlink.OrderLink{OrderID: orderID}
	// caller: OrderLink
	err := s.db.QueryRowContext(ctx, `SELECT l.session_id, l.client_id, l.method, l.session_start, coalesce(s.click_id, '')
		FROM (SELECT * FROM order_links WHERE counter_id = $1 AND order_id = $2) l
		LEFT JOIN (SELECT session_id, click_id FROM sessions WHERE counter_id = $1) s ON s.session_id = l.session_id`,
		int64(counter), orderID).Scan(&l.SessionID, &l.ClientID, &l.Method, &l.SessionStart, &l.ClickID)
	if isNoRows(err) {
		return nil, notFound("link of order", orderID)
	}
	if err != nil {
		return nil, fmt.Errorf("order link: %w", err)
	}
	l.SessionStart = l.SessionStart.UTC()
	return &l, nil
}
