package crm

import (
	"bufio"
	"bytes"
	"encoding/csv"
	"errors"
	"io"
	"strings"
	"unicode/utf8"
	"unsafe"
)

// csvReader reads RFC 4180 records the way encoding/csv does without
// LazyQuotes (the same records, empty lines skipped, \r\n read as \n, the
// same errors), but about three times faster on the usual line without
// quotes, which it splits in place. It is checked against encoding/csv by
// FuzzCSVReader. Like encoding/csv it ends lines at \n only: a file whose
// lines end in a lone \r comes to it through textfile.Open, which makes
// them \n (FuzzCSVLineEnds).
type csvReader struct {
	br    *bufio.Reader
	comma byte
	line  int    // physical lines read
	long  []byte // a line longer than the bufio buffer
	buf   []byte // the fields of a quoted record, unescaped
	ends  []int  // where each field ends in buf
	rec   []string
	err   error // sticky
	arena stringArena
	nl    bool // the last line read ended in a line end
	// clean says the last record's lines are valid UTF-8 without NUL
	// bytes, and so every one of its fields: checked once a line, with
	// UTF-8's fast way over ASCII and IndexByte's over bytes, rather than
	// field by field.
	clean bool
}

// stringArena makes strings by copying bytes into 64 KiB chunks: one
// allocation for hundreds of rows instead of one a row. Bytes once copied
// are never written again, which is what makes the strings immutable; a
// string kept keeps its chunk alive.
type stringArena struct{ buf []byte }

func (a *stringArena) string(b []byte) string {
	const chunk = 64 << 10
	if len(b) == 0 {
		return ""
	}
	if len(b) > chunk/8 {
		return string(b)
	}
	if cap(a.buf)-len(a.buf) < len(b) {
		a.buf = make([]byte, 0, chunk)
	}
	start := len(a.buf)
	a.buf = append(a.buf, b...)
	return unsafe.String(&a.buf[start], len(b))
}

// maxRecord caps one record, so that a file without line ends cannot take
// all memory.
const maxRecord = 64 << 20

var errLongRecord = errors.New("a row longer than 64 MiB")

func newCSVReader(r io.Reader, comma byte) *csvReader {
	br, ok := r.(*bufio.Reader)
	if !ok {
		br = bufio.NewReaderSize(r, 256<<10)
	}
	return &csvReader{br: br, comma: comma}
}

// readLine returns the next physical line without its line end. The slice
// is valid until the next call. It returns io.EOF only when no bytes are
// left.
func (c *csvReader) readLine() ([]byte, error) {
	line, err := c.br.ReadSlice('\n')
	if err == bufio.ErrBufferFull {
		c.long = append(c.long[:0], line...)
		for err == bufio.ErrBufferFull {
			if len(c.long) > maxRecord {
				return nil, &csv.ParseError{StartLine: c.line + 1, Line: c.line + 1, Column: 1, Err: errLongRecord}
			}
			line, err = c.br.ReadSlice('\n')
			c.long = append(c.long, line...)
		}
		line = c.long
	}
	if len(line) == 0 {
		if err == nil {
			err = io.EOF
		}
		return nil, err
	}
	if err != nil && err != io.EOF {
		return nil, err
	}
	c.line++
	n := len(line)
	c.nl = line[n-1] == '\n'
	switch {
	case err == io.EOF && line[n-1] == '\r': // as encoding/csv: a \r before EOF is dropped
		line = line[:n-1]
	case n >= 2 && line[n-1] == '\n' && line[n-2] == '\r':
		line = line[:n-2]
	case line[n-1] == '\n':
		line = line[:n-1]
	}
	return line, nil
}

// countRest counts the lines left that are not blank, reading to the
// end: after a syntax error, where records can no longer be told apart,
// each such line stands for one row, so that a refused file still says
// how many rows it has. It reads a line at a time: memory stays bounded.
func (c *csvReader) countRest() int {
	n := 0
	for {
		l, err := c.readLine()
		if err != nil {
			return n
		}
		if len(bytes.TrimSpace(l)) > 0 {
			n++
		}
	}
}

