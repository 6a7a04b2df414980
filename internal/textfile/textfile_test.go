package textfile_test

import (
	"bytes"
	"errors"
	"io"
	"strings"
	"testing"
	"testing/iotest"
	"unicode/utf16"

	"github.com/crmlink/crmlink/internal/textfile"
)

func utf16le(s string, bom bool) []byte {
	var b []byte
	if bom {
		b = append(b, 0xff, 0xfe)
	}
	for _, u := range utf16.Encode([]rune(s)) {
		b = append(b, byte(u), byte(u>>8))
	}
	return b
}

func utf16be(s string, bom bool) []byte {
	var b []byte
	if bom {
		b = append(b, 0xfe, 0xff)
	}
	for _, u := range utf16.Encode([]rune(s)) {
		b = append(b, byte(u>>8), byte(u))
	}
	return b
}

func TestOpen(t *testing.T) {
	for _, tc := range []struct {
		name string
		in   []byte
		want string // "" with err
		err  error
	}{
		{"LF", []byte("a,b\n1,2\n"), "a,b\n1,2\n", nil},
		{"CRLF", []byte("a,b\r\n1,\"x\ry\"\r\n"), "a,b\r\n1,\"x\ry\"\r\n", nil},
		{"CR", []byte("a,b\r1,2\r3,4"), "a,b\n1,2\n3,4", nil},
		{"CR with a CRLF and a quoted CR", []byte("a,b\r1,\"x\ry\"\r\n3,4\r"), "a,b\n1,\"x\ny\"\r\n3,4\n", nil},
		{"quoted CR in the header", []byte("\"a\rb\",c\n1,2\r3\n"), "\"a\rb\",c\n1,2\r3\n", nil},
		{"UTF-8 BOM", []byte("\xef\xbb\xbfa,b\r1,2\r"), "a,b\n1,2\n", nil},
		{"no line end", []byte("a,b"), "a,b", nil},
		{"empty", nil, "", nil},
		{"UTF-16LE with BOM", utf16le("uniq_id,name\r\nC1,Анна\r\n", true), "", textfile.ErrUTF16},
		{"UTF-16BE with BOM", utf16be("uniq_id\nC1\n", true), "", textfile.ErrUTF16},
		{"UTF-16LE without BOM", utf16le("uniq_id,name\r\nC1,Anna\r\n", false), "", textfile.ErrUTF16},
		{"UTF-16BE without BOM", utf16be("uniq_id;name\nC1;Anna\n", false), "", textfile.ErrUTF16},
		{"a NUL in a cell is no UTF-16", []byte("uniq_id,name\nC1,A\x00na\nC2,Boris\n"), "uniq_id,name\nC1,A\x00na\nC2,Boris\n", nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			br, err := textfile.Open(iotest.HalfReader(bytes.NewReader(tc.in)), 256<<10, true)
			if !errors.Is(err, tc.err) {
				t.Fatalf("error %v, want %v", err, tc.err)
			}
			if err != nil {
				return
			}
			got, err := io.ReadAll(br)
			if err != nil || string(got) != tc.want {
				t.Errorf("read %q, %v; want %q", got, err, tc.want)
			}
		})
	}
}

// lfOf is the reference NewCRReader is checked against.
func lfOf(b []byte) []byte {
	out := make([]byte, 0, len(b))
	for i, c := range b {
		if c == '\r' && (i+1 == len(b) || b[i+1] != '\n') {
			c = '\n'
		}
		out = append(out, c)
	}
	return out
}

func FuzzCRReader(f *testing.F) {
	for _, s := range []string{"", "\r", "\r\n", "a\rb\r\nc\r\r\n\r", strings.Repeat("x\r", 40000)} {
		f.Add([]byte(s), uint8(0))
	}
	f.Fuzz(func(t *testing.T, data []byte, how uint8) {
		var r io.Reader = bytes.NewReader(data)
		switch how % 4 {
		case 1:
			r = iotest.OneByteReader(r)
		case 2:
			r = iotest.HalfReader(r)
		case 3:
			r = iotest.DataErrReader(r)
		}
		got, err := io.ReadAll(textfile.NewCRReader(r))
		if err != nil || !bytes.Equal(got, lfOf(data)) {
			t.Fatalf("read %q, %v; want %q", got, err, lfOf(data))
		}
	})
}

// TestCRReaderError: an error of the reader underneath comes after the
// bytes read before it.
func TestCRReaderError(t *testing.T) {
	boom := errors.New("boom")
	r := textfile.NewCRReader(io.MultiReader(strings.NewReader("a\rb\r"), iotest.ErrReader(boom)))
	got, err := io.ReadAll(r)
	if string(got) != "a\nb\n" || err != boom {
		t.Errorf("read %q, %v", got, err)
	}
}
