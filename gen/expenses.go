package gen

import (
	"bufio"
	"context"
	"strconv"
)

// The ad spend file, expenses.csv, is what a shop would upload from its
// ad platforms' statistics: a row a day for each campaign that had
// clicks, with Metrica's expense columns
//
//	Date,UTMSource,UTMMedium,UTMCampaign,Expenses,Clicks
//
// The clicks are the generator's ad sessions of that day and campaign
// (a Google click without UTM tags counts for its campaign too: the
// platform bills it, though the session cannot be matched to the spend),
// plus 8 to 25% that never became a session (the visitor left before the
// page loaded). The cost of a click is set so that each campaign spends a
// realistic share of the paid revenue it brings (its CRR): the data set's
// orders do not depend on the source of their session, so a click is
// worth the data set's expected paid revenue per session, and the cost of
// a click is that times the campaign's CRR, give or take 15% a day. With
// the 55-85% cost price of the orders, the brand campaign pays back many
// times, generic search and shopping pay back on profit, and VK and the
// sale campaign lose money on profit while their ROI on revenue is
// positive: the spread a business looks at this report to find.

// ExpensesFile is the name of the ad spend file Generate writes.
const ExpensesFile = "expenses.csv"

// adSources are the ad platforms of the generated ad sessions, in the
// order of sourceBuilder.ad's keys; crr scales the campaigns' CRR.
var adSources = []struct {
	utm string
	crr float64
}{{"yandex", 1}, {"google", 1.2}, {"vk", 2.3}}

// campaignCRR is each campaign's share of the paid revenue it brings that
// it spends, on Yandex; the other platforms scale it.
var campaignCRR = map[string]float64{
	"brand_search": 0.04, "search_generic_msk": 0.17, "search_generic_regions": 0.21, "rsya_retargeting": 0.09,
	"smart_banners": 0.14, "shopping_feed": 0.15, "black_friday": 0.3, "master_campaign": 0.19,
}

// paidShare is about the share of orders, full and simple, that end paid
// in the data set (statusByAge and simpleStatusByAge on its ages).
const paidShare = 0.68

// adKeys is the number of (platform, campaign) pairs.
func adKeys() int { return len(adSources) * len(campaigns) }

// adMedium is the utm_medium of a campaign's ads on a platform.
func adMedium(src, camp int) string {
	c := campaigns[camp]
	if src == 0 && (c[0] == 'r' || (c[0] == 's' && c[1] == 'm')) { // rsya_*, smart_*: network ads
		return "cpm"
	}
	return "cpc"
}

// revenuePerSession is the data set's expected paid revenue per session
// in kopecks: the mean of 4096 baskets drawn from a stream of their own,
// times the orders per session and the share paid.
func (g *generator) revenuePerSession() float64 {
	if g.cfg.Sessions == 0 {
		return 0
	}
	r := newRNG().seed(g.seeds.orderDetail, 1<<63)
	var sum int64
	const n = 4096
	for range n {
		v, _ := basket(r, false, nil)
		sum += v
	}
	return float64(sum) / n * float64(g.cfg.Orders+g.cfg.SimpleOrders) / float64(g.cfg.Sessions) * paidShare
}

// writeExpenses writes expenses.csv from the ad clicks counted while the
// sessions were written (g.adClicks: day-major, then adKeys).
func (g *generator) writeExpenses(ctx context.Context, w *bufio.Writer) error {
	if _, err := w.WriteString("Date,UTMSource,UTMMedium,UTMCampaign,Expenses,Clicks\n"); err != nil {
		return err
	}
	perSession := g.revenuePerSession()
	r := newRNG()
	keys := adKeys()
	var b []byte
	for day := 0; day*keys < len(g.adClicks); day++ {
		if err := ctx.Err(); err != nil {
			return err
		}
		r.seed(g.seeds.orderDetail, 1<<62|uint64(day))
		for k := range keys {
			sessions := g.adClicks[day*keys+k]
			if sessions == 0 {
				continue
			}
			src, camp := k/len(campaigns), k%len(campaigns)
			clicks := int64(sessions) + int64(sessions)*int64(8+r.IntN(18))/100
			cpc := perSession * campaignCRR[campaigns[camp]] * adSources[src].crr * (0.85 + 0.3*r.Float64())
			spend := int64(float64(float64(clicks)*cpc) + 0.5) // no fused multiply-add: the same bytes on every CPU
			b = g.appendDay(b[:0], day)
			b = append(b, ',')
			b = append(b, adSources[src].utm...)
			b = append(b, ',')
			b = append(b, adMedium(src, camp)...)
			b = append(b, ',')
			b = append(b, campaigns[camp]...)
			b = append(b, ',')
			b = appendMoney(b, spend)
			b = append(b, ',')
			b = strconv.AppendInt(b, clicks, 10)
			b = append(b, '\n')
			if _, err := w.Write(b); err != nil {
				return err
			}
		}
	}
	return nil
}

// appendDay appends the date, yyyy-MM-dd, of the window's local day i.
func (g *generator) appendDay(b []byte, i int) []byte {
	y, m, d := civil(g.day0 + int64(i))
	b = strconv.AppendInt(b, y, 10)
	b = append2(append(b, '-'), m)
	return append2(append(b, '-'), d)
}
