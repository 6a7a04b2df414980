package crm_test

import (
	"errors"
	"fmt"
	"io"
	"strings"
	"testing"

	"github.com/crmlink/crmlink"
	"github.com/crmlink/crmlink/crm"
)

func readExpenses(t testing.TB, text string, remove, skip bool) ([]crmlink.Expense, error) {
	t.Helper()
	open := crm.NewExpensesCSV
	if remove {
		open = crm.NewExpenseRemovesCSV
	}
	r, err := open(strings.NewReader(text), crm.Options{SkipInvalid: skip})
	if err != nil {
		return nil, err
	}
	var out []crmlink.Expense
	for {
		var e crmlink.Expense
		err := r.Next(&e)
		if errors.Is(err, io.EOF) {
			return out, nil
		}
		if err != nil {
			return out, err
		}
		out = append(out, e)
	}
}

func TestExpensesCSV(t *testing.T) {
	text := "Date,UTMSource,UTMCampaign,Expenses,Currency,Clicks\n" +
		"2026-11-01,yandex,Sale,1520.50,,300\n" +
		"2026-11-02/2026-11-04,google,sale,100,usd,\n"
	es, err := readExpenses(t, text, false, false)
	if err != nil || len(es) != 2 {
		t.Fatalf("%+v, %v", es, err)
	}
	e := es[1]
	if e.Line != 3 || e.From.Format("2006-01-02") != "2026-11-02" || e.To.Format("2006-01-02") != "2026-11-04" ||
		e.UTMSource != "google" || e.UTMCampaign != "sale" || e.Currency != "USD" || e.Expenses.String() != "100" || e.Clicks != 0 {
		t.Errorf("row 3: %+v", e)
	}
	if es[0].Clicks != 300 || es[0].Expenses.StringFixed(2) != "1520.50" || es[0].Currency != "" {
		t.Errorf("row 2: %+v", es[0])
	}
	// TrafficSource instead of UTMSource; header names in any case.
	es, err = readExpenses(t, "date,trafficsource,TrafficSourceDetail,expenses\n2026-11-01,Social,VK,5\n", false, false)
	if err != nil || es[0].TrafficSource != "social" || es[0].TrafficSourceDetail != "VK" {
		t.Errorf("traffic source: %+v, %v", es, err)
	}
	// A delete file needs Date only.
	es, err = readExpenses(t, "Date,UTMCampaign\n2026-11-01/2026-11-30,Sale\n", true, false)
	if err != nil || es[0].UTMCampaign != "Sale" || es[0].To.Day() != 30 {
		t.Errorf("removes: %+v, %v", es, err)
	}
}

// TestExpensesCSVErrors: every bad row and header is named by its line
// and column, and a file with one fails whole unless bad rows are skipped.
func TestExpensesCSVErrors(t *testing.T) {
	for _, c := range []struct {
		text, want string
		remove     bool
	}{
		{"", "line 1: the file is empty", false},
		{"Date,Expenses\n2026-11-01,5\n", "line 1, column UTMSource: required column is missing from the header: UTMSource or TrafficSource", false},
		{"Date,UTMSource\n2026-11-01,x\n", "line 1, column Expenses: required column is missing", false},
		{"Date,UTMSource,Expenses,Cost\n", "line 1, column Cost: unknown column", false},
		{"Date,UTMSource,Expenses,utmsource\n", "line 1, column utmsource: column appears twice", false},
		{"UTMCampaign\nx\n", "line 1, column Date: required column is missing", true},
		{"Date,UTMSource,Expenses\n2026-11-01,x,5\n2026-13-01,x,5\n", "line 3, column Date: want a date YYYY-MM-DD", false},
		{"Date,UTMSource,Expenses\n2026-11-05/2026-11-01,x,5\n", "line 2, column Date: the range ends before it starts", false},
		{"Date,UTMSource,Expenses\n2025-01-01/2026-01-02,x,5\n", "line 2, column Date: a range spans at most 366 days", false},
		{"Date,UTMSource,Expenses\n2026-11-01,x,1520,50\n", "line 2: the row has 4 fields, the header has 3", false},
		{"Date,UTMSource,Expenses\n2026-11-01,x,\"1520,50\"\n", "line 2, column Expenses: want a dot decimal", false},
		{"Date,UTMSource,Expenses\n2026-11-01,x,-5\n", "line 2, column Expenses: want a non-negative amount", false},
		{"Date,UTMSource,Expenses\n2026-11-01,x,1.23456\n", "line 2, column Expenses: want a non-negative amount", false},
		{"Date,UTMSource,Expenses\n2026-11-01,,5\n", "line 2, column UTMSource: required value is empty: UTMSource or TrafficSource", false},
		{"Date,TrafficSource,Expenses\n2026-11-01,tv,5\n", "line 2, column TrafficSource: not a traffic source id", false},
		{"Date,UTMSource,Expenses,Currency\n2026-11-01,x,5,rubles\n", "line 2, column Currency: not an ISO 4217", false},
		{"Date,UTMSource,Expenses,Clicks\n2026-11-01,x,5,many\n", "line 2, column Clicks: want a whole number", false},
		{"Date,UTMSource,Expenses\n2026-11-01,\"x,5\n", "line 2: CSV syntax error", false},
		{"Date,UTMSource,Expenses\n2026-11-01,\xff,5\n", "line 2, column UTMSource:", false},
		{"Date,UTMSource,Expenses\n", "the file has no rows", false},
	} {
		_, err := readExpenses(t, c.text, c.remove, false)
		if err == nil || crmlink.KindOf(err) != crmlink.KindInvalid || !strings.Contains(errText(err), c.want) {
			t.Errorf("%q: %v; want %q", c.text, errText(err), c.want)
		}
	}
	// Skipping bad rows keeps the good ones and names the bad.
	es, err := readExpenses(t, "Date,UTMSource,Expenses\n2026-11-01,x,5\nnope,x,5\n2026-11-02,y,6\n", false, true)
	if err != nil || len(es) != 2 || es[1].UTMSource != "y" {
		t.Errorf("skip: %+v, %v", es, err)
	}
}

// errText writes an error with each row error's line and column.
func errText(err error) string {
	var v *crmlink.ValidationError
	if !errors.As(err, &v) {
		return fmt.Sprint(err)
	}
	var b strings.Builder
	for _, e := range v.Errors {
		fmt.Fprintf(&b, "line %d", e.Line)
		if e.Column != "" {
			fmt.Fprintf(&b, ", column %s", e.Column)
		}
		fmt.Fprintf(&b, ": %s\n", e.Reason)
	}
	return b.String()
}

func FuzzExpensesCSV(f *testing.F) {
	for _, s := range []string{
		"Date,UTMSource,Expenses\n2026-11-01,x,5\n",
		"Date,UTMSource,UTMCampaign,Expenses,Currency,Clicks\n2026-11-02/2026-11-04,google,sale,100.5,usd,10\n",
		"date,trafficsource,expenses\n2026-11-01,ad,0.0001\n",
		"Date,UTMSource,Expenses\n\"2026-11-01,x,5\n",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		es, err := readExpenses(t, s, false, false)
		if err != nil && crmlink.KindOf(err) != crmlink.KindInvalid {
			t.Fatalf("%q: %v is not an invalid-input error", s, err)
		}
		for _, e := range es {
			if e.To.Before(e.From) || e.Expenses.IsNegative() || e.UTMSource == "" && e.TrafficSource == "" {
				t.Fatalf("%q: accepted %+v", s, e)
			}
		}
	})
}
