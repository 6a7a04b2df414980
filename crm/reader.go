package crm

import (
	"encoding/json"
	"errors"
	"io"
	"strconv"
	"strings"
	"sync/atomic"
	"time"
	"unicode/utf8"

	"github.com/crmlink/crmlink"
	"github.com/shopspring/decimal"
)

// reader is what contact and order readers share: the source, the row
// errors, and the cell parsers that record them.
type reader struct {
	opt  Options
	ent  *entity
	src  source
	row  row
	errs crmlink.ValidationError
	rows int
	// done is set at the end of the input or after an error that stops
	// reading; end is what Next returns from then on.
	done bool
	end  error
	// fatal is set by an error that stopped reading early (a syntax error):
	// the upload fails even with SkipInvalid.
	fatal bool
	// failing is set once the upload is bound to fail; read by Failing
	// from other goroutines.
	failing atomic.Bool
	rowBad  bool
	// identBad is set when an identifier cell of the row was bad.
	identBad bool
	scratch  []string // list items of the cell being read
}

// open starts reading r: the CSV header, or the JSON up to its array.
func (rd *reader) open(r io.Reader, opt Options, ent *entity, isJSON bool) error {
	if opt.Location == nil {
		opt.Location = time.UTC
	}
	rd.opt, rd.ent = opt, ent
	var err error
	if isJSON {
		rd.src, err = newJSONSource(r, opt, ent)
	} else {
		rd.src, err = newCSVSource(r, opt, ent, &rd.row)
	}
	return err
}

// read moves to the next row. It returns false, with what Next must
// return, when there is none.
func (r *reader) read() (bool, error) {
	if r.done {
		return false, r.end
	}
	err := r.src.next(&r.row)
	if err == nil {
		r.rows++
		r.rowBad, r.identBad = false, false
		if r.row.reason != "" {
			r.bad("", "", r.row.reason)
		}
		r.checkText()
		return true, nil
	}
	r.done = true
	var re *crmlink.RowError
	switch {
	case errors.As(err, &re):
		r.errs.Add(*re)
		r.errs.BadRows++
		// The row that stopped reading is a row of the file, and so is
		// every row after it, though none of them is read.
		r.rows++
		if rc, ok := r.src.(interface{ restRows() int }); ok {
			r.rows += rc.restRows()
		}
		r.fatal = true
		r.failing.Store(true)
	case errors.Is(err, io.EOF):
		if r.rows == 0 && r.errs.Total == 0 {
			r.end = r.src.noRows()
			return false, r.end
		}
	default:
		r.end = err
		return false, err
	}
	if r.errs.Total > 0 && (r.fatal || !r.opt.SkipInvalid) {
		r.end = &r.errs
	} else {
		r.end = io.EOF
	}
	return false, r.end
}

// checkText refuses cells that are not text: bytes that are not UTF-8 (a
// file saved in another encoding, Windows-1251 say, must not reach the
// store as mojibake), and NUL bytes, which no CRM text holds and which the
// store's spool and tables would not keep.
func (r *reader) checkText() {
	if r.row.clean {
		return
	}
	for i := range r.row.v {
		v := &r.row.v[i]
		if v.kind == absent {
			continue
		}
		reason := textProblem(v.text)
		if reason == "" && v.kind != scalar && jsonHasNUL(v.text) {
			reason = errNUL
		}
		if reason != "" {
			r.badValue(v, reason)
			v.kind, v.text = absent, ""
		}
	}
	for i := range r.row.attrs {
		a := &r.row.attrs[i]
		reason := textProblem(a.text)
		if reason == "" {
			reason = textProblem(a.name)
		}
		if reason == "" && jsonHasNUL(a.text) {
			reason = errNUL
		}
		if reason != "" {
			r.bad(a.name, a.text, reason)
			a.text = ""
		}
	}
}

const (
	errNotUTF8 = "not valid UTF-8: save the file in UTF-8"
	errNUL     = "contains a NUL byte (code 0), which text cannot hold"
)

