package report

import (
	"regexp"
	"slices"
	"strconv"
	"strings"

	"github.com/crmlink/crmlink"
)

// Reports in Metrica's ym:ev: namespace join ad spend with sessions and
// their orders (crmlink.ReportQuery.Expenses). Their dimensions are the
// expense's fields, each the session's under the attribution model:
// <attribution>ExpenseSource, ExpenseMedium, ExpenseCampaign,
// ExpenseTerm, ExpenseContent (the UTM fields), TrafficSource,
// SourceEngine (TrafficSourceDetail), and date.

// evDimensions maps an ym:ev: dimension's field to the session's.
var evDimensions = map[string]string{
	"ExpenseSource": "UTMSource", "ExpenseMedium": "UTMMedium", "ExpenseCampaign": "UTMCampaign",
	"ExpenseTerm": "UTMTerm", "ExpenseContent": "UTMContent", "TrafficSource": "TrafficSource", "SourceEngine": "SourceEngine",
}

// evSessionMetrics are the ym:s: metrics the ym:ev: namespace has too.
var evSessionMetrics = map[string]bool{
	"visits": true, "users": true, "cdpOrdersAllOrders": true, "cdpOrdersInProgress": true, "cdpOrdersPayed": true,
	"cdpOrdersCancelled": true, "cdpOrdersSpam": true, "cdpOrdersOther": true, "cdpOrdersConversionIntoOrder": true,
	"cdpOrdersConversionIntoPayment": true,
}

// evMoney are the ym:ev: metrics with a currency in their name:
// expenses<CUR>, expense<CUR>CPC, cdpOrders<CUR>X.
var evMoney = regexp.MustCompile(`^(expenses|expense|cdpOrders)([A-Z]{3}|<currency>)(CPC|Revenue|Profit|AverageCheque|ROI|CPA|CPO|CRR|ROMI|POAS)?$`)

// evGoal are the ym:ev: metrics of spend against a goal:
// goal<id>expense<CUR>ROI, CRR, ReachCPA, VisitCPA, UserCPA.
var evGoal = regexp.MustCompile(`^goal([0-9]{1,18})expense([A-Z]{3}|<currency>)(ROI|CRR|ReachCPA|VisitCPA|UserCPA)$`)

var evGoalFields = map[string]crmlink.MetricField{
	"ROI": crmlink.MetGoalExpenseROI, "CRR": crmlink.MetGoalExpenseCRR, "ReachCPA": crmlink.MetGoalReachCPA,
	"VisitCPA": crmlink.MetGoalVisitCPA, "UserCPA": crmlink.MetGoalUserCPA,
}

// isEv tells whether a name is in the ym:ev: namespace.
func isEv(name string) bool { return strings.HasPrefix(name, "ym:ev:") }

// evDimension resolves an ym:ev: dimension.
func (r resolver) evDimension(name string) (crmlink.Dimension, error) {
	rest, _ := strings.CutPrefix(name, "ym:ev:")
	if rest == "date" {
		return crmlink.Dimension{Name: name, Field: crmlink.DimDate}, nil
	}
	for ev, s := range evDimensions {
		if model, ok := strings.CutSuffix(rest, ev); ok {
			d, err := r.dimension("ym:s:" + model + s)
			if err != nil || d.Field != crmlink.DimensionField(s) {
				break
			}
			d.Name = name
			return d, nil
		}
	}
	return crmlink.Dimension{}, crmlink.Errorf(crmlink.KindInvalid,
		"unknown dimension %q: ym:ev: reports group by <attribution>ExpenseSource, ExpenseMedium, ExpenseCampaign, ExpenseTerm, ExpenseContent, TrafficSource, SourceEngine and date", name)
}

// evMetric resolves an ym:ev: metric.
func (r resolver) evMetric(name string) (crmlink.Metric, error) {
	rest, _ := strings.CutPrefix(name, "ym:ev:")
	if rest == "expenseClicks" {
		return crmlink.Metric{Name: name, Field: crmlink.MetExpenseClicks}, nil
	}
	if evSessionMetrics[rest] {
		m, err := r.metric("ym:s:" + rest)
		m.Name = name
		return m, err
	}
	if m := evGoal.FindStringSubmatch(rest); m != nil {
		id, _ := strconv.ParseInt(m[1], 10, 64)
		if !slices.ContainsFunc(r.goals, func(g crmlink.Goal) bool { return g.ID == id }) {
			return crmlink.Metric{}, crmlink.Errorf(crmlink.KindInvalid, "%s: the counter has no goal %d", name, id)
		}
		if m[2] != "<currency>" && m[2] != r.q.Currency {
			return crmlink.Metric{}, crmlink.Errorf(crmlink.KindInvalid,
				"%s: the report's currency is %s (the counter's, or the currency parameter)", name, r.q.Currency)
		}
		return crmlink.Metric{Name: name, Field: evGoalFields[m[3]], GoalID: id}, nil
	}
	if m := evMoney.FindStringSubmatch(rest); m != nil {
		kind, cur, what := m[1], m[2], m[3]
		var f crmlink.MetricField
		switch {
		case kind == "expenses" && what == "":
			f = crmlink.MetExpenses
		case kind == "expense" && what == "CPC":
			f = crmlink.MetExpenseCPC
		case kind == "cdpOrders" && what != "" && what != "CPC":
			f = crmlink.MetricField(what)
		}
		if f != "" {
			if cur != "<currency>" && cur != r.q.Currency {
				return crmlink.Metric{}, crmlink.Errorf(crmlink.KindInvalid,
					"%s: the report's currency is %s (the counter's, or the currency parameter)", name, r.q.Currency)
			}
			return crmlink.Metric{Name: name, Field: f}, nil
		}
	}
	return crmlink.Metric{}, crmlink.Errorf(crmlink.KindInvalid, "unknown metric %q", name)
}
