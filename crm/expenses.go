package crm

import (
	"encoding/csv"
	"errors"
	"fmt"
	"io"
	"strconv"
	"strings"
	"sync/atomic"
	"time"

	"github.com/crmlink/crmlink"
	"github.com/crmlink/crmlink/internal/textfile"
	"github.com/shopspring/decimal"
)

// ExpenseReader reads Metrica's expenses CSV (SPEC.md §8): Date (a day,
// YYYY-MM-DD, or a range YYYY-MM-DD/YYYY-MM-DD), UTMSource or
// TrafficSource, Expenses (a dot decimal), and optional
// TrafficSourceDetail, UTMMedium, UTMCampaign, UTMTerm, UTMContent,
// Currency and Clicks. A file naming expenses to delete (NewExpenseRemovesCSV)
// has Date and any of the source and UTM columns, which narrow it.
// Header names are read without regard to case; other columns are
// refused, since a typo in one would silently drop data. UTM values are
// kept as they are: they are case-sensitive, as in Metrica.
type ExpenseReader struct {
	r      *csv.Reader
	opt    Options
	remove bool
	cols   map[string]int
	header []string
	errs   crmlink.ValidationError
	rows   int
	done   bool
	line   int
	bad    bool
	// Columns by role, -1 when absent, and each text column's.
	dateCol, expensesCol, currencyCol, clicksCol int
	textCols                                     []int
	// dates caches the Date cells read: a file repeats a few days.
	dates map[string]expenseDates
	// failing is set once the upload is bound to fail; read by Failing
	// from other goroutines.
	failing atomic.Bool
}

// expenseTexts are the text columns, by their lower-cased header name,
// and the field each fills.
var expenseTexts = []struct {
	key, name string
	field     func(e *crmlink.Expense) *string
}{
	{"utmsource", "UTMSource", func(e *crmlink.Expense) *string { return &e.UTMSource }},
	{"trafficsource", "TrafficSource", func(e *crmlink.Expense) *string { return &e.TrafficSource }},
	{"trafficsourcedetail", "TrafficSourceDetail", func(e *crmlink.Expense) *string { return &e.TrafficSourceDetail }},
	{"utmmedium", "UTMMedium", func(e *crmlink.Expense) *string { return &e.UTMMedium }},
	{"utmcampaign", "UTMCampaign", func(e *crmlink.Expense) *string { return &e.UTMCampaign }},
	{"utmterm", "UTMTerm", func(e *crmlink.Expense) *string { return &e.UTMTerm }},
	{"utmcontent", "UTMContent", func(e *crmlink.Expense) *string { return &e.UTMContent }},
}

// expenseDates is a Date cell read.
type expenseDates struct {
	from, to time.Time
	reason   string
}

// maxExpenseText bounds a text value.
const maxExpenseText = 1024

// NewExpensesCSV reads the header of an expenses file.
func NewExpensesCSV(in io.Reader, opt Options) (*ExpenseReader, error) {
	return newExpenseReader(in, opt, false)
}

// NewExpenseRemovesCSV reads the header of a file naming expenses to
// delete.
func NewExpenseRemovesCSV(in io.Reader, opt Options) (*ExpenseReader, error) {
	return newExpenseReader(in, opt, true)
}

