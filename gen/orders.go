package gen

import (
	"bufio"
	"context"
	"encoding/json"
	"runtime"
	"slices"
	"strconv"
	"sync"

	"github.com/crmlink/crmlink"
)

// order is one full or simple order as planned: who placed it, when, and the
// session it truly came from. Everything else about it (status, basket) is
// drawn from its own seed when it is written.
type order struct {
	created   int64
	sessionID uint64 // the true session; 0 when the customer never visited
	clientID  uint64
	visitor   int32 // -1: the customer never visited
	owner     int32 // full: the contact; simple: the order's index among simple orders
	sess      int32 // index of the true session among the visitor's sessions
	seq       int32 // position among the orders of its kind, by creation time
	flags     uint16
}

// Order flags.
const (
	ofSimple       = 1 << iota
	ofEcommerce    // the site saw the purchase: the true session carries the order id
	ofLinkable     // the CRM data identifies the true session (truth.csv)
	ofNoID         // a simple order without an id
	ofClientID     // simple: carries the true session's ClientID
	ofAllClientIDs // simple: carries all of the visitor's ClientIDs
	ofEmail        // simple: carries the customer's email
	ofPhone        // simple: carries the customer's phone
)

// planOrders creates the orders and, visitor by visitor, picks each order's
// true session and creation time: after the session's start, within a few
// hours, before the visitor's next session on any device and never after
// End. So "the latest session at or before the order" is the true session.
func (g *generator) planOrders(ctx context.Context) error {
	nv := len(g.counts)
	g.orders = make([]order, 0, g.cfg.Orders+g.cfg.SimpleOrders)
	for c, k := range g.ocount {
		for range k {
			g.orders = append(g.orders, order{visitor: g.visitorOf[c], owner: int32(c)})
		}
	}
	r := newRNG().seed(g.seeds.orders, 1<<40)
	for j := range g.cfg.SimpleOrders {
		v := int32(-1)
		if nv > 0 && r.IntN(100) < 90 {
			v = int32(g.weightedVisitor(r))
		}
		g.orders = append(g.orders, order{visitor: v, owner: int32(j), flags: ofSimple})
	}

	g.cclients = make([][3]uint64, g.cfg.Contacts)
	byVisitor := make([]int32, 0, len(g.orders))
	for i := range g.orders {
		if g.orders[i].visitor >= 0 {
			byVisitor = append(byVisitor, int32(i))
		}
	}
	slices.SortFunc(byVisitor, func(a, b int32) int {
		if va, vb := g.orders[a].visitor, g.orders[b].visitor; va != vb {
			return int(va - vb)
		}
		return int(a - b)
	})

	// Visitors are planned by one goroutine per core, each over a run of
	// whole visitors: every draw is seeded by the visitor, so the split does
	// not change the result.
	workers := max(1, runtime.GOMAXPROCS(0))
	errs := make([]error, workers)
	var wg sync.WaitGroup
	for w, from := 0, 0; w < workers; w++ {
		to := max(from, len(byVisitor)*(w+1)/workers)
		for to > 0 && to < len(byVisitor) && g.orders[byVisitor[to]].visitor == g.orders[byVisitor[to-1]].visitor {
			to++
		}
		part := byVisitor[from:to]
		from = to
		wg.Add(1)
		go func() {
			defer wg.Done()
			errs[w] = g.planVisitorOrders(ctx, part)
		}()
	}
	wg.Wait()
	if err := firstError(errs...); err != nil {
		return err
	}

	// Customers who never visited order at any time of the window.
	z := newZone(g.cfg.Location)
	for i := range g.orders {
		o := &g.orders[i]
		if o.visitor >= 0 {
			continue
		}
		r.seed(g.seeds.never, uint64(i))
		o.created = sampleTime(r, z, g.w0, g.end+1)
		if o.flags&ofSimple != 0 {
			switch u := r.IntN(100); {
			case u < 55:
				o.flags |= ofEmail
			case u < 95:
				o.flags |= ofPhone
			default:
				o.flags |= ofEmail | ofPhone
			}
			if r.IntN(100) < 10 {
				o.flags |= ofNoID
			}
		}
	}

	// Number each kind by creation time, as a CRM does.
	g.fullByTime = g.fullByTime[:0]
	g.simpleByTime = g.simpleByTime[:0]
	for i := range g.orders {
		if g.orders[i].flags&ofSimple == 0 {
			g.fullByTime = append(g.fullByTime, int32(i))
		} else {
			g.simpleByTime = append(g.simpleByTime, int32(i))
		}
	}
	byTime := func(a, b int32) int {
		if ca, cb := g.orders[a].created, g.orders[b].created; ca != cb {
			return cmpInt64(ca, cb)
		}
		return int(a - b)
	}
	for _, list := range [][]int32{g.fullByTime, g.simpleByTime} {
		slices.SortFunc(list, byTime)
		for seq, i := range list {
			g.orders[i].seq = int32(seq)
		}
	}

	// The e-commerce purchases, in the order the session writer meets them.
	for _, i := range byVisitor {
		if g.orders[i].flags&ofEcommerce != 0 {
			g.purchases = append(g.purchases, i)
		}
	}
	slices.SortFunc(g.purchases, func(a, b int32) int {
		oa, ob := &g.orders[a], &g.orders[b]
		switch {
		case oa.visitor != ob.visitor:
			return int(oa.visitor - ob.visitor)
		case oa.sess != ob.sess:
			return int(oa.sess - ob.sess)
		}
		return byTime(a, b)
	})
	return nil
}

