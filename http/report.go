package http

import (
	"context"
	"net/http"
	"net/url"
	"strconv"

	"github.com/crmlink/crmlink"
	"github.com/crmlink/crmlink/report"
)

func (s *Server) reportRoutes() {
	// Metrica answers the .json paths as the bare ones, which clients use.
	s.handle("GET /stat/v1/data", s.reportTable)
	s.handle("GET /stat/v1/data.json", s.reportTable)
	s.handle("GET /stat/v1/data.csv", s.reportCSV)
	s.handle("GET /stat/v1/data/bytime", s.reportSeries)
	s.handle("GET /stat/v1/data/bytime.json", s.reportSeries)
	s.handle("GET /stat/v1/data/comparison", s.reportComparison)
	s.handle("GET /stat/v1/data/comparison.json", s.reportComparison)
	s.handle("GET /stat/v1/data/drilldown", s.reportDrilldown)
	s.handle("GET /stat/v1/data/drilldown.json", s.reportDrilldown)
	s.handle("GET /cdp/api/v1/counter/{id}/clients", s.clients)
	s.handle("GET /cdp/api/v1/counter/{id}/clients.csv", s.clientsCSV)
}

// runReport validates the request (ids names the counter; a read token
// for it is needed) and runs it.
func (s *Server) runReport(r *http.Request, series bool) (*crmlink.ReportResult, error) {
	return s.runReportParams(r, r.URL.Query(), series)
}

// runReportParams is runReport with the request's parameters given.
func (s *Server) runReportParams(r *http.Request, params url.Values, series bool) (*crmlink.ReportResult, error) {
	ids := params.Get("ids")
	if ids == "" {
		ids = params.Get("id")
	}
	if ids == "" {
		return nil, withType("missing_parameter", crmlink.Errorf(crmlink.KindInvalid, "ids: missing: name the counter"))
	}
	id, err := crmlink.ParseCounterID(ids)
	if err != nil {
		return nil, crmlink.Errorf(crmlink.KindInvalid, "ids: %q: want one counter id", ids)
	}
	if _, err := s.authorize(r, id, crmlink.ScopeRead); err != nil {
		return nil, err
	}
	counter, err := s.cfg.Store.Counter(r.Context(), id)
	if err != nil {
		return nil, err
	}
	goals, err := s.cfg.Store.Goals(r.Context(), id)
	if err != nil {
		return nil, err
	}
	seg, err := s.namedSegment(r.Context(), params, id)
	if err != nil {
		return nil, err
	}
	q, err := report.Parse(report.Request{Counter: counter, Goals: goals, Now: s.cfg.Clock.Now(), Params: params, Series: series, Segment: seg})
	if err != nil {
		return nil, err
	}
	return s.cfg.Store.Report(r.Context(), q)
}

func (s *Server) reportTable(w http.ResponseWriter, r *http.Request) error {
	res, err := s.runReport(r, false)
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, report.Table(res, r.URL.Query()))
}

func (s *Server) reportSeries(w http.ResponseWriter, r *http.Request) error {
	res, err := s.runReport(r, true)
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, report.Series(res, r.URL.Query()))
}

// reportComparison answers Metrica's comparison method: the report for
// segments A and B (report.Comparison), each run in full and merged.
func (s *Server) reportComparison(w http.ResponseWriter, r *http.Request) error {
	params := r.URL.Query()
	limit, offset := report.DefaultLimit, 1
	if v := params.Get("limit"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 || n > report.MaxLimit {
			return crmlink.Errorf(crmlink.KindInvalid, "limit: %q: want a whole number from 1 to %d", v, report.MaxLimit)
		}
		limit = n
	}
	if v := params.Get("offset"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 {
			return crmlink.Errorf(crmlink.KindInvalid, "offset: %q: want a whole number from 1 (the first row)", v)
		}
		offset = n
	}
	var res [2]*crmlink.ReportResult
	for i, side := range []string{"a", "b"} {
		out, err := s.runReportParams(r, report.ComparisonParams(params, side), false)
		if err != nil {
			return err
		}
		if len(out.Query.MetricFilters) > 0 {
			return crmlink.Errorf(crmlink.KindInvalid, "filters: a comparison takes no condition on a metric, as in Metrica")
		}
		res[i] = out
	}
	return writeJSON(w, http.StatusOK, report.Comparison(res[0], res[1], params, limit, offset))
}

// reportDrilldown answers Metrica's drilldown method: one level of the
// tree of the request's dimensions (report.Drilldown).
func (s *Server) reportDrilldown(w http.ResponseWriter, r *http.Request) error {
	params, level, dimensions, err := report.DrilldownParams(r.URL.Query())
	if err != nil {
		return err
	}
	res, err := s.runReportParams(r, params, false)
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, report.Drilldown(res, r.URL.Query(), level, dimensions))
}

func (s *Server) reportCSV(w http.ResponseWriter, r *http.Request) error {
	res, err := s.runReport(r, false)
	if err != nil {
		return err
	}
	w.Header().Set("Content-Type", "text/csv; charset=utf-8")
	w.Header().Set("Content-Disposition", `attachment; filename="report.csv"`)
	// A failed write means the client went away.
	_ = report.WriteCSV(w, res)
	return nil
}

func (s *Server) clients(w http.ResponseWriter, r *http.Request) error {
	counter, err := s.counterFor(r, crmlink.ScopeRead)
	if err != nil {
		return err
	}
	p := r.URL.Query()
	q, err := s.clientsQuery(r.Context(), p, counter)
	if err != nil {
		return err
	}
	q.Limit = 100
	if v := p.Get("limit"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 || n > report.MaxLimit {
			return crmlink.Errorf(crmlink.KindInvalid, "limit: %q: want a whole number from 1 to %d", v, report.MaxLimit)
		}
		q.Limit = n
	}
	if v := p.Get("offset"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 {
			return crmlink.Errorf(crmlink.KindInvalid, "offset: %q: want a whole number from 1 (the first row)", v)
		}
		q.Offset = n - 1
	}
	res, err := s.cfg.Store.Clients(r.Context(), q)
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, res)
}

// namedSegment is the expression of the saved segment a request names by
// its segment parameter, or "" when it names none.
func (s *Server) namedSegment(ctx context.Context, params url.Values, counter crmlink.CounterID) (string, error) {
	v := params.Get("segment")
	if v == "" {
		return "", nil
	}
	id, err := strconv.ParseInt(v, 10, 64)
	if err != nil || id <= 0 {
		return "", crmlink.Errorf(crmlink.KindInvalid, "segment: %q: want a saved segment's id", v)
	}
	sg, err := s.cfg.Store.Segment(ctx, counter, crmlink.SegmentID(id))
	if err != nil {
		if crmlink.KindOf(err) == crmlink.KindNotFound {
			return "", crmlink.Errorf(crmlink.KindInvalid, "segment: the counter has no segment %d", id)
		}
		return "", err
	}
	return sg.Expression, nil
}
