package main

import (
	"context"
	"encoding/json"
	"fmt"
	"net/url"
	"slices"

	"github.com/crmlink/crmlink"
	"github.com/crmlink/crmlink/internal/cli"
	"github.com/crmlink/crmlink/report"
)

// cmdReport prints a report (SPEC.md §4) from the store, or from a running
// server with --server.
func cmdReport(ctx context.Context, args []string, e *cli.Env) error {
	fs := flags("report", e)
	tgt := targetFlags(fs, e, crmlink.ScopeRead)
	counter := fs.String("counter", "", "counter id (required)")
	preset := fs.String("preset", "", "a named report: orders_sources")
	params := map[string]*string{}
	for _, p := range []struct{ name, help string }{
		{"date1", "first day: YYYY-MM-DD, today, yesterday or NdaysAgo (default 6daysAgo)"},
		{"date2", "last day (default today)"},
		{"dimensions", "comma-separated dimensions, e.g. ym:s:lastsignTrafficSource,ym:s:regionCity"},
		{"metrics", "comma-separated metrics, e.g. ym:s:visits,ym:s:cdpOrdersAllOrders"},
		{"attribution", "last, first, lastsign (default), cross_device_last, cross_device_first, cross_device_last_significant"},
		{"filters", "a filter expression, e.g. ym:s:regionCity=='Moscow'"},
		{"sort", "comma-separated dimensions or metrics, - for descending"},
		{"limit", "rows to show (default 100)"},
		{"offset", "first row to show, from 1"},
		{"currency", "the currency whose orders money metrics sum (default the counter's)"},
	} {
		params[p.name] = fs.String(p.name, "", p.help)
	}
	format := fs.String("format", "table", "table, csv or json")
	unlinked := fs.Bool("unlinked", false, "add the row of orders created in the period that link to no session")
	pos, err := cli.Parse(fs, args)
	if err != nil {
		return err
	}
	if len(pos) > 0 {
		return cli.Usagef("report takes no arguments, got %q", pos)
	}
	if *counter == "" {
		return cli.Usagef("--counter is required")
	}
	id, err := crmlink.ParseCounterID(*counter)
	if err != nil {
		return err
	}
	switch *format {
	case "table", "csv", "json":
	default:
		return cli.Usagef("--format %q: want table, csv or json", *format)
	}
	v := url.Values{"ids": {id.String()}}
	if *preset != "" {
		v.Set("preset", *preset)
	}
	for name, p := range params {
		if *p != "" {
			v.Set(name, *p)
		}
	}
	if *unlinked {
		v.Set("include_unlinked", "true")
	}
	api, err := tgt.client()
	if err != nil {
		return err
	}
	if api != nil {
		return reportRemote(ctx, api, v, *format, e)
	}
	st, err := tgt.open(ctx)
	if err != nil {
		return err
	}
	defer st.Close()
	c, err := st.Counter(ctx, id)
	if err != nil {
		return err
	}
	goals, err := st.Goals(ctx, id)
	if err != nil {
		return err
	}
	q, err := report.Parse(report.Request{Counter: c, Goals: goals, Now: e.Clock.Now(), Params: v})
	if err != nil {
		return err
	}
	res, err := st.Report(ctx, q)
	if err != nil {
		return err
	}
	switch *format {
	case "csv":
		return report.WriteCSV(e.Stdout, res)
	case "json":
		enc := json.NewEncoder(e.Stdout)
		enc.SetIndent("", "  ")
		enc.SetEscapeHTML(false)
		return enc.Encode(report.Table(res, v))
	}
	return report.WriteText(e.Stdout, res)
}

// reportRemote asks a server's Reporting API.
func reportRemote(ctx context.Context, api *cli.APIClient, v url.Values, format string, e *cli.Env) error {
	path := "/stat/v1/data"
	if format == "csv" {
		path += ".csv"
	}
	body, err := api.Get(ctx, path+"?"+v.Encode())
	if err != nil {
		return err
	}
	if format != "table" {
		_, err := e.Stdout.Write(body)
		return err
	}
	var a report.Answer
	if err := json.Unmarshal(body, &a); err != nil {
		return fmt.Errorf("server's answer: %w", err)
	}
	var head []string
	for _, n := range append(append([]string{}, a.Query.Dimensions...), a.Query.Metrics...) {
		head = append(head, report.ResolveName(n, crmlink.Attribution(a.Query.Attribution), a.Query.Currency))
	}
	data := a.Data
	if a.Unlinked != nil {
		// Its dimensions all say so: the first is enough.
		u := *a.Unlinked
		u.Dimensions = slices.Clone(u.Dimensions)
		for i := 1; i < len(u.Dimensions); i++ {
			u.Dimensions[i].Name = ""
		}
		data = append(data, u)
	}
	var rows [][]string
	for _, r := range data {
		var line []string
		for _, d := range r.Dimensions {
			line = append(line, d.Name)
		}
		for _, m := range r.Metrics {
			line = append(line, string(m))
		}
		rows = append(rows, line)
	}
	total := make([]string, len(a.Query.Dimensions))
	if len(total) > 0 {
		total[0] = "Total"
	}
	for _, m := range a.Totals {
		total = append(total, string(m))
	}
	rows = append(rows, total)
	return report.WriteAligned(e.Stdout, head, rows, len(a.Query.Dimensions), a.TotalRows)
}