// textProblem says why s is not text, or "".
func textProblem(s string) string {
	switch {
	case !utf8.ValidString(s):
		return errNotUTF8
	case strings.IndexByte(s, 0) >= 0:
		return errNUL
	}
	return ""
}

// jsonHasNUL reports whether raw JSON text holds a string with a NUL
// (written \u0000; a raw NUL is no JSON).
func jsonHasNUL(raw string) bool {
	if !strings.Contains(raw, `\u0000`) {
		return false
	}
	dec := json.NewDecoder(strings.NewReader(raw))
	for {
		t, err := dec.Token()
		if err != nil {
			return false
		}
		if s, ok := t.(string); ok && strings.IndexByte(s, 0) >= 0 {
			return true
		}
	}
}

// keep finishes the current row and reports whether Next yields it.
//
// A good row is yielded even once the file is bound to fail: the store
// checks what only it can check (the customer of each full order) on
// every row, so that one answer lists every error of the file, in line
// order, and counts all its rows. Failing tells the store that the rows
// are only to be checked.
func (r *reader) keep() bool {
	if r.rowBad {
		r.errs.BadRows++
		if !r.opt.SkipInvalid {
			r.failing.Store(true)
		}
		return false
	}
	return true
}

// Failing reports that the upload has a bad row and will fail: Next goes
// on yielding the good rows, and ends with a *crmlink.ValidationError. It
// may be called from any goroutine.
func (r *reader) Failing() bool { return r.failing.Load() }

// Errors returns the row errors found so far, or nil.
func (r *reader) Errors() *crmlink.ValidationError {
	if r.errs.Total == 0 {
		return nil
	}
	return &r.errs
}

// Rows returns how many data rows were read so far, good and bad; after a
// syntax error that stopped reading, the rows of the whole file.
func (r *reader) Rows() int { return r.rows }

// bad records a row error in the current row.
func (r *reader) bad(column, value, reason string) {
	r.rowBad = true
	r.errs.Add(crmlink.RowError{Line: r.row.line, Column: column, Value: value, Reason: reason})
}

func (r *reader) badValue(v *value, reason string) { r.bad(v.col, v.text, reason) }

// present reports whether the row carries field f.
func (r *reader) present(f field) bool { return r.row.v[f].kind != absent }

// scalarText returns the text of f, refusing JSON arrays and objects.
func (r *reader) scalarText(f field) (string, bool) {
	v := &r.row.v[f]
	switch v.kind {
	case absent:
		return "", false
	case scalar:
		return v.text, true
	}
	r.badValue(v, "want a single value, not a JSON array or object")
	return "", false
}

// required returns the text of a required field, recording an error if it
// is missing or empty.
func (r *reader) required(f field, maxLen int) string {
	v := &r.row.v[f]
	if v.kind == absent {
		if _, ok := r.src.(*jsonSource); ok {
			r.bad(v.col, "", "required field is missing or null")
		} else {
			r.bad(v.col, "", "required value is empty")
		}
		return ""
	}
	s, ok := r.scalarText(f)
	if !ok {
		return ""
	}
	if s == "" {
		r.bad(v.col, "", "required value is empty")
		return ""
	}
	return r.checkLen(v, s, maxLen)
}

// text returns the text of an optional field.
func (r *reader) text(f field, maxLen int) string {
	s, ok := r.scalarText(f)
	if !ok {
		return ""
	}
	return r.checkLen(&r.row.v[f], s, maxLen)
}

func (r *reader) checkLen(v *value, s string, maxLen int) string {
	if len(s) > maxLen {
		r.badValue(v, "longer than "+strconv.Itoa(maxLen)+" bytes")
		return ""
	}
	return s
}

// dateTime reads a date-time field; zero if absent or bad.
func (r *reader) dateTime(f field) time.Time {
	s, ok := r.scalarText(f)
	if !ok || s == "" {
		return time.Time{}
	}
	t, err := crmlink.ParseDateTime(s, r.opt.Location)
	if err != nil {
		r.badValue(&r.row.v[f], err.Error())
		return time.Time{}
	}
	return t
}

