// Package textfile prepares an uploaded text file for a CSV or TSV reader.
// It reads the start of the file to tell what those readers cannot: that
// the file is UTF-16, which they would read as garbage, or that its lines
// end in a lone CR (old Mac and "CSV (Macintosh)" exports), which they
// would read as one long line.
package textfile

import (
	"bufio"
	"bytes"
	"errors"
	"io"
)

// ErrUTF16 is Open's error for a file in UTF-16; its text is meant for
// users.
var ErrUTF16 = errors.New("the file is UTF-16: save it as UTF-8")

// headSize is how much of the file Open reads to judge it.
const headSize = 64 << 10

// Open returns a buffered reader of r's text: without a UTF-8 byte order
// mark, and with every lone CR read as LF when the first line ends in one.
// A file whose first line ends in LF or CRLF is read as it is, byte for
// byte, so that a CR inside one of its cells stays there. quotes says that
// a '"' quotes a field (CSV), so that a line end inside quotes is not the
// first line's end. Open refuses a UTF-16 file with ErrUTF16.
func Open(r io.Reader, size int, quotes bool) (*bufio.Reader, error) {
	br := bufio.NewReaderSize(r, size)
	head, err := br.Peek(min(headSize, size))
	if err != nil && err != io.EOF && err != bufio.ErrBufferFull {
		return nil, err
	}
	if UTF16(head) {
		return nil, ErrUTF16
	}
	if bytes.HasPrefix(head, []byte("\xef\xbb\xbf")) {
		br.Discard(3)
		head = head[3:]
	}
	if CRLineEnds(head, quotes) {
		return bufio.NewReaderSize(NewCRReader(br), size), nil
	}
	return br, nil
}

// UTF16 reports whether head, the start of a file, is UTF-16: it starts
// with a UTF-16 byte order mark, or it has a NUL every other byte, as
// Latin text in UTF-16 without a mark has (in its first 512 bytes, at least
// every other pair has one at the same side and hardly any at the other).
func UTF16(head []byte) bool {
	if len(head) >= 2 && (head[0] == 0xff && head[1] == 0xfe || head[0] == 0xfe && head[1] == 0xff) {
		return true
	}
	n := min(len(head), 512) &^ 1
	if n < 4 {
		return false
	}
	even, odd := 0, 0
	for i := 0; i < n; i += 2 {
		if head[i] == 0 {
			even++
		}
		if head[i+1] == 0 {
			odd++
		}
	}
	pairs := n / 2
	return odd*2 >= pairs && even*10 < pairs || even*2 >= pairs && odd*10 < pairs
}

// CRLineEnds reports whether the first line of head ends in a lone CR, one
// not followed by LF. A CR that ends head counts as lone.
func CRLineEnds(head []byte, quotes bool) bool {
	quoted := false
	for i, c := range head {
		switch c {
		case '"':
			quoted = quotes && !quoted
		case '\n':
			if !quoted {
				return false
			}
		case '\r':
			if !quoted {
				return i+1 == len(head) || head[i+1] != '\n'
			}
		}
	}
	return false
}

// NewCRReader returns a reader of r in which every lone CR is an LF; a
// CRLF stays as it is. A line break inside a quoted CSV cell becomes LF
// too, as encoding/csv makes a CRLF there.
func NewCRReader(r io.Reader) io.Reader {
	return &crReader{r: r, buf: make([]byte, 32<<10)}
}

type crReader struct {
	r    io.Reader
	buf  []byte
	i, n int   // buf[i:n] is read and not yet returned
	err  error // r's error, returned once buf is empty
}

func (c *crReader) Read(p []byte) (int, error) {
	if len(p) == 0 {
		return 0, nil
	}
	// A CR can be judged only with the byte after it: keep at least two
	// bytes unless r has ended.
	for c.n-c.i < 2 && c.err == nil {
		c.n = copy(c.buf, c.buf[c.i:c.n])
		c.i = 0
		var m int
		m, c.err = c.r.Read(c.buf[c.n:])
		c.n += m
	}
	if c.i == c.n {
		return 0, c.err
	}
	src := c.buf[c.i:c.n]
	k := len(src)
	if c.err == nil {
		k-- // the last byte waits for the next one
	}
	k = copy(p, src[:k])
	for j := bytes.IndexByte(p[:k], '\r'); j >= 0; {
		if j+1 == len(src) || src[j+1] != '\n' {
			p[j] = '\n'
		}
		next := bytes.IndexByte(p[j+1:k], '\r')
		if next < 0 {
			break
		}
		j += 1 + next
	}
	c.i += k
	return k, nil
}