func newExpenseReader(in io.Reader, opt Options, remove bool) (*ExpenseReader, error) {
	br, err := textfile.Open(in, 64<<10, true)
	if err != nil {
		if errors.Is(err, textfile.ErrUTF16) {
			return nil, headerFail(err.Error())
		}
		return nil, err
	}
	cr := csv.NewReader(br)
	if opt.Delimiter != 0 {
		cr.Comma = opt.Delimiter
	}
	cr.FieldsPerRecord = -1
	cr.ReuseRecord = true
	r := &ExpenseReader{r: cr, opt: opt, remove: remove, cols: map[string]int{}}
	head, err := cr.Read()
	if err != nil {
		return nil, headerFail("the file is empty or its header is not CSV: want Date,UTMSource,Expenses")
	}
	r.header = append([]string(nil), head...)
	known := map[string]bool{"date": true}
	for _, t := range expenseTexts {
		known[t.key] = true
	}
	want := "Date, UTMSource, TrafficSource, TrafficSourceDetail, UTMMedium, UTMCampaign, UTMTerm, UTMContent"
	if !remove {
		known["expenses"], known["currency"], known["clicks"] = true, true, true
		want += ", Expenses, Currency, Clicks"
	}
	v := &crmlink.ValidationError{BadRows: 1}
	for i, h := range r.header {
		key := strings.ToLower(strings.TrimSpace(h))
		switch {
		case !known[key]:
			v.Add(crmlink.RowError{Line: 1, Column: h, Reason: "unknown column: want " + want})
		case r.has(key):
			v.Add(crmlink.RowError{Line: 1, Column: h, Reason: "column appears twice in the header"})
		default:
			r.cols[key] = i
		}
	}
	need := []string{"Date"}
	if !remove {
		need = append(need, "Expenses")
		if !r.has("utmsource") && !r.has("trafficsource") {
			v.Add(crmlink.RowError{Line: 1, Column: "UTMSource", Reason: "required column is missing from the header: UTMSource or TrafficSource"})
		}
	}
	for _, n := range need {
		if !r.has(strings.ToLower(n)) {
			v.Add(crmlink.RowError{Line: 1, Column: n, Reason: "required column is missing from the header"})
		}
	}
	if v.Total > 0 {
		return nil, v
	}
	col := func(key string) int {
		if i, ok := r.cols[key]; ok {
			return i
		}
		return -1
	}
	r.dateCol, r.expensesCol, r.currencyCol, r.clicksCol = col("date"), col("expenses"), col("currency"), col("clicks")
	for _, t := range expenseTexts {
		r.textCols = append(r.textCols, col(t.key))
	}
	r.dates = map[string]expenseDates{}
	return r, nil
}

func (r *ExpenseReader) has(key string) bool { _, ok := r.cols[key]; return ok }

// Rows counts the data rows read.
func (r *ExpenseReader) Rows() int { return r.rows }

// Errors returns the row errors so far.
func (r *ExpenseReader) Errors() *crmlink.ValidationError { return &r.errs }

// Failing reports that the upload has a bad row and will fail. It may be
// called from any goroutine.
func (r *ExpenseReader) Failing() bool { return r.failing.Load() }

func (r *ExpenseReader) fail(col int, value, reason string) {
	r.bad = true
	name := ""
	if col >= 0 && col < len(r.header) {
		name = r.header[col]
	}
	r.errs.Add(crmlink.RowError{Line: r.line, Column: name, Value: value, Reason: reason})
}

// Next implements crmlink.ExpenseReader.
func (r *ExpenseReader) Next(e *crmlink.Expense) error {
	for !r.done {
		rec, err := r.r.Read()
		if err != nil {
			r.done = true
			var pe *csv.ParseError
			if errors.As(err, &pe) {
				r.errs.Add(crmlink.RowError{Line: pe.Line, Reason: fmt.Sprintf("CSV syntax error at column %d: %v; reading stopped here", pe.Column, pe.Err)})
				r.errs.BadRows++
				r.failing.Store(true)
				break
			}
			if errors.Is(err, io.EOF) {
				break
			}
			return err
		}
		r.line, _ = r.r.FieldPos(0)
		if len(rec) == 1 && strings.TrimSpace(rec[0]) == "" {
			continue
		}
		r.rows++
		r.bad = false
		*e = crmlink.Expense{Line: r.line}
		for i, cell := range rec {
			if i < len(r.header) {
				if reason := textProblem(cell); reason != "" {
					r.fail(i, cell, reason)
				}
			}
		}
		switch {
		case r.bad: // not UTF-8: its cells mean nothing
		case len(rec) != len(r.header):
			r.fail(-1, "", fmt.Sprintf("the row has %d fields, the header has %d", len(rec), len(r.header)))
		default:
			r.fill(rec, e)
		}
		if r.bad {
			r.errs.BadRows++
			if !r.opt.SkipInvalid {
				r.failing.Store(true)
			}
			continue
		}
		return nil
	}
	switch {
	case r.errs.Total > 0 && !r.opt.SkipInvalid:
		return &r.errs
	case r.rows == 0 && r.errs.Total == 0:
		return crmlink.Errorf(crmlink.KindInvalid, "the file has no rows: want at least one row after the header")
	}
	return io.EOF
}

// expenseAmount reads an amount DECIMAL(18,4) holds: a dot decimal, at
// most 14 digits before the point and 4 after.
func expenseAmount(s string) (decimal.Decimal, bool) {
	whole, frac, dot := strings.Cut(s, ".")
	if whole == "" || len(whole) > 14 || dot && (frac == "" || len(frac) > 4) {
		return decimal.Decimal{}, false
	}
	var units int64
	for _, part := range []string{whole, frac} {
		for i := 0; i < len(part); i++ {
			c := part[i]
			if c < '0' || c > '9' {
				return decimal.Decimal{}, false
			}
			units = units*10 + int64(c-'0')
		}
	}
	return decimal.New(units, -int32(len(frac))), true
}

