// Package sessionfile reads session files for import, so that CRM data can
// be linked before crmlink's own tag has collected anything: our own CSV
// format and the TSV that Yandex Metrica's Logs API exports for visits.
//
// A Reader streams: it holds one row at a time, whatever the file's size. A
// bad cell becomes a crmlink.RowError naming its line and column; the reader
// goes on to find the others and, at the end of the file, returns a
// *crmlink.ValidationError instead of io.EOF, so that the store stores
// nothing of a file with any bad row. It yields the good rows after a bad
// one too, and Failing says they are only to be counted.
//
// As in package crm, a file whose lines end in a lone CR is read as lines
// (a line break inside a quoted cell of such a file reads as \n), a UTF-16
// file is refused, and so are a NUL byte in a cell and a file without a
// data row.
package sessionfile

import (
	"bufio"
	"bytes"
	"encoding/csv"
	"errors"
	"fmt"
	"hash/fnv"
	"io"
	"strconv"
	"strings"
	"sync/atomic"
	"time"
	"unicode/utf8"

	"github.com/crmlink/crmlink"
	"github.com/crmlink/crmlink/internal/textfile"
)

// Format is a session file format.
type Format string

// Formats.
const (
	FormatCSV         Format = "csv"
	FormatMetricaLogs Format = "metrica-logs"
)

// ParseFormat parses a format name.
func ParseFormat(s string) (Format, error) {
	switch strings.ToLower(strings.TrimSpace(s)) {
	case "csv", "":
		return FormatCSV, nil
	case "metrica-logs", "metrica_logs", "logs", "tsv":
		return FormatMetricaLogs, nil
	}
	return "", crmlink.Errorf(crmlink.KindInvalid, "unknown session file format %q: want csv or metrica-logs", s)
}

// UploadFormat is the name an upload record gives the format.
func (f Format) UploadFormat() string {
	if f == FormatMetricaLogs {
		return "TSV"
	}
	return "CSV"
}

// Classifier derives a session's traffic source from its landing URL and
// referrer (package traffic).
type Classifier interface {
	Classify(landingURL, referrer, siteHost string) crmlink.TrafficSource
}

// Options configure a Reader.
type Options struct {
	Format     Format
	Location   *time.Location // the counter's time zone; times without a zone are read in it
	Site       string         // the counter's host, for internal traffic
	Classifier Classifier
	// Now is the time of the import; sessions starting more than a day after
	// it are refused as a sign of a wrong time zone or date format.
	Now time.Time
	// Delimiter of a CSV file; 0 detects comma, semicolon or tab from the
	// header row.
	Delimiter rune
}

// Longest text cell accepted; URLs longer than this are refused, not cut.
const maxCell = 8192

// Reader reads sessions from a file. It implements crmlink.SessionReader.
type Reader struct {
	opt    Options
	rows   rowSource
	cols   columns
	header []string
	errs   crmlink.ValidationError
	done   bool
	nrows  int // data rows read
	// failing is set once a row was bad; read by Failing from other
	// goroutines.
	failing atomic.Bool
	// per-row state
	line   int
	rec    []string
	rowBad bool
}

// rowSource yields records with the line each starts on.
type rowSource interface {
	// next returns the next record and its line; io.EOF at the end; a
	// *crmlink.RowError for a syntax error after which reading cannot go on.
	next() ([]string, int, error)
}

