package crm

import (
	"bufio"
	"bytes"
	"encoding/csv"
	"encoding/json"
	"errors"
	"io"
	"slices"
	"strconv"
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/crmlink/crmlink"
	"github.com/crmlink/crmlink/internal/textfile"
)

// kind tells what a value holds.
type kind uint8

const (
	absent     kind = iota // no column, empty CSV cell, missing or null JSON field
	scalar                 // text: a CSV cell, a JSON string, number or boolean
	jsonArray              // text is the raw JSON array
	jsonObject             // text is the raw JSON object
)

// value is one field of the current row.
type value struct {
	col  string // the header or JSON key as written, for row errors
	text string // trimmed
	kind kind
}

// attr is a custom attribute of the current row.
type attr struct{ name, text string }

// row is the current row of a source, by our fields.
type row struct {
	line  int
	v     [nFields]value
	attrs []attr
	// reason, if set, makes the whole row bad (a wrong field count, an
	// element that is no object).
	reason string
	// clean says every text of the row is known to be valid UTF-8 without
	// NUL bytes.
	clean bool
}

// source yields rows.
type source interface {
	// next fills r with the next row. It returns io.EOF at the end, a
	// *crmlink.RowError for an error after which reading cannot go on, and
	// other errors (I/O, *crmlink.Error) as they are.
	next(r *row) error
	// noRows is the error for an upload whose source ended without a row.
	noRows() error
}

// csvSource reads the rows of a CSV file.
type csvSource struct {
	r      *csvReader
	header []string
	cols   []csvCol // columns of our fields
	attrs  []csvCol // columns of custom attributes (f unused)
	names  []string // attribute names by column
	rest   int      // rows after a syntax error, counted unread
}

type csvCol struct {
	i int
	f field
}

func newCSVSource(r io.Reader, opt Options, ent *entity, rw *row) (*csvSource, error) {
	delim := opt.Delimiter
	switch delim {
	case 0:
		delim = ','
	case ',', ';', '\t':
	default:
		return nil, crmlink.Errorf(crmlink.KindInvalid, "unsupported CSV delimiter %q: want comma or semicolon", delim)
	}
	br, err := textfile.Open(r, 256<<10, true)
	if err != nil {
		if errors.Is(err, textfile.ErrUTF16) {
			return nil, fail(crmlink.RowError{Line: 1, Reason: err.Error()})
		}
		return nil, err
	}
	s := &csvSource{r: newCSVReader(br, byte(delim))}
	header, _, err := s.r.read()
	if err != nil {
		if errors.Is(err, io.EOF) {
			return nil, fail(crmlink.RowError{Line: 1, Reason: "the file is empty: want a header row"})
		}
		var pe *csv.ParseError
		if errors.As(err, &pe) {
			return nil, fail(syntaxError(pe))
		}
		return nil, err
	}
	s.header = append([]string(nil), header...)
	v := &crmlink.ValidationError{}
	for i := range s.header {
		s.header[i] = strings.TrimSpace(s.header[i])
		if !s.r.clean {
			if reason := textProblem(s.header[i]); reason != "" {
				v.Add(crmlink.RowError{Line: 1, Reason: "column " + strconv.Itoa(i+1) + " of the header: " + reason})
			}
		}
	}
	if v.Total > 0 {
		v.BadRows = 1
		return nil, v
	}
	if err := s.mapColumns(opt.ColumnsMapping, ent, rw); err != nil {
		return nil, err
	}
	return s, nil
}

func fail(e crmlink.RowError) *crmlink.ValidationError {
	v := &crmlink.ValidationError{BadRows: 1}
	v.Add(e)
	return v
}

func syntaxError(pe *csv.ParseError) crmlink.RowError {
	return crmlink.RowError{Line: pe.Line,
		Reason: "CSV syntax error at column " + strconv.Itoa(pe.Column) + ": " + pe.Err.Error() + "; reading stopped here"}
}

