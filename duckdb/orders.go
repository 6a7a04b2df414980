package duckdb

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/crmlink/crmlink"
	"github.com/crmlink/crmlink/spool"
	"github.com/shopspring/decimal"
)

var orderColumns = append([]column{
	{"line", "BIGINT"}, {"id", "VARCHAR"}, {"fields", "UINTEGER"}, {"uniq_id", "VARCHAR"},
	{"created_us", "BIGINT"}, {"updated_us", "BIGINT"}, {"finished_us", "BIGINT"},
	{"status", "VARCHAR"}, {"status_type", "VARCHAR"}, {"revenue", "DECIMAL(18,4)"}, {"cost", "DECIMAL(18,4)"},
	{"currency", "VARCHAR"}, {"products", "VARCHAR"}, {"goals", "VARCHAR"}, {"attrs", "VARCHAR"},
}, idColumns...)

func orderFields(currency string) []field {
	return append([]field{
		{"uniq_id", crmlink.FieldCustomer, kindScalar, "uniq_id", "''"},
		{"created", crmlink.FieldCreated, kindCreated, "make_timestamp(created_us)", "NULL"},
		{"updated", crmlink.FieldUpdated, kindScalar, "make_timestamp(updated_us)", "NULL"},
		{"finished", crmlink.FieldFinished, kindScalar, "make_timestamp(finished_us)", "NULL"},
		{"status", crmlink.FieldStatus, kindScalar, "status", "''"},
		{"status_type", crmlink.FieldStatus, kindScalar, "status_type", "''"},
		{"revenue", crmlink.FieldRevenue, kindScalar, "revenue", "0"},
		{"cost", crmlink.FieldCost, kindScalar, "cost", "NULL"},
		{"currency", crmlink.FieldCurrency, kindScalar, "currency", sqlString(currency)},
		{"products", crmlink.FieldProducts, kindScalar, "products", "'[]'"},
		{"goals", crmlink.FieldGoals, kindScalar, "goals", "'[]'"},
		{"attrs", crmlink.FieldAttrs, kindJSONMap, "attrs", "'{}'"},
	}, idFields...)
}

// UploadOrders merges orders and records their versions. See
// crmlink.CRMStore.
func (s *Store) UploadOrders(ctx context.Context, up *crmlink.Upload, r crmlink.OrderReader) error {
	counter, err := s.Counter(ctx, up.CounterID)
	if err != nil {
		return err
	}
	up.Start(crmlink.EntityOrders, s.clock.Now())
	simple := up.Entity == crmlink.EntitySimpleOrders
	s.writeMu.Lock()
	defer s.writeMu.Unlock()
	ap := &orderApply{s: s, up: up, counter: counter, now: s.clock.Now(), simple: simple, currency: counter.Currency}
	l := s.newLoader(ctx, "orders", chunkApply(ctx, orderColumns, ap.chunk))
	l.whenFailing(r, chunkApply(ctx, orderColumns, ap.check))
	n, readErr := spool.Pump(ctx, l, &crmlink.Order{}, r.Next, func(w *spool.Writer, o *crmlink.Order) { spool.WriteOrder(w, up, o) })
	tx, done, err := s.readDone(ctx, "upload orders", up, l, r, n, readErr, &ap.rejected)
	if done {
		return err
	}
	err = ap.finish(ctx, tx)
	if err != nil {
		tx.Rollback()
		var v *crmlink.ValidationError
		if errors.As(err, &v) {
			up.Fail(n-ap.rejected.BadRows, err)
			return s.recordFailed(ctx, up, err)
		}
		return fmt.Errorf("upload orders: %w", outOfMemory(err))
	}
	t0 := time.Now()
	if err := tx.Commit(); err != nil {
		return fmt.Errorf("upload orders: commit: %w", err)
	}
	s.step(ctx, up, "commit", t0)
	return nil
}

// orderApply applies staged chunks of orders: it checks their contacts,
// records their versions and merges them. Orders of unknown contacts fail
// the upload, or are left out with on_error=skip; either way every chunk is
// checked, so that the answer lists them all.
type orderApply struct {
	s        *Store
	up       *crmlink.Upload
	counter  *crmlink.Counter
	now      time.Time
	simple   bool
	currency string
	rejected crmlink.ValidationError // orders of unknown contacts
}