// NewReader reads the header of a session file and returns a Reader for its
// rows. A header that lacks a required column is a *crmlink.ValidationError
// naming it.
func NewReader(r io.Reader, opt Options) (*Reader, error) {
	if opt.Location == nil {
		opt.Location = time.UTC
	}
	br, err := textfile.Open(r, 256<<10, opt.Format != FormatMetricaLogs)
	if err != nil {
		if errors.Is(err, textfile.ErrUTF16) {
			return nil, fail(crmlink.RowError{Line: 1, Reason: err.Error()})
		}
		return nil, err
	}
	rd := &Reader{opt: opt}
	switch opt.Format {
	case FormatCSV, "":
		rd.opt.Format = FormatCSV
		delim := opt.Delimiter
		if delim == 0 {
			head, _ := br.Peek(64 << 10)
			delim = sniffDelimiter(head)
		}
		rd.rows = newCSVSource(br, delim)
	case FormatMetricaLogs:
		rd.rows = &tsvSource{r: br}
	default:
		return nil, crmlink.Errorf(crmlink.KindInvalid, "unknown session file format %q", opt.Format)
	}
	header, line, err := rd.rows.next()
	if err != nil {
		if errors.Is(err, io.EOF) {
			return nil, fail(crmlink.RowError{Line: 1, Reason: "the file is empty: want a header row"})
		}
		var re *crmlink.RowError
		if errors.As(err, &re) {
			return nil, fail(*re)
		}
		return nil, err
	}
	rd.header = append([]string(nil), header...)
	cols, rerr := mapColumns(rd.opt.Format, rd.header, line)
	if rerr != nil {
		return nil, rerr
	}
	rd.cols = cols
	return rd, nil
}

func fail(e crmlink.RowError) *crmlink.ValidationError {
	v := &crmlink.ValidationError{}
	v.Add(e)
	return v
}

// sniffDelimiter picks the character among comma, semicolon and tab that
// occurs most in the first line outside quotes.
func sniffDelimiter(head []byte) rune {
	var comma, semi, tab int
	inQuote := false
	for _, c := range head {
		switch {
		case c == '"':
			inQuote = !inQuote
		case inQuote:
		case c == '\n' || c == '\r':
			goto done
		case c == ',':
			comma++
		case c == ';':
			semi++
		case c == '\t':
			tab++
		}
	}
done:
	switch {
	case tab > comma && tab > semi:
		return '\t'
	case semi > comma:
		return ';'
	}
	return ','
}

// Next implements crmlink.SessionReader.
func (r *Reader) Next(s *crmlink.Session) error {
	for !r.done {
		rec, line, err := r.rows.next()
		if err != nil {
			r.done = true
			var re *crmlink.RowError
			if errors.As(err, &re) {
				r.errs.Add(*re)
				r.errs.BadRows++
				r.failing.Store(true)
				break
			}
			if errors.Is(err, io.EOF) {
				break
			}
			return err
		}
		if len(rec) == 1 && strings.TrimSpace(rec[0]) == "" {
			continue // blank line
		}
		r.line, r.rec, r.rowBad = line, rec, false
		r.nrows++
		for i, cell := range rec {
			if i >= len(r.header) {
				break
			}
			if !utf8.ValidString(cell) {
				r.bad(r.header[i], cell, "not valid UTF-8: save the file in UTF-8")
			} else if strings.IndexByte(cell, 0) >= 0 {
				r.bad(r.header[i], cell, "contains a NUL byte (code 0), which text cannot hold")
			}
		}
		switch {
		case r.rowBad: // not UTF-8: its cells mean nothing
		case len(rec) != len(r.header):
			r.bad("", "", fmt.Sprintf("the row has %d fields, the header has %d", len(rec), len(r.header)))
		default:
			r.fill(s)
		}
		if r.rowBad {
			r.errs.BadRows++
			r.failing.Store(true)
			continue
		}
		return nil
	}
	switch {
	case r.errs.Total > 0:
		return &r.errs
	case r.nrows == 0:
		return crmlink.Errorf(crmlink.KindInvalid, "the file has no rows: want at least one row after the header")
	}
	return io.EOF
}

// Failing reports that the file has a bad row and will fail: Next goes on
// yielding the good rows, and ends with a *crmlink.ValidationError. It may
// be called from any goroutine.
func (r *Reader) Failing() bool { return r.failing.Load() }

// bad records a row error in the current row.
func (r *Reader) bad(column, value, reason string) {
	r.rowBad = true
	r.errs.Add(crmlink.RowError{Line: r.line, Column: column, Value: value, Reason: reason})
}

