package collect

import (
	"encoding/json"
	"unicode/utf8"
)

// parseWireFast reads the common shape of a POSTed hit without
// encoding/json's reflection: one object whose keys are the Wire's own
// names, each once, with plain string values (no escapes), a boolean wd,
// and params and purchase handed to encoding/json as the sub-documents
// they are. Anything else (escapes, other keys or types, nulls, repeated
// keys, invalid UTF-8) answers ok false, and ParseJSON falls back to
// encoding/json, so that both read every body the same way; a fuzz test
// holds them to it. A tag's hits take this path: JSON.stringify escapes
// only quotes, backslashes and control characters.
func parseWireFast(b []byte) (w *Wire, ok bool) {
	w = &Wire{}
	i := skipSpace(b, 0)
	if i >= len(b) || b[i] != '{' {
		return nil, false
	}
	i = skipSpace(b, i+1)
	if i < len(b) && b[i] == '}' {
		return w, skipSpace(b, i+1) == len(b)
	}
	var seen uint16
	for {
		key, j, ok := plainString(b, i)
		if !ok {
			return nil, false
		}
		i = skipSpace(b, j)
		if i >= len(b) || b[i] != ':' {
			return nil, false
		}
		i = skipSpace(b, i+1)
		var bit uint16
		var dst *string
		switch string(key) {
		case "cid":
			bit, dst = 1, &w.ClientID
		case "t":
			bit, dst = 2, &w.Kind
		case "url":
			bit, dst = 4, &w.URL
		case "ref":
			bit, dst = 8, &w.Referrer
		case "title":
			bit, dst = 16, &w.Title
		case "goal":
			bit, dst = 32, &w.Goal
		case "uid":
			bit, dst = 64, &w.UserID
		case "wd":
			bit = 128
		case "params":
			bit = 256
		case "purchase":
			bit = 512
		default:
			return nil, false
		}
		if seen&bit != 0 {
			return nil, false
		}
		seen |= bit
		switch {
		case dst != nil:
			v, j, ok := plainString(b, i)
			if !ok {
				return nil, false
			}
			*dst, i = string(v), j
		case bit == 128:
			switch {
			case hasLiteral(b, i, "true"):
				w.Webdriver, i = true, i+4
			case hasLiteral(b, i, "false"):
				i += 5
			default:
				return nil, false
			}
		default:
			if i >= len(b) || b[i] != '{' {
				return nil, false // null and other shapes: encoding/json decides
			}
			end, ok := objectEnd(b, i)
			if !ok {
				return nil, false
			}
			var err error
			if bit == 256 {
				err = json.Unmarshal(b[i:end], &w.Params)
			} else {
				err = json.Unmarshal(b[i:end], &w.Purchase)
			}
			if err != nil {
				return nil, false
			}
			i = end
		}
		i = skipSpace(b, i)
		if i >= len(b) {
			return nil, false
		}
		switch b[i] {
		case ',':
			i = skipSpace(b, i+1)
		case '}':
			return w, skipSpace(b, i+1) == len(b)
		default:
			return nil, false
		}
	}
}

func skipSpace(b []byte, i int) int {
	for i < len(b) && (b[i] == ' ' || b[i] == '\t' || b[i] == '\n' || b[i] == '\r') {
		i++
	}
	return i
}

func hasLiteral(b []byte, i int, lit string) bool {
	return len(b)-i >= len(lit) && string(b[i:i+len(lit)]) == lit
}

// plainString reads a string without escapes or control characters, of
// valid UTF-8, at b[i]; it returns its contents and the index after it.
func plainString(b []byte, i int) ([]byte, int, bool) {
	if i >= len(b) || b[i] != '"' {
		return nil, 0, false
	}
	for j := i + 1; j < len(b); j++ {
		switch c := b[j]; {
		case c == '"':
			s := b[i+1 : j]
			return s, j + 1, utf8.Valid(s)
		case c == '\\' || c < 0x20:
			return nil, 0, false
		}
	}
	return nil, 0, false
}

// objectEnd finds the end of the object starting at b[i], minding strings
// and their escapes; encoding/json then checks what lies between.
func objectEnd(b []byte, i int) (int, bool) {
	depth := 0
	for j := i; j < len(b); j++ {
		switch b[j] {
		case '"':
			for j++; j < len(b) && b[j] != '"'; j++ {
				if b[j] == '\\' {
					j++
				}
			}
			if j >= len(b) {
				return 0, false
			}
		case '{', '[':
			depth++
		case '}', ']':
			depth--
			if depth == 0 {
				return j + 1, true
			}
			if depth < 0 {
				return 0, false
			}
		}
	}
	return 0, false
}