// createTime reads an order's create_date_time: required, not in the
// future. A date without a time of day that is today would be 23:59:59,
// after the upload: it is read as the upload time.
func (r *reader) createTime(f field) time.Time {
	s := r.required(f, maxTextLen)
	if s == "" {
		return time.Time{}
	}
	t, err := crmlink.ParseDateTime(s, r.opt.Location)
	if err != nil {
		r.badValue(&r.row.v[f], err.Error())
		return time.Time{}
	}
	if now := r.opt.Now; !now.IsZero() && t.After(now) {
		if strings.IndexByte(s, ':') < 0 {
			y, m, d := t.Date()
			if !time.Date(y, m, d, 0, 0, 0, 0, t.Location()).After(now) {
				return now // today
			}
		}
		r.badValue(&r.row.v[f], "the date is in the future (after the upload time "+
			now.In(r.opt.Location).Format("2006-01-02 15:04:05")+"; wrong time zone or date format?)")
		return time.Time{}
	}
	return t
}

// birthDate reads a date of birth: midnight UTC of the date. ParseDateTime
// refuses years before 1970, which people are born in: such a date is read
// 400 years later, when the calendar repeats, and moved back.
func (r *reader) birthDate(f field) time.Time {
	s, ok := r.scalarText(f)
	if !ok || s == "" {
		return time.Time{}
	}
	v := &r.row.v[f]
	t, err := crmlink.ParseDateTime(s, time.UTC)
	shift := 0
	if errors.Is(err, crmlink.ErrBefore1970) {
		if shifted, ok := shiftYear(s, 400); ok {
			t, err = crmlink.ParseDateTime(shifted, time.UTC)
			shift = 400
		}
	}
	if err != nil {
		r.badValue(v, err.Error())
		return time.Time{}
	}
	y, m, d := t.Date()
	t = time.Date(y-shift, m, d, 0, 0, 0, 0, time.UTC)
	switch {
	case y-shift < 1900:
		r.badValue(v, "a birth date before 1900")
		return time.Time{}
	case !r.opt.Now.IsZero() && t.After(r.opt.Now):
		r.badValue(v, "a birth date in the future")
		return time.Time{}
	}
	return t
}

// shiftYear adds n to the four-digit year of yyyy-MM-dd or dd.MM.yyyy.
func shiftYear(s string, n int) (string, bool) {
	s = trim(s)
	at := -1
	switch {
	case len(s) >= 10 && s[4] == '-' && s[7] == '-':
		at = 0
	case len(s) >= 10 && s[2] == '.' && s[5] == '.' && isDigits(s[6:10]):
		at = 6
	}
	if at < 0 || !isDigits(s[at:at+4]) {
		return "", false
	}
	y, _ := strconv.Atoi(s[at : at+4])
	if y+n > 9999 {
		return "", false
	}
	return s[:at] + strconv.Itoa(y+n) + s[at+4:], true
}

func isDigits(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return s != ""
}

// money reads revenue or cost: a non-negative decimal, with a dot or a
// comma as the decimal separator.
func (r *reader) money(f field) (decimal.Decimal, bool) {
	s, ok := r.scalarText(f)
	if !ok || s == "" {
		return decimal.Decimal{}, false
	}
	mant, exp, reason := parseDecimal(s, true)
	if reason != "" {
		r.badValue(&r.row.v[f], reason)
		return decimal.Decimal{}, false
	}
	return decimal.New(mant, exp), true
}

