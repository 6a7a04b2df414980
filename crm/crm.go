// Package crm reads the customers and orders a business uploads from its CRM
// (SPEC.md §1, §2): contacts, full orders and simple orders, as CSV or JSON.
// It validates every cell, normalises emails and phones and hashes them, and
// resolves order statuses to their types.
//
// A reader streams: it holds one row at a time (one CSV record, or one JSON
// element decoded with encoding/json's Decoder), whatever the file's size,
// and keeps nothing per row it has passed, so duplicates within a file are
// legal and reach the store in file order. A JSON body reaches the Decoder
// through jsonGuard, which refuses a string or number over 1 MiB, an
// element of an array over 4 MiB (both KindTooLarge) and nesting deeper
// than 64 levels as soon as it passes them, so that memory stays bounded
// whatever the body. A bad cell becomes a crmlink.RowError; the reader goes
// on to find the others and, at the end, returns a
// *crmlink.ValidationError instead of io.EOF, so that the store keeps
// nothing of a file with any bad row. It yields the good rows after a bad
// one all the same, with Failing set: the store checks what only it can
// (an order's customer) on those too, so that one answer lists every error
// of the file. With Options.SkipInvalid (on_error=skip) the upload does not
// fail: it ends with io.EOF; Errors tells the rows it skipped. A file
// without a data row is a *crmlink.Error of KindInvalid ("the file has no
// rows"), in place of io.EOF.
//
// Where a row error points:
//   - CSV: Line is the file line the row starts on (the header is line 1;
//     a quoted cell may span lines) and Column the header name as written in
//     the file. A CSV syntax error (a bare quote) stops reading: its RowError
//     names the line, and the character column in its Reason, and the upload
//     fails even with SkipInvalid, since the rest of the file cannot be read.
//   - JSON: Line is the 1-based number of the element in the "contacts" or
//     "orders" array and Column the field name as written in the element.
//     Malformed JSON stops reading with a RowError whose Line is the element
//     being read (1 before the array) and whose Reason names the byte offset
//     (of the bad character, or, inside an element, where the element
//     starts); like a CSV syntax error it fails the upload even with
//     SkipInvalid. Bytes that are not UTF-8 stop reading with a
//     *crmlink.Error naming their offset (encoding/json would make them
//     U+FFFD); so does a body in UTF-16. A body that is valid JSON of the
//     wrong shape (no "orders" array, or two of them) is a *crmlink.Error of
//     KindInvalid. A bare array [...] is accepted too, as it always was: the
//     path names what it holds, and clients send it; an empty one is
//     refused as having no rows. An element that is no object is a row
//     error. A UTF-8 byte order mark before the JSON is skipped.
//
// Decisions a user notices (the rest follows SPEC.md):
//   - Header names are matched to our field names without regard to case and
//     surrounding spaces; any other column, or JSON field, is a custom
//     attribute kept as trimmed text (a JSON number, array or object as its
//     JSON text). A column with an empty header is ignored. columns_mapping
//     (CSV only) renames columns: our name → the file's header; mapping a name
//     that is none of our fields names a custom attribute.
//   - A CSV cell counts as present when it is not empty after trimming; a
//     JSON field when it is present and not null (so "" clears it in UPDATE).
//   - Money (revenue, cost, goal prices) and quantities are decimals with at
//     most 4 places and 14 integer digits (the store's DECIMAL(18,4)),
//     never negative. revenue and cost may use a comma as the decimal
//     separator ("1234,50"): a comma inside a cell can only be there when the
//     delimiter is not a comma or the cell was quoted, so it is never a cell
//     boundary, and we read it as the decimal point. A comma followed by
//     exactly three digits ("1,234") is refused as ambiguous (a thousands
//     separator?), as is a number with both a comma and a dot; spaces
//     between digit groups ("1 234,50") are dropped. Inside list cells
//     (products' "name:qty", goals' "goal:price") commas separate items, so
//     there only a dot is a decimal point.
//   - products: a JSON object {"name": qty} (in CSV too) or "name:qty,..."
//     split at the last colon; a name without ":qty" means one piece. goals:
//     "goal" or "goal:price" items; in JSON also an array of those strings or
//     of {"goal": ..., "price": ...} objects.
//   - A date-time without a time of day means 23:59:59 of that day (SPEC.md
//     §1); for an order's create_date_time that is today, that would be in
//     the future, so it is read as the upload time instead. Any other
//     create_date_time after Options.Now is an error. finish_date_time before
//     create_date_time is accepted as sent. birth_date may be before 1970
//     (people are), from 1900 on, and not in the future.
//   - Statuses: Options.Statuses first, then the five type names in any case;
//     Order.Status keeps the CRM's status as sent. A simple order without a
//     status is PAID, and carries FieldStatus.
//   - Identifier columns (client_ids, emails, phones and their hashes,
//     user_ids) fill Order.IDs in full orders too, so that plain emails and
//     phones are hashed rather than kept as custom attributes.
//   - Lists: items trimmed, empty items dropped, duplicates dropped keeping
//     the first; at most 1000 items in one cell. A goal listed twice counts
//     once, at its first price; products are kept as sent.
//   - Limits: uniq_id, id, client_uniq_id, order_status, a user id and a
//     goal at most 256 bytes; name, a product name and a custom attribute
//     at most 8192; a CSV row at most 64 MiB; in JSON a string or number
//     1 MiB, an element 4 MiB, nesting 64 levels.
//   - A CSV row with more or fewer cells than the header is a row error.
//     Blank lines are skipped. Options.MaxRows applies to JSON only.
//   - Text is UTF-8 without NUL bytes: a cell with bytes that are not UTF-8,
//     or with a NUL (a JSON \u0000 too), is a row error; a UTF-16 file is
//     refused on line 1. A CSV file whose first line ends in a lone CR (old
//     Mac exports) has its lone CRs read as line ends, and a line break
//     inside a quoted cell of it as \n (internal/textfile); other files
//     are read byte for byte, as encoding/csv reads them.
//
// Next reuses the slices and the Attrs map of the struct it fills (it resets
// the struct itself, keeping only CounterID): a caller that keeps a row past
// the next call copies them or passes a new struct each time.
package crm