func (a *orderApply) chunk(ctx context.Context, tx *sql.Tx, src string) error {
	up := a.up
	failing := a.rejected.Total > 0 && !up.SkipInvalid
	t0 := time.Now()
	p, err := a.probe(ctx, tx, src)
	if err != nil {
		return err
	}
	if p.unknown > 0 || p.incomplete > 0 {
		if err := a.check(ctx, tx, src); err != nil {
			return err
		}
		if !up.SkipInvalid {
			return nil // the upload fails; the rest is only checked
		}
		// The statements below leave out the refused orders.
		src = `(SELECT * FROM ` + src + ` s WHERE ` + a.acceptable(src) + `)`
		if p, err = a.probe(ctx, tx, src); err != nil {
			return err
		}
	}
	if failing {
		return nil
	}
	a.s.step(ctx, up, "probe", t0)
	t0 = time.Now()
	if err := a.history(ctx, tx, src, p.probe); err != nil {
		return err
	}
	a.s.step(ctx, up, "versions", t0)
	t0 = time.Now()
	mg := merge{table: "orders", stage: src, key: "id", fields: orderFields(a.currency), mode: up.MergeMode,
		set: "version = c.version + a.n, upload_id = $2",
		// A new order's report data is the order itself: set here, it
		// spares a second pass over every row the upload wrote.
		insertCols: "is_simple, version, upload_id, first_upload, rep_status_type, rep_revenue, rep_cost",
		insertVals: "$4, a.n, $2, $3, coalesce(a.status_type, ''), coalesce(a.revenue, 0), a.cost", args: []any{int64(up.CounterID), up.ID, utc(up.Created), a.simple}}
	if err := mg.apply(ctx, tx, &p.probe); err != nil {
		return err
	}
	a.s.step(ctx, up, "merge", t0)
	return nil
}

// check records the row errors the store finds in a chunk: full orders
// naming a contact the counter lacks, and rows of orders the counter does
// not have that leave out what a new order needs (UPDATE and APPEND read
// rows partially). It also checks the chunks of an upload that fails, so
// that the answer lists every error.
func (a *orderApply) check(ctx context.Context, tx *sql.Tx, src string) error {
	v, err := checkOrders(ctx, tx, int64(a.up.CounterID), src, a.simple, a.partial())
	if err != nil {
		return err
	}
	a.rejected.Merge(v)
	return nil
}

// checkOrders returns the row errors of staged orders that only the store
// can find: full orders naming a contact the counter lacks, and, when rows
// may be partial, orders the counter lacks whose rows leave out what a new
// order needs. An order created and changed in one file is checked within
// a chunk of it, as chunks are checked one by one.
func checkOrders(ctx context.Context, tx *sql.Tx, cid int64, src string, simple, partial bool) (*crmlink.ValidationError, error) {
	v := &crmlink.ValidationError{}
	if !simple {
		u, err := unknownContacts(ctx, tx, cid, src)
		if err != nil {
			return nil, err
		}
		v.Merge(u)
	}
	if partial {
		u, err := incompleteOrders(ctx, tx, cid, src, simple)
		if err != nil {
			return nil, err
		}
		v.Merge(u)
	}
	return v, nil
}

func (a *orderApply) partial() bool { return a.up.PartialRows() }

// customerSQL says a staged full order's customer is a contact of the
// counter ($1), or that the row names none (a change to a stored order).
func customerSQL() string {
	return `(NOT ` + present(crmlink.FieldCustomer) + ` OR s.uniq_id IN (SELECT uniq_id FROM contacts WHERE counter_id = $1))`
}

// newOrderNeeds is what the rows of an order the store does not have must
// carry between them, as an SQL condition over the staged rows of one id.
func newOrderNeeds(simple bool) string {
	if simple {
		return fmt.Sprintf("(bit_or(fields) & %d <> 0 AND bit_or(fields) & %d <> 0)", uint32(crmlink.FieldCreated),
			uint32(crmlink.FieldCustomer|crmlink.FieldClientIDs|crmlink.FieldUserIDs|crmlink.FieldEmails|crmlink.FieldPhones))
	}
	need := uint32(crmlink.FieldCustomer | crmlink.FieldCreated | crmlink.FieldStatus)
	return fmt.Sprintf("(bit_or(fields) & %d = %d)", need, need)
}

