package storetest

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"io"
	"net/url"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/crmlink/crmlink"
	"github.com/crmlink/crmlink/crm"
	"github.com/crmlink/crmlink/gen"
	"github.com/crmlink/crmlink/report"
	"github.com/crmlink/crmlink/sessionfile"
	"github.com/crmlink/crmlink/traffic"
	"github.com/shopspring/decimal"
)

// testReportAccuracy compares reports with the same numbers computed by
// plain Go loops over the generator's files: sessions and their sources as
// the session reader gives them, attribution by walking each ClientID's
// (and each customer's) sessions in time order, orders as the CRM reader
// gives them. Which session an order links to is the store's (linking has
// its own accuracy test against the generator's truth); everything after
// that, grouping, attribution, spam, money and rates, is computed here
// independently of the store's SQL.
func testReportAccuracy(t *testing.T, open Opener) {
	ctx := context.Background()
	st, c, dir, _ := GeneratedStore(t, open, gen.Config{Seed: 11, Sessions: 30000, Contacts: 2000, Orders: 4000, Days: 60},
		gen.SessionsFile, gen.ContactsFile, gen.OrdersFile)
	loc, _ := time.LoadLocation("Europe/Moscow")
	end := Epoch
	m := newModel(t, st, c, dir, end, loc)
	today := time.Date(end.In(loc).Year(), end.In(loc).Month(), end.In(loc).Day(), 0, 0, 0, 0, time.UTC)
	date1, date2 := today.AddDate(0, 0, -29), today
	goals, err := st.Goals(ctx, c.ID)
	if err != nil {
		t.Fatal(err)
	}
	run := func(query string) *crmlink.ReportResult {
		v, _ := url.ParseQuery(query)
		v.Set("date1", date1.Format(time.DateOnly))
		v.Set("date2", date2.Format(time.DateOnly))
		v.Set("limit", "100000")
		q, err := report.Parse(report.Request{Counter: c, Goals: goals, Now: end, Params: v})
		if err != nil {
			t.Fatal(err)
		}
		res, err := st.Report(ctx, q)
		if err != nil {
			t.Fatalf("%s: %v", query, err)
		}
		return res
	}
	for _, a := range crmlink.Attributions {
		res := run("preset=orders_sources&attribution=" + string(a))
		want := m.aggregate(date1, date2, func(s *modelSession, _ *modelOrder) []string {
			src := m.source(s, a)
			return []string{src.kind, src.engine}
		})
		m.compare(t, "orders_sources "+string(a), res, want, presetMetrics)
	}
	res := run("metrics=ym:s:visits,ym:s:users,ym:s:cdpOrdersAllOrders,ym:s:cdpOrdersRUBRevenue,ym:s:cdpOrdersRUBProfit" +
		"&dimensions=ym:s:lastsignTrafficSource,ym:s:regionCity,ym:s:deviceCategory")
	m.compare(t, "source x city x device", res, m.aggregate(date1, date2, func(s *modelSession, _ *modelOrder) []string {
		return []string{m.source(s, crmlink.AttributionLastSign).kind, s.City, string(s.Device)}
	}), []string{"visits", "users", "all", "revenue", "profit"})
	res = run("metrics=ym:s:visits,ym:s:cdpOrdersAllOrders,ym:s:cdpOrdersRUBRevenue&dimensions=ym:s:regionCountry,ym:s:regionArea")
	m.compare(t, "country x region", res, m.aggregate(date1, date2, func(s *modelSession, _ *modelOrder) []string {
		return []string{s.Country, s.Region}
	}), []string{"visits", "all", "revenue"})
	res = run("metrics=ym:s:visits,ym:s:cdpOrdersPayed,ym:s:cdpOrdersRUBAverageCheque,ym:s:cdpOrdersConversionIntoOrder&dimensions=ym:s:date")
	m.compare(t, "by date", res, m.aggregate(date1, date2, func(s *modelSession, _ *modelOrder) []string {
		return []string{s.local.Format(time.DateOnly)}
	}), []string{"visits", "paid", "cheque", "convOrder"})
	res = run("metrics=ym:s:cdpOrdersAllOrders,ym:s:cdpOrdersSpam,ym:s:cdpOrdersRUBRevenue&dimensions=ym:s:cdpOrderStatusType,ym:s:firstTrafficSource")
	m.compare(t, "status x first source", res, m.aggregateOrders(date1, date2, func(s *modelSession, o *modelOrder) []string {
		return []string{string(o.StatusType), m.source(s, crmlink.AttributionFirst).kind}
	}), []string{"all", "spam", "revenue"})
	res = run("metrics=ym:s:visits,ym:s:cdpOrdersAllOrders&dimensions=ym:s:lastTrafficSource&filters=" +
		url.QueryEscape("ym:s:deviceCategory=='mobile' AND ym:s:regionCity!='Moscow'"))
	m.compare(t, "filtered", res, m.aggregate(date1, date2, func(s *modelSession, _ *modelOrder) []string {
		if s.Device != crmlink.DeviceMobile || s.City == "Moscow" {
			return nil
		}
		return []string{string(s.Source.Kind)}
	}), []string{"visits", "all"})
}

