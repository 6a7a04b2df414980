package report

import (
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/crmlink/crmlink"
)

var testCounter = &crmlink.Counter{ID: 7, Name: "shop", Site: "shop.example", TimeZone: "Europe/Moscow", Currency: "RUB"}

// 2026-03-10 22:30 UTC is already 2026-03-11 in Moscow.
var testNow = time.Date(2026, 3, 10, 22, 30, 0, 0, time.UTC)

func parse(t *testing.T, query string) (*crmlink.ReportQuery, error) {
	t.Helper()
	v, err := url.ParseQuery(query)
	if err != nil {
		t.Fatal(err)
	}
	return Parse(Request{Counter: testCounter, Goals: []crmlink.Goal{{ID: 1000001, Name: "CRM: Order created"}}, Now: testNow, Params: v})
}

func TestParsePreset(t *testing.T) {
	q, err := parse(t, "ids=7&preset=orders_sources&date1=2026-03-01&date2=today")
	if err != nil {
		t.Fatal(err)
	}
	if len(q.Dimensions) != 2 || q.Dimensions[0].Field != crmlink.DimTrafficSource || q.Dimensions[0].Attribution != crmlink.AttributionLastSign {
		t.Errorf("dimensions = %+v, want lastsign traffic source first", q.Dimensions)
	}
	if q.Date2 != time.Date(2026, 3, 11, 0, 0, 0, 0, time.UTC) {
		t.Errorf("today = %v, want 2026-03-11 (Moscow)", q.Date2)
	}
	var names []string
	for _, m := range q.Metrics {
		names = append(names, m.Name)
	}
	if !strings.Contains(strings.Join(names, ","), "ym:s:cdpOrders<currency>Revenue") {
		t.Errorf("metrics = %v", names)
	}
	if len(q.Sort) != 1 || q.Sort[0].Metric != 0 || !q.Sort[0].Desc {
		t.Errorf("sort = %+v, want visits descending", q.Sort)
	}
	if q.Limit != DefaultLimit || q.Offset != 0 {
		t.Errorf("limit %d offset %d", q.Limit, q.Offset)
	}
}

func TestParseNames(t *testing.T) {
	q, err := parse(t, "metrics=ym:s:visits,ym:s:cdpOrdersRUBRevenue,ym:s:goal1000001reaches&dimensions=ym:s:trafficSource,ym:s:firstUTMCampaign,ym:s:cross_device_last_significantSourceEngine,ym:s:lastSignTrafficSource,ym:s:regionCity&attribution=FIRST&date1=7daysAgo&date2=yesterday&limit=5&offset=11&sort=ym:s:regionCity,-ym:s:visits")
	if err != nil {
		t.Fatal(err)
	}
	want := []crmlink.Dimension{
		{Name: "ym:s:trafficSource", Field: crmlink.DimTrafficSource, Attribution: crmlink.AttributionLast},
		{Name: "ym:s:firstUTMCampaign", Field: crmlink.DimUTMCampaign, Attribution: crmlink.AttributionFirst},
		{Name: "ym:s:cross_device_last_significantSourceEngine", Field: crmlink.DimSourceEngine, Attribution: crmlink.AttributionCrossDeviceLastSign},
		{Name: "ym:s:lastSignTrafficSource", Field: crmlink.DimTrafficSource, Attribution: crmlink.AttributionLastSign},
		{Name: "ym:s:regionCity", Field: crmlink.DimCity},
	}
	for i := range want {
		if q.Dimensions[i] != want[i] {
			t.Errorf("dimension %d = %+v, want %+v", i, q.Dimensions[i], want[i])
		}
	}
	if q.Attribution != crmlink.AttributionFirst {
		t.Errorf("attribution = %s", q.Attribution)
	}
	if m := q.Metrics[2]; m.Field != crmlink.MetGoalReaches || m.GoalID != 1000001 {
		t.Errorf("goal metric = %+v", m)
	}
	if q.Date1 != time.Date(2026, 3, 4, 0, 0, 0, 0, time.UTC) || q.Date2 != time.Date(2026, 3, 10, 0, 0, 0, 0, time.UTC) {
		t.Errorf("dates %v %v", q.Date1, q.Date2)
	}
	if q.Limit != 5 || q.Offset != 10 {
		t.Errorf("limit %d offset %d, want 5 and 10 (offset is 1-based)", q.Limit, q.Offset)
	}
	if len(q.Sort) != 2 || q.Sort[0].Dimension != 4 || q.Sort[0].Desc || q.Sort[1].Metric != 0 || !q.Sort[1].Desc {
		t.Errorf("sort = %+v", q.Sort)
	}
}