// cell returns the current row's value of column i (-1: absent column).
func (r *Reader) cell(i int) string {
	if i < 0 {
		return ""
	}
	return r.rec[i]
}

func (r *Reader) text(i int) string {
	v := strings.TrimSpace(r.cell(i))
	if len(v) > maxCell {
		r.bad(r.header[i], v, fmt.Sprintf("longer than %d bytes", maxCell))
		return ""
	}
	return v
}

func (r *Reader) uint64Cell(i int, required bool) uint64 {
	v := strings.TrimSpace(r.cell(i))
	if v == "" {
		if required {
			r.bad(r.header[i], "", "required value is empty")
		}
		return 0
	}
	n, err := strconv.ParseUint(v, 10, 64)
	if err != nil || n == 0 {
		r.bad(r.header[i], v, "want a positive integer below 2^64")
		return 0
	}
	return n
}

func (r *Reader) intCell(i int, def, max int) int {
	v := strings.TrimSpace(r.cell(i))
	if v == "" {
		return def
	}
	n, err := strconv.Atoi(v)
	if err != nil || n < 0 || n > max {
		r.bad(r.header[i], v, fmt.Sprintf("want a whole number from 0 to %d", max))
		return def
	}
	return n
}

func (r *Reader) boolCell(i int) (val, ok bool) {
	switch strings.ToLower(strings.TrimSpace(r.cell(i))) {
	case "":
		return false, false
	case "1", "true", "yes":
		return true, true
	case "0", "false", "no":
		return false, true
	}
	r.bad(r.header[i], r.cell(i), "want 0 or 1")
	return false, false
}

func (r *Reader) timeCell(i int, loc *time.Location) time.Time {
	v := strings.TrimSpace(r.cell(i))
	if v == "" {
		r.bad(r.header[i], "", "required value is empty")
		return time.Time{}
	}
	if !strings.Contains(v, ":") {
		r.bad(r.header[i], v, "a session start needs a time of day, like 2024-01-10 11:56:07")
		return time.Time{}
	}
	t, err := crmlink.ParseDateTime(v, loc)
	if err != nil {
		r.bad(r.header[i], v, err.Error())
		return time.Time{}
	}
	if !r.opt.Now.IsZero() && t.After(r.opt.Now.Add(24*time.Hour)) {
		r.bad(r.header[i], v, "the session starts in the future (wrong time zone or date format?)")
		return time.Time{}
	}
	return t
}

// listCell reads a list: Metrica's array form ['a','b'] or [1,2], or values
// separated by commas.
func (r *Reader) listCell(i int, dst []string) []string {
	v := strings.TrimSpace(r.cell(i))
	if v == "" || v == "[]" {
		return dst
	}
	if strings.HasPrefix(v, "[") {
		out, err := parseArray(v, dst)
		if err != nil {
			r.bad(r.header[i], v, err.Error())
			return dst
		}
		return out
	}
	for _, p := range strings.Split(v, ",") {
		if p = strings.TrimSpace(p); p != "" {
			dst = append(dst, p)
		}
	}
	return dst
}

// parseArray parses ClickHouse's text form of an array: [1,2] or
// ['a','b\'c'].
func parseArray(v string, dst []string) ([]string, error) {
	if !strings.HasSuffix(v, "]") {
		return dst, errors.New("an array must end with ]")
	}
	body := v[1 : len(v)-1]
	i := 0
	for i < len(body) {
		for i < len(body) && body[i] == ' ' {
			i++
		}
		if i >= len(body) {
			break
		}
		var elem string
		if body[i] == '\'' {
			var b strings.Builder
			i++
			closed := false
			for i < len(body) {
				c := body[i]
				if c == '\\' && i+1 < len(body) {
					b.WriteByte(body[i+1])
					i += 2
					continue
				}
				if c == '\'' {
					closed = true
					i++
					break
				}
				b.WriteByte(c)
				i++
			}
			if !closed {
				return dst, errors.New("unclosed quote in array")
			}
			elem = b.String()
		} else {
			j := strings.IndexByte(body[i:], ',')
			if j < 0 {
				j = len(body) - i
			}
			elem = strings.TrimSpace(body[i : i+j])
			i += j
		}
		if elem != "" {
			dst = append(dst, elem)
		}
		for i < len(body) && body[i] == ' ' {
			i++
		}
		if i < len(body) {
			if body[i] != ',' {
				return dst, errors.New("array elements must be separated by commas")
			}
			i++
		}
	}
	return dst, nil
}

