package crm

import (
	"crypto/md5"
	"crypto/sha256"
	"encoding/hex"
	"strings"
	"unicode"
	"unicode/utf8"
)

// NormalizeEmail trims and lower-cases an email address (SPEC.md §1). It
// reports false unless the address is plausible: one @, a non-empty local
// part, a domain with a dot inside it, no spaces or control characters and
// none of the characters that separate addresses (,;<>"), at most 320 bytes.
func NormalizeEmail(s string) (string, bool) {
	s = trim(s)
	if len(s) > 320 {
		return "", false
	}
	at := -1
	lower := true
	for i := 0; i < len(s); {
		c := s[i]
		if c >= utf8.RuneSelf {
			r, n := utf8.DecodeRuneInString(s[i:])
			if r == utf8.RuneError || unicode.IsSpace(r) || unicode.IsControl(r) {
				return "", false
			}
			if unicode.ToLower(r) != r {
				lower = false
			}
			i += n
			continue
		}
		switch {
		case c == '@':
			if at >= 0 {
				return "", false
			}
			at = i
		case c <= ' ' || c == 0x7f || c == ',' || c == ';' || c == '<' || c == '>' || c == '"':
			return "", false
		case 'A' <= c && c <= 'Z':
			lower = false
		}
		i++
	}
	if at <= 0 {
		return "", false
	}
	dot := strings.IndexByte(s[at+1:], '.')
	if dot <= 0 || s[len(s)-1] == '.' {
		return "", false
	}
	if !lower {
		s = strings.ToLower(s)
	}
	return s, true
}

// NormalizePhone reduces a phone number to its digits (SPEC.md §1): spaces,
// dashes, dots and brackets dropped, a leading + dropped, and an 11-digit
// number starting with 8 (Russia's trunk prefix) rewritten to start with 7.
// It reports false for any other character, or unless 10 to 15 digits
// remain: the number must carry its country code.
func NormalizePhone(s string) (string, bool) {
	s = trim(s)
	var buf [15]byte
	n := 0
	clean := true // s is digits only
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case c >= '0' && c <= '9':
			if n == len(buf) {
				return "", false
			}
			buf[n] = c
			n++
			continue
		case c == '+':
			if n > 0 || i > 0 && s[i-1] == '+' {
				return "", false
			}
		case c == ' ' || c == '-' || c == '(' || c == ')' || c == '.' || c == '\t':
		case c == 0xc2 && i+1 < len(s) && s[i+1] == 0xa0: // no-break space
			i++
		default:
			return "", false
		}
		clean = false
	}
	if n < 10 {
		return "", false
	}
	if n == 11 && buf[0] == '8' {
		buf[0] = '7'
		clean = false
	}
	if clean {
		return s, true
	}
	return string(buf[:n]), true
}

// SearchHashes reads a search text as an email or a phone number and
// returns its MD5 and SHA-256 hashes, normalised as uploads normalise
// them, so that a customer can be found by an identifier the store keeps
// only hashed; nil when the text is neither.
func SearchHashes(q string) []string {
	if strings.Contains(q, "@") {
		if e, ok := NormalizeEmail(q); ok {
			m, h := hashes(e)
			return []string{m, h}
		}
		return nil
	}
	if p, ok := NormalizePhone(q); ok {
		m, h := hashes(p)
		return []string{m, h}
	}
	return nil
}

// MD5Hex returns the lower-case hex MD5 of s.
func MD5Hex(s string) string {
	sum := md5.Sum([]byte(s))
	var b [2 * md5.Size]byte
	hex.Encode(b[:], sum[:])
	return string(b[:])
}

// SHA256Hex returns the lower-case hex SHA-256 of s.
func SHA256Hex(s string) string {
	sum := sha256.Sum256([]byte(s))
	var b [2 * sha256.Size]byte
	hex.Encode(b[:], sum[:])
	return string(b[:])
}

// hashes returns the hex MD5 and SHA-256 of s, in one allocation.
func hashes(s string) (md5Hex, sha256Hex string) {
	m, h := md5.Sum([]byte(s)), sha256.Sum256([]byte(s))
	var b [2*md5.Size + 2*sha256.Size]byte
	encodeHex(b[:2*md5.Size], m[:])
	encodeHex(b[2*md5.Size:], h[:])
	both := string(b[:])
	return both[:2*md5.Size], both[2*md5.Size:]
}

// phoneHashes returns the MD5 and SHA-256 of a normalised phone and the
// SHA-256 of its E.164 form ("+" and the digits), in one allocation.
func phoneHashes(p string) (md5Hex, sha256Hex, e164Hex string) {
	var plus [16]byte
	plus[0] = '+'
	n := 1 + copy(plus[1:], p)
	m, h, e := md5.Sum([]byte(p)), sha256.Sum256([]byte(p)), sha256.Sum256(plus[:n])
	var b [2*md5.Size + 4*sha256.Size]byte
	encodeHex(b[:2*md5.Size], m[:])
	encodeHex(b[2*md5.Size:2*md5.Size+2*sha256.Size], h[:])
	encodeHex(b[2*md5.Size+2*sha256.Size:], e[:])
	all := string(b[:])
	return all[:2*md5.Size], all[2*md5.Size : 2*md5.Size+2*sha256.Size], all[2*md5.Size+2*sha256.Size:]
}

// hexPairs holds the two hex digits of every byte.
var hexPairs = func() (t [256][2]byte) {
	const digits = "0123456789abcdef"
	for i := range t {
		t[i] = [2]byte{digits[i>>4], digits[i&15]}
	}
	return t
}()

// encodeHex is hex.Encode with one table look-up a byte.
func encodeHex(dst, src []byte) {
	_ = dst[2*len(src)-1]
	for i, c := range src {
		p := &hexPairs[c]
		dst[2*i], dst[2*i+1] = p[0], p[1]
	}
}

// normalizeHex checks that s is n hex digits and lower-cases it.
func normalizeHex(s string, n int) (string, bool) {
	if len(s) != n {
		return "", false
	}
	lower := true
	for i := 0; i < n; i++ {
		c := s[i]
		switch {
		case c >= '0' && c <= '9', c >= 'a' && c <= 'f':
		case c >= 'A' && c <= 'F':
			lower = false
		default:
			return "", false
		}
	}
	if !lower {
		s = strings.ToLower(s)
	}
	return s, true
}
