package http

import (
	"context"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/crmlink/crmlink"
	"github.com/crmlink/crmlink/crm"
	"github.com/crmlink/crmlink/report"
	"github.com/shopspring/decimal"
)

// The Clients report's filters, shared by the API, its CSV and the page:
// search (id, name, ClientID, UserID, or an email or phone by its hashes),
// source (a traffic source id: customers with a session from it), status
// (an order status type: customers with an order of it), min_spent and
// max_spent (paid revenue in the report's currency, inclusive), and date1
// and date2 (customers with an order created on those days of the
// counter, inclusive).

// maxSearch is the longest search text read; a longer one is cut.
const maxSearch = 200

// clientsQuery reads the Clients report's filters from p, and the saved
// segment it names (segment=<id>).
func (s *Server) clientsQuery(ctx context.Context, p url.Values, c *crmlink.Counter) (*crmlink.ClientsQuery, error) {
	now := s.cfg.Clock.Now()
	q := &crmlink.ClientsQuery{CounterID: c.ID, Sort: p.Get("sort"), Currency: c.Currency}
	q.Search = strings.TrimSpace(p.Get("search"))
	if len(q.Search) > maxSearch {
		q.Search = q.Search[:maxSearch]
	}
	if q.Search != "" {
		q.SearchHashes = crm.SearchHashes(q.Search)
	}
	if v := p.Get("source"); v != "" {
		if !crmlink.SourceKind(v).Valid() {
			return nil, crmlink.Errorf(crmlink.KindInvalid, "source: %q is not a traffic source id", v)
		}
		q.Source = crmlink.SourceKind(v)
	}
	if v := p.Get("status"); v != "" {
		t, ok := crmlink.ParseStatusType(v)
		if !ok {
			return nil, crmlink.Errorf(crmlink.KindInvalid, "status: %q: want IN_PROGRESS, PAID, CANCELLED, SPAM or OTHER", v)
		}
		q.Status = t
	}
	for _, b := range []struct {
		name string
		dst  *decimal.NullDecimal
	}{{"min_spent", &q.MinSpent}, {"max_spent", &q.MaxSpent}} {
		v := p.Get(b.name)
		if v == "" {
			continue
		}
		d, err := decimal.NewFromString(strings.ReplaceAll(v, ",", "."))
		if err != nil {
			return nil, crmlink.Errorf(crmlink.KindInvalid, "%s: %q is not a number", b.name, v)
		}
		*b.dst = decimal.NewNullDecimal(d)
	}
	loc, err := c.Location()
	if err != nil {
		return nil, err
	}
	today := now.In(loc)
	for _, b := range []struct {
		name string
		dst  *time.Time
		next int // days after the date the bound is
	}{{"date1", &q.OrderedFrom, 0}, {"date2", &q.OrderedTo, 1}} {
		v := p.Get(b.name)
		if v == "" {
			continue
		}
		d, err := report.ParseDate(v, today)
		if err != nil {
			return nil, crmlink.Errorf(crmlink.KindInvalid, "%s: %s", b.name, crmlink.MessageOf(err))
		}
		*b.dst = time.Date(d.Year(), d.Month(), d.Day()+b.next, 0, 0, 0, 0, loc).UTC()
	}
	seg, err := s.namedSegment(ctx, p, c.ID)
	if err != nil || seg == "" {
		return q, err
	}
	goals, err := s.cfg.Store.Goals(ctx, c.ID)
	if err != nil {
		return nil, err
	}
	if q.Segment, err = report.ParseSegment(seg, report.SegmentRequest{Counter: c, Goals: goals, Now: now}); err != nil {
		return nil, err
	}
	return q, nil
}

// clientsCSVColumns are the Clients report's CSV columns: the API's names.
var clientsCSVColumns = []string{"uniq_id", "name", "client_ids", "user_ids", "emails", "phones", "orders", "in_progress",
	"paid", "cancelled", "spam", "other", "total_spent", "days_since_first_order", "days_since_last_order",
	"first_source", "last_source", "sessions"}

// clientsCSVNumbers are the columns of clientsCSVColumns that hold numbers.
var clientsCSVNumbers = []int{4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 17}

// clientCells is one row of the Clients CSV, in clientsCSVColumns' order.
func clientCells(r *crmlink.ClientRow) []string {
	days := func(p *int) string {
		if p == nil {
			return ""
		}
		return strconv.Itoa(*p)
	}
	return []string{r.UniqID, r.Name, strings.Join(r.ClientIDs, ","), strings.Join(r.UserIDs, ","), strconv.Itoa(r.Emails),
		strconv.Itoa(r.Phones), strconv.Itoa(r.Orders), strconv.Itoa(r.InProgress), strconv.Itoa(r.Paid),
		strconv.Itoa(r.Cancelled), strconv.Itoa(r.Spam), strconv.Itoa(r.Other), r.TotalSpent.String(),
		days(r.DaysSinceFirst), days(r.DaysSinceLast), r.FirstSource, r.LastSource, strconv.Itoa(r.Sessions)}
}

// clientsCSVPage is how many customers one query of a CSV download reads.
const clientsCSVPage = 5000

// writeClientsCSV writes every customer q selects, page by page, so that
// memory stays flat whatever their number: head, then each row as cells
// makes it. A failed write ends it (the client went away).
func (s *Server) writeClientsCSV(r *http.Request, w *report.CSVWriter, q *crmlink.ClientsQuery, head []string, cells func(*crmlink.ClientRow) []string) error {
	if err := w.Write(head); err != nil {
		return nil
	}
	q.Limit = clientsCSVPage
	for q.Offset = 0; ; q.Offset += clientsCSVPage {
		res, err := s.cfg.Store.Clients(r.Context(), q)
		if err != nil {
			return err
		}
		for i := range res.Rows {
			if err := w.Write(cells(&res.Rows[i])); err != nil {
				return nil
			}
		}
		if len(res.Rows) < clientsCSVPage {
			w.Flush()
			return nil
		}
	}
}

// clientsCSV is ours: GET .../clients.csv, every customer the filters
// select, with the API's column names.
func (s *Server) clientsCSV(w http.ResponseWriter, r *http.Request) error {
	counter, err := s.counterFor(r, crmlink.ScopeRead)
	if err != nil {
		return err
	}
	q, err := s.clientsQuery(r.Context(), r.URL.Query(), counter)
	if err != nil {
		return err
	}
	w.Header().Set("Content-Type", "text/csv; charset=utf-8")
	w.Header().Set("Content-Disposition", `attachment; filename="clients.csv"`)
	cw := report.NewCSVWriter(w)
	cw.NumberColumns(clientsCSVNumbers...)
	return s.writeClientsCSV(r, cw, q, clientsCSVColumns, clientCells)
}
