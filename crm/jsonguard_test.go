package crm

import (
	"bytes"
	"errors"
	"io"
	"strings"
	"testing"
	"testing/iotest"
	"unicode/utf8"

	"github.com/crmlink/crmlink"
)

// endless is a JSON body made on the fly: head, then fill repeated without
// end; it counts the bytes read from it.
type endless struct {
	head []byte
	fill byte
	read int64
}

func (e *endless) Read(p []byte) (int, error) {
	n := copy(p, e.head)
	e.head = e.head[n:]
	for i := n; i < len(p); i++ {
		p[i] = e.fill
	}
	e.read += int64(len(p))
	return len(p), nil
}

func TestJSONGuard(t *testing.T) {
	big := func(n int, c string) string { return strings.Repeat(c, n) }
	elem := `{"id":"` + big(900_000, "x") + `"}`
	for _, tc := range []struct {
		name string
		in   string
		kind crmlink.ErrorKind // 0: no error
		msg  string
	}{
		{"plain", `{"orders":[{"id":"1","name":"Анна \"x\" \\"}]}`, 0, ""},
		{"a string at the limit", `["` + big(maxJSONToken-2, "x") + `"]`, 0, ""},
		{"a string over the limit", `["` + big(maxJSONToken-1, "x") + `"]`, crmlink.KindTooLarge, "a string at byte offset 1 of the JSON is larger than the limit of 1 MiB"},
		{"escapes count", `["` + big(maxJSONToken/2, `\\`) + `"]`, crmlink.KindTooLarge, "a string at byte offset 1"},
		{"a number over the limit", `[1` + big(maxJSONToken, "0") + `]`, crmlink.KindTooLarge, "a number or other value at byte offset 1 of"},
		{"white space over the limit", `{"orders":[{}` + big(maxJSONToken+1, " ") + `]}`, crmlink.KindTooLarge, "a number or other value at byte offset 13 of"},
		{"an element at the limit", `{"orders":[{"a":"` + big(maxJSONElement-9, "x")[:maxJSONToken-2] + `"}]}`, 0, ""},
		{"an element over the limit", `{"orders":[` + elem + `,{"a":[` + strings.Repeat(elem+",", 5) + `1]}]}`, crmlink.KindTooLarge, "an element of an array at byte offset 900021 of the JSON is larger than the limit of 4 MiB"},
		{"a value outside the array", `{"junk":"` + big(2*maxJSONToken, "x") + `","orders":[]}`, crmlink.KindTooLarge, "a string at byte offset 8"},
		{"deep", big(maxJSONDepth, "[") + big(maxJSONDepth, "]"), 0, ""},
		{"too deep", big(maxJSONDepth+1, "["), crmlink.KindInvalid, "the JSON nests deeper than 64 levels at byte offset 64"},
		{"not UTF-8", `{"orders":[{"name":"Ан` + "\xff" + `на"}]}`, crmlink.KindInvalid, "the JSON is not valid UTF-8 at byte offset 24: save the file in UTF-8"},
		{"a cut sequence at the end", `["Ан` + "\xd0", crmlink.KindInvalid, "the JSON is not valid UTF-8 at byte offset 6"},
		{"a surrogate", `["` + "\xed\xa0\x80" + `"]`, crmlink.KindInvalid, "the JSON is not valid UTF-8 at byte offset 2"},
	} {
		for _, chunked := range []bool{false, true} {
			var r io.Reader = strings.NewReader(tc.in)
			if chunked {
				r = iotest.OneByteReader(r)
				if len(tc.in) > 1<<20 {
					r = iotest.HalfReader(strings.NewReader(tc.in))
				}
			}
			got, err := io.ReadAll(newJSONGuard(r))
			if tc.kind == 0 {
				if err != nil || string(got) != tc.in {
					t.Errorf("%s (chunked %v): read %d bytes, %v; want all %d", tc.name, chunked, len(got), err, len(tc.in))
				}
				continue
			}
			var e *crmlink.Error
			if !errors.As(err, &e) || e.Kind != tc.kind || !strings.HasPrefix(e.Message, tc.msg) {
				t.Errorf("%s (chunked %v): error %v, want %v %q", tc.name, chunked, err, tc.kind, tc.msg)
			}
		}
	}
}

// TestJSONGuardStopsEarly: a 300 MB string is refused once 1 MiB of it is
// read, not at its end.
func TestJSONGuardStopsEarly(t *testing.T) {
	for _, tc := range []struct {
		head string
		fill byte
	}{
		{`{"contacts":[{"uniq_id":"`, 'x'},
		{`{"junk":"`, 'x'},
		{`{"contacts":[{"uniq_id":1`, '1'},
		{`{"contacts":[{"uniq_id":"1"`, ' '},
		{`{"contacts":[{"uniq_id":"1","a":[`, '1'},
		{`{"contacts":[{"uniq_id":"1","a":[`, '['},
	} {
		head := tc.head
		body := &endless{head: []byte(head), fill: tc.fill}
		r, err := NewContactJSON(io.LimitReader(body, 300<<20), Options{})
		if err == nil {
			_, err = readAll(r)
		}
		if k := crmlink.KindOf(err); k != crmlink.KindTooLarge && k != crmlink.KindInvalid || body.read > maxJSONToken+4*guardChunk {
			t.Errorf("%s%c...: %v after %d bytes; want a refusal within %d", head, tc.fill, err, body.read, maxJSONToken+4*guardChunk)
		}
	}
}

func readAll(r *ContactReader) (int, error) {
	n := 0
	for {
		var c crmlink.Contact
		if err := r.Next(&c); err != nil {
			return n, err
		}
		n++
	}
}

// FuzzJSONGuard checks the guard's UTF-8 verdict against utf8.Valid, and
// that it passes on the bytes it accepts unchanged, however they are cut.
func FuzzJSONGuard(f *testing.F) {
	for _, s := range []string{`{"a":["b",1,{"c":"\"\\"}]}`, "[\"Анна\xd0\"]", "[\"\xf0\x9f\x98\x80\"]", "\xed\xa0\x80", "[[[[[[]]"} {
		f.Add([]byte(s), uint8(0))
	}
	f.Fuzz(func(t *testing.T, data []byte, how uint8) {
		var r io.Reader = bytes.NewReader(data)
		switch how % 3 {
		case 1:
			r = iotest.OneByteReader(r)
		case 2:
			r = iotest.HalfReader(r)
		}
		got, err := io.ReadAll(newJSONGuard(r))
		var e *crmlink.Error
		switch {
		case err == nil:
			if !bytes.Equal(got, data) || !utf8.Valid(data) {
				t.Fatalf("passed %q of %q", got, data)
			}
		case !errors.As(err, &e):
			t.Fatalf("error %v", err)
		case strings.Contains(e.Message, "UTF-8"):
			if utf8.Valid(data) || !bytes.Equal(got, data[:len(got)]) {
				t.Fatalf("%q: %v after %q", data, err, got)
			}
		case strings.Contains(e.Message, "nests deeper"):
		default:
			t.Fatalf("%q: %v", data, err)
		}
	})
}