// planVisitorOrders places the orders of a run of visitors, given as order
// indices sorted by visitor.
func (g *generator) planVisitorOrders(ctx context.Context, byVisitor []int32) error {
	z := newZone(g.cfg.Location)
	r, pr, aux := newRNG(), newRNG(), newRNG()
	var p plan
	var cand []int32
	base, next := int64(0), 0 // global index of visitor next's first session
	for lo, groups := 0, 0; lo < len(byVisitor); groups++ {
		if groups%4096 == 0 && ctx.Err() != nil {
			return ctx.Err()
		}
		v := int(g.orders[byVisitor[lo]].visitor)
		hi := lo
		for hi < len(byVisitor) && int(g.orders[byVisitor[hi]].visitor) == v {
			hi++
		}
		for ; next < v; next++ {
			base += int64(g.counts[next])
		}
		g.plan(&p, pr, aux, z, v)
		r.seed(g.seeds.orders, uint64(v))

		group := byVisitor[lo:hi]
		full := 0
		for _, i := range group {
			if g.orders[i].flags&ofSimple == 0 {
				full++
			}
		}
		// Orders come from sessions that saw more than one page, unless the
		// customer has too few of them.
		cand = cand[:0]
		for i, s := range p.sess {
			if s.pv > 1 {
				cand = append(cand, int32(i))
			}
		}
		if len(cand) == 0 || len(cand) < full {
			cand = cand[:0]
			for i := range p.sess {
				cand = append(cand, int32(i))
			}
		}
		// A customer's orders come from distinct sessions when there are
		// enough of them.
		distinct := full <= len(cand)
		picked := 0
		for _, i := range group {
			o := &g.orders[i]
			var si int32
			if o.flags&ofSimple == 0 && distinct {
				k := picked + r.IntN(len(cand)-picked)
				cand[picked], cand[k] = cand[k], cand[picked]
				si = cand[picked]
				picked++
			} else {
				si = cand[r.IntN(len(cand))]
			}
			limit := g.end + 1
			if int(si)+1 < len(p.sess) {
				limit = p.sess[si+1].start
			}
			s := &p.sess[si]
			o.sess = si
			o.created = g.orderTime(r, s, limit)
			o.sessionID = g.sessionID(base + int64(si))
			o.clientID = p.devs[s.dev].clientID
		}

		// The contact's ClientIDs: all of them, or only the one of the device
		// of its first order, or none.
		mask := uint8(0)
		if c := g.contactOf[v]; c >= 0 && full > 0 {
			switch g.cflags[c] & cfModeMask {
			case cfModeAll:
				mask = uint8(1)<<p.ndev - 1
			case cfModeSome:
				var first *order
				for _, i := range group {
					if o := &g.orders[i]; o.flags&ofSimple == 0 && (first == nil || o.created < first.created) {
						first = o
					}
				}
				mask = 1 << p.sess[first.sess].dev
			}
			g.cmask[c] = mask
			for j := range p.ndev {
				g.cclients[c][j] = p.devs[j].clientID
			}
		}
		for _, i := range group {
			o := &g.orders[i]
			bit := uint8(1) << p.sess[o.sess].dev
			if o.flags&ofSimple == 0 {
				if r.IntN(100) < 30 {
					o.flags |= ofEcommerce
				}
				if mask&bit != 0 || o.flags&ofEcommerce != 0 {
					o.flags |= ofLinkable
				}
				continue
			}
			switch u := r.IntN(100); {
			case u < 45:
				o.flags |= ofClientID
			case u < 70:
				o.flags |= ofEmail
			case u < 90:
				o.flags |= ofPhone
			default:
				o.flags |= ofClientID | ofPhone
			}
			if o.flags&ofClientID != 0 && r.IntN(100) < 20 {
				o.flags ^= ofClientID | ofAllClientIDs
			}
			if r.IntN(100) < 10 {
				o.flags |= ofNoID
			} else if r.IntN(100) < 30 {
				o.flags |= ofEcommerce
			}
			if o.flags&(ofClientID|ofAllClientIDs|ofEcommerce) != 0 {
				o.flags |= ofLinkable
			}
		}
		lo = hi
	}
	return nil
}

