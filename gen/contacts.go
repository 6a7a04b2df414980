package gen

import (
	"bufio"
	"context"
	"math"
	"slices"
	"sort"
	"strconv"
)

// Contact flags: what the CRM knows about a customer.
const (
	cfModeMask = 3 // which ClientIDs the CRM holds:
	cfModeNone = 0 //   none (only email or phone)
	cfModeSome = 1 //   the one of the device of the first order (or the main device)
	cfModeAll  = 2 //   all of the visitor's
	cfAccount  = 1 << 2
	cfEmail    = 1 << 3
	cfPhone    = 1 << 4
	cfEmail2   = 1 << 5
	cfPhone2   = 1 << 6

	maskUnknown = 0xff
)

// First ids of the CRM's numbering.
const (
	firstContactID = 100001
	firstUserID    = 50001
	firstOrderID   = 10001
)

// pickContacts chooses which visitors are CRM contacts: about 90% of the
// contacts are visitors, drawn without replacement with a weight growing with
// their number of sessions (Efraimidis–Spirakis: the smallest -ln(u)/w keys
// win), the rest never visited the site. Contacts who visited are numbered
// in visitor order, then those who never did.
func (g *generator) pickContacts() {
	nv, nc := len(g.counts), g.cfg.Contacts
	cv := min(int(math.Round(0.9*float64(nc))), nv)
	g.contactOf = make([]int32, nv)
	g.visitorOf = make([]int32, nc)
	for v := range g.contactOf {
		g.contactOf[v] = -1
	}
	for c := range g.visitorOf {
		g.visitorOf[c] = -1
	}
	if cv > 0 {
		// The keys are drawn twice from the same stream: once to find the
		// cv-th smallest, once to pick the visitors under it, so that only
		// one float32 per visitor is ever held.
		r := newRNG()
		keys := func(yield func(v int, k float32) bool) {
			r.seed(g.seeds.contacts, 0)
			for v, n := range g.counts {
				if !yield(v, float32(-math.Log(1-r.Float64())/(1+0.8*float64(n-1)))) {
					return
				}
			}
		}
		tmp := make([]float32, nv)
		for v, k := range keys {
			tmp[v] = k
		}
		th := nthSmallest(tmp, cv-1)
		ties := cv // how many visitors at the threshold get in, by index
		for _, k := range tmp {
			if k < th {
				ties--
			}
		}
		tmp = nil
		c := 0
		for v, k := range keys {
			if k < th || (k == th && ties > 0) {
				if k == th {
					ties--
				}
				g.visitorOf[c] = int32(v)
				g.contactOf[v] = int32(c)
				c++
			}
		}
	}

	g.cflags = make([]uint8, nc)
	g.cmask = make([]uint8, nc)
	r := newRNG()
	for c := range g.cflags {
		r.seed(g.seeds.contactMode, uint64(c))
		var f uint8
		if g.visitorOf[c] >= 0 {
			switch u := r.IntN(100); {
			case u < 72:
				f = cfModeAll
				if r.IntN(100) < 40 {
					f |= cfAccount // logged in on the site: sessions carry its user id
				}
			case u < 88:
				f = cfModeSome
			}
		}
		switch u := r.IntN(100); {
		case u < 55:
			f |= cfEmail | cfPhone
		case u < 80:
			f |= cfEmail
		default:
			f |= cfPhone
		}
		if f&cfEmail != 0 && r.IntN(100) < 5 {
			f |= cfEmail2
		}
		if f&cfPhone != 0 && r.IntN(100) < 4 {
			f |= cfPhone2
		}
		g.cflags[c] = f
		g.cmask[c] = maskUnknown
	}
}

// nthSmallest returns the k-th smallest value of a (0-based), reordering a:
// Hoare's quickselect with a median-of-three pivot.
func nthSmallest(a []float32, k int) float32 {
	lo, hi := 0, len(a)-1
	for lo < hi {
		x, y, z := a[lo], a[int(uint(lo+hi)>>1)], a[hi]
		p := max(min(x, y), min(max(x, y), z))
		i, j := lo, hi
		for i <= j {
			for a[i] < p {
				i++
			}
			for a[j] > p {
				j--
			}
			if i <= j {
				a[i], a[j] = a[j], a[i]
				i++
				j--
			}
		}
		switch {
		case k <= j:
			hi = j
		case k >= i:
			lo = i
		default:
			return a[k]
		}
	}
	return a[k]
}

