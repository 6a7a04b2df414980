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

// OfflineReader reads an offline conversions CSV (SPEC.md §5): one
// identifier column of ClientId, UserId, Yclid or PurchaseId, then Target,
// DateTime (Unix seconds, UTC), and optional Price and Currency. Header
// names are case-insensitive; other columns are refused, since a typo in
// one would silently drop data.
type OfflineReader struct {
	r      *csv.Reader
	opt    Options
	idType crmlink.IdentityKind
	cols   map[string]int
	header []string
	errs   crmlink.ValidationError
	rows   int
	done   bool
	line   int
	bad    bool
	// failing is set once the upload is bound to fail; read by Failing
	// from other goroutines.
	failing atomic.Bool
}

var offlineIDColumns = map[string]crmlink.IdentityKind{
	"clientid": crmlink.IdentityClientID, "userid": crmlink.IdentityUserID,
	"yclid": crmlink.IdentityYclid, "purchaseid": crmlink.IdentityPurchaseID,
}

// NewOfflineCSV reads the header of an offline conversions file.
func NewOfflineCSV(in io.Reader, opt Options) (*OfflineReader, error) {
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
	r := &OfflineReader{r: cr, opt: opt, cols: map[string]int{}}
	head, err := cr.Read()
	if err != nil {
		return nil, headerFail("the file is empty or its header is not CSV: want ClientId,Target,DateTime")
	}
	r.header = append([]string(nil), head...)
	v := &crmlink.ValidationError{BadRows: 1}
	for i, h := range r.header {
		key := strings.ToLower(strings.TrimSpace(h))
		if kind, ok := offlineIDColumns[key]; ok {
			if r.idType != "" {
				v.Add(crmlink.RowError{Line: 1, Column: h, Reason: "only one identifier column (ClientId, UserId, Yclid or PurchaseId) per file"})
				continue
			}
			r.idType = kind
			r.cols["id"] = i
			continue
		}
		switch key {
		case "target", "datetime", "price", "currency":
			if _, dup := r.cols[key]; dup {
				v.Add(crmlink.RowError{Line: 1, Column: h, Reason: "column appears twice in the header"})
			}
			r.cols[key] = i
		default:
			v.Add(crmlink.RowError{Line: 1, Column: h, Reason: "unknown column: want ClientId, UserId, Yclid or PurchaseId, Target, DateTime, Price, Currency"})
		}
	}
	if r.idType == "" {
		v.Add(crmlink.RowError{Line: 1, Column: "ClientId", Reason: "an identifier column is required: ClientId, UserId, Yclid or PurchaseId"})
	}
	for _, need := range []string{"Target", "DateTime"} {
		if _, ok := r.cols[strings.ToLower(need)]; !ok {
			v.Add(crmlink.RowError{Line: 1, Column: need, Reason: "required column is missing from the header"})
		}
	}
	if v.Total > 0 {
		return nil, v
	}
	return r, nil
}

func headerFail(reason string) *crmlink.ValidationError {
	v := &crmlink.ValidationError{BadRows: 1}
	v.Add(crmlink.RowError{Line: 1, Reason: reason})
	return v
}

// IDType is the kind of identifier the file carries.
func (r *OfflineReader) IDType() crmlink.IdentityKind { return r.idType }

// Rows counts the data rows read.
func (r *OfflineReader) Rows() int { return r.rows }

// Errors returns the row errors so far.
func (r *OfflineReader) Errors() *crmlink.ValidationError { return &r.errs }

func (r *OfflineReader) fail(col int, value, reason string) {
	r.bad = true
	name := ""
	if col >= 0 && col < len(r.header) {
		name = r.header[col]
	}
	r.errs.Add(crmlink.RowError{Line: r.line, Column: name, Value: value, Reason: reason})
}

// Next implements crmlink.OfflineConversionReader.
func (r *OfflineReader) Next(c *crmlink.OfflineConversion) error {
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
		*c = crmlink.OfflineConversion{IDType: r.idType, Line: r.line}
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
			r.fill(rec, c)
		}
		if r.bad {
			r.errs.BadRows++
			if !r.opt.SkipInvalid {
				r.failing.Store(true)
			}
			continue
		}
		return nil // a good row, also after a bad one: see reader.keep
	}
	switch {
	case r.errs.Total > 0 && !r.opt.SkipInvalid:
		return &r.errs
	case r.rows == 0 && r.errs.Total == 0:
		return crmlink.Errorf(crmlink.KindInvalid, "the file has no rows: want at least one row after the header")
	}
	return io.EOF
}

// Failing reports that the upload has a bad row and will fail. It may be
// called from any goroutine.
func (r *OfflineReader) Failing() bool { return r.failing.Load() }

func (r *OfflineReader) fill(rec []string, c *crmlink.OfflineConversion) {
	idCol := r.cols["id"]
	c.ID = strings.TrimSpace(rec[idCol])
	switch {
	case c.ID == "":
		r.fail(idCol, "", "required value is empty")
	case r.idType == crmlink.IdentityClientID:
		if n, err := strconv.ParseUint(c.ID, 10, 64); err != nil || n == 0 {
			r.fail(idCol, c.ID, "a ClientId is a positive integer below 2^64")
		}
	case len(c.ID) > 256:
		r.fail(idCol, c.ID, "longer than 256 bytes")
	}
	tcol := r.cols["target"]
	c.Target = strings.TrimSpace(rec[tcol])
	if c.Target == "" {
		r.fail(tcol, "", "required value is empty: the goal's identifier")
	} else if len(c.Target) > 256 {
		r.fail(tcol, c.Target, "longer than 256 bytes")
	}
	dcol := r.cols["datetime"]
	dv := strings.TrimSpace(rec[dcol])
	secs, err := strconv.ParseInt(dv, 10, 64)
	switch {
	case err != nil || secs <= 0:
		r.fail(dcol, dv, "want Unix time in seconds (UTC), like 1706868000")
	case !r.opt.Now.IsZero() && time.Unix(secs, 0).After(r.opt.Now.Add(24*time.Hour)):
		r.fail(dcol, dv, "the conversion is in the future")
	default:
		c.Time = time.Unix(secs, 0).UTC()
	}
	if pcol, ok := r.cols["price"]; ok {
		if pv := strings.TrimSpace(rec[pcol]); pv != "" {
			d, err := decimal.NewFromString(strings.Replace(pv, ",", ".", 1))
			if err != nil || d.IsNegative() {
				r.fail(pcol, pv, "want a non-negative decimal number")
			} else {
				c.Price = decimal.NewNullDecimal(d)
			}
		}
	}
	if ccol, ok := r.cols["currency"]; ok {
		if cv := strings.ToUpper(strings.TrimSpace(rec[ccol])); cv != "" {
			if !crmlink.IsCurrency(cv) {
				r.fail(ccol, cv, "not an ISO 4217 currency code")
			}
			c.Currency = cv
		}
	}
}