// mapColumns assigns each header column to one of our fields or to a custom
// attribute, after columns_mapping, and checks for duplicates and missing
// required columns: all errors are at line 1.
func (s *csvSource) mapColumns(mapping map[string]string, ent *entity, rw *row) error {
	const line = 1
	v := &crmlink.ValidationError{}
	n := len(s.header)
	fieldOf := make([]int, n) // field+1, 0: attribute, -1: ignored
	s.names = make([]string, n)
	mapped := make([]bool, n)
	copy(s.names, s.header)
	ours := make([]string, 0, len(mapping))
	for k := range mapping {
		ours = append(ours, k)
	}
	slices.Sort(ours) // errors in a stable order
	for _, ours := range ours {
		theirs := mapping[ours]
		j := -1
		for i, h := range s.header {
			if h == theirs {
				j = i
				break
			}
		}
		if j < 0 {
			for i, h := range s.header {
				if strings.EqualFold(h, theirs) {
					j = i
					break
				}
			}
		}
		if j < 0 {
			v.Add(crmlink.RowError{Line: line, Column: theirs,
				Reason: "columns_mapping maps " + ours + " to this column, which is not in the header"})
			continue
		}
		mapped[j] = true
		if f, ok := lookupField(ours); ok && ent.allowed.has(f) {
			fieldOf[j] = int(f) + 1
		} else {
			s.names[j] = ours
		}
	}
	col := [nFields]int{}
	for i := range col {
		col[i] = -1
	}
	seen := make(map[string]int, n)
	for i, h := range s.header {
		if h == "" {
			fieldOf[i] = -1
			continue
		}
		key := strings.ToLower(h)
		if j, dup := seen[key]; dup {
			v.Add(crmlink.RowError{Line: line, Column: h,
				Reason: "column appears twice in the header (also column " + strconv.Itoa(j+1) + ")"})
			fieldOf[i] = -1
			continue
		}
		seen[key] = i
		if !mapped[i] {
			if f, ok := lookupField(h); ok && ent.allowed.has(f) {
				fieldOf[i] = int(f) + 1
			}
		}
		if fieldOf[i] > 0 {
			f := field(fieldOf[i] - 1)
			if j := col[f]; j >= 0 {
				v.Add(crmlink.RowError{Line: line, Column: h,
					Reason: "column " + strconv.Itoa(j+1) + " (" + s.header[j] + ") is " + fieldNames[f] + " too"})
				continue
			}
			col[f] = i
		}
	}
	for f := range nFields {
		if ent.required.has(f) && col[f] < 0 {
			v.Add(crmlink.RowError{Line: line, Column: fieldNames[f], Reason: "required column is missing from the header"})
		}
	}
	if v.Total > 0 {
		v.BadRows = 1
		return v
	}
	for f := range nFields {
		rw.v[f] = value{col: fieldNames[f]}
		if i := col[f]; i >= 0 {
			rw.v[f].col = s.header[i]
			s.cols = append(s.cols, csvCol{i: i, f: f})
		}
	}
	for i := range s.header {
		if fieldOf[i] == 0 {
			s.attrs = append(s.attrs, csvCol{i: i})
		}
	}
	return nil
}

func (s *csvSource) next(rw *row) error {
	for {
		rec, line, err := s.r.read()
		if err != nil {
			var pe *csv.ParseError
			if errors.As(err, &pe) {
				if !errors.Is(pe.Err, errLongRecord) {
					s.rest = s.r.countRest()
				}
				return &crmlink.RowError{Line: pe.Line, Reason: syntaxError(pe).Reason}
			}
			return err
		}
		if len(rec) == 1 && strings.TrimSpace(rec[0]) == "" {
			continue // a blank line
		}
		rw.line = line
		rw.reason = ""
		rw.attrs = rw.attrs[:0]
		rw.clean = s.r.clean
		if len(rec) != len(s.header) {
			rw.reason = "the row has " + strconv.Itoa(len(rec)) + " fields, the header has " + strconv.Itoa(len(s.header))
			return nil
		}
		for _, c := range s.cols {
			v := &rw.v[c.f]
			v.text = trim(rec[c.i])
			if v.text != "" {
				v.kind = scalar
			} else {
				v.kind = absent
			}
		}
		for _, c := range s.attrs {
			if t := strings.TrimSpace(rec[c.i]); t != "" {
				rw.attrs = append(rw.attrs, attr{name: s.names[c.i], text: t})
			}
		}
		return nil
	}
}

// restRows is how many rows followed a syntax error, unread (countRest).
func (s *csvSource) restRows() int { return s.rest }

func (s *csvSource) noRows() error {
	return crmlink.Errorf(crmlink.KindInvalid, "the file has no rows: want at least one row after the header")
}

// trim is strings.TrimSpace with a fast way out for the usual cell, whose
// first and last characters are no spaces; Cyrillic text included, which
// TrimSpace checks rune by rune.
func trim(s string) string {
	if s == "" {
		return s
	}
	// Every Unicode space starts with one of these bytes or is ASCII.
	if c := s[0]; c <= ' ' || c == 0xc2 || c == 0xe1 || c == 0xe2 || c == 0xe3 {
		return strings.TrimSpace(s)
	}
	if c := s[len(s)-1]; c <= ' ' {
		return strings.TrimSpace(s)
	} else if c >= utf8.RuneSelf {
		if r, _ := utf8.DecodeLastRuneInString(s); unicode.IsSpace(r) {
			return strings.TrimSpace(s)
		}
	}
	return s
}

