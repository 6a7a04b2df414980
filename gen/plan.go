package gen

import (
	"math"
	"slices"
)

// sessionGap is the idle time between two sessions of one visitor: the
// counter's default session timeout, so that a collector would really see
// two sessions.
const sessionGap = 30 * 60

// Local-time rhythm of visits: the share by hour of day and by weekday
// (Sunday first). Evenings are busy, nights quiet, Saturdays slow.
var (
	hourWeights    = [24]float64{2.0, 1.2, 0.8, 0.6, 0.6, 0.8, 1.5, 2.5, 3.5, 4.5, 5.0, 5.2, 5.3, 5.3, 5.2, 5.2, 5.3, 5.6, 6.2, 6.8, 7.2, 7.0, 5.5, 3.8}
	weekdayWeights = [7]float64{0.92, 1.08, 1.06, 1.05, 1.03, 0.95, 0.85}
	// rhythmAccept is the acceptance threshold of rejection sampling for
	// each (weekday, hour), scaled to uint32.
	rhythmAccept = func() (t [7 * 24]uint32) {
		var peak float64
		for d := range 7 {
			for h := range 24 {
				peak = math.Max(peak, weekdayWeights[d]*hourWeights[h])
			}
		}
		for d := range 7 {
			for h := range 24 {
				t[d*24+h] = uint32(weekdayWeights[d] * hourWeights[h] / peak * math.MaxUint32)
			}
		}
		return t
	}()
)

// sampleTime returns a unix time in [a, b) that follows the local rhythm of
// visits. b must be greater than a.
func sampleTime(r *rng, z *zone, a, b int64) int64 {
	for {
		t := a + r.Int64N(b-a)
		lt := z.local(t)
		day := floorDiv(lt, 86400)
		h := (lt - day*86400) / 3600
		wd := (day%7 + 11) % 7 // 1970-01-01 was a Thursday
		if r.Uint32() < rhythmAccept[wd*24+h] {
			return t
		}
	}
}

// Precomputed weighted choices over the reference tables.
var (
	regionChoice = func() choice {
		w := make([]float64, len(regions))
		for i, r := range regions {
			w[i] = r.weight
		}
		return newChoice(w...)
	}()
	deviceChoice = func() choice {
		w := make([]float64, len(deviceKinds))
		for i, d := range deviceKinds {
			w[i] = d.weight
		}
		return newChoice(w...)
	}()
	osChoices = func() (out [][]choice) {
		for _, d := range deviceKinds {
			var oses []choice
			w := make([]float64, len(d.oses))
			for i, o := range d.oses {
				w[i] = o.weight
				oses = append(oses, choiceOf(o.browsers))
			}
			out = append(out, append([]choice{newChoice(w...)}, oses...))
		}
		return out // out[kind][0] picks the OS, out[kind][1+os] its browser
	}()
	twoDevices   = newChoice(65, 35)
	threeDevices = newChoice(55, 30, 15)
)

// device is one browser of a visitor: one ClientID with a fixed category,
// operating system, browser and region.
type device struct {
	kind, os, browser uint8
	region            uint16
	clientID          uint64
}

// psession is a planned session: what the order planner needs to know.
type psession struct {
	start int64
	dur   int32
	pv    int16
	dev   uint8
}

// plan is everything about one visitor that orders depend on: devices and
// the times of all sessions, in time order across devices. It is a pure
// function of (seed, visitor), recomputed wherever it is needed rather than
// kept: that is what keeps memory flat.
type plan struct {
	ndev   int
	devs   [3]device
	sess   []psession
	starts []int64
}

// personRegion is the home region of a person: for a visitor, the region of
// most of its devices.
func (g *generator) personRegion(r *rng, key uint64) int {
	return regionChoice.pick(r.seed(g.seeds.region, key))
}

