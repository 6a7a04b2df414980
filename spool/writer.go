// Package spool writes rows to temporary tab-separated files that a
// store's bulk loader reads: fields are quoted only when they hold a tab,
// a quote, a backslash or a line break, "\\N" is NULL, and times are
// microseconds since the epoch. The files of an orders upload
// (WriteOrder) are the engine-neutral form in which package uploadqueue
// keeps an accepted upload until a store applies it; a store reads them
// with its own CSV reader.
package spool

import (
	"bufio"
	"encoding/json"
	"os"
	"strconv"
	"strings"
	"time"
	"unsafe"

	"github.com/crmlink/crmlink"
	"github.com/shopspring/decimal"
)

// Writer writes rows to one spool file. A row is written cell by cell
// (Str, Int, ...) and ended by End; a write error is kept and returned by
// Close.
type Writer struct {
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

// Create makes a new spool file in dir, its name starting with
// "crmlink-"+name.
func Create(dir, name string) (*Writer, error) {
	f, err := os.CreateTemp(dir, "crmlink-"+name+"-*.tsv")
	if err != nil {
		return nil, err
	}
	return &Writer{f: f, w: bufio.NewWriterSize(f, 1<<20), path: f.Name(), buf: make([]byte, 0, 4096)}, nil
}

// Close flushes and closes the file; it returns the first write error.
func (s *Writer) Close() error {
	err := s.w.Flush()
	if cerr := s.f.Close(); err == nil {
		err = cerr
	}
	if s.err != nil {
		return s.err
	}
	return err
}

// Remove removes the file.
func (s *Writer) Remove() { os.Remove(s.path) }

// File describes the file: its path, rows and longest line.
func (s *Writer) File() crmlink.SpoolFile {
	return crmlink.SpoolFile{Path: s.path, Rows: s.rows, MaxLine: s.maxLine}
}

// Rows is the number of rows ended so far.
func (s *Writer) Rows() int { return s.rows }

// Str writes a text cell.
func (s *Writer) Str(v string) {
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

// Uint writes an unsigned integer cell.
func (s *Writer) Uint(v uint64) {
	s.buf = strconv.AppendUint(s.buf, v, 10)
	s.buf = append(s.buf, '\t')
}

// Int writes an integer cell.
func (s *Writer) Int(v int64) {
	s.buf = strconv.AppendInt(s.buf, v, 10)
	s.buf = append(s.buf, '\t')
}

// Bool writes a boolean cell.
func (s *Writer) Bool(v bool) {
	if v {
		s.buf = append(s.buf, "true\t"...)
	} else {
		s.buf = append(s.buf, "false\t"...)
	}
}

// End finishes a row.
func (s *Writer) End() {
	s.buf[len(s.buf)-1] = '\n'
	s.maxLine = max(s.maxLine, len(s.buf))
	if _, err := s.w.Write(s.buf); err != nil && s.err == nil {
		s.err = err
	}
	s.buf = s.buf[:0]
	s.rows++
}

// Null writes SQL NULL.
func (s *Writer) Null() { s.buf = append(s.buf, `\N`+"\t"...) }

// Micros writes a time as microseconds since the epoch, or NULL for zero.
func (s *Writer) Micros(t time.Time) {
	if t.IsZero() {
		s.Null()
		return
	}
	s.Int(t.UTC().UnixMicro())
}

// Date writes a date as yyyy-mm-dd, or NULL for zero.
func (s *Writer) Date(t time.Time) {
	if t.IsZero() {
		s.Null()
		return
	}
	y, m, d := t.Date()
	if y < 0 || y > 9999 {
		s.buf = t.AppendFormat(s.buf, "2006-01-02")
	} else {
		s.buf = append(s.buf, byte('0'+y/1000), byte('0'+y/100%10), byte('0'+y/10%10), byte('0'+y%10), '-',
			byte('0'+int(m)/10), byte('0'+int(m)%10), '-', byte('0'+d/10), byte('0'+d%10))
	}
	s.buf = append(s.buf, '\t')
}

// ListSep separates the items of a list cell.
// Readers refuse control characters, so it cannot occur in a value.
const ListSep = "\x1f"

// List writes a list of texts as one cell, its items separated by ListSep.
func (s *Writer) List(v []string) { s.Str(strings.Join(v, ListSep)) }

// UintList is List for unsigned integers.
func (s *Writer) UintList(v []uint64) {
	var b strings.Builder
	for i, x := range v {
		if i > 0 {
			b.WriteString(ListSep)
		}
		b.WriteString(strconv.FormatUint(x, 10))
	}
	s.Str(b.String())
}

// Decimal writes a decimal, or NULL.
func (s *Writer) Decimal(d decimal.Decimal, valid bool) {
	if !valid {
		s.Null()
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

// JSON writes v as JSON text.
func (s *Writer) JSON(v any) {
	b, _ := json.Marshal(v)
	s.Str(string(b))
}

// Products writes an order's products as a JSON array of [name, qty], by
// hand: encoding/json's reflection cost more than the rest of the row.
func (s *Writer) Products(ps []crmlink.Product) {
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

// Goals writes an order's goals as a JSON array of [goal, price or null].
func (s *Writer) Goals(gs []crmlink.OrderGoal) {
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
func (s *Writer) strBytes(b []byte) { s.Str(unsafe.String(unsafe.SliceData(b), len(b))) }

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
