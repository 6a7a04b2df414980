package duckdb

import (
	"bufio"
	"encoding/json"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/crmlink/crmlink"
	"github.com/shopspring/decimal"
)

// spool is a temporary tab-separated file of rows for DuckDB's CSV reader to
// load: fields quoted only when they hold a tab, quote or line break; NULL
// is never written (every column is NOT NULL).
type spool struct {
	f    *os.File
	w    *bufio.Writer
	path string
	buf  []byte
	jbuf []byte // scratch for JSON cells
	rows int
	// maxLine is the longest row's length, its line break included.
	maxLine int
	err     error
}

func newSpool(dir, name string) (*spool, error) {
	f, err := os.CreateTemp(dir, "crmlink-"+name+"-*.tsv")
	if err != nil {
		return nil, err
	}
	return &spool{f: f, w: bufio.NewWriterSize(f, 1<<20), path: f.Name(), buf: make([]byte, 0, 4096)}, nil
}

func (s *spool) close() error {
	err := s.w.Flush()
	if cerr := s.f.Close(); err == nil {
		err = cerr
	}
	if s.err != nil {
		return s.err
	}
	return err
}

func (s *spool) remove() { os.Remove(s.path) }

func (s *spool) str(v string) {
	quote := false
	for i := 0; i < len(v); i++ {
		if c := v[i]; c == '\t' || c == '"' || c == '\n' || c == '\r' || c == '\\' {
			quote = true
			break
		}
	}
	if v == "" || v == `\N` {
		quote = v != ""
	}
	if !quote {
		s.buf = append(s.buf, v...)
	} else {
		s.buf = append(s.buf, '"')
		for i := 0; i < len(v); i++ {
			if v[i] == '"' {
				s.buf = append(s.buf, '"')
			}
			s.buf = append(s.buf, v[i])
		}
		s.buf = append(s.buf, '"')
	}
	s.buf = append(s.buf, '\t')
}

func (s *spool) uint(v uint64) {
	s.buf = strconv.AppendUint(s.buf, v, 10)
	s.buf = append(s.buf, '\t')
}

func (s *spool) int(v int64) {
	s.buf = strconv.AppendInt(s.buf, v, 10)
	s.buf = append(s.buf, '\t')
}

func (s *spool) bool(v bool) {
	if v {
		s.buf = append(s.buf, "true\t"...)
	} else {
		s.buf = append(s.buf, "false\t"...)
	}
}

// end finishes a row.
func (s *spool) end() {
	s.buf[len(s.buf)-1] = '\n'
	s.maxLine = max(s.maxLine, len(s.buf))
	if _, err := s.w.Write(s.buf); err != nil && s.err == nil {
		s.err = err
	}
	s.buf = s.buf[:0]
	s.rows++
}

// session writes one session in the order of spoolColumns; the caller ends
// the row.
func (s *spool) session(line int, ss *crmlink.Session, loc *time.Location) {
	start := ss.Start.UTC()
	s.int(int64(line))
	s.uint(ss.ID)
	s.uint(ss.ClientID)
	s.str(ss.UserID)
	s.int(start.UnixMicro())
	s.int(wallClock(start, loc).UnixMicro())
	s.int(int64(ss.Duration / time.Second))
	s.int(int64(ss.PageViews))
	s.bool(ss.Bounce)
	s.str(string(ss.Source.Kind))
	s.str(ss.Source.Engine)
	s.str(ss.Source.UTMSource)
	s.str(ss.Source.UTMMedium)
	s.str(ss.Source.UTMCampaign)
	s.str(ss.Source.UTMContent)
	s.str(ss.Source.UTMTerm)
	s.str(ss.Source.ClickID)
	s.str(ss.Referrer)
	s.str(ss.LandingURL)
	s.str(ss.Country)
	s.str(ss.Region)
	s.str(ss.City)
	s.str(string(ss.Device))
	s.str(ss.OS)
	s.str(ss.Browser)
	s.bool(ss.Bot)
}

// purchase writes one purchase of the seq-th session in the order of
// purchaseColumns.
func (s *spool) purchase(seq int, ss *crmlink.Session, id string) {
	s.int(int64(seq))
	s.uint(ss.ID)
	s.uint(ss.ClientID)
	s.str(id)
	s.int(ss.Start.UTC().UnixMicro())
	s.end()
}

// identity writes one site identity in the order of identityColumns.
func (s *spool) identity(client uint64, kind, value string, seen time.Time) {
	s.uint(client)
	s.str(kind)
	s.str(value)
	s.int(seen.UTC().UnixMicro())
	s.end()
}

// null writes SQL NULL.
func (s *spool) null() { s.buf = append(s.buf, `\N`+"\t"...) }

// micros writes a time as microseconds since the epoch, or NULL for zero.
func (s *spool) micros(t time.Time) {
	if t.IsZero() {
		s.null()
		return
	}
	s.int(t.UTC().UnixMicro())
}