// acceptable is the condition over a staged row s of src that on_error=skip
// keeps: its customer is known, and its order is stored or complete.
func (a *orderApply) acceptable(src string) string {
	conds := []string{"true"}
	if !a.simple {
		conds = append(conds, customerSQL())
	}
	if a.partial() {
		conds = append(conds, `s.id NOT IN (SELECT id FROM `+src+` n WHERE NOT EXISTS (SELECT 1 FROM orders o WHERE o.counter_id = $1 AND o.id = n.id)
			GROUP BY id HAVING NOT `+newOrderNeeds(a.simple)+`)`)
	}
	return strings.Join(conds, " AND ")
}

// orderProbe is what one read of a chunk tells: its repeated and stored
// ids, and for full orders how many name a contact the counter lacks.
type orderProbe struct {
	probe
	unknown    int64
	incomplete int64 // ids the counter lacks whose rows leave out what a new order needs
}

func (a *orderApply) probe(ctx context.Context, tx *sql.Tx, src string) (orderProbe, error) {
	var p orderProbe
	unknown, contacts := "0", ""
	if !a.simple {
		unknown = "count(*) FILTER (WHERE c.uniq_id IS NULL AND " + present(crmlink.FieldCustomer) + ")"
		contacts = "LEFT JOIN (SELECT uniq_id FROM contacts WHERE counter_id = $1) c ON c.uniq_id = s.uniq_id"
	}
	// caller: UploadOrders (probe)
	err := tx.QueryRowContext(ctx, `SELECT count(*) - count(DISTINCT s.id), count(o.id), count(*), `+unknown+`
		FROM `+src+` s LEFT JOIN (SELECT id FROM orders WHERE counter_id = $1) o ON o.id = s.id `+contacts,
		int64(a.up.CounterID)).Scan(&p.dups, &p.existing, &p.staged, &p.unknown)
	if err != nil || !a.partial() || p.existing == p.staged {
		return p, err
	}
	// caller: UploadOrders (probe of new orders in UPDATE and APPEND)
	err = tx.QueryRowContext(ctx, `SELECT count(*) FROM (SELECT id FROM `+src+` s
		WHERE NOT EXISTS (SELECT 1 FROM orders o WHERE o.counter_id = $1 AND o.id = s.id)
		GROUP BY id HAVING NOT `+newOrderNeeds(a.simple)+`)`, int64(a.up.CounterID)).Scan(&p.incomplete)
	return p, err
}

