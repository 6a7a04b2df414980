package gen

import (
	"math"
	"math/bits"
	"math/rand/v2"
)

// mix64 is SplitMix64's finaliser: a bijection on uint64 that scatters
// nearby inputs.
func mix64(x uint64) uint64 {
	x ^= x >> 30
	x *= 0xbf58476d1ce4e5b9
	x ^= x >> 27
	x *= 0x94d049bb133111eb
	x ^= x >> 31
	return x
}

// seeds holds one seed per purpose, all derived from Config.Seed. Every
// random decision about a visitor, contact or order is drawn from a PCG
// stream seeded with (purpose, index), so it does not depend on the order in
// which the generator's workers visit things: the same Config gives the same
// bytes whatever the number of cores.
type seeds struct {
	counts, contacts, region, plan, client, detail, session     uint64
	orders, orderDetail, simpleDetail, contactMode, contactTime uint64
	person, phone, buyers, never                                uint64
}

func newSeeds(seed uint64) seeds {
	k := uint64(0)
	next := func() uint64 {
		k++
		return mix64(seed ^ mix64(k*0x9e3779b97f4a7c15))
	}
	return seeds{
		counts: next(), contacts: next(), region: next(), plan: next(), client: next(),
		detail: next(), session: next(), orders: next(), orderDetail: next(),
		simpleDetail: next(), contactMode: next(), contactTime: next(), person: next(),
		phone: next(), buyers: next(), never: next(),
	}
}

// rng is a reseedable random source: seeding costs two multiplications, so
// the generator reseeds it for every visitor instead of keeping one stream
// per visitor. Its methods call the PCG directly (no interface, no
// rejection loop: bounded draws take the high word of a 128-bit product,
// whose bias is below 2^-40 for the bounds used here).
type rng struct {
	pcg rand.PCG
}

func newRNG() *rng { return &rng{} }

// seed starts the stream of one purpose for one index.
func (r *rng) seed(purpose, index uint64) *rng {
	r.pcg.Seed(mix64(purpose^mix64(index)), mix64(purpose+index*0x9e3779b97f4a7c15+1))
	return r
}

// Uint32 returns 32 random bits.
func (r *rng) Uint32() uint32 { return uint32(r.pcg.Uint64() >> 32) }

// Uint64N returns a uniform value in [0, n); n must be positive.
func (r *rng) Uint64N(n uint64) uint64 {
	hi, _ := bits.Mul64(r.pcg.Uint64(), n)
	return hi
}

// Uint32N returns a uniform value in [0, n); n must be positive.
func (r *rng) Uint32N(n uint32) uint32 { return uint32(r.Uint64N(uint64(n))) }

// IntN returns a uniform value in [0, n); n must be positive.
func (r *rng) IntN(n int) int { return int(r.Uint64N(uint64(n))) }

// Int64N returns a uniform value in [0, n); n must be positive.
func (r *rng) Int64N(n int64) int64 { return int64(r.Uint64N(uint64(n))) }

// Float64 returns a uniform value in [0, 1).
func (r *rng) Float64() float64 { return float64(r.pcg.Uint64()>>11) / (1 << 53) }

// between returns a uniform int64 in [lo, hi]; hi < lo gives lo.
func (r *rng) between(lo, hi int64) int64 {
	if hi <= lo {
		return lo
	}
	return lo + r.Int64N(hi-lo+1)
}

// permute maps x in [0, n) to a unique y in [0, n): a four-round Feistel
// network over the smallest even bit width that holds n, walking the cycle
// until it lands inside [0, n). It gives unique values that look random
// (phone numbers, ClientID suffixes, session ids) without a lookup table.
func permute(x, n, key uint64) uint64 {
	b := bits.Len64(n - 1)
	if b < 2 {
		b = 2
	}
	b += b & 1
	half := uint(b / 2)
	mask := uint64(1)<<half - 1
	for {
		l, r := x>>half, x&mask
		for round := uint64(1); round <= 4; round++ {
			l, r = r, l^(mix64(r^key^round<<56)&mask)
		}
		x = l<<half | r
		if x < n {
			return x
		}
	}
}

// choice picks an index with fixed weights in constant time (Vose's alias
// method): one random word picks a column and, with its low half, either the
// column or its alias.
type choice struct {
	prob  []uint32 // keep column i when the low word is below prob[i]
	alias []int32
}

func newChoice(weights ...float64) choice {
	n := len(weights)
	c := choice{prob: make([]uint32, n), alias: make([]int32, n)}
	var sum float64
	for _, w := range weights {
		sum += w
	}
	scaled := make([]float64, n)
	var small, large []int
	for i, w := range weights {
		scaled[i] = w * float64(n) / sum
		if scaled[i] < 1 {
			small = append(small, i)
		} else {
			large = append(large, i)
		}
	}
	for len(small) > 0 && len(large) > 0 {
		s, l := small[len(small)-1], large[len(large)-1]
		small = small[:len(small)-1]
		c.prob[s] = uint32(scaled[s] * (1 << 32))
		c.alias[s] = int32(l)
		scaled[l] -= 1 - scaled[s]
		if scaled[l] < 1 {
			large = large[:len(large)-1]
			small = append(small, l)
		}
	}
	for _, i := range append(small, large...) { // full columns (rounding leftovers too)
		c.prob[i], c.alias[i] = math.MaxUint32, int32(i)
	}
	return c
}

func choiceOf(items []weightedName) choice {
	w := make([]float64, len(items))
	for i, it := range items {
		w[i] = it.weight
	}
	return newChoice(w...)
}

func (c *choice) pick(r *rng) int {
	i, lo := bits.Mul64(r.pcg.Uint64(), uint64(len(c.prob)))
	if uint32(lo>>32) < c.prob[i] {
		return int(i)
	}
	return int(c.alias[i])
}