// planOrderCounts spreads the full orders over the contacts: three orders in
// four go to distinct buyers (so most buyers order once and some contacts
// are leads without orders), the rest to buyers with heavy-tailed weights
// that grow with their visits (a few customers order often).
func (g *generator) planOrderCounts() {
	nc, no := g.cfg.Contacts, g.cfg.Orders
	g.ocount = make([]uint32, nc)
	if no == 0 {
		return
	}
	buyers := min(nc, max(1, int(math.Round(0.75*float64(no)))))
	r := newRNG().seed(g.seeds.buyers, 0)
	perm := make([]int32, nc)
	for i := range perm {
		perm[i] = int32(i)
	}
	for i := range buyers {
		j := i + r.IntN(nc-i)
		perm[i], perm[j] = perm[j], perm[i]
		g.ocount[perm[i]] = 1
	}
	// Repeat customers are mostly frequent visitors.
	cum := make([]float64, buyers)
	sum := 0.0
	for i := range cum {
		visits := 1
		if v := g.visitorOf[perm[i]]; v >= 0 {
			visits = min(int(g.counts[v]), 10)
		}
		sum += min(50, math.Pow(1-r.Float64(), -1/1.3)) * float64(visits)
		cum[i] = sum
	}
	for range no - buyers {
		x := r.Float64() * sum
		i := sort.SearchFloat64s(cum, x)
		if i == buyers {
			i--
		}
		g.ocount[perm[i]]++
	}
}

// planContactTimes sets when each contact was created and last updated in
// the CRM, and numbers the contacts in order of creation.
func (g *generator) planContactTimes() {
	nc := g.cfg.Contacts
	first := make([]int64, nc)
	last := make([]int64, nc)
	for c := range first {
		first[c], last[c] = math.MaxInt64, math.MinInt64
	}
	for i := range g.orders {
		o := &g.orders[i]
		if o.flags&ofSimple != 0 {
			continue
		}
		first[o.owner] = min(first[o.owner], o.created)
		last[o.owner] = max(last[o.owner], o.created)
	}
	g.ccreate = make([]int64, nc)
	g.cupdate = make([]int64, nc)
	r := newRNG()
	const twoYears = 730 * 86400
	for c := range nc {
		r.seed(g.seeds.contactTime, uint64(c))
		var create, update int64
		if first[c] != math.MaxInt64 {
			if r.IntN(100) < 65 { // created with the first order
				create = max(first[c]-r.Int64N(1800), g.w0-twoYears)
			} else { // a customer from before
				create = r.between(g.end-twoYears, first[c])
			}
			base := max(create, last[c])
			update = base + r.between(0, min(3*86400, g.end-base))
		} else {
			create = r.between(g.end-twoYears, g.end)
			update = create + r.between(0, (g.end-create)*3/10)
		}
		g.ccreate[c], g.cupdate[c] = create, update
	}
	g.byRank = make([]int32, nc)
	for c := range g.byRank {
		g.byRank[c] = int32(c)
	}
	slices.SortFunc(g.byRank, func(a, b int32) int {
		if g.ccreate[a] != g.ccreate[b] {
			return cmpInt64(g.ccreate[a], g.ccreate[b])
		}
		return int(a - b)
	})
	g.rankOf = make([]int32, nc)
	for rank, c := range g.byRank {
		g.rankOf[c] = int32(rank)
	}
}

func cmpInt64(a, b int64) int {
	switch {
	case a < b:
		return -1
	case a > b:
		return 1
	}
	return 0
}

// contactKey is the person key of contact c.
func (g *generator) contactKey(c int) uint64 {
	if v := g.visitorOf[c]; v >= 0 {
		return uint64(v)
	}
	return uint64(len(g.counts) + c)
}

// simpleKey is the person key of the customer of simple order o.
func (g *generator) simpleKey(o *order) uint64 {
	if o.visitor >= 0 {
		return uint64(o.visitor)
	}
	return uint64(len(g.counts) + g.cfg.Contacts + int(o.owner))
}