// history records every staged row as a version: the order as that row
// leaves it. A field the row does not carry keeps its value from the rows
// before it in the file, or from the order as stored (UPDATE, APPEND); in
// SAVE it is empty. Versions are recorded before the merge changes the
// stored order.
func (a *orderApply) history(ctx context.Context, tx *sql.Tx, src string, p probe) error {
	up := a.up
	cid := int64(up.CounterID)
	// When every staged order is new and occurs once (a first upload),
	// each version is its row as it stands: nothing to carry, no join.
	if p.dups == 0 && p.existing == 0 {
		// caller: UploadOrders (history of new orders)
		_, err := tx.ExecContext(ctx, `INSERT INTO order_history (counter_id, order_id, version, upload_id, line, accepted,
				status, status_type, revenue, cost, created, updated, finished)
			SELECT $1, s.id, 1, $2, s.line, $3, s.status, s.status_type,
				CASE WHEN `+present(crmlink.FieldRevenue)+` THEN s.revenue ELSE 0 END,
				CASE WHEN `+present(crmlink.FieldCost)+` THEN s.cost END,
				make_timestamp(s.created_us), make_timestamp(s.updated_us),
				CASE WHEN `+present(crmlink.FieldFinished)+` THEN make_timestamp(s.finished_us) END
			FROM `+src+` s`, cid, up.ID, utc(up.Created))
		return err
	}
	// carried is the version's value of a field: staged column col, or the
	// stored order's value stored (an expression over o), or def.
	carried := func(col, stored string, bit crmlink.Fields, def string) string {
		if up.MergeMode == crmlink.MergeSave {
			return fmt.Sprintf("CASE WHEN %s THEN s.%s ELSE %s END", present(bit), col, def)
		}
		return fmt.Sprintf("coalesce(last_value(CASE WHEN %s THEN s.%s END IGNORE NULLS) OVER w, %s, %s)",
			present(bit), col, stored, def)
	}
	// caller: UploadOrders (history)
	_, err := tx.ExecContext(ctx, `INSERT INTO order_history (counter_id, order_id, version, upload_id, line, accepted,
			status, status_type, revenue, cost, created, updated, finished)
		SELECT $1, s.id, coalesce(o.version, 0) + row_number() OVER w, $2, s.line, $3,
			`+carried("status", "o.status", crmlink.FieldStatus, "''")+`, `+carried("status_type", "o.status_type", crmlink.FieldStatus, "''")+`,
			`+carried("revenue", "o.revenue", crmlink.FieldRevenue, "0")+`, `+carried("cost", "o.cost", crmlink.FieldCost, "NULL")+`,
			coalesce(o.created, first_value(CASE WHEN `+present(crmlink.FieldCreated)+` THEN make_timestamp(s.created_us) END IGNORE NULLS) OVER w), make_timestamp(s.updated_us),
			make_timestamp(`+carried("finished_us", "epoch_us(o.finished)", crmlink.FieldFinished, "NULL")+`)
		FROM `+src+` s LEFT JOIN orders o ON o.counter_id = $1 AND o.id = s.id
		WINDOW w AS (PARTITION BY s.id ORDER BY s.line ROWS BETWEEN UNBOUNDED PRECEDING AND CURRENT ROW)`,
		cid, up.ID, utc(up.Created))
	return err
}

// finish completes the upload in its transaction, or returns the
// validation error that fails it.
func (a *orderApply) finish(ctx context.Context, tx *sql.Tx) error {
	up := a.up
	cid := int64(up.CounterID)
	if a.rejected.Total > 0 {
		if !up.SkipInvalid {
			return &a.rejected
		}
		up.Accepted -= a.rejected.BadRows
		up.Rejected += a.rejected.BadRows
		up.ErrorsTotal += a.rejected.Total
		for _, e := range a.rejected.Errors {
			if len(up.Errors) < crmlink.MaxRowErrors {
				up.Errors = append(up.Errors, e)
			}
		}
	}
	t0 := time.Now()
	// Report data follows the new versions only within the update window
	// of the order's creation; an order seen for the first time gets it
	// whatever its age, as there is nothing to keep.
	// caller: UploadOrders (report data)
	if _, err := tx.ExecContext(ctx, `UPDATE orders SET rep_status_type = status_type, rep_revenue = revenue, rep_cost = cost
		WHERE counter_id = ? AND upload_id = ? AND (rep_status_type IS NULL OR ?::TIMESTAMP <= created + to_microseconds(?))
		  AND (rep_status_type IS DISTINCT FROM status_type OR rep_revenue IS DISTINCT FROM revenue OR rep_cost IS DISTINCT FROM cost)`,
		cid, up.ID, tsText(a.now), a.counter.UpdateWindow.Microseconds()); err != nil {
		return err
	}
	// A paid order without finish_date_time was paid at the first upload
	// that saw it paid (SPEC.md §1).
	// caller: UploadOrders (finish time)
	if _, err := tx.ExecContext(ctx, `UPDATE orders SET finished = ? WHERE counter_id = ? AND upload_id = ?
		AND status_type = 'PAID' AND finished IS NULL`, utc(up.Created), cid, up.ID); err != nil {
		return err
	}
	a.s.step(ctx, up, "report data", t0)
	t0 = time.Now()
	if err := ensureCRMGoals(ctx, tx, a.counter.ID, a.now); err != nil {
		return err
	}
	if err := ensureActionGoals(ctx, tx, a.counter.ID, up.ID, a.now); err != nil {
		return fmt.Errorf("action goals: %w", err)
	}
	a.s.step(ctx, up, "goals", t0)
	t0 = time.Now()
	linked, unlinked, err := a.s.linkOrders(ctx, tx, a.counter, a.now, "o.upload_id = $3", up.ID, true)
	if err != nil {
		return err
	}
	a.s.step(ctx, up, "link", t0)
	up.Linked, up.Unlinked = linked, unlinked
	return insertUpload(ctx, tx, up)
}

