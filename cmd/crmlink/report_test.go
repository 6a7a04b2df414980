package main

import (
	"context"
	"encoding/csv"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/crmlink/crmlink/report"
)

// reportSessions are four sessions of three visitors:
//
//	1 client 5 02-01 from Google      organic
//	2 client 5 02-02 typed in         direct, but lastsign keeps 1's organic
//	3 client 6 02-02 a Yandex ad      ad
//	4 client 7 02-03 typed in         direct
//
// So under lastsign (the default): organic 2 visits, ad 1, direct 1.
const reportSessions = "session_id,client_id,start,landing_url,referrer\n" +
	"1,5,2026-02-01 10:00:00,https://shop.example/,https://www.google.com/\n" +
	"2,5,2026-02-02 10:00:00,https://shop.example/,\n" +
	"3,6,2026-02-02 11:00:00,https://shop.example/?utm_source=yandex&utm_medium=cpc&yclid=7,\n" +
	"4,7,2026-02-03 12:00:00,https://shop.example/,\n"

// newReportCLI is a store with a UTC counter 1 holding reportSessions.
func newReportCLI(t *testing.T) *cmdline {
	t.Helper()
	c := newCLI(t)
	c.must("counter", "create", "--name", "Shop", "--site", "shop.example", "--timezone", "UTC")
	file := filepath.Join(t.TempDir(), "sessions.csv")
	if err := os.WriteFile(file, []byte(reportSessions), 0o600); err != nil {
		t.Fatal(err)
	}
	if out := c.must("import", "sessions", file, "--counter", "1"); !strings.Contains(out, "PASSED, 4 rows, 4 accepted") {
		t.Fatalf("import printed %q", out)
	}
	return c
}

var reportDates = []string{"--date1", "2026-02-01", "--date2", "2026-02-03"}

func reportArgs(args ...string) []string {
	return append(append([]string{"report", "--counter", "1"}, reportDates...), args...)
}

// visitsByName reads a CSV report: the totals line's visits, and each
// row's visits by its first column, from the column named ym:s:visits.
func visitsByName(t *testing.T, out string) (total string, rows map[string]string) {
	t.Helper()
	recs, err := csv.NewReader(strings.NewReader(out)).ReadAll()
	if err != nil || len(recs) < 2 {
		t.Fatalf("not a CSV report (%v):\n%s", err, out)
	}
	col := -1
	for i, h := range recs[0] {
		if h == "ym:s:visits" {
			col = i
		}
	}
	if col < 0 {
		t.Fatalf("header %q has no ym:s:visits", recs[0])
	}
	if recs[1][0] != "Total and averages" {
		t.Fatalf("second line %q, want the totals", recs[1])
	}
	rows = map[string]string{}
	for _, r := range recs[2:] {
		rows[r[0]] = r[col]
	}
	return recs[1][col], rows
}

// TestReportCSVCLI: the preset as CSV: a header, totals, then one row per
// source, whose visits add up to the sessions imported.
func TestReportCSVCLI(t *testing.T) {
	c := newReportCLI(t)
	out := c.must(reportArgs("--preset", "orders_sources", "--format", "csv")...)
	head, _, _ := strings.Cut(out, "\n")
	if !strings.HasPrefix(head, "ym:s:<attribution>TrafficSource,ym:s:<attribution>SourceEngine,ym:s:visits,ym:s:cdpOrdersAllOrders,") {
		t.Errorf("header %q", head)
	}
	total, rows := visitsByName(t, out)
	if total != "4" {
		t.Errorf("total visits %s, want the 4 sessions imported", total)
	}
	want := map[string]string{"Search engine traffic": "2", "Ad traffic": "1", "Direct traffic": "1"}
	if len(rows) != len(want) {
		t.Errorf("rows %v, want %v", rows, want)
	}
	for name, v := range want {
		if rows[name] != v {
			t.Errorf("%s: %s visits, want %s\n%s", name, rows[name], v, out)
		}
	}

	// One day: session 2 still counts as organic, from the day before.
	out = c.must("report", "--counter", "1", "--date1", "2026-02-02", "--date2", "2026-02-02", "--format", "csv",
		"--dimensions", "ym:s:lastsignTrafficSource", "--metrics", "ym:s:visits")
	if total, rows := visitsByName(t, out); total != "2" || rows["Search engine traffic"] != "1" || rows["Ad traffic"] != "1" || len(rows) != 2 {
		t.Errorf("2026-02-02 alone: total %s rows %v\n%s", total, rows, out)
	}
	// ... and as its own last source, it is direct.
	out = c.must("report", "--counter", "1", "--date1", "2026-02-02", "--date2", "2026-02-02", "--format", "csv",
		"--dimensions", "ym:s:<attribution>TrafficSource", "--metrics", "ym:s:visits", "--attribution", "last")
	if _, rows := visitsByName(t, out); rows["Direct traffic"] != "1" || rows["Search engine traffic"] != "" {
		t.Errorf("2026-02-02, last click: %v\n%s", rows, out)
	}
	// A filter keeps only its sessions.
	out = c.must(reportArgs("--format", "csv", "--dimensions", "ym:s:lastsignTrafficSource", "--metrics", "ym:s:visits",
		"--filters", "ym:s:lastsignTrafficSource!='organic'")...)
	if total, rows := visitsByName(t, out); total != "2" || len(rows) != 2 || rows["Search engine traffic"] != "" {
		t.Errorf("filtered: total %s rows %v", total, rows)
	}
}