// personKeys lists the persons whose email addresses some file shows.
func (g *generator) personKeys() []uint64 {
	var keys []uint64
	for c := range g.cfg.Contacts {
		if g.cflags[c]&cfEmail != 0 {
			keys = append(keys, g.contactKey(c))
		}
	}
	for i := range g.orders {
		if o := &g.orders[i]; o.flags&ofSimple != 0 && o.flags&ofEmail != 0 {
			keys = append(keys, g.simpleKey(o))
		}
	}
	return keys
}

// contactMask returns the devices whose ClientIDs contact c carries, given
// the ClientIDs of its visitor's devices.
func (g *generator) contactMask(c int, ids [3]uint64) uint8 {
	if m := g.cmask[c]; m != maskUnknown {
		return m
	}
	switch g.cflags[c] & cfModeMask {
	case cfModeAll:
		m := uint8(0)
		for j, id := range ids {
			if id != 0 {
				m |= 1 << j
			}
		}
		return m
	case cfModeSome:
		return 1
	}
	return 0
}

func (g *generator) appendUniqID(b []byte, c int) []byte {
	return strconv.AppendInt(b, firstContactID+int64(g.rankOf[c]), 10)
}

func (g *generator) writeContacts(ctx context.Context, w *bufio.Writer) error {
	if _, err := w.WriteString("uniq_id,name,create_date_time,update_date_time,client_ids,emails,phones,user_ids\n"); err != nil {
		return err
	}
	z := newZone(g.cfg.Location)
	r, aux, pr := newRNG(), newRNG(), newRNG()
	var p plan
	var b, cell []byte
	for rank, c32 := range g.byRank {
		if rank%65536 == 0 && ctx.Err() != nil {
			return ctx.Err()
		}
		c := int(c32)
		f := g.cflags[c]
		key := g.contactKey(c)
		reg := g.personRegion(aux, key)
		b = g.appendUniqID(b[:0], c)
		b = append(b, ',')
		cell = g.appendName(cell[:0], pr, key, reg)
		b = appendCell(b, cell)
		b = append(b, ',')
		b = z.appendDateTime(b, g.ccreate[c])
		b = append(b, ',')
		b = z.appendDateTime(b, g.cupdate[c])
		b = append(b, ',')

		cell = cell[:0]
		if v := g.visitorOf[c]; v >= 0 && f&cfModeMask != cfModeNone {
			ids := g.cclients[c] // known when the order planner met the contact
			if ids[0] == 0 {
				g.plan(&p, r, aux, z, int(v))
				for j := range p.ndev {
					ids[j] = p.devs[j].clientID
				}
			}
			m := g.contactMask(c, ids)
			for j, id := range ids {
				if m&(1<<j) != 0 {
					if len(cell) > 0 {
						cell = append(cell, ',')
					}
					cell = strconv.AppendUint(cell, id, 10)
				}
			}
		}
		b = append(appendCell(b, cell), ',')
		cell = g.emails(cell[:0], pr, key, reg, f&cfEmail != 0, f&cfEmail2 != 0)
		b = append(appendCell(b, cell), ',')

		cell = cell[:0]
		if f&cfPhone != 0 {
			cell = g.appendPhone(cell, key, reg)
			if f&cfPhone2 != 0 && regions[reg].phone == phoneRU {
				cell = g.appendLandline(append(cell, ','), key)
			}
		}
		b = append(appendCell(b, cell), ',')
		if f&cfAccount != 0 {
			b = strconv.AppendInt(b, firstUserID+int64(g.rankOf[c]), 10)
		}
		b = append(b, '\n')
		if _, err := w.Write(b); err != nil {
			return err
		}
	}
	return nil
}

// emails appends the list of email addresses of person key.
func (g *generator) emails(b []byte, r *rng, key uint64, reg int, primary, secondary bool) []byte {
	if !primary {
		return b
	}
	a1, a2 := g.persons.lookup(key)
	b = g.appendEmail(b, r, key, reg, false, a1)
	if secondary && a2 != noSecondEmail {
		b = g.appendEmail(append(b, ','), r, key, reg, true, a2)
	}
	return b
}