func (r *ExpenseReader) fill(rec []string, e *crmlink.Expense) {
	dcol := r.dateCol
	dv := strings.TrimSpace(rec[dcol])
	d, ok := r.dates[dv]
	if !ok {
		d.from, d.to, d.reason = ParseExpenseDates(dv)
		if len(r.dates) >= 4096 {
			clear(r.dates)
		}
		r.dates[dv] = d
	}
	if d.reason != "" {
		r.fail(dcol, dv, d.reason)
	}
	e.From, e.To = d.from, d.to
	for i, t := range expenseTexts {
		col := r.textCols[i]
		if col < 0 {
			continue
		}
		v := strings.TrimSpace(rec[col])
		if len(v) > maxExpenseText {
			r.fail(col, v[:64]+"...", fmt.Sprintf("longer than %d bytes", maxExpenseText))
			continue
		}
		*t.field(e) = v
	}
	if e.TrafficSource != "" {
		k := crmlink.SourceKind(strings.ToLower(e.TrafficSource))
		if !k.Valid() {
			r.fail(r.cols["trafficsource"], e.TrafficSource, "not a traffic source id: want ad, organic, social, referral, email, messenger, recommend, direct, internal or saved")
		}
		e.TrafficSource = string(k)
	}
	if r.remove {
		return
	}
	if e.UTMSource == "" && e.TrafficSource == "" {
		col := r.cols["utmsource"]
		if !r.has("utmsource") {
			col = r.cols["trafficsource"]
		}
		r.fail(col, "", "required value is empty: UTMSource or TrafficSource")
	}
	ecol := r.expensesCol
	ev := strings.TrimSpace(rec[ecol])
	amount, ok := expenseAmount(ev)
	switch {
	case ev == "":
		r.fail(ecol, "", "required value is empty: the amount spent")
	case strings.Contains(ev, ","):
		r.fail(ecol, ev, "want a dot decimal, like 1520.50")
	case !ok:
		r.fail(ecol, ev, "want a non-negative amount, like 1520.50: at most 14 digits, and 4 after the point")
	default:
		e.Expenses = amount
	}
	if col := r.currencyCol; col >= 0 {
		if cv := strings.ToUpper(strings.TrimSpace(rec[col])); cv != "" {
			if !crmlink.IsCurrency(cv) {
				r.fail(col, cv, "not an ISO 4217 currency code")
			}
			e.Currency = cv
		}
	}
	if col := r.clicksCol; col >= 0 {
		if cv := strings.TrimSpace(rec[col]); cv != "" {
			n, err := strconv.ParseInt(cv, 10, 64)
			if err != nil || n < 0 || n > 1e12 {
				r.fail(col, cv, "want a whole number of clicks, 0 or more")
			}
			e.Clicks = n
		}
	}
}

// ParseExpenseDates reads an expense's Date: a day, YYYY-MM-DD, or a
// range YYYY-MM-DD/YYYY-MM-DD of at most crmlink.MaxExpenseDays days. It
// returns the first and last day, or why the text is not one.
func ParseExpenseDates(s string) (from, to time.Time, reason string) {
	const want = "want a date YYYY-MM-DD or a range YYYY-MM-DD/YYYY-MM-DD"
	a, b, isRange := strings.Cut(s, "/")
	from, err := time.Parse(time.DateOnly, strings.TrimSpace(a))
	if err != nil {
		return time.Time{}, time.Time{}, want
	}
	to = from
	if isRange {
		if to, err = time.Parse(time.DateOnly, strings.TrimSpace(b)); err != nil {
			return time.Time{}, time.Time{}, want
		}
	}
	switch {
	case from.Year() < 2000 || to.Year() > 2999:
		return time.Time{}, time.Time{}, "want a date from 2000 on"
	case to.Before(from):
		return time.Time{}, time.Time{}, "the range ends before it starts"
	case int(to.Sub(from).Hours()/24)+1 > crmlink.MaxExpenseDays:
		return time.Time{}, time.Time{}, fmt.Sprintf("a range spans at most %d days", crmlink.MaxExpenseDays)
	}
	return from, to, ""
}
