package crm

import (
	"io"
	"unicode/utf8"

	"github.com/crmlink/crmlink"
)

// Limits on a JSON body, which jsonGuard enforces while it streams.
const (
	// maxJSONToken caps a string, and a run of other bytes outside strings
	// (a number, a literal, white space): a text cell takes at most
	// maxTextLen anyway.
	maxJSONToken = 1 << 20
	// maxJSONElement caps an element of an array (an order, a contact, a
	// goal), which the Decoder holds whole.
	maxJSONElement = 4 << 20
	// maxJSONDepth caps nesting; the Decoder's Token keeps a stack entry per
	// open level.
	maxJSONDepth = 64
	// guardChunk is the most one Read passes on, so that a limit is
	// checked at least this often.
	guardChunk = 64 << 10
)

// jsonGuard sits between a JSON body and encoding/json's Decoder, which
// holds a whole value in memory before it looks at it (Decode a whole
// element, Token a whole string or number, and the white space before
// either). It follows the body as a small lexer (in a string or not,
// after a backslash or not, the open arrays and objects) and fails the
// read with a *crmlink.Error as soon as a value passes its limit, so that
// memory stays bounded whatever the body: KindTooLarge for a string or
// number over maxJSONToken, an element of an array over maxJSONElement;
// KindInvalid for nesting deeper than maxJSONDepth and for bytes that are
// not UTF-8, which the Decoder would turn into U+FFFD without a word.
//
// It does not check the JSON's syntax, which the Decoder does: on bad JSON
// it only has to stay bounded itself, whatever it makes of the bytes.
type jsonGuard struct {
	r   io.Reader
	off int64 // bytes passed on
	err error // sticky

	inString bool
	escape   bool  // the last byte of a string was a backslash
	runStart int64 // where the open string, or run of other bytes outside strings, began
	depth    int   // open arrays and objects
	arrays   uint64
	// elemStart is where the outermost open array or object that is an
	// element of an array began, -1 when none is open; elemDepth is depth
	// inside it.
	elemStart int64
	elemDepth int

	carry  [utf8.UTFMax]byte // a UTF-8 sequence cut by the end of a read
	ncarry int
}

func newJSONGuard(r io.Reader) *jsonGuard { return &jsonGuard{r: r, elemStart: -1} }

func (g *jsonGuard) Read(p []byte) (int, error) {
	if g.err != nil {
		return 0, g.err
	}
	if len(p) > guardChunk {
		p = p[:guardChunk]
	}
	n, err := g.r.Read(p)
	if at, ok := g.checkUTF8(p[:n], err != nil); !ok {
		g.err = crmlink.Errorf(crmlink.KindInvalid, "the JSON is not valid UTF-8 at byte offset %d: save the file in UTF-8", at)
		return max(0, int(at-g.off)), g.err
	}
	if lerr := g.scan(p[:n]); lerr != nil {
		g.err = lerr
		return n, lerr
	}
	g.off += int64(n)
	if err != nil {
		g.err = err
	}
	return n, err
}

// scan follows b, the next bytes of the body.
func (g *jsonGuard) scan(b []byte) error {
	base := g.off
	i := 0
	if g.escape && len(b) > 0 {
		g.escape = false
		i = 1
	}
	for i < len(b) {
		if g.inString {
			j := i
			for j < len(b) && b[j] != '"' && b[j] != '\\' {
				j++
			}
			switch {
			case j == len(b):
				i = j
			case b[j] == '\\':
				if j+1 == len(b) {
					g.escape = true
				}
				i = j + 2
			default: // the closing quote
				g.inString = false
				if end := base + int64(j) + 1; end-g.runStart > maxJSONToken {
					return g.tooLarge("a string", g.runStart)
				}
				i = j + 1
				g.runStart = base + int64(i)
			}
			continue
		}
		c := b[i]
		i++
		switch c {
		case '"', '{', '[', '}', ']', ',', ':':
		default:
			continue
		}
		at := base + int64(i) - 1
		if at-g.runStart > maxJSONToken {
			return g.tooLarge("a number or other value", g.runStart)
		}
		g.runStart = at + 1
		switch c {
		case '"':
			g.inString = true
			g.runStart = at
		case '{', '[':
			if g.depth == maxJSONDepth {
				return crmlink.Errorf(crmlink.KindInvalid, "the JSON nests deeper than %d levels at byte offset %d", maxJSONDepth, at)
			}
			if g.elemStart < 0 && g.depth > 0 && g.arrays&(1<<(g.depth-1)) != 0 {
				g.elemStart, g.elemDepth = at, g.depth+1
			}
			g.arrays &^= 1 << g.depth
			if c == '[' {
				g.arrays |= 1 << g.depth
			}
			g.depth++
		case '}', ']':
			if g.depth > 0 {
				g.depth--
			}
			if g.elemStart >= 0 && g.depth < g.elemDepth {
				if at+1-g.elemStart > maxJSONElement {
					return g.tooLarge("an element of an array", g.elemStart)
				}
				g.elemStart = -1
			}
		}
	}
	end := base + int64(len(b))
	switch {
	case g.inString && end-g.runStart > maxJSONToken:
		return g.tooLarge("a string", g.runStart)
	case !g.inString && end-g.runStart > maxJSONToken:
		return g.tooLarge("a number or other value", g.runStart)
	case g.elemStart >= 0 && end-g.elemStart > maxJSONElement:
		return g.tooLarge("an element of an array", g.elemStart)
	}
	return nil
}

func (g *jsonGuard) tooLarge(what string, at int64) error {
	limit := "1 MiB"
	if what == "an element of an array" {
		limit = "4 MiB"
	}
	return crmlink.Errorf(crmlink.KindTooLarge, "%s at byte offset %d of the JSON is larger than the limit of %s", what, at, limit)
}

// checkUTF8 checks that b, the next bytes of the body, is UTF-8, or
// returns the offset in the body of the first byte that is not. A
// sequence cut by the end of b is carried to the next call; ended says no
// call follows.
func (g *jsonGuard) checkUTF8(b []byte, ended bool) (int64, bool) {
	i := 0
	if g.ncarry > 0 {
		at := g.off - int64(g.ncarry)
		for i < len(b) && g.ncarry < seqLen(g.carry[0]) {
			g.carry[g.ncarry] = b[i]
			g.ncarry++
			i++
		}
		switch {
		case g.ncarry < seqLen(g.carry[0]):
			return at, !ended
		case !utf8.Valid(g.carry[:g.ncarry]):
			return at, false
		}
		g.ncarry = 0
	}
	rest := b[i:]
	cut := len(rest)
	if !ended {
		// Hold back a sequence the end of b cuts.
		for k := len(rest) - 1; k >= 0 && k >= len(rest)-utf8.UTFMax+1; k-- {
			if c := rest[k]; c < utf8.RuneSelf {
				break
			} else if c >= 0xc0 {
				if len(rest)-k < seqLen(c) {
					cut = k
				}
				break
			}
		}
	}
	if !utf8.Valid(rest[:cut]) {
		for j := 0; j < cut; {
			r, size := utf8.DecodeRune(rest[j:cut])
			if r == utf8.RuneError && size == 1 {
				return g.off + int64(i+j), false
			}
			j += size
		}
	}
	g.ncarry = copy(g.carry[:], rest[cut:])
	return 0, true
}

// seqLen is the length of the UTF-8 sequence lead byte c starts.
func seqLen(c byte) int {
	switch {
	case c >= 0xf0:
		return 4
	case c >= 0xe0:
		return 3
	}
	return 2
}
