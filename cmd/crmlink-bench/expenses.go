package main

import (
	"bytes"
	"context"
	"fmt"
	"net/url"
	"time"

	"github.com/crmlink/crmlink"
	"github.com/crmlink/crmlink/crm"
	"github.com/crmlink/crmlink/internal/cli"
	"github.com/crmlink/crmlink/report"
)

// benchCampaigns are the generator's ad campaigns (gen/data.go), whose
// spend the benchmark uploads.
var benchCampaigns = []string{"brand_search", "search_generic_msk", "search_generic_regions", "rsya_retargeting",
	"smart_banners", "shopping_feed", "black_friday", "master_campaign"}

// benchExpenses times an upload of 100k rows of ad spend into the report
// benchmark's store (once: a kept store that has spend keeps it), and
// the ad payback report over it under lastsign and a cross-device model.
func benchExpenses(ctx context.Context, g *cli.GenFlags, dir, keep, storeOpts string, e *cli.Env) error {
	st, c, err := reportStore(ctx, g, dir, keep, storeOpts, e)
	if err != nil {
		return err
	}
	defer st.Close()
	now := e.Clock.Now()
	days, err := st.ExpenseDays(ctx, c.ID, now.AddDate(0, 0, -120), now)
	if err != nil {
		return err
	}
	if len(days) == 0 {
		// A row a day of each source, campaign and one of 46 terms, over
		// the data set's 90 days: 99,360 rows.
		var buf bytes.Buffer
		buf.WriteString("Date,UTMSource,UTMMedium,UTMCampaign,UTMTerm,Expenses,Clicks\n")
		rows := 0
		for d := range 90 {
			day := now.AddDate(0, 0, -d).Format(time.DateOnly)
			for si, src := range []string{"yandex", "google", "vk"} {
				for ci, camp := range benchCampaigns {
					for term := range 46 {
						clicks := 1 + (d*7+si*13+ci*17+term*3)%40
						fmt.Fprintf(&buf, "%s,%s,cpc,%s,term_%d,%d.%02d,%d\n", day, src, camp, term, clicks*(25+si*10), (d+term)%100, clicks)
						rows++
					}
				}
			}
		}
		rd, err := crm.NewExpensesCSV(&buf, crm.Options{})
		if err != nil {
			return err
		}
		start := time.Now()
		up := &crmlink.Upload{CounterID: c.ID, Source: "CLI", Format: "CSV"}
		if err := st.UploadExpenses(ctx, up, &crmlink.ExpenseUpload{Provider: "bench"}, rd); err != nil {
			return err
		}
		el := time.Since(start)
		fmt.Fprintf(e.Stdout, "expenses upload into the %s store: %d rows in %s (%.0f rows/s)\n", keep, rows, el.Round(time.Millisecond), float64(rows)/el.Seconds())
	}
	goals, err := st.Goals(ctx, c.ID)
	if err != nil {
		return err
	}
	for _, r := range []struct{ name, query string }{
		{"sources_expenses_and_roi, 30 days, lastsign", "preset=sources_expenses_and_roi&date1=29daysAgo&date2=today"},
		{"sources_expenses_and_roi, 30 days, cross_device_last_significant", "preset=sources_expenses_and_roi&date1=29daysAgo&date2=today&attribution=cross_device_last_significant"},
		{"sources_expenses_and_roi, 90 days, lastsign", "preset=sources_expenses_and_roi&date1=89daysAgo&date2=today"},
	} {
		v, _ := url.ParseQuery(r.query)
		q, err := report.Parse(report.Request{Counter: c, Goals: goals, Now: now, Params: v})
		if err != nil {
			return err
		}
		if err := bestOf3(e, r.name, "row", func() (int, error) {
			res, err := st.Report(ctx, q)
			if err != nil {
				return 0, err
			}
			return res.TotalRows, nil
		}); err != nil {
			return err
		}
	}
	return nil
}