// TestParseGoalID: <goal_id> in names and sort is the goal_id parameter.
func TestParseGoalID(t *testing.T) {
	q, err := parse(t, "metrics=ym:s:visits,ym:s:goal<goal_id>visits,ym:s:goal<goal_id>reachesPerUser&goal_id=1000001&sort=-ym:s:goal<goal_id>visits")
	if err != nil {
		t.Fatal(err)
	}
	if m := q.Metrics[1]; m.Name != "ym:s:goal1000001visits" || m.Field != crmlink.MetGoalVisits || m.GoalID != 1000001 {
		t.Errorf("goal visits = %+v", m)
	}
	if m := q.Metrics[2]; m.Field != crmlink.MetGoalReachesPerUser || m.GoalID != 1000001 {
		t.Errorf("reaches per user = %+v", m)
	}
	if len(q.Sort) != 1 || q.Sort[0].Metric != 1 || !q.Sort[0].Desc {
		t.Errorf("sort = %+v", q.Sort)
	}
}

func TestParseErrors(t *testing.T) {
	for _, tc := range []struct{ query, want string }{
		{"dimensions=ym:s:trafficSource", "metrics: missing"},
		{"metrics=ym:s:visitz", `metrics: unknown metric "ym:s:visitz"`},
		{"metrics=ym:s:visits&dimensions=ym:s:sourceOfTraffic", `dimensions: unknown dimension "ym:s:sourceOfTraffic"`},
		{"metrics=ym:s:visits&dimensions=ym:s:wrongTrafficSource", `dimensions: unknown dimension`},
		{"metrics=ym:s:cdpOrdersUSDRevenue", "the report's currency is RUB"},
		{"metrics=ym:s:goal42reaches", "no goal 42"},
		{"metrics=ym:s:visits&date1=2026-02-30", "date1:"},
		{"metrics=ym:s:visits&date1=2026-03-05&date2=2026-03-01", "date2: 2026-03-01 is before date1 2026-03-05"},
		{"metrics=ym:s:visits&date2=lastweek", `date2: "lastweek"`},
		{"metrics=ym:s:visits&limit=0", "limit:"},
		{"metrics=ym:s:visits&offset=0", "offset:"},
		{"metrics=ym:s:visits&sort=ym:s:users", "sort: ym:s:users is not among"},
		{"metrics=ym:s:visits&attribution=linear", `attribution: "linear"`},
		{"metrics=ym:s:visits&preset=sources", `preset: "sources"`},
		{"metrics=ym:s:visits&currency=RUR", `currency: "RUR"`},
		{"metrics=ym:s:visits&dimensions=ym:s:cdpOrderStatusType", "counts sessions"},
		{"metrics=ym:s:visits&filters=ym:s:browser=='x' AND", "filters: column 22: want a dimension name but found end of expression"},
		{"metrics=ym:s:visits&filters=ym:s:browser='x'", "filters: column 13: want an operator"},
		{"metrics=ym:s:visits&filters=ym:s:brows=='x'", `filters: column 1: unknown dimension "ym:s:brows"`},
		{"metrics=ym:s:visits&filters=ym:s:browser=='x", "filters: column 15: value not closed"},
		{"metrics=ym:s:visits&filters=(ym:s:browser=='x'", "filters: column 19: want ) but found end"},
		{"metrics=ym:s:visits&filters=ym:s:browser=~'('", "filters: column 15: bad regular expression"},
		{"metrics=ym:s:visits&filters=ym:s:browser.in('a' 'b')", "filters: column 21: want , or )"},
		{"metrics=ym:s:visits&filters=ym:s:browser=='x' ym:s:os=='y'", `filters: column 19: unexpected "ym:s:os==`},
		{"metrics=ym:s:visits&ids=1,2", "ids: one counter"},
		{"metrics=ym:s:visits&filters=" + url.QueryEscape(strings.Repeat("(", 40)+"ym:s:browser=='x'"+strings.Repeat(")", 40)), "nested deeper"},
		// Metrica's limits: 20 conditions, 100 values in a list, 10,000
		// characters (counted as characters, not bytes).
		{"metrics=ym:s:visits&filters=" + url.QueryEscape(strings.Repeat("ym:s:browser=='x' OR ", 20)+"ym:s:browser=='y'"), "filters: 21 conditions: at most 20"},
		{"metrics=ym:s:visits&filters=" + url.QueryEscape("ym:s:browser=.("+strings.Repeat("'x',", 100)+"'y')"), "filters: column 419: more than 100 values in a list"},
		{"metrics=ym:s:visits&filters=" + url.QueryEscape("ym:s:browser=='"+strings.Repeat("я", 9990)+"'"), "filters: longer than 10000 characters"},
		{"metrics=ym:s:visits&filters=ym:s:browser=*", "filters: column 15: want a value"},
		{"metrics=ym:s:goal<goal_id>reaches", `goal_id: "": ym:s:goal<goal_id>reaches names <goal_id>`},
		{"metrics=ym:s:goal<goal_id>reaches&goal_id=x1", `goal_id: "x1"`},
		{"metrics=ym:s:visits&dimensions=ym:s:ageInterval", "dimensions: ym:s:ageInterval: crmlink has no visitors' age, gender or interests"},
		{"metrics=ym:s:visits&dimensions=ym:s:gender", "age, gender or interests"},
		{"metrics=ym:s:visits&dimensions=ym:s:lastDirectClickOrder", "a Direct account"},
		{"metrics=ym:ad:clicks", "metrics: ym:ad:clicks: the ym:ad: namespace is Yandex Direct's"},
		{"metrics=ym:pv:pageviews", "page views, downloads"},
		{"metrics=ym:s:ecommerceRUBConvertedRevenue", "not their revenue or products"},
		{"metrics=ym:s:visits&dimensions=ym:s:datePeriod<group>&group=hour", `group: "hour": ym:s:datePeriod<group> takes day, week, month, quarter or year`},
		{"metrics=ym:s:visits&filters=" + url.QueryEscape("ym:s:visits>1 OR ym:s:browser=='x'"), "filters: column 1: a condition on the metric ym:s:visits stands at the top level"},
		{"metrics=ym:s:visits&filters=" + url.QueryEscape("ym:s:users>1"), "ym:s:users is a metric: a condition on a metric names one of the report's metrics"},
		{"metrics=ym:s:visits&filters=" + url.QueryEscape("ym:s:visits=@'1'"), "filters: column 1: a metric compares with"},
		{"metrics=ym:s:visits&filters=" + url.QueryEscape("ym:s:visits>'many'"), `compares with a number, not "many"`},
	} {
		_, err := parse(t, tc.query)
		if err == nil {
			t.Errorf("%s: no error, want %q", tc.query, tc.want)
			continue
		}
		if crmlink.KindOf(err) != crmlink.KindInvalid || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s:\n got %v (%v)\nwant %q", tc.query, err, crmlink.KindOf(err), tc.want)
		}
	}
}

