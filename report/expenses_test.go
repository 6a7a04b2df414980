package report

import (
	"net/url"
	"strings"
	"testing"

	"github.com/crmlink/crmlink"
)

func TestParseExpenses(t *testing.T) {
	q, err := parse(t, "preset=sources_expenses_and_roi&attribution=first")
	if err != nil {
		t.Fatal(err)
	}
	if !q.Expenses || len(q.Dimensions) != 4 || q.Dimensions[0].Field != crmlink.DimUTMSource || q.Dimensions[0].Attribution != crmlink.AttributionFirst ||
		q.Dimensions[0].Name != "ym:ev:<attribution>ExpenseSource" || q.Metrics[0].Field != crmlink.MetExpenses || q.Metrics[5].Field != crmlink.MetROI {
		t.Errorf("preset: %+v", q)
	}
	q, err = parse(t, "dimensions=ym:ev:cross_device_last_significantExpenseCampaign,ym:ev:lastSourceEngine,ym:ev:date&metrics=ym:ev:cdpOrders<currency>POAS,ym:ev:expenseRUBCPC,ym:ev:cdpOrdersRUBROMI")
	if err != nil || q.Dimensions[0].Field != crmlink.DimUTMCampaign || q.Dimensions[0].Attribution != crmlink.AttributionCrossDeviceLastSign ||
		q.Dimensions[1].Field != crmlink.DimSourceEngine || q.Dimensions[2].Field != crmlink.DimDate ||
		q.Metrics[0].Field != crmlink.MetPOAS || q.Metrics[1].Field != crmlink.MetExpenseCPC || q.Metrics[2].Field != crmlink.MetROMI {
		t.Errorf("names: %+v, %v", q, err)
	}
	for query, want := range map[string]string{
		"metrics=ym:ev:expensesRUB,ym:s:visits":                       "not in the ym:ev: namespace",
		"metrics=ym:ev:expensesRUB&dimensions=ym:ev:regionCity":       "unknown dimension \"ym:ev:regionCity\": ym:ev: reports group by",
		"metrics=ym:ev:expensesUSD":                                   "the report's currency is RUB",
		"metrics=ym:ev:cdpOrdersRUBFoo":                               "unknown metric",
		"metrics=ym:ev:expensesRUB&filters=ym:s:browser=='x'":         "take no filters",
		"metrics=ym:ev:expensesRUB&dimensions=ym:ev:<attribution>Foo": "unknown dimension",
	} {
		_, err := parse(t, query)
		if err == nil || crmlink.KindOf(err) != crmlink.KindInvalid || !strings.Contains(err.Error(), want) {
			t.Errorf("%s: %v; want %q", query, err, want)
		}
	}
	v, _ := url.ParseQuery("metrics=ym:ev:expensesRUB")
	if _, err := Parse(Request{Counter: testCounter, Now: testNow, Params: v, Series: true}); err == nil || !strings.Contains(err.Error(), "tables") {
		t.Errorf("bytime: %v", err)
	}
}