// unknownContacts returns a row error for every staged full order whose
// contact the counter does not have.
func unknownContacts(ctx context.Context, tx *sql.Tx, cid int64, src string) (*crmlink.ValidationError, error) {
	// caller: UploadOrders (unknown contacts)
	rows, err := tx.QueryContext(ctx, `SELECT line, uniq_id, count(*) OVER () FROM `+src+` s
		WHERE `+present(crmlink.FieldCustomer)+` AND NOT EXISTS (SELECT 1 FROM contacts c WHERE c.counter_id = ? AND c.uniq_id = s.uniq_id)
		ORDER BY line LIMIT ?`, cid, crmlink.MaxRowErrors)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	v := &crmlink.ValidationError{}
	for rows.Next() {
		var line, total int
		var uniq string
		if err := rows.Scan(&line, &uniq, &total); err != nil {
			return nil, err
		}
		v.Errors = append(v.Errors, crmlink.RowError{Line: line, Column: "client_uniq_id", Value: uniq,
			Reason: "no contact with this uniq_id: upload the contact first"})
		v.Total, v.BadRows = total, total
	}
	return v, rows.Err()
}

// incompleteOrders returns a row error, at its first line, for every order
// the counter does not have whose staged rows leave out what a new order
// needs.
func incompleteOrders(ctx context.Context, tx *sql.Tx, cid int64, src string, simple bool) (*crmlink.ValidationError, error) {
	want := "client_uniq_id, create_date_time and order_status"
	if simple {
		want = "create_date_time and a customer (client_uniq_id or an identifier)"
	}
	// caller: UploadOrders (incomplete new orders)
	rows, err := tx.QueryContext(ctx, `SELECT min(line), id, count(*) OVER (), (sum(count(*)) OVER ())::BIGINT FROM `+src+` s
		WHERE NOT EXISTS (SELECT 1 FROM orders o WHERE o.counter_id = $1 AND o.id = s.id)
		GROUP BY id HAVING NOT `+newOrderNeeds(simple)+` ORDER BY 1 LIMIT $2`, cid, crmlink.MaxRowErrors)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	v := &crmlink.ValidationError{}
	for rows.Next() {
		var line, total, badRows int
		var id string
		if err := rows.Scan(&line, &id, &total, &badRows); err != nil {
			return nil, err
		}
		v.Errors = append(v.Errors, crmlink.RowError{Line: line, Column: "id", Value: id,
			Reason: "the counter has no order with this id: a row that changes an order needs only its id, but a new order needs " + want})
		v.Total, v.BadRows = total, badRows
	}
	return v, rows.Err()
}