var presetMetrics = []string{"visits", "all", "inProgress", "paid", "cancelled", "spam", "other", "convOrder", "convPayment", "revenue", "profit", "cheque"}

type modelSession struct {
	crmlink.Session
	local  time.Time
	orders []*modelOrder
}

type modelOrder struct{ crmlink.Order }

type modelSource struct{ kind, engine string }

// model holds the generated data as plain Go values.
type model struct {
	sessions []*modelSession
	byClient map[uint64][]*modelSession // each ClientID's sessions in time order
	byOwner  map[string][]*modelSession // each customer's sessions in time order
	owner    map[uint64]string
}

func newModel(t *testing.T, st crmlink.Store, c *crmlink.Counter, dir string, now time.Time, loc *time.Location) *model {
	ctx := context.Background()
	open := func(name string) *os.File {
		f, err := os.Open(filepath.Join(dir, name))
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { f.Close() })
		return f
	}
	m := &model{byClient: map[uint64][]*modelSession{}, byOwner: map[string][]*modelSession{}, owner: map[uint64]string{}}
	sr, err := sessionfile.NewReader(open(gen.SessionsFile), sessionfile.Options{Location: loc, Site: c.Site, Classifier: traffic.New(), Now: now})
	if err != nil {
		t.Fatal(err)
	}
	byID := map[uint64]*modelSession{}
	userClients := map[string][]uint64{}
	for {
		var s crmlink.Session
		if err := sr.Next(&s); errors.Is(err, io.EOF) {
			break
		} else if err != nil {
			t.Fatal(err)
		}
		if s.UserID != "" {
			userClients[s.UserID] = append(userClients[s.UserID], s.ClientID)
		}
		if s.Bot {
			continue
		}
		l := s.Start.In(loc)
		ms := &modelSession{Session: s, local: time.Date(l.Year(), l.Month(), l.Day(), 0, 0, 0, 0, time.UTC)}
		m.sessions = append(m.sessions, ms)
		byID[s.ID] = ms
		m.byClient[s.ClientID] = append(m.byClient[s.ClientID], ms)
	}
	before := func(a, b *modelSession) int {
		if c := a.Start.Compare(b.Start); c != 0 {
			return c
		}
		return cmp.Compare(a.ID, b.ID)
	}
	for _, ss := range m.byClient {
		slices.SortFunc(ss, before)
	}
	// A customer owns its contacts' ClientIDs and the visitors whose UserID
	// is one of its UserIDs; a ClientID two customers claim goes to the
	// smaller uniq_id.
	opt := crm.Options{Location: loc, Now: now, Statuses: crmlink.NewStatusResolver(gen.OrderStatuses())}
	cr, err := crm.NewContactCSV(open(gen.ContactsFile), opt)
	if err != nil {
		t.Fatal(err)
	}
	claim := func(client uint64, uniq string) {
		if cur, ok := m.owner[client]; !ok || uniq < cur {
			m.owner[client] = uniq
		}
	}
	for {
		var ct crmlink.Contact
		if err := cr.Next(&ct); errors.Is(err, io.EOF) {
			break
		} else if err != nil {
			t.Fatal(err)
		}
		for _, cl := range ct.IDs.ClientIDs {
			claim(cl, ct.UniqID)
		}
		for _, u := range ct.IDs.UserIDs {
			for _, cl := range userClients[u] {
				claim(cl, ct.UniqID)
			}
		}
	}
	for _, s := range m.sessions {
		g := m.group(s.ClientID)
		m.byOwner[g] = append(m.byOwner[g], s)
	}
	for _, ss := range m.byOwner {
		slices.SortFunc(ss, before)
	}
	or, err := crm.NewOrderCSV(open(gen.OrdersFile), opt)
	if err != nil {
		t.Fatal(err)
	}
	for {
		var o crmlink.Order
		if err := or.Next(&o); errors.Is(err, io.EOF) {
			break
		} else if err != nil {
			t.Fatal(err)
		}
		l, err := st.OrderLink(ctx, c.ID, o.ID)
		if crmlink.KindOf(err) == crmlink.KindNotFound {
			continue
		}
		if err != nil {
			t.Fatal(err)
		}
		if o.Currency == "" {
			o.Currency = c.Currency
		}
		if s := byID[l.SessionID]; s != nil {
			s.orders = append(s.orders, &modelOrder{o})
		}
	}
	return m
}