import (
	"encoding/json"
	"errors"
	"io"
	"strconv"
	"strings"
	"time"

	"github.com/crmlink/crmlink"
)

// Options configure a reader.
type Options struct {
	// Location is the counter's time zone: date-times without a zone are
	// read in it. Nil means UTC.
	Location *time.Location
	// Now is the upload's time: an order created after it is in the future.
	// Zero disables the check.
	Now time.Time
	// Delimiter of a CSV file: ',' (also for 0, Metrica's COMMA default),
	// ';' or a tab.
	Delimiter rune
	// ColumnsMapping maps our field names to the file's header names
	// (Metrica's columns_mapping); CSV only.
	ColumnsMapping map[string]string
	// Statuses resolves an order's CRM status to its type; nil accepts only
	// the five type names, in any case.
	Statuses crmlink.StatusResolver
	// MaxRows is the most elements one JSON request may carry (0: no cap).
	// Past it, Next returns a *crmlink.Error of KindTooLarge.
	MaxRows int
	// SkipInvalid (on_error=skip) makes Next skip bad rows, still recorded
	// in Errors, and end with io.EOF rather than a ValidationError.
	SkipInvalid bool
	// Partial reads orders for merge modes UPDATE and APPEND, where a row
	// of an order the store already has carries its id and the fields
	// that change: only id is required. Whether a row that leaves out
	// client_uniq_id, create_date_time or order_status names a known
	// order is for the store to check.
	Partial bool
}

// Limits on one value.
const (
	maxIDLen    = 256  // uniq_id, id, client_uniq_id, a user id, a status, a goal
	maxTextLen  = 8192 // name, custom attributes, a product name
	maxListLen  = 1000 // items in one list cell
	maxIntDigit = 14   // integer digits of a decimal: DECIMAL(18,4)
	maxFracDig  = 4
)

// field is one of our field names.
type field uint8

const (
	fUniqID field = iota
	fName
	fCreate
	fUpdate
	fBirthDate
	fClientIDs
	fEmails
	fPhones
	fEmailsMD5
	fPhonesMD5
	fEmailsSHA256
	fPhonesSHA256
	fUserIDs
	fID
	fClientUniqID
	fClientType
	fFinish
	fStatus
	fRevenue
	fCost
	fProducts
	fGoals
	fCurrency
	nFields
)

var fieldNames = [nFields]string{
	fUniqID: "uniq_id", fName: "name", fCreate: "create_date_time", fUpdate: "update_date_time",
	fBirthDate: "birth_date", fClientIDs: "client_ids", fEmails: "emails", fPhones: "phones",
	fEmailsMD5: "emails_md5", fPhonesMD5: "phones_md5", fEmailsSHA256: "emails_sha256",
	fPhonesSHA256: "phones_sha256", fUserIDs: "user_ids", fID: "id", fClientUniqID: "client_uniq_id",
	fClientType: "client_type", fFinish: "finish_date_time", fStatus: "order_status", fRevenue: "revenue",
	fCost: "cost", fProducts: "products", fGoals: "goals", fCurrency: "currency",
}

// lookupField finds our field by name, ignoring case and surrounding spaces.
func lookupField(name string) (field, bool) {
	name = strings.ToLower(strings.TrimSpace(name))
	for f, n := range fieldNames {
		if n == name {
			return field(f), true
		}
	}
	return 0, false
}

type fieldSet uint32