// CustomerOrders returns a customer's full orders with their versions and
// links, in three statements whatever their number.
func (s *Store) CustomerOrders(ctx context.Context, counter crmlink.CounterID, uniqID string, limit int) ([]crmlink.CustomerOrder, error) {
	// caller: CustomerOrders (a customer's page)
	rows, err := s.db.QueryContext(ctx, `SELECT id, created, updated, finished, status, status_type, revenue::VARCHAR, cost::VARCHAR,
		    currency, rep_status_type, rep_revenue::VARCHAR, rep_cost::VARCHAR
		FROM orders WHERE counter_id = ? AND uniq_id = ? AND NOT is_simple
		ORDER BY created DESC, id LIMIT ?`, int64(counter), uniqID, limit)
	if err != nil {
		return nil, fmt.Errorf("customer orders: %w", err)
	}
	defer rows.Close()
	var out []crmlink.CustomerOrder
	at := map[string]int{}
	for rows.Next() {
		o := crmlink.Order{CounterID: counter, UniqID: uniqID}
		var finished sql.NullTime
		var repType string
		if err := rows.Scan(&o.ID, &o.Created, &o.Updated, &finished, &o.Status, &o.StatusType, &o.Revenue, &o.Cost,
			&o.Currency, &repType, &o.Report.Revenue, &o.Report.Cost); err != nil {
			return nil, fmt.Errorf("customer orders: %w", err)
		}
		o.Created, o.Updated, o.Finished = o.Created.UTC(), o.Updated.UTC(), nullTime(finished)
		o.Report.StatusType = crmlink.StatusType(repType)
		at[o.ID] = len(out)
		out = append(out, crmlink.CustomerOrder{Order: o})
	}
	if err := rows.Err(); err != nil || len(out) == 0 {
		return out, err
	}
	ofCustomer := `SELECT id FROM orders WHERE counter_id = $1 AND uniq_id = $2 AND NOT is_simple`
	// caller: CustomerOrders (history)
	hist, err := s.db.QueryContext(ctx, `SELECT order_id, version, upload_id, line, accepted, status, status_type,
		revenue::VARCHAR, cost::VARCHAR, created, updated, finished
		FROM order_history WHERE counter_id = $1 AND order_id IN (`+ofCustomer+`) ORDER BY order_id, version`, int64(counter), uniqID)
	if err != nil {
		return nil, fmt.Errorf("customer orders: %w", err)
	}
	defer hist.Close()
	for hist.Next() {
		var id string
		var v crmlink.OrderVersion
		var rev decimal.NullDecimal
		var created, updated, fin sql.NullTime
		if err := hist.Scan(&id, &v.Version, &v.UploadID, &v.Line, &v.Accepted, &v.Status, &v.StatusType,
			&rev, &v.Cost, &created, &updated, &fin); err != nil {
			return nil, fmt.Errorf("customer orders: %w", err)
		}
		i, ok := at[id]
		if !ok {
			continue // beyond the limit
		}
		v.Revenue, v.Accepted = rev.Decimal, v.Accepted.UTC()
		v.Created, v.Updated, v.Finished = nullTime(created), nullTime(updated), nullTime(fin)
		out[i].Versions = append(out[i].Versions, v)
	}
	if err := hist.Err(); err != nil {
		return nil, err
	}
	// caller: CustomerOrders (links)
	links, err := s.db.QueryContext(ctx, `SELECT l.order_id, l.session_id, l.client_id, l.method, l.session_start, coalesce(s.click_id, '')
		FROM (SELECT * FROM order_links WHERE counter_id = $1 AND order_id IN (`+ofCustomer+`)) l
		LEFT JOIN (SELECT session_id, click_id FROM sessions WHERE counter_id = $1) s ON s.session_id = l.session_id`, int64(counter), uniqID)
	if err != nil {
		return nil, fmt.Errorf("customer orders: %w", err)
	}
	defer links.Close()
	for links.Next() {
		var l crmlink.OrderLink
		if err := links.Scan(&l.OrderID, &l.SessionID, &l.ClientID, &l.Method, &l.SessionStart, &l.ClickID); err != nil {
			return nil, fmt.Errorf("customer orders: %w", err)
		}
		if i, ok := at[l.OrderID]; ok {
			l.SessionStart = l.SessionStart.UTC()
			out[i].Link = &l
		}
	}
	return out, links.Err()
}