// weightedVisitor draws a visitor, more likely a frequent one.
func (g *generator) weightedVisitor(r *rng) int {
	for {
		v := r.IntN(len(g.counts))
		if r.Uint32N(8) < uint32(min(g.counts[v], 8)) {
			return v
		}
	}
}

// orderTime returns when an order placed in session s was created: mostly
// during the session, sometimes hours later (a call, a second thought), but
// before limit (the visitor's next session) and never after End.
func (g *generator) orderTime(r *rng, s *psession, limit int64) int64 {
	var d int64
	if s.dur > 1 && r.IntN(100) < 80 {
		half := int64(s.dur) / 2
		d = half + r.Int64N(half+1)
	} else {
		d = r.between(60, 3*3600)
	}
	t := min(s.start+max(d, 1), limit-1, g.end)
	return max(t, s.start)
}

// appendOrderID appends the CRM id of order o.
func (g *generator) appendOrderID(b []byte, o *order) []byte {
	if o.flags&ofSimple != 0 {
		b = append(b, 'S')
	}
	return strconv.AppendInt(b, firstOrderID+int64(o.seq), 10)
}

// CRM order statuses of the full orders and their types.
var statusMappings = []crmlink.StatusMapping{
	{ID: "new", Humanized: "New", Type: crmlink.StatusInProgress},
	{ID: "in_work", Humanized: "In progress", Type: crmlink.StatusInProgress},
	{ID: "paid", Humanized: "Paid", Type: crmlink.StatusPaid},
	{ID: "delivered", Humanized: "Delivered", Type: crmlink.StatusPaid},
	{ID: "cancelled", Humanized: "Cancelled", Type: crmlink.StatusCancelled},
	{ID: "spam", Humanized: "Spam", Type: crmlink.StatusSpam},
}

const (
	stNew = iota
	stInWork
	stPaid
	stDelivered
	stCancelled
	stSpam
)

// OrderStatuses returns the mapping of the CRM statuses used in orders.csv,
// as written to order_statuses.json.
func OrderStatuses() []crmlink.StatusMapping { return slices.Clone(statusMappings) }

// A status moves with the order's age: fresh orders are new or in work, old
// ones paid or delivered; about 10% are cancelled and 2% spam.
var (
	statusByAge = [4]choice{
		newChoice(55, 30, 8, 0, 5, 2),   // under a day
		newChoice(20, 45, 18, 2, 12, 3), // one to two days
		newChoice(1, 12, 30, 44, 11, 2), // two to seven days
		newChoice(0, 1, 16, 70, 11, 2),  // older
	}
	simpleStatuses    = []crmlink.StatusType{crmlink.StatusInProgress, crmlink.StatusPaid, crmlink.StatusCancelled, crmlink.StatusSpam}
	simpleStatusByAge = [2]choice{newChoice(65, 25, 8, 2), newChoice(3, 85, 10, 2)}
	basketLines       = newChoice(55, 28, 12, 5)
	goalCounts        = newChoice(70, 30)
)

func ageBucket(age int64) int {
	switch {
	case age < 86400:
		return 0
	case age < 2*86400:
		return 1
	case age < 7*86400:
		return 2
	}
	return 3
}