// parseDecimal parses a non-negative decimal of at most 14 integer digits
// and 4 places into its mantissa and exponent. With comma set, a comma may
// stand for the decimal point. It returns the reason when s is refused.
func parseDecimal(s string, comma bool) (mant int64, exp int32, reason string) {
	const notNumber = "not a number: want digits with an optional decimal point, like 1234.50"
	if s == "" {
		return 0, 0, notNumber
	}
	if s[0] == '-' {
		return 0, 0, "must not be negative"
	}
	if s[0] == '+' {
		s = s[1:]
	}
	intDigits, fracDigits := 0, 0
	sep := byte(0)
	digits := false
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case c >= '0' && c <= '9':
			digits = true
			if sep != 0 {
				fracDigits++
				if fracDigits > maxFracDig {
					return 0, 0, "more than 4 decimal places"
				}
			} else if mant != 0 || c != '0' {
				intDigits++
				if intDigits > maxIntDigit {
					return 0, 0, "too large: at most 14 digits before the decimal point"
				}
			}
			mant = mant*10 + int64(c-'0')
		case c == '.' || (c == ',' && comma):
			if sep != 0 {
				if sep != c {
					return 0, 0, "both a comma and a dot: write the number without thousands separators, like 1234.50"
				}
				return 0, 0, notNumber
			}
			if !digits {
				return 0, 0, notNumber
			}
			sep = c
		case c == ' ' && sep == 0 && digits:
			// a space between digit groups
		case c == 0xc2 && sep == 0 && digits && i+1 < len(s) && s[i+1] == 0xa0:
			i++ // a no-break space between digit groups
		default:
			return 0, 0, notNumber
		}
	}
	if !digits || (sep != 0 && fracDigits == 0) {
		return 0, 0, notNumber
	}
	if sep == ',' && fracDigits == 3 {
		return 0, 0, "ambiguous: is the comma a decimal point or a thousands separator? Write 1234 or 1.234"
	}
	return mant, -int32(fracDigits), ""
}

// list returns the items of a list field: a JSON array of strings or
// numbers, or text with items separated by commas. Items are trimmed and
// empty ones dropped. The slice is valid until the next call.
func (r *reader) list(f field) []string {
	v := &r.row.v[f]
	items := r.scratch[:0]
	switch v.kind {
	case absent:
		return items
	case scalar:
		s := v.text
		for s != "" {
			item := s
			if i := strings.IndexByte(s, ','); i >= 0 {
				item, s = s[:i], s[i+1:]
			} else {
				s = ""
			}
			if item = trim(item); item != "" {
				items = append(items, item)
			}
		}
	case jsonArray:
		var raws []json.RawMessage
		if err := json.Unmarshal([]byte(v.text), &raws); err != nil {
			r.badValue(v, "want a list")
			return items
		}
		for _, raw := range raws {
			iv := jsonValue(v.col, raw)
			switch iv.kind {
			case absent:
				continue
			case scalar:
				if iv.text != "" {
					items = append(items, iv.text)
				}
			default:
				r.badValue(v, "want a list of strings or numbers")
				return items[:0]
			}
		}
	case jsonObject:
		r.badValue(v, "want a list, not a JSON object")
		return items
	}
	r.scratch = items
	if len(items) > maxListLen {
		r.badValue(v, "more than "+strconv.Itoa(maxListLen)+" values in one cell")
		return items[:0]
	}
	return items
}

func contains[T comparable](list []T, v T) bool {
	for _, x := range list {
		if x == v {
			return true
		}
	}
	return false
}

func appendUnique[T comparable](dst []T, v T) []T {
	if contains(dst, v) {
		return dst
	}
	return append(dst, v)
}

