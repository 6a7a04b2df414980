package main

import (
	"context"
	"fmt"
	"net/url"
	"time"

	"github.com/crmlink/crmlink"
	"github.com/crmlink/crmlink/internal/cli"
	"github.com/crmlink/crmlink/report"
)

// benchReport loads a generated data set (10M sessions and 1M orders by
// default) and times the reports of SPEC.md §4, best of three runs each.
func benchReport(ctx context.Context, g *cli.GenFlags, dir, storeOpts string, e *cli.Env) error {
	st, c, _, err := benchLoad(ctx, g, dir, storeOpts, e)
	if err != nil {
		return err
	}
	defer st.Close()
	goals, err := st.Goals(ctx, c.ID)
	if err != nil {
		return err
	}
	best := func(name string, run func() (int, error)) error {
		var min time.Duration
		rows := 0
		for i := 0; i < 3; i++ {
			start := time.Now()
			n, err := run()
			if err != nil {
				return fmt.Errorf("%s: %w", name, err)
			}
			if el := time.Since(start); min == 0 || el < min {
				min = el
			}
			rows = n
		}
		fmt.Fprintf(e.Stdout, "%s: %s (best of 3), %s\n", name, min.Round(time.Millisecond), cli.Plural(rows, "row", ""))
		return nil
	}
	for _, r := range []struct{ name, query string }{
		{"orders_sources, 30 days, lastsign", "preset=orders_sources&date1=29daysAgo&date2=today"},
		{"source x region x device, 30 days", "metrics=ym:s:visits,ym:s:users,ym:s:cdpOrdersAllOrders,ym:s:cdpOrdersPayed,ym:s:cdpOrders<currency>Revenue&dimensions=ym:s:lastsignTrafficSource,ym:s:regionCity,ym:s:deviceCategory&date1=29daysAgo&date2=today"},
		{"orders_sources, 30 days, cross_device_last_significant", "preset=orders_sources&date1=29daysAgo&date2=today&attribution=cross_device_last_significant"},
		{"orders_sources, 90 days, lastsign", "preset=orders_sources&date1=89daysAgo&date2=today"},
	} {
		v, _ := url.ParseQuery(r.query)
		q, err := report.Parse(report.Request{Counter: c, Goals: goals, Now: e.Clock.Now(), Params: v})
		if err != nil {
			return err
		}
		if err := best(r.name, func() (int, error) {
			res, err := st.Report(ctx, q)
			if err != nil {
				return 0, err
			}
			return res.TotalRows, nil
		}); err != nil {
			return err
		}
	}
	return best("Clients, first page of 100", func() (int, error) {
		res, err := st.Clients(ctx, &crmlink.ClientsQuery{CounterID: c.ID, Limit: 100})
		if err != nil {
			return 0, err
		}
		return len(res.Rows), nil
	})
}
