package http

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/crmlink/crmlink"
	"github.com/crmlink/crmlink/crm"
)

// Expenses keep Metrica's expense calls: an upload (a CSV file of spend),
// a file or a single request naming spend to delete, and the list and
// status of these uploads.
func (s *Server) expenseRoutes() {
	base := "/management/v1/counter/{id}/expense/"
	s.handle("POST "+base+"upload", s.uploadExpenses)
	s.handle("POST "+base+"delete", s.deleteExpenses)
	s.handle("POST "+base+"delete_single", s.deleteExpenseSingle)
	s.handle("GET "+base+"uploadings", s.listExpenseUploadings)
	s.handle("GET "+base+"uploading/{uid}", s.getExpenseUploading)
}

// expenseUploadingJSON is Metrica's ExpenseUploading, with our counts
// beside it.
type expenseUploadingJSON struct {
	ID             json.Number `json:"id"`
	CreateTime     string      `json:"create_time"`
	SourceQuantity int         `json:"source_quantity"`
	Provider       string      `json:"provider"`
	Comment        string      `json:"comment"`
	Type           string      `json:"type"`   // EXPENSES, REMOVES
	Status         string      `json:"status"` // PROCESSED; ours: FAILED
	// Ours.
	Rows     int      `json:"rows"`
	Accepted int      `json:"accepted"`
	Rejected int      `json:"rejected"`
	Removed  *int64   `json:"removed,omitempty"` // days deleted, for REMOVES
	Warnings []string `json:"warnings,omitempty"`
	// OtherCurrencies counts the rows of each currency other than the
	// counter's, whose money its reports leave out: the warnings, as
	// data, for a client that words them itself (the dashboard does, in
	// the reader's language).
	OtherCurrencies map[string]int     `json:"other_currencies,omitempty"`
	Errors          []crmlink.RowError `json:"errors,omitempty"`
}

func expenseUploadingOut(up *crmlink.Upload, x *crmlink.ExpenseUpload, cc *currencyCount, counter *crmlink.Counter) expenseUploadingJSON {
	out := expenseUploadingJSON{ID: json.Number(up.ID), CreateTime: up.Created.UTC().Format(time.RFC3339), SourceQuantity: up.Rows,
		Provider: x.Provider, Comment: x.Comment, Type: "EXPENSES", Status: "PROCESSED",
		Rows: up.Rows, Accepted: up.Accepted, Rejected: up.Rejected, Errors: up.Errors}
	if cc != nil {
		out.Warnings, out.OtherCurrencies = cc.warnings(counter), cc.others(counter)
	}
	if up.Entity == crmlink.EntityExpenseRemoves {
		out.Type = "REMOVES"
		removed := x.Removed
		out.Removed = &removed
	}
	if up.Status == crmlink.UploadFailed {
		out.Status = "FAILED"
	}
	return out
}

// expenseParams are an expense call's provider (Metrica's default:
// "default") and comment.
func expenseParams(r *http.Request) *crmlink.ExpenseUpload {
	q := r.URL.Query()
	x := &crmlink.ExpenseUpload{Provider: strings.TrimSpace(q.Get("provider")), Comment: strings.TrimSpace(q.Get("comment"))}
	if len(x.Comment) > 1000 {
		x.Comment = x.Comment[:1000]
	}
	return x
}

// currencyCount counts the rows of each currency a reader yields.
type currencyCount struct {
	r interface {
		crmlink.ExpenseReader
		crmlink.RowCounter
	}
	counts map[string]int
}

func (c *currencyCount) Next(e *crmlink.Expense) error {
	err := c.r.Next(e)
	if err == nil {
		c.counts[e.Currency]++
	}
	return err
}

// Rows and Errors pass on the reader's counts and row errors
// (crmlink.RowCounter): the upload's record reads them.
func (c *currencyCount) Rows() int { return c.r.(crmlink.RowCounter).Rows() }

func (c *currencyCount) Errors() *crmlink.ValidationError { return c.r.(crmlink.RowCounter).Errors() }

