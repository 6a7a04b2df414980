package traffic

import (
	"strings"
	"unicode/utf8"
)

// Limits on what a classification returns, so that a hostile URL cannot
// blow up a row.
const (
	maxUTMLen     = 256  // bytes of each UTM field and of utm_source as an engine
	maxClickIDLen = 256  // bytes of a click id's value
	maxRawValue   = 4096 // bytes of a raw (encoded) query value looked at
	maxParamLen   = 32   // bytes of a parameter name worth looking up
	maxMediumLen  = 64   // bytes of a utm_medium worth looking up in the lists
)

// Parameter codes in Classifier.params: the UTM fields, then click ids.
const (
	paramSource uint8 = iota
	paramMedium
	paramCampaign
	paramContent
	paramTerm
	paramClickID // paramClickID+i is c.clickIDs[i]
)

var utmParams = [...]string{"utm_source", "utm_medium", "utm_campaign", "utm_content", "utm_term"}

// landing holds the raw (still encoded) parameters of a landing URL that
// classification looks at.
type landing struct {
	utm   [5]string
	found [5]bool
	// click is the index of the click id found that ranks first in
	// clickids.txt, or -1; clickKey and clickVal are its raw key and value.
	click     int
	clickKey  string
	clickVal  string
	clickPair string // "key=value" as it stands in the URL
}

// scanLanding reads the query of landingURL, and the query inside its
// fragment as single-page sites write it ("/#/page?utm_source=x"); the first
// occurrence of a parameter wins. It allocates nothing.
func (c *Classifier) scanLanding(landingURL string, p *landing) {
	p.click = -1
	main, frag, hasFrag := strings.Cut(landingURL, "#")
	if i := strings.IndexByte(main, '?'); i >= 0 {
		c.scanQuery(main[i+1:], p)
	}
	if hasFrag {
		if i := strings.IndexByte(frag, '?'); i >= 0 {
			c.scanQuery(frag[i+1:], p)
		}
	}
}

func (c *Classifier) scanQuery(q string, p *landing) {
	var buf [maxParamLen]byte
	for q != "" {
		var pair string
		if i := strings.IndexByte(q, '&'); i >= 0 {
			pair, q = q[:i], q[i+1:]
		} else {
			pair, q = q, ""
		}
		key, val, _ := strings.Cut(pair, "=")
		if len(key) < c.minParamLen || len(key) > maxParamLen {
			continue
		}
		n := lowerASCII(buf[:], key)
		code, ok := c.params[string(buf[:n])]
		if !ok {
			continue
		}
		if code < paramClickID {
			if !p.found[code] {
				p.utm[code], p.found[code] = val, true
			}
			continue
		}
		idx := int(code - paramClickID)
		if strings.TrimSpace(val) == "" || (p.click >= 0 && p.click <= idx) {
			continue
		}
		p.click, p.clickKey, p.clickVal, p.clickPair = idx, key, val, pair
	}
}

// lowerASCII writes s lower-cased (ASCII letters only) into buf, which must
// be long enough, and returns the length.
func lowerASCII(buf []byte, s string) int {
	for i := 0; i < len(s); i++ {
		b := s[i]
		if 'A' <= b && b <= 'Z' {
			b += 'a' - 'A'
		}
		buf[i] = b
	}
	return len(s)
}

// queryValue decodes a raw query value: percent escapes and '+' for space,
// leniently (a '%' not followed by two hex digits stays as it is); then makes
// it valid UTF-8 (reading it as Windows-1251 when it is not UTF-8, as older
// Russian sites and ad systems encode), turns control characters into
// spaces, trims spaces and cuts it to max bytes on a character boundary.
func queryValue(raw string, max int) string {
	if len(raw) > maxRawValue {
		cut := maxRawValue
		// Do not split an escape: "%D1%8" would leave half a character
		// in the middle rather than at the end.
		if raw[cut-1] == '%' {
			cut--
		} else if raw[cut-2] == '%' {
			cut -= 2
		}
		raw = raw[:cut]
	}
	if strings.IndexByte(raw, '%') < 0 && strings.IndexByte(raw, '+') < 0 {
		return cleanText(raw, max)
	}
	b := make([]byte, 0, len(raw))
	for i := 0; i < len(raw); i++ {
		switch ch := raw[i]; {
		case ch == '+':
			b = append(b, ' ')
		case ch == '%' && i+2 < len(raw) && isHex(raw[i+1]) && isHex(raw[i+2]):
			b = append(b, unhex(raw[i+1])<<4|unhex(raw[i+2]))
			i += 2
		default:
			b = append(b, ch)
		}
	}
	return cleanText(string(b), max)
}

