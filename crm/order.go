package crm

import (
	"encoding/json"
	"io"
	"strconv"
	"strings"

	"github.com/crmlink/crmlink"
	"github.com/shopspring/decimal"
)

// OrderReader reads the orders of an upload, full or simple. It implements
// crmlink.OrderReader.
type OrderReader struct {
	reader
	statuses   [8]statusEntry
	nextStatus int
}

// NewOrderCSV reads the header of a full orders CSV file and returns a
// reader for its rows. id, client_uniq_id, create_date_time and
// order_status are required columns.
func NewOrderCSV(r io.Reader, opt Options) (*OrderReader, error) {
	return newOrderReader(r, opt, fullOrders, false)
}

// NewOrderJSON returns a reader for the elements of {"orders":[...]}.
func NewOrderJSON(r io.Reader, opt Options) (*OrderReader, error) {
	return newOrderReader(r, opt, fullOrders, true)
}

// NewSimpleOrderCSV reads the header of a simple orders CSV file (SPEC.md
// §1): each row carries its customer's identifiers, or client_uniq_id;
// create_date_time is the only required column.
func NewSimpleOrderCSV(r io.Reader, opt Options) (*OrderReader, error) {
	return newOrderReader(r, opt, simpleOrders, false)
}

func newOrderReader(r io.Reader, opt Options, ent *entity, isJSON bool) (*OrderReader, error) {
	if opt.Partial {
		ent = map[*entity]*entity{fullOrders: partialOrders, simpleOrders: partialSimpleOrders}[ent]
	}
	rd := &OrderReader{}
	if err := rd.open(r, opt, ent, isJSON); err != nil {
		return nil, err
	}
	return rd, nil
}

// Next fills o with the next good order. It returns io.EOF after the last
// one; if any row was bad, a *crmlink.ValidationError in its place (unless
// Options.SkipInvalid), and if there was no row, a *crmlink.Error.
func (r *OrderReader) Next(o *crmlink.Order) error {
	for {
		ok, err := r.read()
		if !ok {
			return err
		}
		r.fill(o)
		if r.keep() {
			return nil
		}
	}
}

func (r *OrderReader) fill(o *crmlink.Order) {
	ids, attrs, products, goals := o.IDs, o.Attrs, o.Products[:0], o.Goals[:0]
	clear(attrs)
	*o = crmlink.Order{CounterID: o.CounterID, IDs: ids, Attrs: attrs, Products: products, Goals: goals, Line: r.row.line}
	resetIDs(&o.IDs)
	if r.rowBad {
		return
	}
	simple := r.ent.simple
	if simple {
		o.ID = r.text(fID, maxIDLen)
	} else {
		o.ID = r.required(fID, maxIDLen)
	}
	// partial: the row may be a change to a stored order, carrying only
	// the fields that change. A simple order without an id is new.
	partial := r.ent.partial && (!simple || o.ID != "")
	switch {
	case simple || partial:
		if r.present(fClientUniqID) {
			o.Fields |= crmlink.FieldCustomer
			o.UniqID = r.text(fClientUniqID, maxIDLen)
		}
	default:
		o.Fields |= crmlink.FieldCustomer
		o.UniqID = r.required(fClientUniqID, maxIDLen)
	}
	if s, ok := r.scalarText(fClientType); ok && s != "" && !strings.EqualFold(s, "CONTACT") {
		r.badValue(&r.row.v[fClientType], "unknown client_type: want CONTACT")
	}
	if !partial || r.present(fCreate) {
		o.Fields |= crmlink.FieldCreated
		o.Created = r.createTime(fCreate)
	}
	if r.present(fUpdate) {
		o.Fields |= crmlink.FieldUpdated
		o.Updated = r.dateTime(fUpdate)
	}
	if r.present(fFinish) {
		o.Fields |= crmlink.FieldFinished
		o.Finished = r.dateTime(fFinish)
	}
	if !partial || r.present(fStatus) {
		r.status(o)
	}
	if r.present(fRevenue) {
		o.Fields |= crmlink.FieldRevenue
		o.Revenue, _ = r.money(fRevenue)
	}
	if r.present(fCost) {
		o.Fields |= crmlink.FieldCost
		o.Cost.Decimal, o.Cost.Valid = r.money(fCost)
	}
	if r.present(fCurrency) {
		o.Fields |= crmlink.FieldCurrency
		if s, ok := r.scalarText(fCurrency); ok && s != "" {
			s = strings.ToUpper(s)
			if crmlink.IsCurrency(s) {
				o.Currency = s
			} else {
				r.badValue(&r.row.v[fCurrency], "not an ISO 4217 currency code, like RUB or USD")
			}
		}
	}
	if r.present(fProducts) {
		o.Fields |= crmlink.FieldProducts
		o.Products = r.products(o.Products)
	}
	if r.present(fGoals) {
		o.Fields |= crmlink.FieldGoals
		o.Goals = r.goals(o.Goals)
	}
	r.ids(&o.IDs, &o.Fields)
	if simple && !partial && o.IDs.Empty() && o.UniqID == "" && !r.identBad {
		r.bad("", "", "the row names no customer: want client_ids, emails, phones, their hashes, user_ids or client_uniq_id")
	}
	r.attrs(&o.Attrs, &o.Fields)
}

