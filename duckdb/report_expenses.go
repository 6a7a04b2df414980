package duckdb

import (
	"fmt"
	"strings"

	"github.com/crmlink/crmlink"
)

// A report in the ym:ev: namespace (crmlink.ReportQuery.Expenses) groups
// the sessions as any report does (agg, with the sums its metrics read
// rather than the metrics), groups the period's ad spend by the same
// dimensions (ex: each dimension the expense's field), joins the two
// (a group of spend that no session matches is a row of its own, and
// sessions no spend matches another), and computes the metrics of the
// joined sums.

// expenseColumns are the columns of expenses each dimension reads.
var expenseDims = map[crmlink.DimensionField]string{
	crmlink.DimUTMSource: "utm_source", crmlink.DimUTMMedium: "utm_medium", crmlink.DimUTMCampaign: "utm_campaign",
	crmlink.DimUTMTerm: "utm_term", crmlink.DimUTMContent: "utm_content", crmlink.DimTrafficSource: "traffic_source",
	crmlink.DimSourceEngine: "traffic_source_detail", crmlink.DimDate: "strftime(day, '%Y-%m-%d')",
}

// expenseSums are the sums of sessions and orders an ym:ev: report's
// metrics read, as columns of agg.
const expenseSums = `count(*) AS b_visits, count(DISTINCT client_id) AS b_users, coalesce(sum(n_all), 0) AS b_all,
    coalesce(sum(n_in_progress), 0) AS b_in_progress, coalesce(sum(n_paid), 0) AS b_paid, coalesce(sum(n_cancelled), 0) AS b_cancelled,
    coalesce(sum(n_spam), 0) AS b_spam, coalesce(sum(n_other), 0) AS b_other, coalesce(sum(n_paid_cur), 0) AS b_paid_cur,
    coalesce(sum(revenue), 0) AS b_revenue, coalesce(sum(profit), 0) AS b_profit`

// goalSums are the sums of goal k's reaches an ym:ev: report's goal
// metrics read, as columns of agg: reaches, value, sessions and visitors
// that reached it.
func goalSums(k int) string {
	return fmt.Sprintf(`coalesce(sum(g%[1]d_n), 0) AS b_g%[1]d_n, coalesce(sum(g%[1]d_rev), 0) AS b_g%[1]d_rev,
    count(*) FILTER (WHERE g%[1]d_n > 0) AS b_g%[1]d_v, count(DISTINCT client_id) FILTER (WHERE g%[1]d_n > 0) AS b_g%[1]d_u`, k)
}

// expenseMetric is an ym:ev: metric over the joined sums; goal is the
// index of a goal metric's goal in the plan's Goals.
func expenseMetric(m crmlink.Metric, goal int) string {
	g := func(what string) string { return fmt.Sprintf("b_g%d_%s", goal, what) }
	pct := func(num, den string) string {
		return fmt.Sprintf("round(100.0 * (%s) / nullif(%s, 0), 2)", num, den)
	}
	per := func(num, den string) string { return fmt.Sprintf("round((%s) / nullif(%s, 0), 2)", num, den) }
	switch m.Field {
	case crmlink.MetVisits:
		return "b_visits"
	case crmlink.MetUsers:
		return "b_users"
	case crmlink.MetOrdersAll:
		return "b_all"
	case crmlink.MetOrdersInProgress:
		return "b_in_progress"
	case crmlink.MetOrdersPaid:
		return "b_paid"
	case crmlink.MetOrdersCancelled:
		return "b_cancelled"
	case crmlink.MetOrdersSpam:
		return "b_spam"
	case crmlink.MetOrdersOther:
		return "b_other"
	case crmlink.MetConversionToOrder:
		return pct("b_all", "b_visits")
	case crmlink.MetConversionToPayment:
		return pct("b_paid", "b_all")
	case crmlink.MetRevenue:
		return "b_revenue"
	case crmlink.MetProfit:
		return "b_profit"
	case crmlink.MetAverageCheque:
		return per("b_revenue", "b_paid_cur")
	case crmlink.MetExpenses:
		return "b_spend"
	case crmlink.MetExpenseClicks:
		return "b_clicks"
	case crmlink.MetExpenseCPC:
		return per("b_spend", "b_clicks")
	case crmlink.MetROI:
		return pct("b_revenue - b_spend", "b_spend")
	case crmlink.MetROMI:
		return pct("b_profit - b_spend", "b_spend")
	case crmlink.MetPOAS:
		return pct("b_profit", "b_spend")
	case crmlink.MetCRR:
		return pct("b_spend", "b_revenue")
	case crmlink.MetCPA:
		return per("b_spend", "b_all")
	case crmlink.MetCPO:
		return per("b_spend", "b_paid")
	case crmlink.MetGoalExpenseROI:
		return pct(g("rev")+" - b_spend", "b_spend")
	case crmlink.MetGoalExpenseCRR:
		return pct("b_spend", g("rev"))
	case crmlink.MetGoalReachCPA:
		return per("b_spend", g("n"))
	case crmlink.MetGoalVisitCPA:
		return per("b_spend", g("v"))
	case crmlink.MetGoalUserCPA:
		return per("b_spend", g("u"))
	}
	panic("report: unknown ym:ev: metric " + string(m.Field))
}