func isHex(c byte) bool {
	return '0' <= c && c <= '9' || 'a' <= c && c <= 'f' || 'A' <= c && c <= 'F'
}

func unhex(c byte) byte {
	switch {
	case '0' <= c && c <= '9':
		return c - '0'
	case 'a' <= c && c <= 'f':
		return c - 'a' + 10
	default:
		return c - 'A' + 10
	}
}

// cleanText returns s as valid UTF-8 without control characters, trimmed,
// at most max bytes. It allocates only when s needs changing.
func cleanText(s string, max int) string {
	plain := true
	for i := 0; i < len(s); i++ {
		if c := s[i]; c < 0x20 || c >= 0x7f {
			plain = false
			break
		}
	}
	if !plain {
		s = fixText(s)
	}
	s = strings.TrimSpace(s)
	if len(s) > max {
		cut := max
		for cut > 0 && !utf8.RuneStart(s[cut]) {
			cut--
		}
		s = strings.TrimSpace(s[:cut])
	}
	return s
}

// fixText rebuilds s as valid UTF-8 with control characters as spaces. A
// string that is not UTF-8 (apart from a sequence cut short at its very end,
// as a length limit leaves it) is read as Windows-1251.
func fixText(s string) string {
	utf8ish := true
	for i := 0; i < len(s); {
		r, size := utf8.DecodeRuneInString(s[i:])
		if r == utf8.RuneError && size <= 1 {
			if !utf8.FullRuneInString(s[i:]) {
				break // a truncated final character
			}
			utf8ish = false
			break
		}
		i += size
	}
	var b strings.Builder
	b.Grow(len(s) + len(s)/2)
	if utf8ish {
		for i := 0; i < len(s); {
			r, size := utf8.DecodeRuneInString(s[i:])
			if r == utf8.RuneError && size <= 1 {
				break // the truncated final character
			}
			writeRune(&b, r)
			i += size
		}
		return b.String()
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case c < 0x80:
			writeRune(&b, rune(c))
		case c >= 0xC0:
			b.WriteRune(0x0410 + rune(c-0xC0)) // А..я
		default:
			writeRune(&b, cp1251[c-0x80])
		}
	}
	return b.String()
}

func writeRune(b *strings.Builder, r rune) {
	if r < 0x20 || r == 0x7f || (r >= 0x80 && r < 0xa0) {
		r = ' '
	}
	b.WriteRune(r)
}

// cp1251 maps the bytes 0x80..0xBF of Windows-1251 to Unicode; 0xC0..0xFF
// are А..я in order. 0x98 is unassigned.
var cp1251 = [64]rune{
	0x0402, 0x0403, 0x201A, 0x0453, 0x201E, 0x2026, 0x2020, 0x2021,
	0x20AC, 0x2030, 0x0409, 0x2039, 0x040A, 0x040C, 0x040B, 0x040F,
	0x0452, 0x2018, 0x2019, 0x201C, 0x201D, 0x2022, 0x2013, 0x2014,
	0xFFFD, 0x2122, 0x0459, 0x203A, 0x045A, 0x045C, 0x045B, 0x045F,
	0x00A0, 0x040E, 0x045E, 0x0408, 0x00A4, 0x0490, 0x00A6, 0x00A7,
	0x0401, 0x00A9, 0x0404, 0x00AB, 0x00AC, 0x00AD, 0x00AE, 0x0407,
	0x00B0, 0x00B1, 0x0406, 0x0456, 0x0491, 0x00B5, 0x00B6, 0x00B7,
	0x0451, 0x2116, 0x0454, 0x00BB, 0x0458, 0x0405, 0x0455, 0x0457,
}