// Failing passes on whether the reader's upload will fail.
func (c *currencyCount) Failing() bool {
	f, ok := c.r.(interface{ Failing() bool })
	return ok && f.Failing()
}

// others counts the rows of each currency other than the counter's; nil
// when there are none.
func (c *currencyCount) others(counter *crmlink.Counter) map[string]int {
	var out map[string]int
	for cur, n := range c.counts {
		if cur != "" && cur != counter.Currency {
			if out == nil {
				out = map[string]int{}
			}
			out[cur] = n
		}
	}
	return out
}

// warnings say which rows a report in the counter's currency leaves out.
func (c *currencyCount) warnings(counter *crmlink.Counter) []string {
	var out []string
	for cur, n := range c.others(counter) {
		out = append(out, fmt.Sprintf("%d rows are in %s: reports in %s (the counter's) leave their money out, as crmlink keeps no exchange rates; a report with currency=%s counts them",
			n, cur, counter.Currency, cur))
	}
	slices.Sort(out)
	return out
}

func (s *Server) uploadExpenses(w http.ResponseWriter, r *http.Request) error {
	return s.expenseFile(w, r, false)
}

func (s *Server) deleteExpenses(w http.ResponseWriter, r *http.Request) error {
	return s.expenseFile(w, r, true)
}

// expenseFile reads an uploaded expenses file, or one naming expenses to
// delete, and applies it.
func (s *Server) expenseFile(w http.ResponseWriter, r *http.Request, remove bool) error {
	c, err := s.counterFor(r, crmlink.ScopeWrite)
	if err != nil {
		return err
	}
	opt := crm.Options{Now: s.cfg.Clock.Now(), SkipInvalid: strings.EqualFold(r.URL.Query().Get("on_error"), "skip")}
	body, err := uploadedFile(r)
	if err != nil {
		return err
	}
	open := crm.NewExpensesCSV
	if remove {
		open = crm.NewExpenseRemovesCSV
	}
	rd, err := open(body, opt)
	if err != nil {
		return withType("invalid_uploading", err)
	}
	return s.applyExpenses(w, r, c, rd, remove, opt.SkipInvalid)
}

// applyExpenses stores or deletes a reader's expenses and answers the
// upload.
func (s *Server) applyExpenses(w http.ResponseWriter, r *http.Request, c *crmlink.Counter, rd *crm.ExpenseReader, remove, skip bool) error {
	x := expenseParams(r)
	up := &crmlink.Upload{CounterID: c.ID, Format: "CSV", Source: "API", SkipInvalid: skip}
	cc := &currencyCount{r: rd, counts: map[string]int{}}
	apply := s.cfg.Store.UploadExpenses
	if remove {
		apply = s.cfg.Store.DeleteExpenses
	}
	if err := apply(r.Context(), up, x, cc); err != nil {
		if kind := crmlink.KindOf(err); kind == crmlink.KindInvalid || kind == crmlink.KindTooLarge {
			return &typedError{errorType: "invalid_uploading", uploadingID: up.ID, err: err}
		}
		return err
	}
	return writeJSON(w, http.StatusOK, map[string]any{"uploading": expenseUploadingOut(up, x, cc, c)})
}

// deleteExpenseSingle answers POST .../expense/delete_single?date=&...:
// the spend one row of a delete file would name, given in the query.
func (s *Server) deleteExpenseSingle(w http.ResponseWriter, r *http.Request) error {
	c, err := s.counterFor(r, crmlink.ScopeWrite)
	if err != nil {
		return err
	}
	q := r.URL.Query()
	if q.Get("date") == "" {
		return withType("missing_parameter", crmlink.Errorf(crmlink.KindInvalid, "date: missing: want YYYY-MM-DD or YYYY-MM-DD/YYYY-MM-DD"))
	}
	// The query becomes the one row of a delete file, read as one.
	names := []string{"Date"}
	values := []string{q.Get("date")}
	for _, p := range []struct{ param, column string }{
		{"UTMSource", "UTMSource"}, {"UTMMedium", "UTMMedium"}, {"UTMCampaign", "UTMCampaign"}, {"UTMTerm", "UTMTerm"},
		{"UTMContent", "UTMContent"}, {"trafficSource", "TrafficSource"}, {"trafficSourceDetail", "TrafficSourceDetail"},
	} {
		if v := q.Get(p.param); v != "" {
			names = append(names, p.column)
			values = append(values, v)
		}
	}
	var b strings.Builder
	writeCSVLine(&b, names)
	writeCSVLine(&b, values)
	rd, err := crm.NewExpenseRemovesCSV(strings.NewReader(b.String()), crm.Options{Now: s.cfg.Clock.Now()})
	if err != nil {
		return err
	}
	return s.applyExpenses(w, r, c, rd, true, false)
}