// basket draws the products of an order and its revenue in kopecks: one to
// four catalogue items, a delivery fee on small baskets, sometimes a promo
// discount. With list set, it appends the "name:qty,name:qty" list to
// products.
func basket(r *rng, list bool, products []byte) (revenue int64, _ []byte) {
	var picked [4]int
	n := 1 + basketLines.pick(r)
	var sum int64
	for i := range n {
		k := productChoice.pick(r)
		for tries := 0; tries < 10 && slices.Contains(picked[:i], k); tries++ {
			k = productChoice.pick(r)
		}
		if slices.Contains(picked[:i], k) {
			n = i
			break
		}
		picked[i] = k
		p := &catalogue[k]
		qty := int64(1)
		switch u := r.IntN(100); {
		case u >= 95:
			qty = 3
		case u >= 80:
			qty = 2
		}
		switch {
		case p.price >= 2000000: // nobody buys two laptops at once
			qty = 1
		case p.price < 100000 && r.IntN(100) < 20:
			qty += int64(r.IntN(3))
		}
		sum += p.price * qty
		if list {
			if i > 0 {
				products = append(products, ',')
			}
			products = strconv.AppendInt(append(append(products, p.name...), ':'), qty, 10)
		}
	}
	if sum < 300000 && r.IntN(100) < 60 {
		sum += 29900 // delivery
	}
	if r.IntN(100) < 20 {
		sum = sum * int64(100-5*(1+r.IntN(3))) / 100 // promo code: 5, 10 or 15%
	}
	return sum, products
}

// cost draws the cost price: 55 to 85% of the revenue.
func cost(r *rng, revenue int64) int64 {
	return revenue * int64(55+r.IntN(31)) / 100
}

func (g *generator) writeOrders(ctx context.Context, w *bufio.Writer) error {
	if _, err := w.WriteString("id,client_uniq_id,client_type,create_date_time,update_date_time,finish_date_time,order_status,revenue,cost,products\n"); err != nil {
		return err
	}
	z := newZone(g.cfg.Location)
	r := newRNG()
	var b, products []byte
	for n, i := range g.fullByTime {
		if n%65536 == 0 && ctx.Err() != nil {
			return ctx.Err()
		}
		o := &g.orders[i]
		r.seed(g.seeds.orderDetail, uint64(o.seq))
		age := g.end - o.created
		st := statusByAge[ageBucket(age)].pick(r)
		paid := st == stPaid || st == stDelivered
		if paid && age < 120 {
			st, paid = stNew, false // too fresh to be paid
		}
		var finished int64
		if paid {
			var d int64
			if r.IntN(100) < 60 { // paid online at once
				d = r.between(30, 900)
			} else { // cash on delivery
				d = r.between(3600, 5*86400)
			}
			if d > age {
				d = r.between(1, age)
			}
			finished = o.created + d
		}
		var update int64
		switch st {
		case stNew:
			update = o.created + r.between(0, 300)
		case stInWork:
			update = o.created + r.between(600, 2*86400)
		case stPaid:
			update = finished + r.between(0, 600)
		case stDelivered:
			update = finished + r.between(86400, 7*86400)
		case stCancelled:
			update = o.created + r.between(600, 3*86400)
		case stSpam:
			update = o.created + r.between(60, 3600)
		}
		update = min(update, g.end)
		revenue, prod := basket(r, true, products[:0])
		products = prod

		b = g.appendOrderID(b[:0], o)
		b = append(b, ',')
		b = g.appendUniqID(b, int(o.owner))
		b = append(b, ",CONTACT,"...)
		b = z.appendDateTime(b, o.created)
		b = append(b, ',')
		b = z.appendDateTime(b, update)
		b = append(b, ',')
		if paid {
			b = z.appendDateTime(b, finished)
		}
		b = append(b, ',')
		b = append(b, statusMappings[st].ID...)
		b = append(b, ',')
		b = appendMoney(b, revenue)
		b = append(b, ',')
		if r.IntN(100) < 95 {
			b = appendMoney(b, cost(r, revenue))
		}
		b = append(b, ',')
		b = appendCell(b, products)
		b = append(b, '\n')
		if _, err := w.Write(b); err != nil {
			return err
		}
	}
	return nil
}

