package report

import (
	"encoding/json"
	"net/url"
	"strings"

	"github.com/crmlink/crmlink"
)

// Metrica's drilldown method (/stat/v1/data/drilldown) answers one level
// of a tree whose levels are the request's dimensions: parent_id, a JSON
// list of the ids of the rows opened above, picks the branch, and the
// level's rows are the next dimension's values within it.

// DrilldownParams are the parameters of the one-dimension report of a
// drilldown request's level: the level's dimension, and the filters
// joined by AND with each parent's dimension equal to its id. It returns
// the level and the request's dimensions.
func DrilldownParams(params url.Values) (url.Values, int, []string, error) {
	dimensions := splitNames(params.Get("dimensions"))
	if p := params.Get("preset"); p != "" && params.Get("dimensions") == "" {
		if pr, ok := Presets[p]; ok {
			dimensions = pr.Dimensions
		}
	}
	var parents []string
	if s := params.Get("parent_id"); s != "" {
		if err := json.Unmarshal([]byte(s), &parents); err != nil {
			return nil, 0, nil, crmlink.Errorf(crmlink.KindInvalid, "parent_id: %q: want a JSON list of the ids of the rows opened, [\"organic\"]", s)
		}
	}
	if len(dimensions) == 0 || len(parents) >= len(dimensions) {
		return nil, 0, nil, crmlink.Errorf(crmlink.KindInvalid, "parent_id: %d ids for %d dimensions: a level's parents are fewer than the dimensions", len(parents), len(dimensions))
	}
	v := url.Values{}
	for k, vs := range params {
		v[k] = vs
	}
	v.Del("parent_id")
	v.Set("dimensions", dimensions[len(parents)])
	var fs []string
	if f := strings.TrimSpace(params.Get("filters")); f != "" {
		fs = append(fs, "("+f+")")
	}
	for i, id := range parents {
		fs = append(fs, dimensions[i]+"=="+quote(id))
	}
	v.Del("filters")
	if len(fs) > 0 {
		v.Set("filters", strings.Join(fs, " AND "))
	}
	if s := v.Get("sort"); s != "" {
		// Only the level's dimension and the metrics can sort it.
		var keep []string
		for _, k := range splitNames(s) {
			name := strings.TrimPrefix(k, "-")
			if name == dimensions[len(parents)] || !strings.Contains(","+strings.Join(dimensions, ",")+",", ","+name+",") {
				keep = append(keep, k)
			}
		}
		v.Set("sort", strings.Join(keep, ","))
	}
	return v, len(parents), dimensions, nil
}

// quote is a filter's single-quoted value.
func quote(s string) string {
	return "'" + strings.NewReplacer(`\`, `\\`, `'`, `\'`).Replace(s) + "'"
}

// DrilldownAnswer is the drilldown method's answer.
type DrilldownAnswer struct {
	Query     QueryEcho         `json:"query"`
	Data      []DrilldownRow    `json:"data"`
	TotalRows int               `json:"total_rows"`
	Rounded   bool              `json:"total_rows_rounded"`
	Sampled   bool              `json:"sampled"`
	Sensitive bool              `json:"contains_sensitive_data"`
	Share     int               `json:"sample_share"`
	DataLag   int               `json:"data_lag"`
	Totals    []json.RawMessage `json:"totals"`
	Min       []json.RawMessage `json:"min"`
	Max       []json.RawMessage `json:"max"`
}

// DrilldownRow is one row of a level: the level's dimension value, its
// metrics, and whether it opens to a further level.
type DrilldownRow struct {
	Dimension DimensionJSON     `json:"dimension"`
	Metrics   []json.RawMessage `json:"metrics"`
	Expand    bool              `json:"expand"`
}

// Drilldown is a level's answer from its report; level and dimensions
// are DrilldownParams'.
func Drilldown(res *crmlink.ReportResult, params url.Values, level int, dimensions []string) DrilldownAnswer {
	e := echo(&res.Query, params)
	e.Dimensions = dimensions
	e.Filters = params.Get("filters")
	a := DrilldownAnswer{Query: e, Data: []DrilldownRow{}, TotalRows: res.TotalRows, Share: 1, DataLag: lagSeconds(res.DataLag),
		Totals: numbers(res.Totals), Min: numbers(res.Min), Max: numbers(res.Max)}
	for _, r := range res.Rows {
		a.Data = append(a.Data, DrilldownRow{Dimension: dims(r.Dimensions)[0], Metrics: numbers(r.Metrics), Expand: level+1 < len(dimensions)})
	}
	return a
}
