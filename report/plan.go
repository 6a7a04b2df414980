package report

import "github.com/crmlink/crmlink"

// NewPlan decides what an engine's aggregation needs of a query (see
// crmlink.ReportPlan): which filter terms select sessions and which
// orders, whether rows are orders, whether orders and which goals are
// read, and whether the answer has the unlinked row.
func NewPlan(q *crmlink.ReportQuery) (*crmlink.ReportPlan, error) {
	p := &crmlink.ReportPlan{Query: q, StatusDim: -1}
	for i, d := range q.Dimensions {
		if d.Field == crmlink.DimOrderStatusType {
			p.StatusDim = i
		}
	}
	// Order-status conditions select orders, the others sessions; mixing
	// them under OR would mean neither, so they must be AND terms.
	if q.Filter != nil {
		terms := []*crmlink.Filter{q.Filter}
		if q.Filter.Op == "AND" {
			terms = q.Filter.Children
		}
		for _, t := range terms {
			switch {
			case t.Op != "OR" && t.Dimension.Field == crmlink.DimOrderStatusType:
				p.OrderTerms = append(p.OrderTerms, t)
			case usesOrderStatus(t):
				return nil, crmlink.Errorf(crmlink.KindInvalid, "filters: a condition on ym:s:cdpOrderStatusType must stand alone or be joined with AND")
			default:
				p.SessionTerms = append(p.SessionTerms, t)
			}
		}
	}
	for _, m := range q.Metrics {
		switch m.Field {
		case crmlink.MetGoalReaches, crmlink.MetGoalRevenue, crmlink.MetGoalConversionRate, crmlink.MetGoalVisits,
			crmlink.MetGoalUsers, crmlink.MetGoalUserConversion, crmlink.MetGoalReachesPerUser, crmlink.MetGoalExpenseROI,
			crmlink.MetGoalExpenseCRR, crmlink.MetGoalReachCPA, crmlink.MetGoalVisitCPA, crmlink.MetGoalUserCPA:
			if p.GoalIndex(m.GoalID) < 0 {
				p.Goals = append(p.Goals, m.GoalID)
			}
		case crmlink.MetGoalReachesAny, crmlink.MetAnyGoalConversion:
			p.AnyGoal = true
		case crmlink.MetEcommercePurchases:
			p.Purchases = true
		default:
			if !m.Field.SessionMetric() || m.Field == crmlink.MetConversionToOrder {
				p.NeedOrders = true
			}
		}
	}
	// A condition on the order's status needs the orders read.
	p.NeedOrders = p.NeedOrders || len(p.OrderTerms) > 0 || q.Expenses
	p.Unlinked = q.Unlinked && q.Group == "" && len(p.SessionTerms) == 0 && q.Segment == nil && !q.Expenses
	return p, nil
}

// usesOrderStatus tells whether a filter compares the order's status.
func usesOrderStatus(f *crmlink.Filter) bool {
	if f == nil {
		return false
	}
	if f.Op == "AND" || f.Op == "OR" || f.Op == "NOT" {
		for _, c := range f.Children {
			if usesOrderStatus(c) {
				return true
			}
		}
		return false
	}
	return f.Dimension.Field == crmlink.DimOrderStatusType
}