func (g *generator) writeSimpleOrders(ctx context.Context, w *bufio.Writer) error {
	if _, err := w.WriteString("id,create_date_time,order_status,revenue,cost,client_ids,emails,phones,goals\n"); err != nil {
		return err
	}
	z := newZone(g.cfg.Location)
	r, pr, aux := newRNG(), newRNG(), newRNG()
	var p plan
	var b, cell []byte
	for n, i := range g.simpleByTime {
		if n%65536 == 0 && ctx.Err() != nil {
			return ctx.Err()
		}
		o := &g.orders[i]
		key := g.simpleKey(o)
		reg := g.personRegion(aux, key)
		r.seed(g.seeds.simpleDetail, uint64(o.seq))
		st := simpleStatuses[simpleStatusByAge[min(ageBucket(g.end-o.created), 1)].pick(r)]
		revenue, _ := basket(r, false, nil)

		b = b[:0]
		if o.flags&ofNoID == 0 {
			b = g.appendOrderID(b, o)
		}
		b = append(b, ',')
		b = z.appendDateTime(b, o.created)
		b = append(b, ',')
		b = append(b, st...)
		b = append(b, ',')
		b = appendMoney(b, revenue)
		b = append(b, ',')
		if r.IntN(100) < 70 {
			b = appendMoney(b, cost(r, revenue))
		}
		b = append(b, ',')

		cell = cell[:0]
		switch {
		case o.flags&ofClientID != 0:
			cell = strconv.AppendUint(cell, o.clientID, 10)
		case o.flags&ofAllClientIDs != 0:
			g.plan(&p, pr, aux, z, int(o.visitor))
			for j := range p.ndev {
				if j > 0 {
					cell = append(cell, ',')
				}
				cell = strconv.AppendUint(cell, p.devs[j].clientID, 10)
			}
		}
		b = append(appendCell(b, cell), ',')
		cell = g.emails(cell[:0], pr, key, reg, o.flags&ofEmail != 0, false)
		b = append(appendCell(b, cell), ',')
		if o.flags&ofPhone != 0 {
			b = g.appendPhone(b, key, reg)
		}
		b = append(b, ',')

		if r.IntN(100) < 10 {
			cell = cell[:0]
			n := 1 + goalCounts.pick(r)
			first := r.IntN(len(goalNames))
			for k := range n {
				if k > 0 {
					cell = append(cell, ',')
				}
				cell = append(cell, goalNames[(first+k*3)%len(goalNames)]...)
			}
			b = appendCell(b, cell)
		}
		b = append(b, '\n')
		if _, err := w.Write(b); err != nil {
			return err
		}
	}
	return nil
}

func writeStatuses(_ context.Context, w *bufio.Writer) error {
	doc := struct {
		OrderStatuses []crmlink.StatusMapping `json:"order_statuses"`
	}{statusMappings}
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(doc)
}

// writeTruth writes, for every full order then every simple order, the
// session it came from and whether the CRM data lets a correct linker find
// it. A simple order without an id is named by its line in
// simple_orders.csv ("simple_orders.csv:17"; the header is line 1).
func (g *generator) writeTruth(ctx context.Context, w *bufio.Writer) error {
	if _, err := w.WriteString("order_id,session_id,client_id,linkable\n"); err != nil {
		return err
	}
	var b []byte
	for _, list := range [][]int32{g.fullByTime, g.simpleByTime} {
		for n, i := range list {
			if n%65536 == 0 && ctx.Err() != nil {
				return ctx.Err()
			}
			o := &g.orders[i]
			b = b[:0]
			if o.flags&ofNoID != 0 {
				b = strconv.AppendInt(append(b, SimpleOrdersFile+":"...), int64(o.seq)+2, 10)
			} else {
				b = g.appendOrderID(b, o)
			}
			b = append(b, ',')
			if o.visitor >= 0 {
				b = strconv.AppendUint(b, o.sessionID, 10)
				b = append(b, ',')
				b = strconv.AppendUint(b, o.clientID, 10)
			} else {
				b = append(b, ',')
			}
			if o.flags&ofLinkable != 0 {
				b = append(b, ",1\n"...)
			} else {
				b = append(b, ",0\n"...)
			}
			if _, err := w.Write(b); err != nil {
				return err
			}
		}
	}
	return nil
}