// status resolves order_status: through Options.Statuses, else a type name
// accepted as itself. A simple order without one is PAID.
func (r *OrderReader) status(o *crmlink.Order) {
	v := &r.row.v[fStatus]
	if r.ent.simple && (v.kind == absent || v.kind == scalar && v.text == "") {
		o.Fields |= crmlink.FieldStatus
		o.Status, o.StatusType = string(crmlink.StatusPaid), crmlink.StatusPaid
		return
	}
	o.Fields |= crmlink.FieldStatus
	s := r.required(fStatus, maxIDLen)
	if s == "" {
		return
	}
	o.Status = s
	if t, ok := r.statusType(s); ok {
		o.StatusType = t
		return
	}
	r.badValue(v, "unknown status: map it with schema/order_statuses, or send one of IN_PROGRESS, PAID, CANCELLED, SPAM, OTHER")
}

// statusType resolves a status, remembering the last few: a file uses a
// handful of statuses, and resolving one costs a map look-up or two.
func (r *OrderReader) statusType(s string) (crmlink.StatusType, bool) {
	for i := range r.statuses {
		if e := &r.statuses[i]; e.status == s && e.typ != "" {
			return e.typ, true
		}
	}
	t, ok := r.resolve(s)
	if ok {
		r.statuses[r.nextStatus] = statusEntry{s, t}
		r.nextStatus = (r.nextStatus + 1) % len(r.statuses)
	}
	return t, ok
}

func (r *OrderReader) resolve(s string) (crmlink.StatusType, bool) {
	if r.opt.Statuses != nil {
		if t, ok := r.opt.Statuses(s); ok {
			return t, true
		}
	}
	return crmlink.ParseStatusType(s)
}

type statusEntry struct {
	status string
	typ    crmlink.StatusType
}

// products reads {"name": qty} or "name:qty,name:qty".
func (r *OrderReader) products(dst []crmlink.Product) []crmlink.Product {
	v := &r.row.v[fProducts]
	switch {
	case v.kind == jsonObject || v.kind == scalar && strings.HasPrefix(v.text, "{"):
		return r.productsJSON(v, dst)
	case v.kind != scalar:
		r.badValue(v, `want {"name": quantity} or name:quantity,name:quantity`)
		return dst
	}
	for _, item := range r.list(fProducts) {
		name, qty := item, "1"
		if i := strings.LastIndexByte(item, ':'); i >= 0 {
			name, qty = trim(item[:i]), trim(item[i+1:])
		}
		p, ok := r.product(v, item, name, qty, false)
		if !ok {
			continue
		}
		dst = append(dst, p)
	}
	return dst
}

func (r *OrderReader) product(v *value, item, name, qty string, comma bool) (crmlink.Product, bool) {
	if name == "" {
		r.bad(v.col, item, "a product without a name")
		return crmlink.Product{}, false
	}
	if len(name) > maxTextLen {
		r.bad(v.col, item, "a product name longer than "+strconv.Itoa(maxTextLen)+" bytes")
		return crmlink.Product{}, false
	}
	mant, exp, reason := parseDecimal(qty, comma)
	if reason == "" && mant == 0 {
		reason = "must be positive"
	}
	if reason != "" {
		r.bad(v.col, item, "product quantity: "+reason)
		return crmlink.Product{}, false
	}
	return crmlink.Product{Name: name, Qty: decimal.New(mant, exp)}, true
}