func TestParseFilter(t *testing.T) {
	q, err := parse(t, "metrics=ym:s:visits&filters="+url.QueryEscape(`ym:s:lastsignTrafficSource=='ad' and (ym:s:regionCity=@'Mo\'s' OR ym:s:deviceCategory.in('mobile', 'tablet')) AND ym:s:browser!~'^Ch'`))
	if err != nil {
		t.Fatal(err)
	}
	f := q.Filter
	if f.Op != "AND" || len(f.Children) != 3 {
		t.Fatalf("top = %+v", f)
	}
	if c := f.Children[0]; c.Op != "==" || c.Dimension.Field != crmlink.DimTrafficSource || c.Values[0] != "ad" {
		t.Errorf("first = %+v", c)
	}
	or := f.Children[1]
	if or.Op != "OR" || len(or.Children) != 2 || or.Children[0].Values[0] != "Mo's" || or.Children[1].Op != "in" ||
		strings.Join(or.Children[1].Values, "|") != "mobile|tablet" {
		t.Errorf("or = %+v %+v %+v", or, or.Children[0], or.Children[1])
	}
	if c := f.Children[2]; c.Op != "!~" || c.Values[0] != "^Ch" {
		t.Errorf("last = %+v", c)
	}
}

func FuzzParseFilter(f *testing.F) {
	for _, s := range []string{
		`ym:s:browser=='x'`,
		`ym:s:lastsignTrafficSource=='ad' AND (ym:s:regionCity=@'Mo' OR ym:s:deviceCategory.in('a','b'))`,
		`ym:s:<attribution>UTMSource!~'^g' or ym:s:startURL.notIn('a\'b')`,
		`((ym:s:date=='2026-01-01'))`,
		`ym:s:os==`,
	} {
		f.Add(s)
	}
	rs := resolver{q: &crmlink.ReportQuery{Attribution: crmlink.DefaultAttribution, Currency: "RUB"}}
	f.Fuzz(func(t *testing.T, s string) {
		flt, err := parseFilter(s, rs.dimension)
		if err != nil {
			if crmlink.KindOf(err) != crmlink.KindInvalid || !strings.HasPrefix(err.Error(), "filters:") {
				t.Fatalf("error %v is not a filters error", err)
			}
			return
		}
		var walk func(*crmlink.Filter)
		walk = func(f *crmlink.Filter) {
			if f == nil {
				return
			}
			switch f.Op {
			case "AND", "OR":
				if len(f.Children) < 2 {
					t.Fatalf("%s with %d children", f.Op, len(f.Children))
				}
				for _, c := range f.Children {
					walk(c)
				}
			default:
				if f.Dimension.Field == "" || len(f.Values) == 0 {
					t.Fatalf("bad comparison %+v", f)
				}
			}
		}
		walk(flt)
	})
}
