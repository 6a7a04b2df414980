package http

import (
	"maps"
	"net/http"
	"strconv"

	"github.com/crmlink/crmlink"
	"github.com/crmlink/crmlink/report"
	"github.com/shopspring/decimal"
)

// sourcesCSVPage is how many rows the download asks the store for at a
// time: the file is written page by page, so memory stays bounded
// whatever the number of rows.
const sourcesCSVPage = 5000

// sourcesCSV is the Order sources page's "Download CSV": every row of the
// view the page's query asks for (not only the page shown), titled as the
// page titles its columns in the reader's language, sources by their
// names. It starts with a UTF-8 byte order mark, by which Excel knows the
// file is UTF-8 (without it, Excel in a Russian locale reads Cyrillic as
// cp1251). Cells go through report.CSVWriter, which neutralises formulas;
// numbers are plain decimals with a point, so that a spreadsheet reads
// them as numbers. The API's /stat/v1/data.csv stays as it is: API names,
// no BOM.
func (s *Server) sourcesCSV(w http.ResponseWriter, r *http.Request, u *ui) error {
	v, err := s.readSourcesView(r, u)
	if err != nil {
		return err
	}
	if v.warn != "" {
		// A page shows a wrong period, or a segment since deleted, and
		// falls back; a file must not quietly hold another view than the
		// one asked for.
		return crmlink.Errorf(crmlink.KindInvalid, "%s", v.warn)
	}
	params := maps.Clone(v.params)
	params.Set("limit", strconv.Itoa(sourcesCSVPage))
	params.Set("offset", "1")
	params.Set("include_unlinked", "true")
	res, err := s.runUIReport(r, u, params, false)
	if err != nil {
		return err
	}
	unlinked := res.Unlinked
	params.Del("include_unlinked")
	name := "order-sources-" + v.per.Date1 + "-" + v.per.Date2 + ".csv"
	w.Header().Set("Content-Type", "text/csv; charset=utf-8")
	w.Header().Set("Content-Disposition", `attachment; filename="`+name+`"`)
	w.Header().Set("Cache-Control", "no-store")
	w.Header().Set("X-Content-Type-Options", "nosniff")
	if _, err := w.Write([]byte("\uFEFF")); err != nil {
		return nil
	}
	cw := report.NewCSVWriter(w)
	var head []string
	for _, k := range v.dims {
		head = append(head, u.tr.T(dimByKey[k].Label))
	}
	for i, k := range v.metricKeys {
		head = append(head, u.tr.T(colByKey[k].Label))
		cw.NumberColumns(len(v.dims) + i)
	}
	// A failed write means the client went away: the rest is not sent.
	if cw.Write(head) != nil {
		return nil
	}
	total := make([]string, len(v.dims))
	total[0] = u.tr.T("Total and averages")
	for i, k := range v.metricKeys {
		total = append(total, csvNumber(k, totalsOf(res)[i]))
	}
	if cw.Write(total) != nil {
		return nil
	}
	written := 0
	for {
		for _, row := range res.Rows {
			rec := make([]string, 0, len(v.dims)+len(v.metricKeys))
			for i, k := range v.dims {
				rec = append(rec, dimText(u.tr, k, row.Dimensions[i]))
			}
			for i, k := range v.metricKeys {
				rec = append(rec, csvNumber(k, row.Metrics[i]))
			}
			if cw.Write(rec) != nil {
				return nil
			}
		}
		written += len(res.Rows)
		if len(res.Rows) == 0 || written >= res.TotalRows {
			break
		}
		if cw.Flush() != nil {
			return nil
		}
		params.Set("offset", strconv.Itoa(written+1))
		if res, err = s.runUIReport(r, u, params, false); err != nil {
			// The header is sent: the reader sees a cut file; the log says why.
			s.cfg.Logger.ErrorContext(r.Context(), "sources csv", "err", err)
			return nil
		}
	}
	if hasOrders(v.metricKeys, unlinked) {
		// Last, as on the page: the orders no session brought.
		rec := make([]string, len(v.dims))
		rec[0] = u.tr.T(crmlink.UnlinkedName)
		for i, k := range v.metricKeys {
			rec = append(rec, csvNumber(k, unlinked.Metrics[i]))
		}
		if cw.Write(rec) != nil {
			return nil
		}
	}
	_ = cw.Flush()
	return nil
}

// csvNumber writes a column's value for a spreadsheet: money and
// percentages to two places, counts whole.
func csvNumber(k string, v decimal.Decimal) string {
	switch colByKey[k].Kind {
	case "money", "pct":
		return v.StringFixed(2)
	}
	return v.StringFixed(0)
}