// jsonSource reads the elements of the array under one key of a JSON object.
type jsonSource struct {
	dec  *json.Decoder
	ent  *entity
	max  int
	n    int  // elements read
	bare bool // the body is the array itself
	done bool
	elem map[string]json.RawMessage
}

func newJSONSource(r io.Reader, opt Options, ent *entity) (*jsonSource, error) {
	br := bufio.NewReaderSize(r, 64<<10)
	head, err := br.Peek(4)
	if err != nil && err != io.EOF {
		return nil, err
	}
	// JSON text starts with two ASCII characters (RFC 4627): a NUL among the
	// first four bytes is UTF-16 or UTF-32.
	if bytes.IndexByte(head, 0) >= 0 || textfile.UTF16(head) {
		return nil, crmlink.Errorf(crmlink.KindInvalid, "the JSON is UTF-16: save the file as UTF-8")
	}
	if bytes.HasPrefix(head, []byte("\xef\xbb\xbf")) {
		br.Discard(3) // a UTF-8 byte order mark, which Windows tools write
	}
	s := &jsonSource{dec: json.NewDecoder(newJSONGuard(br)), ent: ent, max: opt.MaxRows}
	s.dec.UseNumber()
	want := `want a JSON object {"` + ent.jsonKey + `":[...]}`
	t, err := s.dec.Token()
	if err != nil {
		if errors.Is(err, io.EOF) {
			return nil, crmlink.Errorf(crmlink.KindInvalid, "the body is empty: %s", want)
		}
		return nil, s.tokenError(err)
	}
	switch t {
	case json.Delim('['): // a bare array: accepted too
		s.bare = true
		return s, nil
	case json.Delim('{'):
	default:
		return nil, crmlink.Errorf(crmlink.KindInvalid, "%s", want)
	}
	for {
		t, err := s.dec.Token()
		if err != nil {
			return nil, s.tokenError(err)
		}
		if t == json.Delim('}') {
			return nil, crmlink.Errorf(crmlink.KindInvalid, `no "%s" array in the body: %s`, ent.jsonKey, want)
		}
		if t == ent.jsonKey {
			t, err := s.dec.Token()
			if err != nil {
				return nil, s.tokenError(err)
			}
			if t != json.Delim('[') {
				return nil, crmlink.Errorf(crmlink.KindInvalid, `"%s" must be an array: %s`, ent.jsonKey, want)
			}
			return s, nil
		}
		if err := skipValue(s.dec); err != nil {
			return nil, s.tokenError(err)
		}
	}
}

// tokenError turns an error of Token into what the constructor returns:
// a syntax error as a ValidationError, others (jsonGuard's, the body's: a
// body over the limit is a 413) as they are.
func (s *jsonSource) tokenError(err error) error {
	if !isSyntax(err) {
		return err
	}
	return fail(s.syntax(err))
}

// isSyntax reports whether an error of the Decoder is the JSON's fault,
// not the reading's.
func isSyntax(err error) bool {
	var se *json.SyntaxError
	return errors.As(err, &se) || err == io.ErrUnexpectedEOF || err == io.EOF
}

func (s *jsonSource) noRows() error {
	if s.bare {
		return crmlink.Errorf(crmlink.KindInvalid, `the file has no rows: the JSON is an empty array; want {"%s":[...]}`, s.ent.jsonKey)
	}
	return crmlink.Errorf(crmlink.KindInvalid, `the file has no rows: the "%s" array is empty`, s.ent.jsonKey)
}

// syntax turns an error of Token into a RowError naming the byte offset.
func (s *jsonSource) syntax(err error) crmlink.RowError {
	return crmlink.RowError{Line: max(s.n, 1), Reason: jsonSyntaxReason(err, s.dec.InputOffset())}
}

// elementSyntax turns an error of Decode into a RowError. The Decoder's
// SyntaxError.Offset is not a position in the body there, so the reason
// names where the element starts.
func (s *jsonSource) elementSyntax(err error, start int64) crmlink.RowError {
	msg := err.Error()
	if errors.Is(err, io.ErrUnexpectedEOF) || errors.Is(err, io.EOF) {
		msg = "the JSON ends too early"
	}
	return crmlink.RowError{Line: s.n, Reason: "malformed JSON in element " + strconv.Itoa(s.n) +
		", which starts after byte offset " + strconv.FormatInt(start, 10) + ": " + msg}
}