// productsJSON reads a JSON object of product names and quantities, in
// order.
func (r *OrderReader) productsJSON(v *value, dst []crmlink.Product) []crmlink.Product {
	const want = `want {"name": quantity, ...}`
	dec := json.NewDecoder(strings.NewReader(v.text))
	dec.UseNumber()
	if t, err := dec.Token(); err != nil || t != json.Delim('{') {
		r.badValue(v, want)
		return dst
	}
	n := 0
	for dec.More() {
		t, err := dec.Token()
		if err != nil {
			r.badValue(v, want)
			return dst
		}
		name := trim(t.(string))
		t, err = dec.Token()
		if err != nil {
			r.badValue(v, want)
			return dst
		}
		var qty string
		switch q := t.(type) {
		case json.Number:
			qty = string(q)
		case string:
			qty = trim(q)
		default:
			if d, ok := t.(json.Delim); ok && (d == '{' || d == '[') {
				r.badValue(v, want)
				return dst
			}
			r.bad(v.col, name, "product quantity: want a number")
			continue
		}
		if n++; n > maxListLen {
			r.badValue(v, "more than "+strconv.Itoa(maxListLen)+" products")
			return dst
		}
		if p, ok := r.product(v, name+":"+qty, name, qty, true); ok {
			dst = append(dst, p)
		}
	}
	if _, err := dec.Token(); err != nil {
		r.badValue(v, want)
		return dst
	}
	if _, err := dec.Token(); err != io.EOF {
		r.badValue(v, want)
	}
	return dst
}

// goals reads "goal,goal:price" items; in JSON also an array of those
// strings or of {"goal": ..., "price": ...} objects.
func (r *OrderReader) goals(dst []crmlink.OrderGoal) []crmlink.OrderGoal {
	v := &r.row.v[fGoals]
	switch v.kind {
	case scalar:
		for _, item := range r.list(fGoals) {
			dst = r.goal(v, item, dst)
		}
	case jsonArray:
		var raws []json.RawMessage
		if err := json.Unmarshal([]byte(v.text), &raws); err != nil {
			r.badValue(v, "want a list of goals")
			return dst
		}
		if len(raws) > maxListLen {
			r.badValue(v, "more than "+strconv.Itoa(maxListLen)+" goals")
			return dst
		}
		for _, raw := range raws {
			iv := jsonValue(v.col, raw)
			switch iv.kind {
			case absent:
			case scalar:
				if iv.text != "" {
					dst = r.goal(v, iv.text, dst)
				}
			case jsonObject:
				var g struct {
					Goal  json.RawMessage `json:"goal"`
					ID    json.RawMessage `json:"id"`
					Price json.RawMessage `json:"price"`
				}
				json.Unmarshal([]byte(iv.text), &g)
				name := g.Goal
				if name == nil {
					name = g.ID
				}
				gv, pv := jsonValue("", name), jsonValue("", g.Price)
				if gv.kind != scalar || gv.text == "" || pv.kind > scalar {
					r.bad(v.col, iv.text, `want {"goal": "...", "price": 123.45}`)
					continue
				}
				dst = r.goalPrice(v, iv.text, gv.text, pv.text, pv.kind == scalar, true, dst)
			default:
				r.badValue(v, "want a list of goals")
				return dst
			}
		}
	default:
		r.badValue(v, "want goal or goal:price items")
	}
	return dst
}

func (r *OrderReader) goal(v *value, item string, dst []crmlink.OrderGoal) []crmlink.OrderGoal {
	if i := strings.LastIndexByte(item, ':'); i >= 0 {
		return r.goalPrice(v, item, trim(item[:i]), trim(item[i+1:]), true, false, dst)
	}
	return r.goalPrice(v, item, item, "", false, false, dst)
}

func (r *OrderReader) goalPrice(v *value, item, name, price string, hasPrice, comma bool, dst []crmlink.OrderGoal) []crmlink.OrderGoal {
	if name == "" {
		r.bad(v.col, item, "a goal without a name")
		return dst
	}
	if len(name) > maxIDLen {
		r.bad(v.col, item, "a goal longer than "+strconv.Itoa(maxIDLen)+" bytes")
		return dst
	}
	g := crmlink.OrderGoal{Goal: name}
	if hasPrice {
		mant, exp, reason := parseDecimal(price, comma)
		if reason != "" {
			r.bad(v.col, item, "goal price: "+reason)
			return dst
		}
		g.Price = decimal.NewNullDecimal(decimal.New(mant, exp))
	}
	for _, h := range dst {
		if h.Goal == name {
			return dst // a goal counts once: the first wins
		}
	}
	return append(dst, g)
}