// plan fills p for visitor v. r and aux are scratch streams.
func (g *generator) plan(p *plan, r, aux *rng, z *zone, v int) {
	n := int(g.counts[v])
	home := g.personRegion(aux, uint64(v))
	r.seed(g.seeds.plan, uint64(v))

	// Devices. Every device gets at least one session, so only visitors with
	// several sessions can own several ClientIDs; frequent visitors (and so
	// most customers) often use a phone and a computer.
	nd := 1
	switch u := r.IntN(100); {
	case n >= 5:
		nd = 1 + b2i(u >= 30) + b2i(u >= 75)
	case n >= 3:
		nd = 1 + b2i(u >= 45) + b2i(u >= 85)
	case n == 2:
		nd = 1 + b2i(u >= 60)
	}
	p.ndev = nd
	for j := range nd {
		d := &p.devs[j]
		k := deviceChoice.pick(r)
		if j > 0 && k == int(p.devs[0].kind) && r.IntN(100) < 60 {
			k = deviceChoice.pick(r) // a second device is usually of another kind
		}
		oc := osChoices[k]
		os := oc[0].pick(r)
		d.kind, d.os, d.browser = uint8(k), uint8(os), uint8(oc[1+os].pick(r))
		d.region = uint16(home)
		if r.IntN(100) < 5 {
			d.region = uint16(regionChoice.pick(r))
		}
	}

	// Start times: half of the returning visitors come in a burst of a few
	// days, the others spread over the whole window.
	a, b := g.w0, g.end
	if n >= 2 && r.IntN(2) == 0 {
		span := int64(n)*3*3600 + r.Int64N(7*86400)
		if span < b-a {
			a += r.Int64N(b - a - span + 1)
			b = a + span
		}
	}
	p.starts = slices.Grow(p.starts[:0], n)[:n]
	for i := range n {
		p.starts[i] = sampleTime(r, z, a, b)
	}
	slices.Sort(p.starts)
	p.sess = slices.Grow(p.sess[:0], n)[:n]
	for i := range n {
		s := &p.sess[i]
		s.start, s.dev = p.starts[i], 0
		if r.IntN(100) < 30 { // bounce
			s.pv, s.dur = 1, int32(r.IntN(15))
			continue
		}
		pv := 2
		for pv < 20 && r.IntN(100) < 62 {
			pv++
		}
		s.pv = int16(pv)
		s.dur = min(int32(pv*(10+r.IntN(81))+r.IntN(61)), 1800)
	}
	// Keep sessions apart by the session timeout, and inside the window:
	// push forward, then pull back from the end. Days*20 sessions at most
	// (see planCounts) always fit.
	for i := 1; i < n; i++ {
		if m := p.sess[i-1].start + int64(p.sess[i-1].dur) + sessionGap; p.sess[i].start < m {
			p.sess[i].start = m
		}
	}
	if n > 0 {
		lim := g.end - 1 - int64(p.sess[n-1].dur)
		for i := n - 1; i >= 0; i-- {
			if p.sess[i].start > lim {
				p.sess[i].start = lim
			}
			if i > 0 {
				lim = p.sess[i].start - sessionGap - int64(p.sess[i-1].dur)
			}
		}
	}

	// Which device each session came from: the first session is on the main
	// device, every other device first appears at a distinct later session.
	var fixed [3]int
	for j := 1; j < nd; j++ {
	retry:
		k := 1 + r.IntN(n-1)
		for _, f := range fixed[1:j] {
			if f == k {
				goto retry
			}
		}
		fixed[j] = k
		p.sess[k].dev = uint8(j)
	}
	if nd > 1 {
		c := &twoDevices
		if nd == 3 {
			c = &threeDevices
		}
		for i := 1; i < n; i++ {
			if i != fixed[1] && (nd < 3 || i != fixed[2]) {
				p.sess[i].dev = uint8(c.pick(r))
			}
		}
	}

	// ClientIDs, Metrica-style: the cookie's creation second followed by nine
	// digits. Many cookies predate the window (returning visitors). The
	// digits are a permutation of (visitor, device), so ClientIDs are unique.
	for j := range nd {
		first := int64(0)
		for i := range n {
			if int(p.sess[i].dev) == j {
				first = p.sess[i].start
				break
			}
		}
		cookie := first
		if r.IntN(100) < 40 {
			cookie -= r.between(86400, 540*86400)
		}
		p.devs[j].clientID = uint64(cookie)*1_000_000_000 + permute(uint64(v)*3+uint64(j), 1_000_000_000, g.seeds.client)
	}
}

func b2i(b bool) int {
	if b {
		return 1
	}
	return 0
}