// read returns the next record and the line it starts on. The record is
// reused by the next call; its strings are not.
func (c *csvReader) read() ([]string, int, error) {
	if c.err != nil {
		return nil, 0, c.err
	}
	var line []byte
	for {
		l, err := c.readLine()
		if err != nil {
			c.err = err
			return nil, 0, err
		}
		if len(l) > 0 {
			line = l
			break
		}
	}
	start := c.line
	c.clean = isClean(line)
	if bytes.IndexByte(line, '"') < 0 {
		// The usual line: split in place.
		s := c.arena.string(line)
		c.rec = c.rec[:0]
		for {
			i := strings.IndexByte(s, c.comma)
			if i < 0 {
				c.rec = append(c.rec, s)
				return c.rec, start, nil
			}
			c.rec = append(c.rec, s[:i])
			s = s[i+1:]
		}
	}
	rec, err := c.readQuoted(line, start)
	if err != nil {
		c.err = err
		return nil, 0, err
	}
	return rec, start, nil
}

// readQuoted parses a record with quotes, reading more lines while a quoted
// field goes on.
func (c *csvReader) readQuoted(line []byte, start int) ([]string, error) {
	c.buf, c.ends = c.buf[:0], c.ends[:0]
	col := 1 // 1-based byte column in the current line of line[0]
	parseErr := func(col int, err error) error {
		return &csv.ParseError{StartLine: start, Line: c.line, Column: col, Err: err}
	}
	for {
		if len(line) == 0 || line[0] != '"' {
			i := bytes.IndexByte(line, c.comma)
			field := line
			if i >= 0 {
				field = line[:i]
			}
			if j := bytes.IndexByte(field, '"'); j >= 0 {
				return nil, parseErr(col+j, csv.ErrBareQuote)
			}
			c.buf = append(c.buf, field...)
			c.ends = append(c.ends, len(c.buf))
			if i < 0 {
				break
			}
			line, col = line[i+1:], col+i+1
			continue
		}
		// A quoted field.
		line, col = line[1:], col+1
		for {
			i := bytes.IndexByte(line, '"')
			if i >= 0 {
				c.buf = append(c.buf, line[:i]...)
				line, col = line[i+1:], col+i+1
				switch {
				case len(line) > 0 && line[0] == '"': // "" is a quote
					c.buf = append(c.buf, '"')
					line, col = line[1:], col+1
					continue
				case len(line) > 0 && line[0] == c.comma:
					c.ends = append(c.ends, len(c.buf))
					line, col = line[1:], col+1
				case len(line) == 0:
					c.ends = append(c.ends, len(c.buf))
					return c.record(), nil
				default:
					return nil, parseErr(col-1, csv.ErrQuote)
				}
				break
			}
			// The field goes on in the next line.
			c.buf = append(c.buf, line...)
			c.buf = append(c.buf, '\n')
			if len(c.buf) > maxRecord {
				return nil, parseErr(1, errLongRecord)
			}
			lastLine, lastCol := c.line, col+len(line)
			if c.nl {
				lastCol++ // encoding/csv counts the line end
			}
			next, err := c.readLine()
			if err == io.EOF || err == nil && len(next) == 0 && !c.nl { // a last line of just \r is no line

				return nil, &csv.ParseError{StartLine: start, Line: lastLine, Column: lastCol, Err: csv.ErrQuote}
			}
			if err != nil {
				return nil, err
			}
			c.clean = c.clean && isClean(next)
			line, col = next, 1
		}
	}
	return c.record(), nil
}

// isClean reports whether line is valid UTF-8 without NUL bytes.
func isClean(line []byte) bool { return utf8.Valid(line) && bytes.IndexByte(line, 0) < 0 }

// record slices the record's fields out of one string.
func (c *csvReader) record() []string {
	s := c.arena.string(c.buf)
	c.rec = c.rec[:0]
	from := 0
	for _, end := range c.ends {
		c.rec = append(c.rec, s[from:end])
		from = end
	}
	return c.rec
}
