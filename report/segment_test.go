package report

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/crmlink/crmlink"
)

func segmentRequest(t testing.TB) SegmentRequest {
	c := &crmlink.Counter{ID: 1, Name: "Shop", Site: "shop.example", TimeZone: "Europe/Moscow", Currency: "RUB"}
	if err := c.Normalize(); err != nil {
		t.Fatal(err)
	}
	// 23:30 in UTC is already the next day in Moscow.
	return SegmentRequest{Counter: c, Goals: []crmlink.Goal{{ID: 7}}, Now: time.Date(2026, 2, 28, 23, 30, 0, 0, time.UTC)}
}

// planText writes a plan compactly, for comparing with what a test wants.
func planText(f *crmlink.Filter) string {
	day := func(t time.Time) string {
		if t.IsZero() {
			return ""
		}
		return t.Format(time.DateOnly)
	}
	switch f.Op {
	case "AND", "OR":
		var parts []string
		for _, c := range f.Children {
			parts = append(parts, planText(c))
		}
		return "(" + strings.Join(parts, " "+f.Op+" ") + ")"
	case "NOT":
		return "NOT " + planText(f.Children[0])
	case "EXISTS", "NONE", "ALL":
		return f.Op + " " + string(f.Rows) + "{" + planText(f.Children[0]) + "}"
	case "range", "notrange":
		return fmt.Sprintf("%s %s [%s,%s)", f.Dimension.Name, f.Op, day(f.From), day(f.To))
	}
	name := f.Dimension.Name
	if f.Dimension.Arg != "" {
		name += "(" + f.Dimension.Arg + ")"
	}
	if f.Dimension.Over != nil {
		name += "[" + planText(f.Dimension.Over) + "]"
	}
	return fmt.Sprintf("%s %s %s", name, f.Op, strings.Join(f.Values, ","))
}

func TestParseSegment(t *testing.T) {
	r := segmentRequest(t)
	for _, c := range []struct {
		expr, want string
		siteOnly   bool
	}{
		// Today is 1 March in Moscow.
		{"ym:s:lastsignTrafficSource=='ad' AND ym:s:daysAgo<=30",
			"EXISTS sessions{(ym:s:lastsignTrafficSource == ad AND ym:s:daysAgo range [2026-01-30,))}", true},
		{"ym:s:daysAgo<30", "EXISTS sessions{ym:s:daysAgo range [2026-01-31,)}", true},
		{"ym:s:daysAgo>=7", "EXISTS sessions{ym:s:daysAgo range [,2026-02-23)}", true},
		{"ym:s:daysAgo>7", "EXISTS sessions{ym:s:daysAgo range [,2026-02-22)}", true},
		{"ym:u:daysSinceLastVisit==0", "ym:u:daysSinceLastVisit range [2026-03-01,2026-03-02)", true},
		{"ym:s:date!='2026-02-10'", "EXISTS sessions{ym:s:date notrange [2026-02-10,2026-02-11)}", true},
		{"ym:s:date>'2026-02-10'", "EXISTS sessions{ym:s:date range [2026-02-11,)}", true},
		{"ym:s:date<='2026-02-10'", "EXISTS sessions{ym:s:date range [,2026-02-11)}", true},
		{"cdp:c:daysSinceLastOrder>90", "cdp:c:daysSinceLastOrder range [,2025-12-01)", false},
		// A term of one kind of rows is one row's condition; NOT stays
		// inside it.
		{"NOT ym:s:deviceCategory=='mobile'", "EXISTS sessions{NOT ym:s:deviceCategory == mobile}", true},
		{"NONE(ym:s:deviceCategory=='mobile')", "NONE sessions{ym:s:deviceCategory == mobile}", true},
		{"cdp:c:paidOrders>=2 AND (ym:s:deviceCategory=='tablet' OR ym:s:regionCity=='Omsk')",
			"(cdp:c:paidOrders >= 2 AND EXISTS sessions{(ym:s:deviceCategory == tablet OR ym:s:regionCity == Omsk)})", false},
		// Terms on visits in one AND are one visit, and terms on orders
		// one order, wherever they stand in it.
		{"ym:s:lastsignTrafficSource=='ad' AND cdp:c:paidOrders>=2 AND ym:s:daysAgo<=30 AND cdp:o:revenue>5 AND cdp:o:currency=='RUB'",
			"(cdp:c:paidOrders >= 2 AND EXISTS sessions{(ym:s:lastsignTrafficSource == ad AND ym:s:daysAgo range [2026-01-30,))} AND EXISTS orders{(cdp:o:revenue > 5 AND cdp:o:currency == RUB)})", false},
		{"EXISTS(ym:s:deviceCategory=='mobile') AND EXISTS(ym:s:deviceCategory=='tablet') AND cdp:c:orders>0",
			"(EXISTS sessions{ym:s:deviceCategory == mobile} AND EXISTS sessions{ym:s:deviceCategory == tablet} AND cdp:c:orders > 0)", false},
		{"cdp:o:product=='Sofa' AND cdp:o:statusType=='paid'",
			"EXISTS order_lines{(cdp:o:product == Sofa AND cdp:o:statusType == PAID)}", false},
		{"cdp:c:paidOrders[cdp:o:attribute('delivery')=='courier']>1",
			"cdp:c:paidOrders[cdp:o:attribute(delivery) == courier] > 1", false},
		{"cdp:c:productQuantity[cdp:o:product.in('Sofa','Lamp')]>=2",
			"cdp:c:productQuantity[cdp:o:product in Sofa,Lamp] >= 2", false},
		{"EXISTS ym:u:userID WITH (ym:u:visits>3)", "ym:u:visits > 3", true},
		{"cdp:c:hasEmail=='Yes'", "cdp:c:hasEmail == yes", false},
		{"ym:s:goal.in('7') OR ym:u:purchases>=1.5", "(EXISTS sessions{ym:s:goal in 7} OR ym:u:purchases >= 1.5)", true},
		{"ym:s:<attribution>UTMSource=='ya'", "EXISTS sessions{ym:s:<attribution>UTMSource == ya}", true},
	} {
		p, err := ParseSegment(c.expr, r)
		if err != nil {
			t.Errorf("%s: %v", c.expr, err)
			continue
		}
		if got := planText(p.Cond); got != c.want || p.SiteOnly != c.siteOnly {
			t.Errorf("%s:\n got %s (site only %v)\nwant %s (site only %v)", c.expr, got, p.SiteOnly, c.want, c.siteOnly)
		}
	}
}