// TestReportTableCLI: the default format is an aligned table, totals last,
// then the row count.
func TestReportTableCLI(t *testing.T) {
	c := newReportCLI(t)
	out := c.must(reportArgs("--dimensions", "ym:s:lastsignTrafficSource", "--metrics", "ym:s:visits,ym:s:users")...)
	lines := strings.Split(strings.TrimSuffix(out, "\n"), "\n")
	if len(lines) != 6 {
		t.Fatalf("%d lines, want header, 3 rows, totals and the count:\n%s", len(lines), out)
	}
	if lines[5] != "3 rows" {
		t.Errorf("last line %q, want \"3 rows\"", lines[5])
	}
	if f := strings.Fields(lines[0]); strings.Join(f, " ") != "ym:s:lastsignTrafficSource ym:s:visits ym:s:users" {
		t.Errorf("header %q", lines[0])
	}
	// Sorted by visits, descending; three visitors in all.
	if f := strings.Fields(lines[1]); strings.Join(f, " ") != "Search engine traffic 2 1" {
		t.Errorf("first row %q, want organic with 2 visits of 1 user", lines[1])
	}
	if f := strings.Fields(lines[4]); strings.Join(f, " ") != "Total 4 3" {
		t.Errorf("totals %q, want Total 4 3", lines[4])
	}
	// Aligned: the numbers are right-aligned, so every line of the table
	// ends in the same column, and the name column is padded to one width.
	width := utf8.RuneCountInString(lines[0])
	for _, l := range lines[1:5] {
		if utf8.RuneCountInString(l) != width {
			t.Errorf("line %q is %d wide, the header %d:\n%s", l, utf8.RuneCountInString(l), width, out)
		}
		if !strings.HasPrefix(l[len("ym:s:lastsignTrafficSource"):], "  ") {
			t.Errorf("line %q: the name column is not padded to the header's width", l)
		}
	}

	// JSON: the API's answer.
	out = c.must(reportArgs("--preset", "orders_sources", "--format", "json")...)
	var a report.Answer
	if err := json.Unmarshal([]byte(out), &a); err != nil {
		t.Fatalf("--format json: %v\n%s", err, out)
	}
	if a.TotalRows != 3 || len(a.Data) != 3 || string(a.Totals[0]) != "4" || a.Query.Attribution != "lastsign" ||
		a.Query.Date1 != "2026-02-01" || a.Query.Date2 != "2026-02-03" || a.Query.IDs[0] != 1 || a.Query.Preset != "orders_sources" {
		t.Errorf("json answer %+v", a)
	}
	if d := a.Data[0].Dimensions[0]; d.ID != "organic" || d.Name != "Search engine traffic" {
		t.Errorf("first row's source %+v", d)
	}
}

