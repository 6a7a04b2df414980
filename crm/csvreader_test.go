package crm

import (
	"bytes"
	"encoding/csv"
	"errors"
	"io"
	"reflect"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/crmlink/crmlink/internal/textfile"
)

// FuzzCSVReader checks csvReader against encoding/csv (without LazyQuotes):
// the same records on the same lines, and an error where it has one.
func FuzzCSVReader(f *testing.F) {
	for _, s := range []string{
		"a,b\n1,2\n",
		"a,b\r\n\"1\",\"2\"\r\n\r\n\"x\"\"y\",\"multi\r\nline\"\n",
		"a,\"b\n\nc\"\n",
		"a,b\n1,\"2\n",
		"a,b\n1,2\"\n",
		"a,b\n\"1\"x,2\n",
		"\r\n\n,\n,,\"\"\r",
		"a;b\n\"1;2\";3\n",
	} {
		f.Add([]byte(s), false)
	}
	f.Add([]byte("a;b\n\"1;2\";3\n"), true)
	f.Fuzz(func(t *testing.T, data []byte, semicolon bool) {
		comma := byte(',')
		if semicolon {
			comma = ';'
		}
		std := csv.NewReader(bytes.NewReader(data))
		std.Comma = rune(comma)
		std.FieldsPerRecord = -1
		ours := newCSVReader(bytes.NewReader(data), comma)
		sameRecords(t, std, ours, func(n int, got []string) {
			clean := true
			for _, f := range got {
				clean = clean && utf8.ValidString(f) && !strings.Contains(f, "\x00")
			}
			if ours.clean != clean {
				t.Fatalf("record %d = %q: told clean %v, its fields are %v", n, got, ours.clean, clean)
			}
		})
	})
}

// sameRecords reads std and ours to their ends and fails t where their
// records, their lines or their errors differ; each record is passed to
// also, if set.
func sameRecords(t *testing.T, std *csv.Reader, ours *csvReader, also func(n int, got []string)) {
	t.Helper()
	for n := 1; ; n++ {
		want, werr := std.Read()
		got, line, gerr := ours.read()
		if werr != nil || gerr != nil {
			if errors.Is(werr, io.EOF) != errors.Is(gerr, io.EOF) || (werr == nil) != (gerr == nil) {
				t.Fatalf("record %d: error %v, encoding/csv %v", n, gerr, werr)
			}
			var wp, gp *csv.ParseError
			if errors.As(werr, &wp) {
				if !errors.As(gerr, &gp) || gp.Err != wp.Err || gp.Line != wp.Line || gp.Column != wp.Column {
					t.Fatalf("record %d: error %#v, encoding/csv %#v", n, gerr, werr)
				}
			}
			return
		}
		if !reflect.DeepEqual(got, want) {
			t.Fatalf("record %d = %q, encoding/csv %q", n, got, want)
		}
		if also != nil {
			also(n, got)
		}
		if wl, _ := std.FieldPos(0); wl != line {
			t.Fatalf("record %d on line %d, encoding/csv %d", n, line, wl)
		}
	}
}

// FuzzCSVLineEnds checks that a file whose lines end in a lone \r reads
// as the same file with \n: the same records on the same lines, the same
// errors. The input is the fuzzer's bytes without \r, with each \n made
// \r; encoding/csv reads the bytes as they were.
func FuzzCSVLineEnds(f *testing.F) {
	for _, s := range []string{
		"a,b\n1,2\n",
		"a,b\n\"1\",\"2\"\n\n\"x\"\"y\",\"multi\nline\"\n",
		"a,\"b\n\nc\"\n",
		"a,b\n1,\"2\n",
		"a,b\n\"1\"x,2\n",
		"\"a\nb\",c\n1,2",
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		data = bytes.ReplaceAll(data, []byte("\r"), nil)
		cr := bytes.ReplaceAll(data, []byte("\n"), []byte("\r"))
		if !textfile.CRLineEnds(cr, true) {
			return // no line end outside quotes: read as it is, as encoding/csv would
		}
		br, err := textfile.Open(bytes.NewReader(cr), 256<<10, true)
		if err != nil {
			if errors.Is(err, textfile.ErrUTF16) {
				return
			}
			t.Fatal(err)
		}
		std := csv.NewReader(bytes.NewReader(data))
		std.FieldsPerRecord = -1
		ours := newCSVReader(br, ',')
		sameRecords(t, std, ours, nil)
	})
}

func TestStringArena(t *testing.T) {
	var a stringArena
	b := []byte("hello")
	s := a.string(b)
	b[0] = 'j'
	long := a.string(bytes.Repeat([]byte("x"), 9000))
	if s != "hello" || len(long) != 9000 || a.string(nil) != "" {
		t.Errorf("arena strings %q, %d", s, len(long))
	}
}

func FuzzTrim(f *testing.F) {
	for _, s := range []string{"", " a ", "Диван", "Диван\u00a0", "\u2003x", "x\u3000", "\x85", "a\t", "\xe2\x80"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		if got, want := trim(s), strings.TrimSpace(s); got != want {
			t.Fatalf("trim(%q) = %q, want %q", s, got, want)
		}
	})
}