// aggregateExpenses writes agg, ex and the statement's final SELECT.
func (b *reportBuilder) aggregateExpenses(p *crmlink.ReportPlan, dimNames []string, w *strings.Builder) {
	q := p.Query
	sets := "()"
	gid := "0"
	if len(dimNames) > 0 {
		sets = fmt.Sprintf("(%s), ()", strings.Join(dimNames, ", "))
		gid = "GROUPING(" + strings.Join(dimNames, ", ") + ")"
	}
	dims := strings.Join(dimNames, ", ") + sep(dimNames)
	sums := expenseSums
	goalCols := ""
	for k := range p.Goals {
		sums += ",\n    " + goalSums(k)
		goalCols += fmt.Sprintf(", coalesce(b_g%[1]d_n, 0) AS b_g%[1]d_n, coalesce(b_g%[1]d_rev, 0) AS b_g%[1]d_rev, coalesce(b_g%[1]d_v, 0) AS b_g%[1]d_v, coalesce(b_g%[1]d_u, 0) AS b_g%[1]d_u", k)
	}
	fmt.Fprintf(w, "agg AS (SELECT %s AS gid, %s%s FROM j GROUP BY GROUPING SETS (%s)),\n", gid, dims, sums, sets)
	var exDims []string
	for i, d := range q.Dimensions {
		exDims = append(exDims, fmt.Sprintf("%s AS d%d", expenseDims[d.Field], i))
	}
	from, to := q.Date1, q.Date2
	cur := b.arg(q.Currency)
	fmt.Fprintf(w, `e AS (SELECT %s%sexpenses, currency, clicks FROM expenses
    WHERE counter_id = $1 AND day >= %s::DATE AND day <= %s::DATE),
ex AS (SELECT %s AS gid, %scoalesce(sum(expenses) FILTER (WHERE currency = %s), 0) AS b_spend, sum(clicks) AS b_clicks
    FROM e GROUP BY GROUPING SETS (%s)),
`, strings.Join(exDims, ", "), sep(exDims), b.arg(from.Format("2006-01-02")), b.arg(to.Format("2006-01-02")), gid, dims, cur, sets)
	on := []string{"a.gid = x.gid"}
	var sel []string
	for _, d := range dimNames {
		on = append(on, fmt.Sprintf("a.%s IS NOT DISTINCT FROM x.%s", d, d))
		sel = append(sel, fmt.Sprintf("coalesce(a.%s, x.%s) AS %s", d, d, d))
	}
	var metText []string
	for _, m := range q.Metrics {
		metText = append(metText, fmt.Sprintf("coalesce(%s, 0)::VARCHAR", expenseMetric(m, p.GoalIndex(m.GoalID))))
	}
	fmt.Fprintf(w, `m AS (SELECT coalesce(a.gid, x.gid) AS gid, %s%s
    coalesce(b_visits, 0) AS b_visits, coalesce(b_users, 0) AS b_users, coalesce(b_all, 0) AS b_all,
    coalesce(b_in_progress, 0) AS b_in_progress, coalesce(b_paid, 0) AS b_paid, coalesce(b_cancelled, 0) AS b_cancelled,
    coalesce(b_spam, 0) AS b_spam, coalesce(b_other, 0) AS b_other, coalesce(b_paid_cur, 0) AS b_paid_cur,
    coalesce(b_revenue, 0) AS b_revenue, coalesce(b_profit, 0) AS b_profit, coalesce(b_spend, 0) AS b_spend, coalesce(b_clicks, 0) AS b_clicks%s
    FROM agg a FULL JOIN ex x ON %s)
SELECT gid, %s%s FROM m`, strings.Join(sel, ", "), sep(sel), goalCols, strings.Join(on, " AND "), dims, strings.Join(metText, ", "))
}