// skipValue reads one value token by token, holding none of it.
func skipValue(dec *json.Decoder) error {
	depth := 0
	for {
		t, err := dec.Token()
		if err != nil {
			if err == io.EOF {
				return io.ErrUnexpectedEOF
			}
			return err
		}
		switch t {
		case json.Delim('{'), json.Delim('['):
			depth++
		case json.Delim('}'), json.Delim(']'):
			depth--
		}
		if depth == 0 {
			return nil
		}
	}
}

func (s *jsonSource) next(rw *row) error {
	if s.done {
		return io.EOF
	}
	if !s.dec.More() {
		s.done = true
		return s.finish()
	}
	if s.max > 0 && s.n >= s.max {
		s.done = true
		return crmlink.Errorf(crmlink.KindTooLarge, "more than %d %s in one request: send them in batches", s.max, s.ent.jsonKey)
	}
	s.n++
	rw.line = s.n
	rw.reason = ""
	rw.attrs = rw.attrs[:0]
	for f := range rw.v {
		rw.v[f] = value{col: fieldNames[f]}
	}
	if s.elem == nil {
		s.elem = make(map[string]json.RawMessage)
	}
	clear(s.elem)
	start := s.dec.InputOffset()
	if err := s.dec.Decode(&s.elem); err != nil {
		var te *json.UnmarshalTypeError
		if errors.As(err, &te) {
			rw.reason = "element " + strconv.Itoa(s.n) + " is not a JSON object"
			return nil
		}
		s.done = true
		if !isSyntax(err) {
			return err
		}
		return ptr(s.elementSyntax(err, start))
	}
	for k, raw := range s.elem {
		v := jsonValue(k, raw)
		f, ok := lookupField(k)
		if !ok || !s.ent.allowed.has(f) {
			if v.kind != absent && strings.TrimSpace(k) != "" {
				rw.attrs = append(rw.attrs, attr{name: k, text: v.text})
			}
			continue
		}
		if rw.v[f].col != fieldNames[f] || rw.v[f].kind != absent {
			// Two keys for one field, differing in case.
			rw.reason = "the element has two fields named " + fieldNames[f]
		}
		rw.v[f] = v
	}
	return nil
}

func ptr[T any](v T) *T { return &v }

// finish reads what follows the array: the rest of the object, then the end
// of the body.
func (s *jsonSource) finish() error {
	if _, err := s.dec.Token(); err != nil { // ]
		return s.readError(err)
	}
	for s.dec.More() {
		key, err := s.dec.Token()
		if err != nil {
			return s.readError(err)
		}
		if key == s.ent.jsonKey {
			// The Decoder would not say, and we would read only one.
			return crmlink.Errorf(crmlink.KindInvalid, `the JSON object has "%s" twice: send one array`, s.ent.jsonKey)
		}
		if err := skipValue(s.dec); err != nil {
			return s.readError(err)
		}
	}
	if _, err := s.dec.Token(); err != nil && err != io.EOF { // } (none after a bare array)
		return s.readError(err)
	}
	if _, err := s.dec.Token(); err != io.EOF {
		if err == nil {
			return ptr(s.syntax(errors.New("unexpected data after the end of the JSON value")))
		}
		return s.readError(err)
	}
	return io.EOF
}

// readError is tokenError for next: a syntax error is a *crmlink.RowError.
func (s *jsonSource) readError(err error) error {
	if !isSyntax(err) {
		return err
	}
	return ptr(s.syntax(err))
}

// jsonValue converts a field of an element.
func jsonValue(key string, raw json.RawMessage) value {
	raw = bytes.TrimSpace(raw)
	v := value{col: key}
	if len(raw) == 0 {
		return v
	}
	switch raw[0] {
	case 'n':
		return v
	case '"':
		v.text, v.kind = trim(jsonString(raw)), scalar
	case '[':
		v.text, v.kind = string(raw), jsonArray
	case '{':
		v.text, v.kind = string(raw), jsonObject
	default:
		v.text, v.kind = string(raw), scalar
	}
	return v
}

// jsonString unquotes a JSON string. The body is valid UTF-8 (jsonGuard
// checked it): a string without escapes is its bytes.
func jsonString(raw []byte) string {
	if len(raw) >= 2 && bytes.IndexByte(raw, '\\') < 0 {
		return string(raw[1 : len(raw)-1])
	}
	var s string
	json.Unmarshal(raw, &s)
	return s
}