// date writes a date as yyyy-mm-dd, or NULL for zero.
func (s *spool) date(t time.Time) {
	if t.IsZero() {
		s.null()
		return
	}
	s.buf = t.AppendFormat(s.buf, "2006-01-02")
	s.buf = append(s.buf, '\t')
}

// listSep separates the items of a list cell; splitList undoes it in SQL.
// Readers refuse control characters, so it cannot occur in a value.
const listSep = "\x1f"

func (s *spool) list(v []string) { s.str(strings.Join(v, listSep)) }

func (s *spool) uintList(v []uint64) {
	var b strings.Builder
	for i, x := range v {
		if i > 0 {
			b.WriteString(listSep)
		}
		b.WriteString(strconv.FormatUint(x, 10))
	}
	s.str(b.String())
}

// decimal writes a decimal, or NULL.
func (s *spool) decimal(d decimal.Decimal, valid bool) {
	if !valid {
		s.null()
		return
	}
	s.buf = appendDecimal(s.buf, d) // digits, a sign and a point: never quoted
	s.buf = append(s.buf, '\t')
}

// appendDecimal appends d as its String method writes it. A coefficient
// of up to 18 digits with an exponent from -18 to 0, which is what the
// readers make, is written without big.Int's conversion to text, which
// took a third of the time of writing an orders spool.
func appendDecimal(b []byte, d decimal.Decimal) []byte {
	exp := d.Exponent()
	if exp > 0 || exp < -18 || d.NumDigits() > 18 {
		return append(b, d.String()...)
	}
	m := d.CoefficientInt64()
	if m < 0 {
		b = append(b, '-')
		m = -m // below 10^18 in magnitude
	}
	// The digits go to buf[20:], leaving room before them for the zeros
	// of a number below one: 0.0042 is 42 with four places.
	var buf [40]byte
	n := len(strconv.AppendUint(buf[20:20], uint64(m), 10))
	frac := int(-exp)
	start := 20
	if n <= frac {
		start = 20 - (frac - n + 1)
		for i := start; i < 20; i++ {
			buf[i] = '0'
		}
	}
	ds := buf[start : 20+n]
	if frac == 0 {
		return append(b, ds...)
	}
	point := len(ds) - frac
	end := len(ds)
	for end > point && ds[end-1] == '0' {
		end--
	}
	b = append(b, ds[:point]...)
	if end > point {
		b = append(b, '.')
		b = append(b, ds[point:end]...)
	}
	return b
}

// json writes v as JSON text.
func (s *spool) json(v any) {
	b, _ := json.Marshal(v)
	s.str(string(b))
}

// products writes an order's products as a JSON array of [name, qty], by
// hand: encoding/json's reflection cost more than the rest of the row.
func (s *spool) products(ps []crmlink.Product) {
	s.jbuf = append(s.jbuf[:0], '[')
	for i, p := range ps {
		if i > 0 {
			s.jbuf = append(s.jbuf, ',')
		}
		s.jbuf = append(s.jbuf, '[')
		s.jbuf = appendJSONString(s.jbuf, p.Name)
		s.jbuf = append(s.jbuf, ',')
		s.jbuf = appendDecimal(s.jbuf, p.Qty)
		s.jbuf = append(s.jbuf, ']')
	}
	s.jbuf = append(s.jbuf, ']')
	s.strBytes(s.jbuf)
}

// goals writes an order's goals as a JSON array of [goal, price or null].
func (s *spool) goals(gs []crmlink.OrderGoal) {
	s.jbuf = append(s.jbuf[:0], '[')
	for i, g := range gs {
		if i > 0 {
			s.jbuf = append(s.jbuf, ',')
		}
		s.jbuf = append(s.jbuf, '[')
		s.jbuf = appendJSONString(s.jbuf, g.Goal)
		s.jbuf = append(s.jbuf, ',')
		if g.Price.Valid {
			s.jbuf = appendDecimal(s.jbuf, g.Price.Decimal)
		} else {
			s.jbuf = append(s.jbuf, "null"...)
		}
		s.jbuf = append(s.jbuf, ']')
	}
	s.jbuf = append(s.jbuf, ']')
	s.strBytes(s.jbuf)
}

// strBytes is str for a byte slice.
func (s *spool) strBytes(b []byte) { s.str(unsafeString(b)) }

// appendJSONString appends v as a JSON string.
func appendJSONString(b []byte, v string) []byte {
	b = append(b, '"')
	for i := 0; i < len(v); i++ {
		c := v[i]
		switch {
		case c == '"' || c == '\\':
			b = append(b, '\\', c)
		case c < 0x20:
			const hex = "0123456789abcdef"
			b = append(b, '\\', 'u', '0', '0', hex[c>>4], hex[c&0xf])
		default:
			b = append(b, c)
		}
	}
	return append(b, '"')
}
