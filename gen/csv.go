package gen

import (
	"math"
	"strconv"
	"time"
)

// The writers build CSV rows by appending to reused byte slices: no fmt, no
// encoding/csv and no allocation per row in the hot loop.

// needsQuote reports whether an RFC 4180 cell must be quoted.
func needsQuote[S string | []byte](s S) bool {
	for i := 0; i < len(s); i++ {
		switch s[i] {
		case ',', '"', '\n', '\r':
			return true
		}
	}
	return false
}

// appendCell appends s as one CSV cell, quoted only when needed.
func appendCell[S string | []byte](b []byte, s S) []byte {
	if !needsQuote(s) {
		return append(b, s...)
	}
	b = append(b, '"')
	for i := 0; i < len(s); i++ {
		if s[i] == '"' {
			b = append(b, '"')
		}
		b = append(b, s[i])
	}
	return append(b, '"')
}

// appendMoney appends kopecks as a decimal with two places: 123450 → 1234.50.
func appendMoney(b []byte, kop int64) []byte {
	b = strconv.AppendInt(b, kop/100, 10)
	c := kop % 100
	return append(b, '.', byte('0'+c/10), byte('0'+c%10))
}

// zone turns instants into local wall-clock time in one location. It caches
// the offsets of the last few zone periods it met (a window usually spans a
// summer-time switch or two), so the hot loop rarely calls into package time.
type zone struct {
	loc     *time.Location
	periods [4]period
	n, next int
}

// period is a span [lo, hi) of unix time with one UTC offset.
type period struct{ lo, hi, off int64 }

func newZone(loc *time.Location) *zone { return &zone{loc: loc} }

// offset returns the UTC offset in seconds at unix time t.
func (z *zone) offset(t int64) int64 {
	for i := range z.n {
		if p := &z.periods[i]; t >= p.lo && t < p.hi {
			return p.off
		}
	}
	tt := time.Unix(t, 0).In(z.loc)
	_, off := tt.Zone()
	start, end := tt.ZoneBounds()
	p := period{math.MinInt64, math.MaxInt64, int64(off)}
	if !start.IsZero() {
		p.lo = start.Unix()
	}
	if !end.IsZero() {
		p.hi = end.Unix()
	}
	z.periods[z.next] = p
	z.next = (z.next + 1) % len(z.periods)
	z.n = min(z.n+1, len(z.periods))
	return p.off
}

// local returns t as seconds since the epoch of the local wall clock.
func (z *zone) local(t int64) int64 { return t + z.offset(t) }

// appendDateTime appends unix time t as "yyyy-MM-dd HH:mm:ss" in z.
func (z *zone) appendDateTime(b []byte, t int64) []byte {
	lt := z.local(t)
	days := floorDiv(lt, 86400)
	secs := lt - days*86400
	y, m, d := civil(days)
	b = append(b, byte('0'+y/1000%10), byte('0'+y/100%10), byte('0'+y/10%10), byte('0'+y%10), '-')
	b = append2(b, m)
	b = append(b, '-')
	b = append2(b, d)
	b = append(b, ' ')
	b = append2(b, secs/3600)
	b = append(b, ':')
	b = append2(b, secs/60%60)
	b = append(b, ':')
	return append2(b, secs%60)
}

func append2(b []byte, v int64) []byte { return append(b, byte('0'+v/10), byte('0'+v%10)) }

func floorDiv(a, b int64) int64 {
	q := a / b
	if (a%b != 0) && ((a < 0) != (b < 0)) {
		q--
	}
	return q
}

// civil converts days since 1970-01-01 to a proleptic Gregorian date
// (Howard Hinnant's days_from_civil, inverted).
func civil(z int64) (y, m, d int64) {
	z += 719468
	era := floorDiv(z, 146097)
	doe := z - era*146097
	yoe := (doe - doe/1460 + doe/36524 - doe/146096) / 365
	y = yoe + era*400
	doy := doe - (365*yoe + yoe/4 - yoe/100)
	mp := (5*doy + 2) / 153
	d = doy - (153*mp+2)/5 + 1
	if mp < 10 {
		m = mp + 3
	} else {
		m = mp - 9
	}
	if m <= 2 {
		y++
	}
	return y, m, d
}
