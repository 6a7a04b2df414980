package gen

import (
	"context"
	"hash/fnv"
	"slices"
	"strconv"
)

// A person is the human behind a contact or a simple order: a name, email
// addresses and phone numbers. Persons are keyed: a visitor's key is its
// index, so a visitor's contact and simple orders share one person; people
// who never visited get keys past the visitors.
//
// Emails are name-based and must be unique (two customers sharing an address
// would look like duplicates to the CRM side). Their popular forms collide
// often, so the generator walks the keys in order once, before writing, and
// records for each how many attempts its address needed; writers then
// rebuild the address from (key, attempts).

// Email local-part patterns and suffixes, with weights.
var (
	patternChoice = newChoice(30, 14, 12, 10, 20, 14) // see appendLocal
	suffixChoice  = newChoice(45, 20, 25, 10)         // none, 2 digits, birth year, 3 digits
)

var domainChoices = func() []choice {
	out := make([]choice, len(nameLists))
	for i := range nameLists {
		out[i] = choiceOf(nameLists[i].domains)
	}
	return out
}()

const noSecondEmail = 15

type personTable struct {
	keys []uint64 // sorted, unique
	att  []uint8  // low nibble: primary email attempts; high: secondary, noSecondEmail = none
}

// lookup returns the attempts of key, which must be in the table.
func (t *personTable) lookup(key uint64) (primary, secondary int) {
	i, ok := slices.BinarySearch(t.keys, key)
	if !ok {
		panic("gen: person key not planned")
	}
	return int(t.att[i] & 15), int(t.att[i] >> 4)
}

// buildPersons settles the email addresses of the given person keys.
func (g *generator) buildPersons(ctx context.Context, keys []uint64) error {
	slices.Sort(keys)
	keys = slices.Compact(keys)
	t := personTable{keys: keys, att: make([]uint8, len(keys))}
	seen := make(map[uint64]struct{}, 2*len(keys))
	r, aux := newRNG(), newRNG()
	var b []byte
	add := func(b []byte) bool {
		h := fnv.New64a()
		h.Write(b)
		k := h.Sum64()
		if _, dup := seen[k]; dup {
			return false
		}
		seen[k] = struct{}{}
		return true
	}
	for i, key := range keys {
		if i%65536 == 0 && ctx.Err() != nil {
			return ctx.Err()
		}
		reg := g.personRegion(aux, key)
		a := 0
		for {
			b = g.appendEmail(b[:0], r, key, reg, false, a)
			if add(b) || a == 14 {
				break // after 14 attempts the address ends in the key: unique
			}
			a++
		}
		s := 0
		for ; s < noSecondEmail; s++ {
			b = g.appendEmail(b[:0], r, key, reg, true, s)
			if add(b) {
				break
			}
		}
		t.att[i] = uint8(a) | uint8(s)<<4
	}
	g.persons = t
	return nil
}

// personName draws the name of person key from list nl: gender, given name
// and family name.
func (g *generator) personName(r *rng, key uint64, nl *nameList) (given *givenName, family string, latinFamily string) {
	r.seed(g.seeds.person, key)
	if r.IntN(100) < 52 {
		gn := &nl.female[r.IntN(len(nl.female))]
		f := &nl.family[r.IntN(len(nl.family))]
		return gn, f.female, f.latinFemale
	}
	gn := &nl.male[r.IntN(len(nl.male))]
	f := &nl.family[r.IntN(len(nl.family))]
	return gn, f.male, f.latinMale
}

// appendName appends "Given Family".
func (g *generator) appendName(b []byte, r *rng, key uint64, reg int) []byte {
	given, family, _ := g.personName(r, key, &nameLists[regions[reg].names])
	return append(append(append(b, given.display...), ' '), family...)
}

// appendEmail appends the primary or secondary address of person key after
// the given number of failed attempts.
func (g *generator) appendEmail(b []byte, r *rng, key uint64, reg int, secondary bool, attempt int) []byte {
	nl := &nameLists[regions[reg].names]
	given, _, family := g.personName(r, key, nl)
	stream := g.seeds.person + 1
	if secondary {
		stream++
	}
	r.seed(stream, key)
	pattern, suffix := patternChoice.pick(r), suffixChoice.pick(r)
	sv := r.IntN(900)
	domain := nl.domains[domainChoices[regions[reg].names].pick(r)].name
	first := given.latin
	switch pattern {
	case 0:
		b = append(append(append(b, first...), '.'), family...)
	case 1:
		b = append(append(b, first...), family...)
	case 2:
		b = append(append(append(b, family...), '.'), first...)
	case 3:
		b = append(append(append(b, first...), '_'), family...)
	case 4:
		b = append(append(append(b, first[0]), '.'), family...)
	case 5:
		b = append(append(b, family...), first[0])
	}
	switch suffix {
	case 1:
		b = strconv.AppendInt(b, int64(10+sv%90), 10)
	case 2:
		b = strconv.AppendInt(b, int64(1965+sv%42), 10)
	case 3:
		b = strconv.AppendInt(b, int64(100+sv), 10)
	}
	if attempt > 0 {
		if attempt == 14 && !secondary {
			b = strconv.AppendUint(append(b, '.'), key, 10)
		} else {
			r.seed(stream+uint64(attempt)*4, key)
			b = strconv.AppendInt(b, int64(r.IntN(10_000)), 10)
		}
	}
	return append(append(b, '@'), domain...)
}

// appendPhone appends the mobile number of person key: the country's prefix
// and a permutation of the key, so numbers never repeat within a country.
func (g *generator) appendPhone(b []byte, key uint64, reg int) []byte {
	p := phonePlans[regions[reg].phone]
	n := uint64(1)
	for range p.digits {
		n *= 10
	}
	return appendPadded(append(b, p.prefix...), permute(key%n, n, g.seeds.phone), p.digits)
}

// appendLandline appends a Moscow or Saint Petersburg landline number, a
// second phone some Russian customers leave.
func (g *generator) appendLandline(b []byte, key uint64) []byte {
	const n = 10_000_000
	x := permute(key%n, n, g.seeds.phone+1)
	if x&1 == 0 {
		b = append(b, "7495"...)
	} else {
		b = append(b, "7812"...)
	}
	return appendPadded(b, permute(key%n, n, g.seeds.phone+2), 7)
}

func appendPadded(b []byte, x uint64, digits int) []byte {
	var tmp [20]byte
	s := strconv.AppendUint(tmp[:0], x, 10)
	for range digits - len(s) {
		b = append(b, '0')
	}
	return append(b, s...)
}