// writeCSVLine writes one CSV line, every field quoted.
func writeCSVLine(w io.Writer, fields []string) {
	for i, f := range fields {
		if i > 0 {
			io.WriteString(w, ",")
		}
		io.WriteString(w, `"`+strings.ReplaceAll(f, `"`, `""`)+`"`)
	}
	io.WriteString(w, "\n")
}

// expenseUploading returns one expense upload and what the expense calls
// say of it, or NotFound for an upload of another kind.
func (s *Server) expenseUploading(r *http.Request, c *crmlink.Counter, id string) (*crmlink.Upload, *crmlink.ExpenseUpload, error) {
	up, err := s.cfg.Store.Upload(r.Context(), c.ID, id)
	if err != nil {
		return nil, nil, err
	}
	if up.Entity != crmlink.EntityExpenses && up.Entity != crmlink.EntityExpenseRemoves {
		return nil, nil, crmlink.Errorf(crmlink.KindNotFound, "uploading %s is not an expenses upload", up.ID)
	}
	x, err := s.cfg.Store.ExpenseUploadInfo(r.Context(), c.ID, up.ID)
	if crmlink.KindOf(err) == crmlink.KindNotFound {
		// A failed upload is recorded without them.
		x, err = &crmlink.ExpenseUpload{}, nil
	}
	return up, x, err
}

func (s *Server) getExpenseUploading(w http.ResponseWriter, r *http.Request) error {
	c, err := s.counterFor(r, crmlink.ScopeRead)
	if err != nil {
		return err
	}
	up, x, err := s.expenseUploading(r, c, r.PathValue("uid"))
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, map[string]any{"uploading": expenseUploadingOut(up, x, nil, nil)})
}

// listExpenseUploadings answers GET .../expense/uploadings?limit=&offset=:
// the expense uploads, newest first (offset from 0, as Metrica's).
func (s *Server) listExpenseUploadings(w http.ResponseWriter, r *http.Request) error {
	c, err := s.counterFor(r, crmlink.ScopeRead)
	if err != nil {
		return err
	}
	q := r.URL.Query()
	limit, offset := 10000, 0
	for _, p := range []struct {
		name string
		dst  *int
		min  int
	}{{"limit", &limit, 1}, {"offset", &offset, 0}} {
		if v := q.Get(p.name); v != "" {
			n, err := strconv.Atoi(v)
			if err != nil || n < p.min || n > 10000 {
				return crmlink.Errorf(crmlink.KindInvalid, "%s: %q: want a whole number from %d to 10000", p.name, v, p.min)
			}
			*p.dst = n
		}
	}
	ups, err := s.cfg.Store.Uploads(r.Context(), c.ID, time.Time{}, 100_000)
	if err != nil {
		return err
	}
	out := []expenseUploadingJSON{}
	seen := 0
	for _, up := range ups {
		if up.Entity != crmlink.EntityExpenses && up.Entity != crmlink.EntityExpenseRemoves {
			continue
		}
		seen++
		if seen <= offset || len(out) >= limit {
			continue
		}
		_, x, err := s.expenseUploading(r, c, up.ID)
		if err != nil {
			return err
		}
		out = append(out, expenseUploadingOut(up, x, nil, nil))
	}
	return writeJSON(w, http.StatusOK, map[string]any{"uploadings": out})
}