// Order returns one order and its versions.
func (s *Store) Order(ctx context.Context, counter crmlink.CounterID, id string) (*crmlink.Order, []crmlink.OrderVersion, error) {
	var o crmlink.Order
	var finished sql.NullTime
	var cost decimal.NullDecimal
	var products, goals, attrs string
	var simple bool
	var clientIDs []uint64
	lists := make([][]string, 5)
	dest := []any{&o.UniqID, &simple, &o.Created, &o.Updated, &finished, &o.Status, &o.StatusType, &o.Revenue, &cost,
		&o.Currency, &products, &goals, &attrs, scanList(&clientIDs)}
	for i := range lists {
		dest = append(dest, scanList(&lists[i]))
	}
	// caller: Order
	var repType string
	var repRevenue decimal.Decimal
	dest = append(dest, &repType, &repRevenue, &o.Report.Cost)
	err := s.db.QueryRowContext(ctx, `SELECT uniq_id, is_simple, created, updated, finished, status, status_type,
		revenue::VARCHAR, cost::VARCHAR, currency, products, goals, attrs, client_ids, user_ids, email_md5, email_sha256, phone_md5, phone_sha256,
		rep_status_type, rep_revenue::VARCHAR, rep_cost::VARCHAR
		FROM orders WHERE counter_id = ? AND id = ?`, int64(counter), id).Scan(dest...)
	if isNoRows(err) {
		return nil, nil, notFound("order", id)
	}
	if err != nil {
		return nil, nil, fmt.Errorf("order: %w", err)
	}
	o.CounterID, o.ID = counter, id
	o.Report.StatusType, o.Report.Revenue = crmlink.StatusType(repType), repRevenue
	o.Created, o.Updated, o.Finished = o.Created.UTC(), o.Updated.UTC(), nullTime(finished)
	o.Cost = cost
	o.IDs = crmlink.CustomerIDs{ClientIDs: clientIDs, UserIDs: lists[0], EmailMD5: lists[1], EmailSHA256: lists[2],
		PhoneMD5: lists[3], PhoneSHA256: lists[4]}
	if err := parseProducts(products, &o); err != nil {
		return nil, nil, fmt.Errorf("order %s: %w", id, err)
	}
	if err := jsonUnmarshal(attrs, &o.Attrs); err != nil {
		return nil, nil, fmt.Errorf("order %s: %w", id, err)
	}
	if err := parseGoals(goals, &o); err != nil {
		return nil, nil, fmt.Errorf("order %s: %w", id, err)
	}
	// caller: Order (history)
	rows, err := s.db.QueryContext(ctx, `SELECT version, upload_id, line, accepted, status, status_type,
		revenue::VARCHAR, cost::VARCHAR, created, updated, finished
		FROM order_history WHERE counter_id = ? AND order_id = ? ORDER BY version`, int64(counter), id)
	if err != nil {
		return nil, nil, fmt.Errorf("order history: %w", err)
	}
	defer rows.Close()
	var versions []crmlink.OrderVersion
	for rows.Next() {
		var v crmlink.OrderVersion
		var rev decimal.NullDecimal
		var created, updated, fin sql.NullTime
		if err := rows.Scan(&v.Version, &v.UploadID, &v.Line, &v.Accepted, &v.Status, &v.StatusType,
			&rev, &v.Cost, &created, &updated, &fin); err != nil {
			return nil, nil, fmt.Errorf("order history: %w", err)
		}
		v.Revenue = rev.Decimal
		v.Accepted = v.Accepted.UTC()
		v.Created, v.Updated, v.Finished = nullTime(created), nullTime(updated), nullTime(fin)
		versions = append(versions, v)
	}
	return &o, versions, rows.Err()
}

func parseProducts(s string, o *crmlink.Order) error {
	d := json.NewDecoder(strings.NewReader(s))
	d.UseNumber()
	var items [][]any
	if err := d.Decode(&items); err != nil {
		return err
	}
	for _, it := range items {
		if len(it) != 2 {
			return fmt.Errorf("bad product %v", it)
		}
		name, _ := it[0].(string)
		qty, err := decimal.NewFromString(fmt.Sprint(it[1]))
		if err != nil {
			return err
		}
		o.Products = append(o.Products, crmlink.Product{Name: name, Qty: qty})
	}
	return nil
}

func parseGoals(s string, o *crmlink.Order) error {
	d := json.NewDecoder(strings.NewReader(s))
	d.UseNumber()
	var items [][]any
	if err := d.Decode(&items); err != nil {
		return err
	}
	for _, it := range items {
		if len(it) != 2 {
			return fmt.Errorf("bad goal %v", it)
		}
		g := crmlink.OrderGoal{}
		g.Goal, _ = it[0].(string)
		if it[1] != nil {
			p, err := decimal.NewFromString(fmt.Sprint(it[1]))
			if err != nil {
				return err
			}
			g.Price = decimal.NewNullDecimal(p)
		}
		o.Goals = append(o.Goals, g)
	}
	return nil
}