func setOf(fs ...field) fieldSet {
	var s fieldSet
	for _, f := range fs {
		s |= 1 << f
	}
	return s
}

func (s fieldSet) has(f field) bool { return s&(1<<f) != 0 }

// entity is a kind of upload: which fields it knows and which it requires.
type entity struct {
	name     string // for messages
	jsonKey  string // the array's key in a JSON body
	allowed  fieldSet
	required fieldSet
	simple   bool
	partial  bool // see Options.Partial
}

var idFields = []field{fClientIDs, fEmails, fPhones, fEmailsMD5, fPhonesMD5, fEmailsSHA256, fPhonesSHA256, fUserIDs}

var (
	contacts = &entity{name: "contacts", jsonKey: "contacts",
		allowed:  setOf(append([]field{fUniqID, fName, fCreate, fUpdate, fBirthDate}, idFields...)...),
		required: setOf(fUniqID)}
	orderFields = append([]field{fID, fClientUniqID, fClientType, fCreate, fUpdate, fFinish, fStatus,
		fRevenue, fCost, fProducts, fGoals, fCurrency}, idFields...)
	fullOrders = &entity{name: "orders", jsonKey: "orders",
		allowed:  setOf(orderFields...),
		required: setOf(fID, fClientUniqID, fCreate, fStatus)}
	simpleOrders = &entity{name: "simple orders", jsonKey: "orders",
		allowed:  setOf(orderFields...),
		required: setOf(fCreate), simple: true}
	// partialOrders and partialSimpleOrders are the two under
	// Options.Partial: a full order's row needs its id; a simple order's
	// row needs nothing in the header, and without an id it needs its
	// creation time and a customer as in SAVE.
	partialOrders = &entity{name: "orders", jsonKey: "orders",
		allowed:  setOf(orderFields...),
		required: setOf(fID), partial: true}
	partialSimpleOrders = &entity{name: "simple orders", jsonKey: "orders",
		allowed: setOf(orderFields...), simple: true, partial: true}
)

// ParseColumnsMapping parses Metrica's columns_mapping query parameter,
// `"uniq_id":"ID","name":"Full name"`, also accepted wrapped in braces as a
// JSON object. Keys are our field names (matched without regard to case),
// values the file's headers. Empty input gives a nil map.
func ParseColumnsMapping(s string) (map[string]string, error) {
	s = strings.TrimSpace(s)
	if s == "" {
		return nil, nil
	}
	if !strings.HasPrefix(s, "{") {
		s = "{" + s + "}"
	}
	bad := func(format string, args ...any) error {
		return crmlink.Errorf(crmlink.KindInvalid, "invalid columns_mapping: "+format, args...)
	}
	dec := json.NewDecoder(strings.NewReader(s))
	if t, err := dec.Token(); err != nil || t != json.Delim('{') {
		return nil, bad(`want "our_field":"file header" pairs separated by commas`)
	}
	m := map[string]string{}
	byHeader := map[string]string{}
	for dec.More() {
		t, err := dec.Token()
		if err != nil {
			return nil, bad("%s", jsonSyntaxReason(err, dec.InputOffset()))
		}
		key := strings.ToLower(strings.TrimSpace(t.(string)))
		t, err = dec.Token()
		if err != nil {
			return nil, bad("%s", jsonSyntaxReason(err, dec.InputOffset()))
		}
		val, ok := t.(string)
		if !ok {
			return nil, bad("the header for %q must be a string", key)
		}
		val = strings.TrimSpace(val)
		switch {
		case key == "":
			return nil, bad("an empty field name")
		case val == "":
			return nil, bad("an empty header for %q", key)
		}
		if _, dup := m[key]; dup {
			return nil, bad("%q is mapped twice", key)
		}
		if other, dup := byHeader[strings.ToLower(val)]; dup {
			return nil, bad("header %q is mapped to both %q and %q", val, other, key)
		}
		m[key] = val
		byHeader[strings.ToLower(val)] = key
	}
	if _, err := dec.Token(); err != nil {
		return nil, bad("%s", jsonSyntaxReason(err, dec.InputOffset()))
	}
	if _, err := dec.Token(); err != io.EOF {
		return nil, bad("unexpected text after the pairs")
	}
	return m, nil
}

// jsonSyntaxReason describes an error of json.Decoder.Token with the
// Decoder's InputOffset (0-based from the start of the body): the offending
// character, or the start of a bad literal. (SyntaxError.Offset is not a
// position in the body when the Decoder decoded a literal.)
func jsonSyntaxReason(err error, offset int64) string {
	if offset < 0 {
		offset = 0
	}
	msg := err.Error()
	if errors.Is(err, io.ErrUnexpectedEOF) || errors.Is(err, io.EOF) {
		msg = "the JSON ends too early"
	}
	return "malformed JSON at byte offset " + strconv.FormatInt(offset, 10) + ": " + msg
}