// TestReportBadArgsCLI: mistakes name the flag or parameter.
func TestReportBadArgsCLI(t *testing.T) {
	c := newReportCLI(t)
	for _, tc := range []struct {
		args []string
		code int
		msg  string
	}{
		{reportArgs("--metrics", "ym:s:visits,ym:s:sales"), 1, `crmlink: metrics: unknown metric "ym:s:sales"`},
		{reportArgs("--metrics", "visits"), 1, `metrics: unknown metric "visits": names start with ym:s:`},
		{reportArgs(), 1, "metrics: missing"},
		{reportArgs("--preset", "orders_sources", "--dimensions", "ym:s:colour"), 1, `dimensions: unknown dimension "ym:s:colour"`},
		{reportArgs("--metrics", "ym:s:visits", "--filters", "ym:s:regionCity=='Moscow"), 1, "filters: column 18: value not closed"},
		{reportArgs("--metrics", "ym:s:visits", "--attribution", "linear"), 1, `attribution: "linear" is not a model`},
		{[]string{"report", "--counter", "1", "--metrics", "ym:s:visits", "--date1", "01.02.2026"}, 1, `date1: "01.02.2026"`},
		{reportArgs("--metrics", "ym:s:visits", "--format", "xml"), 2, `--format "xml": want table, csv or json`},
		{[]string{"report", "--metrics", "ym:s:visits"}, 2, "--counter is required"},
		{reportArgs("--metrics", "ym:s:visits", "extra"), 2, "report takes no arguments"},
		{[]string{"report", "--counter", "9", "--metrics", "ym:s:visits"}, 1, "counter 9 not found"},
		{reportArgs("--metrics", "ym:s:visits", "--server", "http://127.0.0.1:1"), 2, "--server needs --token"},
	} {
		code, out, errs := c.run(tc.args...)
		if code != tc.code || !strings.Contains(errs, tc.msg) {
			t.Errorf("crmlink %s: exit %d, stderr %q; want exit %d naming %q", strings.Join(tc.args, " "), code, errs, tc.code, tc.msg)
		}
		if out != "" {
			t.Errorf("crmlink %s printed %q on stdout besides the error", strings.Join(tc.args, " "), out)
		}
	}
}

// TestReportServerCLI: with --server and a read token the same report
// comes from a running crmlink, printed the same way as from the store.
func TestReportServerCLI(t *testing.T) {
	c := newReportCLI(t)
	tok := strings.TrimSpace(c.must("token", "create", "--counter", "1", "--scope", "read"))
	table := reportArgs("--preset", "orders_sources")
	csvArgs := reportArgs("--preset", "orders_sources", "--format", "csv", "--attribution", "last")
	localTable, localCSV := c.must(table...), c.must(csvArgs...)

	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	srv := c.start(ctx, "serve", "--addr", "127.0.0.1:0", "--log-level", "warn")
	base := "http://" + srv.addr
	remote := func(args ...string) (int, string, string) {
		e, out, errs := c.env("")
		code := run(ctx, append(args, "--server", base, "--token", tok), e)
		return code, out.String(), errs.String()
	}
	if code, out, errs := remote(table...); code != 0 || out != localTable {
		t.Errorf("remote table: exit %d, stderr %q\n%s\nwant the local one:\n%s", code, errs, out, localTable)
	}
	if code, out, errs := remote(csvArgs...); code != 0 || out != localCSV {
		t.Errorf("remote csv: exit %d, stderr %q\n%s\nwant the local one:\n%s", code, errs, out, localCSV)
	}
	code, out, _ := remote(reportArgs("--preset", "orders_sources", "--format", "json")...)
	var a report.Answer
	if err := json.Unmarshal([]byte(out), &a); code != 0 || err != nil || a.TotalRows != 3 || string(a.Totals[0]) != "4" {
		t.Errorf("remote json: exit %d, %v: %s", code, err, out)
	}
	// The server's error reaches the user with its message, as the store's
	// would.
	if code, _, errs := remote(reportArgs("--metrics", "ym:s:sales")...); code != 1 ||
		errs != "crmlink: metrics: unknown metric \"ym:s:sales\"\n" {
		t.Errorf("remote bad metrics: exit %d, stderr %q", code, errs)
	}
	e2, _, errs := c.env("")
	if code := run(ctx, append(reportArgs("--preset", "orders_sources"), "--server", base, "--token", "crm_nope"), e2); code != 1 ||
		!strings.Contains(errs.String(), "invalid or revoked token") {
		t.Errorf("remote with a wrong token: exit %d, stderr %q", code, errs.String())
	}
	cancel()
	if code := <-srv.done; code != 0 {
		t.Errorf("serve exited %d: %s", code, srv.errb.String())
	}
}