// derivedSessionID gives a session without an id a stable one, so that the
// same file imported twice gives the same sessions.
func derivedSessionID(client uint64, start time.Time) uint64 {
	h := fnv.New64a()
	var b [16]byte
	putUint64(b[:8], client)
	putUint64(b[8:], uint64(start.Unix()))
	h.Write(b[:])
	id := h.Sum64() >> 1 // below 2^63, apart from Metrica's visit ids only by chance
	if id == 0 {
		id = 1
	}
	return id
}

func putUint64(b []byte, v uint64) {
	for i := 0; i < 8; i++ {
		b[i] = byte(v >> (56 - 8*i))
	}
}

// csvSource reads CSV records with encoding/csv.
type csvSource struct{ r *csv.Reader }

func newCSVSource(r io.Reader, delim rune) *csvSource {
	cr := csv.NewReader(r)
	cr.Comma = delim
	cr.FieldsPerRecord = -1
	cr.ReuseRecord = true
	return &csvSource{r: cr}
}

func (c *csvSource) next() ([]string, int, error) {
	rec, err := c.r.Read()
	if err != nil {
		var pe *csv.ParseError
		if errors.As(err, &pe) {
			return nil, pe.StartLine, &crmlink.RowError{Line: pe.Line,
				Reason: fmt.Sprintf("CSV syntax error at column %d: %v; reading stopped here", pe.Column, pe.Err)}
		}
		return nil, 0, err
	}
	line, _ := c.r.FieldPos(0)
	return rec, line, nil
}

// tsvSource reads ClickHouse TabSeparated rows, the Logs API's format:
// fields split by tabs, with \t, \n, \\ and friends escaped by backslashes.
type tsvSource struct {
	r    *bufio.Reader
	line int
	buf  []byte
	rec  []string
}

func (t *tsvSource) next() ([]string, int, error) {
	t.buf = t.buf[:0]
	for {
		chunk, err := t.r.ReadSlice('\n')
		t.buf = append(t.buf, chunk...)
		if err == bufio.ErrBufferFull {
			if len(t.buf) > 16<<20 {
				return nil, t.line + 1, &crmlink.RowError{Line: t.line + 1, Reason: "line longer than 16 MiB; reading stopped here"}
			}
			continue
		}
		if err == io.EOF && len(t.buf) > 0 {
			break
		}
		if err != nil {
			return nil, 0, err
		}
		break
	}
	t.line++
	b := bytes.TrimRight(t.buf, "\r\n")
	t.rec = t.rec[:0]
	for {
		i := bytes.IndexByte(b, '\t')
		f := b
		if i >= 0 {
			f = b[:i]
		}
		t.rec = append(t.rec, unescapeTSV(f))
		if i < 0 {
			break
		}
		b = b[i+1:]
	}
	return t.rec, t.line, nil
}

func unescapeTSV(f []byte) string {
	if bytes.IndexByte(f, '\\') < 0 {
		return string(f)
	}
	out := make([]byte, 0, len(f))
	for i := 0; i < len(f); i++ {
		c := f[i]
		if c != '\\' || i+1 == len(f) {
			out = append(out, c)
			continue
		}
		i++
		switch f[i] {
		case 't':
			out = append(out, '\t')
		case 'n':
			out = append(out, '\n')
		case 'r':
			out = append(out, '\r')
		case 'b':
			out = append(out, '\b')
		case 'f':
			out = append(out, '\f')
		case '0':
			out = append(out, 0)
		default:
			out = append(out, f[i])
		}
	}
	return string(out)
}
