package main

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"net/url"
	"os"
	"path/filepath"
	"slices"
	"time"

	"github.com/crmlink/crmlink"
	"github.com/crmlink/crmlink/internal/cli"
	"github.com/crmlink/crmlink/report"
)

// benchReport loads a generated data set (10M sessions and 1M orders by
// default) and times the reports of SPEC.md §4, three runs each: the best and the
// median.
//
// With keep set, the store is loaded into that directory and kept; a store
// kept there before is reused as it is, to time reports alone.
func benchReport(ctx context.Context, g *cli.GenFlags, dir, keep, storeOpts string, e *cli.Env) error {
	st, c, err := reportStore(ctx, g, dir, keep, storeOpts, e)
	if err != nil {
		return err
	}
	defer st.Close()
	goals, err := st.Goals(ctx, c.ID)
	if err != nil {
		return err
	}
	best := func(name string, run func() (int, error)) error { return bestOf3(e, name, "row", run) }
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

// bestOf3 runs run three times and prints the best and the median time,
// and the count of what the last run gave.
func bestOf3(e *cli.Env, name, unit string, run func() (int, error)) error {
	var took []time.Duration
	rows := 0
	for range 3 {
		start := time.Now()
		n, err := run()
		if err != nil {
			return fmt.Errorf("%s: %w", name, err)
		}
		took = append(took, time.Since(start))
		rows = n
	}
	slices.Sort(took)
	fmt.Fprintf(e.Stdout, "%s: %s best, %s median of 3, %s\n", name, took[0].Round(time.Millisecond),
		took[1].Round(time.Millisecond), cli.Plural(rows, unit, ""))
	return nil
}

// reportStore loads the data set into a store in dir, or in keep when
// set, or opens the store kept in keep.
func reportStore(ctx context.Context, g *cli.GenFlags, dir, keep, storeOpts string, e *cli.Env) (crmlink.Store, *crmlink.Counter, error) {
	if keep == "" {
		st, c, _, err := benchLoad(ctx, g, dir, storeOpts, e)
		return st, c, err
	}
	if _, err := os.Stat(filepath.Join(keep, "bench.db")); errors.Is(err, fs.ErrNotExist) {
		if err := os.MkdirAll(keep, 0o755); err != nil {
			return nil, nil, err
		}
		st, c, _, err := benchLoad(ctx, g, keep, storeOpts, e)
		return st, c, err
	}
	st, err := cli.OpenStore(ctx, benchStoreURL(keep, storeOpts), e.Clock)
	if err != nil {
		return nil, nil, err
	}
	cs, err := st.Counters(ctx)
	if err == nil && len(cs) != 1 {
		err = fmt.Errorf("--keep-store %s: want the one counter a benchmark creates, found %d", keep, len(cs))
	}
	if err != nil {
		st.Close()
		return nil, nil, err
	}
	fmt.Fprintf(e.Stdout, "reports on the store kept in %s\n", keep)
	return st, cs[0], nil
}