// ids reads the identifier fields into ids and sets their bits in fs.
func (r *reader) ids(ids *crmlink.CustomerIDs, fs *crmlink.Fields) {
	if r.present(fClientIDs) {
		*fs |= crmlink.FieldClientIDs
		v := &r.row.v[fClientIDs]
		for _, s := range r.list(fClientIDs) {
			n, err := strconv.ParseUint(s, 10, 64)
			if err != nil || n == 0 {
				r.identBad = true
				r.bad(v.col, s, "not a ClientID: want a positive integer below 2^64")
				continue
			}
			ids.ClientIDs = appendUnique(ids.ClientIDs, n)
		}
	}
	if r.present(fUserIDs) {
		*fs |= crmlink.FieldUserIDs
		v := &r.row.v[fUserIDs]
		for _, s := range r.list(fUserIDs) {
			if len(s) > maxIDLen {
				r.identBad = true
				r.bad(v.col, s, "a user id longer than "+strconv.Itoa(maxIDLen)+" bytes")
				continue
			}
			ids.UserIDs = appendUnique(ids.UserIDs, s)
		}
	}
	if r.present(fEmails) {
		*fs |= crmlink.FieldEmails
		v := &r.row.v[fEmails]
		for _, s := range r.list(fEmails) {
			e, ok := NormalizeEmail(s)
			if !ok {
				r.identBad = true
				r.bad(v.col, s, "not an email address")
				continue
			}
			if contains(ids.Emails, e) {
				continue
			}
			ids.Emails = append(ids.Emails, e)
			md5, sha := hashes(e)
			ids.EmailMD5 = appendUnique(ids.EmailMD5, md5)
			ids.EmailSHA256 = appendUnique(ids.EmailSHA256, sha)
		}
	}
	if r.present(fPhones) {
		*fs |= crmlink.FieldPhones
		v := &r.row.v[fPhones]
		for _, s := range r.list(fPhones) {
			p, ok := NormalizePhone(s)
			if !ok {
				r.identBad = true
				r.bad(v.col, s, "not a phone number with a country code: want 10 to 15 digits, like +7 999 555-11-11")
				continue
			}
			if contains(ids.Phones, p) {
				continue
			}
			ids.Phones = append(ids.Phones, p)
			md5, sha, e164 := phoneHashes(p)
			ids.PhoneMD5 = appendUnique(ids.PhoneMD5, md5)
			ids.PhoneSHA256 = appendUnique(ids.PhoneSHA256, sha)
			ids.PhoneE164SHA256 = appendUnique(ids.PhoneE164SHA256, e164)
		}
	}
	ids.EmailMD5 = r.hexList(fEmailsMD5, 32, ids.EmailMD5, fs, crmlink.FieldEmails)
	ids.PhoneMD5 = r.hexList(fPhonesMD5, 32, ids.PhoneMD5, fs, crmlink.FieldPhones)
	ids.EmailSHA256 = r.hexList(fEmailsSHA256, 64, ids.EmailSHA256, fs, crmlink.FieldEmails)
	ids.PhoneSHA256 = r.hexList(fPhonesSHA256, 64, ids.PhoneSHA256, fs, crmlink.FieldPhones)
}

// hexList reads a list of hex hashes of n digits, lower-cased.
func (r *reader) hexList(f field, n int, dst []string, fs *crmlink.Fields, bit crmlink.Fields) []string {
	if !r.present(f) {
		return dst
	}
	*fs |= bit
	v := &r.row.v[f]
	for _, s := range r.list(f) {
		h, ok := normalizeHex(s, n)
		if !ok {
			r.identBad = true
			what := "an MD5 hash: want 32 hex digits"
			if n == 64 {
				what = "a SHA-256 hash: want 64 hex digits"
			}
			r.bad(v.col, s, "not "+what)
			continue
		}
		dst = appendUnique(dst, h)
	}
	return dst
}

// attrs fills the custom attributes.
func (r *reader) attrs(m *map[string]string, fs *crmlink.Fields) {
	if len(r.row.attrs) == 0 {
		return
	}
	if *m == nil {
		*m = make(map[string]string, len(r.row.attrs))
	}
	for _, a := range r.row.attrs {
		if len(a.text) > maxTextLen {
			r.bad(a.name, a.text, "longer than "+strconv.Itoa(maxTextLen)+" bytes")
			continue
		}
		(*m)[a.name] = a.text
	}
	*fs |= crmlink.FieldAttrs
}

// resetIDs empties ids, keeping their arrays.
func resetIDs(ids *crmlink.CustomerIDs) {
	*ids = crmlink.CustomerIDs{
		ClientIDs: ids.ClientIDs[:0], UserIDs: ids.UserIDs[:0],
		EmailMD5: ids.EmailMD5[:0], EmailSHA256: ids.EmailSHA256[:0],
		PhoneMD5: ids.PhoneMD5[:0], PhoneSHA256: ids.PhoneSHA256[:0], PhoneE164SHA256: ids.PhoneE164SHA256[:0],
		Emails: ids.Emails[:0], Phones: ids.Phones[:0],
	}
}