func (m *model) group(client uint64) string {
	if o, ok := m.owner[client]; ok {
		return o
	}
	return fmt.Sprintf("#%d", client)
}

// source is a session's source under a model, walking the sessions of its
// ClientID, or of its customer for the cross-device forms.
func (m *model) source(s *modelSession, a crmlink.Attribution) modelSource {
	own := modelSource{string(s.Source.Kind), s.Source.Engine}
	var list []*modelSession
	switch a {
	case crmlink.AttributionLast, crmlink.AttributionCrossDeviceLast:
		return own
	case crmlink.AttributionFirst, crmlink.AttributionLastSign:
		list = m.byClient[s.ClientID]
	default:
		list = m.byOwner[m.group(s.ClientID)]
	}
	switch a {
	case crmlink.AttributionFirst, crmlink.AttributionCrossDeviceFirst:
		return modelSource{string(list[0].Source.Kind), list[0].Source.Engine}
	}
	if s.Source.Kind.Significant() {
		return own
	}
	var best *modelSession
	for _, x := range list {
		if x.Start.After(s.Start) {
			break
		}
		if x.Source.Kind.Significant() && (a == crmlink.AttributionCrossDeviceLastSign || x.Start.Before(s.Start) || x.ID < s.ID) {
			best = x
		}
	}
	if best == nil {
		return modelSource{"direct", ""}
	}
	return modelSource{string(best.Source.Kind), best.Source.Engine}
}

// row is the model's sums for one group.
type row struct {
	visits                                            int
	users                                             map[uint64]bool
	all, inProgress, paid, cancelled, spam, other, pc int
	revenue, profit                                   decimal.Decimal
}

func (r *row) addOrder(o *modelOrder) {
	switch o.StatusType {
	case crmlink.StatusInProgress:
		r.inProgress++
	case crmlink.StatusPaid:
		r.paid++
	case crmlink.StatusCancelled:
		r.cancelled++
	case crmlink.StatusSpam:
		r.spam++
	case crmlink.StatusOther:
		r.other++
	}
	if o.StatusType != crmlink.StatusSpam {
		r.all++
	}
	if o.StatusType == crmlink.StatusPaid && o.Currency == "RUB" {
		r.pc++
		r.revenue = r.revenue.Add(o.Revenue)
		r.profit = r.profit.Add(o.Revenue.Sub(o.Cost.Decimal))
	}
}

func inPeriod(s *modelSession, d1, d2 time.Time) bool {
	return !s.local.Before(d1) && !s.local.After(d2)
}