func TestParseSegmentErrors(t *testing.T) {
	r := segmentRequest(t)
	for _, c := range []struct{ expr, want string }{
		{"", "expression: missing"},
		{"cdp:c:paidOrders>='two'", "column 1: cdp:c:paidOrders compares numbers"},
		{"cdp:c:paidOrders=@'1'", "column 1: cdp:c:paidOrders takes == != > < >= <= .in(...) .notIn(...), not =@"},
		{"ym:s:deviceCategory>'a'", "column 1: ym:s:deviceCategory takes"},
		{"ym:s:daysAgo<=-1", "want 0 to 100000"},
		{"ym:s:date>='2026-13-01'", "want 'YYYY-MM-DD' from 1970"},
		{"cdp:c:hasEmail=='maybe'", "is 'yes' or 'no'"},
		{"cdp:o:statusType=='done'", "is one of in_progress, paid"},
		{"ym:s:goal=='8'", "the counter has no goal \"8\""},
		{"ym:s:goal=@'7'", "ym:s:goal takes == != .in(...) .notIn(...), not =@"},
		{"cdp:c:attribute=='x'", "takes the attribute's name"},
		{"cdp:c:orders('x')>1", "takes no ('...')"},
		{"ym:s:deviceCategory[ym:s:daysAgo<1]=='x'", "takes no [condition]"},
		{"cdp:c:paidOrders[ym:s:daysAgo<1]>1", "column 18: cdp:c:paidOrders[...] takes a condition on orders"},
		{"cdp:c:paidOrders[cdp:o:product=='x']>1", "takes a condition on orders (cdp:o:, no product names)"},
		{"ym:u:visits[cdp:o:revenue>1]>1", "takes a condition on sessions"},
		{"EXISTS(cdp:c:orders>1)", "column 1: EXISTS(...) takes a condition"},
		{"ym:s:cdpOrderStatusType=='PAID'", "a segment reads cdp:o:statusType"},
		{"ym:s:deviceCategory=='a' AND", "column 29: want a dimension name"},
		{"EXISTS ym:u:userID (x)", "want WITH"},
		{"NOT", "want a dimension name"},
		{"(ym:s:deviceCategory=='a'", "want )"},
		{"cdp:c:orders[cdp:o:revenue>1>1", "want ]"},
		{strings.Repeat("NOT ", 40) + "ym:s:pageViews>1", "nested deeper than 32"},
		{strings.Repeat("(", 40), "nested deeper than 32"},
	} {
		_, err := ParseSegment(c.expr, r)
		if err == nil || crmlink.KindOf(err) != crmlink.KindInvalid || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%q: %v; want an invalid error with %q", c.expr, err, c.want)
		}
	}
}

func FuzzParseSegment(f *testing.F) {
	for _, s := range []string{
		"cdp:c:paidOrders>=2 AND cdp:c:daysSinceLastOrder>90 AND EXISTS(ym:s:lastsignTrafficSource=='ad' AND ym:s:daysAgo<=30)",
		"NOT ym:s:deviceCategory.in('mobile','tablet') OR NONE(cdp:o:product=='Sofa')",
		"cdp:c:productQuantity[cdp:o:product=='x' AND cdp:o:createDate>='2026-01-01']>=2.5",
		"EXISTS ym:u:userID WITH (ym:u:visits[ym:s:goal=='7']>1)",
		"cdp:c:attribute('a\\'b')>=3", "ALL(", "ym:s:daysAgo<", "x[", "(((",
	} {
		f.Add(s)
	}
	r := segmentRequest(f)
	f.Fuzz(func(t *testing.T, s string) {
		p, err := ParseSegment(s, r)
		if err != nil {
			if crmlink.KindOf(err) != crmlink.KindInvalid {
				t.Fatalf("%q: %v is not an invalid-input error", s, err)
			}
			return
		}
		if p.Cond == nil {
			t.Fatalf("%q: no condition", s)
		}
	})
}