// aggregate groups the period's sessions (and their orders) by key; a nil
// key leaves a session out.
func (m *model) aggregate(d1, d2 time.Time, key func(*modelSession, *modelOrder) []string) map[string]*row {
	out := map[string]*row{}
	for _, s := range m.sessions {
		if !inPeriod(s, d1, d2) {
			continue
		}
		k := key(s, nil)
		if k == nil {
			continue
		}
		r := out[strings.Join(k, "|")]
		if r == nil {
			r = &row{users: map[uint64]bool{}}
			out[strings.Join(k, "|")] = r
		}
		r.visits++
		r.users[s.ClientID] = true
		for _, o := range s.orders {
			r.addOrder(o)
		}
	}
	return out
}

// aggregateOrders groups the period's linked orders by key.
func (m *model) aggregateOrders(d1, d2 time.Time, key func(*modelSession, *modelOrder) []string) map[string]*row {
	out := map[string]*row{}
	for _, s := range m.sessions {
		if !inPeriod(s, d1, d2) {
			continue
		}
		for _, o := range s.orders {
			k := strings.Join(key(s, o), "|")
			if out[k] == nil {
				out[k] = &row{users: map[uint64]bool{}}
			}
			out[k].addOrder(o)
		}
	}
	return out
}

func pct(num, den int) decimal.Decimal {
	if den == 0 {
		return decimal.Zero
	}
	return decimal.NewFromInt(int64(num)).Mul(decimal.NewFromInt(100)).Div(decimal.NewFromInt(int64(den))).Round(2)
}

func (r *row) metric(name string) decimal.Decimal {
	switch name {
	case "visits":
		return decimal.NewFromInt(int64(r.visits))
	case "users":
		return decimal.NewFromInt(int64(len(r.users)))
	case "all":
		return decimal.NewFromInt(int64(r.all))
	case "inProgress":
		return decimal.NewFromInt(int64(r.inProgress))
	case "paid":
		return decimal.NewFromInt(int64(r.paid))
	case "cancelled":
		return decimal.NewFromInt(int64(r.cancelled))
	case "spam":
		return decimal.NewFromInt(int64(r.spam))
	case "other":
		return decimal.NewFromInt(int64(r.other))
	case "convOrder":
		return pct(r.all, r.visits)
	case "convPayment":
		return pct(r.paid, r.all)
	case "revenue":
		return r.revenue
	case "profit":
		return r.profit
	case "cheque":
		if r.pc == 0 {
			return decimal.Zero
		}
		return r.revenue.Div(decimal.NewFromInt(int64(r.pc))).Round(2)
	}
	panic(name)
}

// compare checks every row and metric of res against the model: counts
// and money exactly, rates to the cent (the store rounds a double).
func (m *model) compare(t *testing.T, name string, res *crmlink.ReportResult, want map[string]*row, metrics []string) {
	t.Helper()
	if res.TotalRows != len(want) {
		var keys []string
		for k := range want {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		t.Errorf("%s: %d rows, the model has %d: %v", name, res.TotalRows, len(want), keys)
	}
	bad := 0
	for _, r := range res.Rows {
		var ids []string
		for _, d := range r.Dimensions {
			ids = append(ids, d.ID)
		}
		k := strings.Join(ids, "|")
		w := want[k]
		if w == nil {
			t.Errorf("%s: row %s is not in the model", name, k)
			continue
		}
		for i, mn := range metrics {
			got, exp := r.Metrics[i], w.metric(mn)
			ok := got.Equal(exp)
			if strings.HasPrefix(mn, "conv") || mn == "cheque" {
				ok = got.Sub(exp).Abs().LessThanOrEqual(decimal.New(1, -2))
			}
			if !ok {
				bad++
				if bad <= 10 {
					t.Errorf("%s: row %s %s = %s, the model says %s", name, k, mn, got, exp)
				}
			}
		}
	}
	if bad > 10 {
		t.Errorf("%s: %d wrong values in all", name, bad)
	}
	t.Logf("%s: %d rows agree", name, len(res.Rows))
}
