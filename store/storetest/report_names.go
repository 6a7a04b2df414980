package storetest

import (
	"context"
	"fmt"
	"maps"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/crmlink/crmlink"
	"github.com/shopspring/decimal"
)

// testReportTimeNames: Metrica's time dimensions group sessions by their
// start in the counter's time zone, each in Metrica's form; the bare
// UTM names are the session's own tags (the last-click model's).
func testReportTimeNames(t *testing.T, open Opener) {
	s, _ := newStore(t, open)
	c := MustCounter(t, s, "Shop", "Europe/Moscow") // UTC+3
	utc := func(v string) time.Time {
		at, err := time.Parse(time.DateTime, v)
		if err != nil {
			t.Fatal(err)
		}
		return at
	}
	importSessions(t, s, c,
		// Sunday 2026-02-01 23:59:00 in Moscow.
		crmlink.Session{ID: 1, ClientID: 1, Start: utc("2026-02-01 20:59:00"), PageViews: 1, Source: crmlink.TrafficSource{Kind: crmlink.SourceDirect}},
		// Monday 2026-02-02 00:30:15.
		crmlink.Session{ID: 2, ClientID: 2, Start: utc("2026-02-01 21:30:15"), PageViews: 1,
			LandingURL: "https://Shop.example/catalog/phones?utm_source=yandex#top", Referrer: "https://yandex.ru/search/?text=x",
			Source: crmlink.TrafficSource{Kind: crmlink.SourceAd, Engine: "Yandex Direct", UTMSource: "yandex", UTMCampaign: "spring"}},
		// Tuesday 2026-03-31 13:05:00, the first quarter's last day.
		crmlink.Session{ID: 3, ClientID: 3, Start: utc("2026-03-31 10:05:00"), PageViews: 1,
			LandingURL: "https://shop.example/", Referrer: "https://www.google.com/",
			Source: crmlink.TrafficSource{Kind: crmlink.SourceAd, Engine: "Google Ads", UTMSource: "google", UTMCampaign: "brand"}},
		// Wednesday 2026-04-01 12:00:00.
		crmlink.Session{ID: 4, ClientID: 1, Start: utc("2026-04-01 09:00:00"), PageViews: 1, Source: crmlink.TrafficSource{Kind: crmlink.SourceDirect}})
	for _, tc := range []struct{ dim, want string }{
		{"dateTime", "2026-02-01 23:59:00: 1|2026-02-02 00:30:15: 1|2026-03-31 13:05:00: 1|2026-04-01 12:00:00: 1"},
		{"startOfMinute", "2026-02-01 23:59:00: 1|2026-02-02 00:30:00: 1|2026-03-31 13:05:00: 1|2026-04-01 12:00:00: 1"},
		{"startOfHour", "2026-02-01 23:00:00: 1|2026-02-02 00:00:00: 1|2026-03-31 13:00:00: 1|2026-04-01 12:00:00: 1"},
		{"startOfWeek", "2026-01-26: 1|2026-02-02: 1|2026-03-30: 2"},
		{"startOfMonth", "2026-02-01: 2|2026-03-01: 1|2026-04-01: 1"},
		{"startOfQuarter", "2026-01-01: 3|2026-04-01: 1"},
		{"startOfYear", "2026-01-01: 4"},
		{"year", "2026: 4"},
		{"dayOfMonth", "01: 2|02: 1|31: 1"},
		{"dayOfWeek", "1: 1|2: 1|3: 1|7: 1"},
		{"hour", "00:00: 1|12:00: 1|13:00: 1|23:00: 1"},
		{"hourMinute", "00:30: 1|12:00: 1|13:05: 1|23:59: 1"},
		{"datePeriodday", "2026-02-01: 1|2026-02-02: 1|2026-03-31: 1|2026-04-01: 1"},
		{"datePeriod<group>&group=month", "2026-02-01: 2|2026-03-01: 1|2026-04-01: 1"},
		{"datePeriod<group>", "2026-01-26: 1|2026-02-02: 1|2026-03-30: 2"}, // by week, by default
		{"datePeriodquarter", "2026-01-01: 3|2026-04-01: 1"},
		{"startURLDomain", ": 2|shop.example: 2"},
		{"startURLPath", ": 2|/: 1|/catalog/phones: 1"},
		{"refererDomain", ": 2|www.google.com: 1|yandex.ru: 1"},
	} {
		res := runQuery(t, s, c, "date1=2026-02-01&date2=2026-04-01&metrics=ym:s:visits&dimensions=ym:s:"+tc.dim+"&sort=ym:s:"+tc.dim)
		if got := strings.ReplaceAll(table(res), "\n", "|"); got != tc.want+"|total: 4" {
			t.Errorf("%s:\n%s\nwant\n%s", tc.dim, got, tc.want)
		}
	}
	// A time dimension in a filter, as Metrica's clients write them.
	res := runQuery(t, s, c, "date1=2026-02-01&date2=2026-04-01&metrics=ym:s:visits&filters=ym:s:startOfMonth=='2026-02-01' AND ym:s:hour!='23:00'")
	if got := table(res); got != ": 1\ntotal: 1" {
		t.Errorf("filtered by month and hour: %s", got)
	}
	// The rest of Metrica's filter language, over the same sessions.
	for _, tc := range []struct {
		filter string
		visits int
	}{
		{"ym:s:UTMSource=*'y*'", 1},
		{"ym:s:UTMSource=*'*o*'", 1},
		{"ym:s:UTMSource!*'*o*'", 3},
		{"ym:s:UTMSource=*'%'", 0}, // LIKE's own wildcards are plain text
		{"ym:s:UTMSource=*'yand_x'", 0},
		{"ym:s:hour>='12:00'", 3},
		{"ym:s:hour<'12:00'", 1},
		{"ym:s:startOfMonth>'2026-02-01' AND ym:s:startOfMonth<='2026-04-01'", 2},
		{"ym:s:UTMCampaign=.('spring','brand')", 2},
		{"ym:s:UTMCampaign!.('spring','brand')", 2},
		{"NOT(ym:s:hour=='23:00') AND NOT ym:s:dayOfWeek=='1'", 2},
	} {
		res := runQuery(t, s, c, "date1=2026-02-01&date2=2026-04-01&metrics=ym:s:visits&filters="+url.QueryEscape(tc.filter))
		if got, want := table(res), fmt.Sprintf(": %d\ntotal: %d", tc.visits, tc.visits); got != want {
			t.Errorf("filters=%s: %s, want %d visits", tc.filter, got, tc.visits)
		}
	}

	// Conditions on metrics: on the rows after grouping, joined with AND
	// at the top level; the totals stay the sessions'.
	for _, tc := range []struct{ filter, want string }{
		{"ym:s:visits>1", "/: 2 1\ntotal: 4 3"},
		{"ym:s:visits<2 AND ym:s:users==1", "google: 1 1\nyandex: 1 1\ntotal: 4 3"},
		{"ym:s:visits>=1 AND ym:s:UTMSource!='google'", "/: 2 1\nyandex: 1 1\ntotal: 3 2"},
		{"ym:s:visits>5", "total: 4 3"},
	} {
		res := runQuery(t, s, c, "date1=2026-02-01&date2=2026-04-01&metrics=ym:s:visits,ym:s:users&dimensions=ym:s:UTMSource&sort=ym:s:UTMSource&filters="+url.QueryEscape(tc.filter))
		if got, want := table(res), strings.Replace(tc.want, "/:", ":", 1); got != want || res.TotalRows != strings.Count(want, "\n") {
			t.Errorf("filters=%s: %d rows\n%s\nwant\n%s", tc.filter, res.TotalRows, got, want)
		}
	}

	// ym:s:UTMSource and the rest: the session's own tags.
	for _, f := range []string{"UTMSource", "UTMCampaign"} {
		own := table(runQuery(t, s, c, "date1=2026-02-01&date2=2026-04-01&metrics=ym:s:visits&dimensions=ym:s:"+f+"&sort=ym:s:"+f))
		want := map[string]string{"UTMSource": "/: 2\ngoogle: 1\nyandex: 1\ntotal: 4", "UTMCampaign": "/: 2\nbrand: 1\nspring: 1\ntotal: 4"}[f]
		if own != strings.Replace(want, "/:", ":", 1) {
			t.Errorf("ym:s:%s:\n%s\nwant\n%s", f, own, want)
		}
	}
}

// testReportVisitorNames: new visitors (a ClientID's first session
// stored), page depth, any goal's reaches, the ClientID and the URLs'
// parts, each against a count made here from the fixture and the store's
// own list of goal reaches.
func testReportVisitorNames(t *testing.T, open Opener) {
	s, c := reportFixture(t, open)
	// Clients 1, 2 and 3 have two sessions each, one a day apart: 11 and
	// 12 on days -3 and -2, 21 and 22 on -1 and 0, 31 and 32 on -1 and 0.
	for _, tc := range []struct{ days, want string }{
		{"date1=" + day.AddDate(0, 0, -3).Format(time.DateOnly), ": 6 3 3 100 2\ntotal: 6 3 3 100 2"},
		{"date1=" + day.AddDate(0, 0, -1).Format(time.DateOnly), ": 4 2 2 100 2\ntotal: 4 2 2 100 2"},
		{"date1=" + day.Format(time.DateOnly), ": 2 2 0 0 2\ntotal: 2 2 0 0 2"},
	} {
		res := runQuery(t, s, c, tc.days+"&date2="+day.Format(time.DateOnly)+"&metrics=ym:s:visits,ym:s:users,ym:s:newUsers,ym:s:percentNewVisitors,ym:s:pageDepth")
		if got := table(res); got != tc.want {
			t.Errorf("%s: new visitors\n%s\nwant\n%s", tc.days, got, tc.want)
		}
	}
	wantTable(t, "isNewUser", runQuery(t, s, c, "metrics=ym:s:visits&dimensions=ym:s:isNewUser&sort=ym:s:isNewUser"), "No: 3\nYes: 3\ntotal: 6")

	// A robot's session counts only where the report names ym:s:isRobot.
	bot := plainSession(41, 4, day.Add(8*time.Hour))
	bot.Bot = true
	importSessions(t, s, c, bot)
	wantTable(t, "robots left out", runQuery(t, s, c, "metrics=ym:s:visits"), ": 6\ntotal: 6")
	wantTable(t, "isRobot", runQuery(t, s, c, "metrics=ym:s:visits&dimensions=ym:s:isRobot&sort=ym:s:isRobot"), "No: 6\nYes: 1\ntotal: 7")
	wantTable(t, "robots only", runQuery(t, s, c, "metrics=ym:s:visits,ym:s:users&filters=ym:s:isRobot=='Yes'"), ": 1 1\ntotal: 1 1")
	wantTable(t, "Metrica's way to leave robots out", runQuery(t, s, c, "metrics=ym:s:visits&filters=ym:s:isRobot=='No'"), ": 6\ntotal: 6")
	wantTable(t, "clientID", runQuery(t, s, c, "metrics=ym:s:visits&dimensions=ym:s:clientID&sort=ym:s:clientID"), "1: 2\n2: 2\n3: 2\ntotal: 6")
	if a, b := table(runQuery(t, s, c, "metrics=ym:s:visits&dimensions=ym:s:regionCityName&filters="+url.QueryEscape("ym:s:regionCountryName!='x'"))),
		table(runQuery(t, s, c, "metrics=ym:s:visits&dimensions=ym:s:regionCity")); a != b {
		t.Errorf("regionCityName:\n%s\nregionCity:\n%s", a, b)
	}

	// Any goal: the reaches the store lists for the sessions, by session.
	reaches, err := s.SessionGoalReaches(context.Background(), c.ID, []uint64{11, 12, 21, 22, 31, 32})
	if err != nil {
		t.Fatal(err)
	}
	bySession := map[uint64]int{}
	for _, r := range reaches {
		bySession[r.SessionID]++
	}
	if len(reaches) == 0 {
		t.Fatal("the fixture's orders reached no goal")
	}
	want := fmt.Sprintf(": %d %.2f\ntotal: %d %.2f", len(reaches), 100*float64(len(bySession))/6, len(reaches), 100*float64(len(bySession))/6)
	want = strings.ReplaceAll(want, ".00", "")
	wantTable(t, "any goal", runQuery(t, s, c, "metrics=ym:s:sumGoalReachesAny,ym:s:anyGoalConversionRate"), want)

	// ym:s:goal: a row for each goal, of the sessions that reached it,
	// and one of the sessions that reached none; each session once in
	// the totals. In filters, the sessions that reached the goal.
	goalSessions := map[int64]map[uint64]bool{}
	for _, r := range reaches {
		if goalSessions[r.GoalID] == nil {
			goalSessions[r.GoalID] = map[uint64]bool{}
		}
		goalSessions[r.GoalID][r.SessionID] = true
	}
	ids := slices.Sorted(maps.Keys(goalSessions))
	wantGoals := fmt.Sprintf(": %d\n", 6-len(bySession))
	for _, id := range ids {
		wantGoals += fmt.Sprintf("%d: %d\n", id, len(goalSessions[id]))
	}
	res := runQuery(t, s, c, "metrics=ym:s:visits&dimensions=ym:s:goal&sort=ym:s:goal")
	wantTable(t, "ym:s:goal", res, wantGoals+"total: 6")
	goals, err := s.Goals(context.Background(), c.ID)
	if err != nil {
		t.Fatal(err)
	}
	for _, g := range goals {
		for _, r := range res.Rows {
			if r.Dimensions[0].ID == strconv.FormatInt(g.ID, 10) && r.Dimensions[0].Name != g.Name {
				t.Errorf("goal %d is named %q, want %q", g.ID, r.Dimensions[0].Name, g.Name)
			}
		}
	}
	n := len(goalSessions[ids[0]])
	wantTable(t, "sessions that reached a goal", runQuery(t, s, c, fmt.Sprintf("metrics=ym:s:visits&filters=ym:s:goal=='%d'", ids[0])), fmt.Sprintf(": %d\ntotal: %d", n, n))
	wantTable(t, "sessions that did not", runQuery(t, s, c, fmt.Sprintf("metrics=ym:s:visits&filters=ym:s:goal!='%d'", ids[0])), fmt.Sprintf(": %d\ntotal: %d", 6-n, 6-n))
	// By day too: each session once a day in the totals' series.
	series := runQuery(t, s, c, "metrics=ym:s:visits&dimensions=ym:s:goal&group=day")
	var sum decimal.Decimal
	for _, v := range series.TotalSeries {
		sum = sum.Add(v[0])
	}
	if !sum.Equal(decimal.NewFromInt(6)) || !series.Totals[0].Equal(decimal.NewFromInt(6)) {
		t.Errorf("ym:s:goal by day: totals %v, series %v", series.Totals, series.TotalSeries)
	}

	// One goal's visits, users, user conversion and reaches per user, by
	// goal_id=, the same reaches counted here.
	for _, g := range []int64{reaches[0].GoalID, reaches[len(reaches)-1].GoalID} {
		n, sessions, clients := 0, map[uint64]bool{}, map[uint64]bool{}
		for _, r := range reaches {
			if r.GoalID == g {
				n++
				sessions[r.SessionID] = true
				clients[r.SessionID/10] = true // the fixture's session ids are the ClientID, then a digit
			}
		}
		per := decimal.NewFromInt(int64(n)).DivRound(decimal.NewFromInt(int64(len(clients))), 2)
		conv := decimal.NewFromInt(int64(100*len(clients))).DivRound(decimal.NewFromInt(3), 2)
		row := fmt.Sprintf("%d %d %d %s %s", n, len(sessions), len(clients), conv, per)
		res := runQuery(t, s, c, fmt.Sprintf("goal_id=%d&metrics=ym:s:goal<goal_id>reaches,ym:s:goal<goal_id>visits,ym:s:goal<goal_id>users,"+
			"ym:s:goal<goal_id>userConversionRate,ym:s:goal<goal_id>reachesPerUser", g))
		wantTable(t, fmt.Sprintf("goal %d", g), res, ": "+row+"\ntotal: "+row)
	}
}

// testReportUserVisits: ym:s:userVisits counts a ClientID's sessions in
// all the store's history and sorts as a number; ecommercePurchases
// counts the purchases the site reported in the sessions.
func testReportUserVisits(t *testing.T, open Opener) {
	s, _ := newStore(t, open)
	c := MustCounter(t, s, "Shop", "UTC")
	d := time.Date(2026, 2, 20, 10, 0, 0, 0, time.UTC)
	withPurchases := func(ss crmlink.Session, ids ...string) crmlink.Session {
		ss.PurchaseIDs = ids
		return ss
	}
	ss := []crmlink.Session{
		withPurchases(plainSession(1, 1, d), "p3"),
		plainSession(2, 2, d.AddDate(0, 0, -1)), plainSession(3, 2, d.Add(time.Hour)),
		withPurchases(plainSession(4, 3, d.Add(2*time.Hour)), "p1", "p2"),
	}
	for i := range 10 { // ClientID 3's sessions before the period
		ss = append(ss, plainSession(uint64(10+i), 3, d.AddDate(0, 0, -20+i)))
	}
	importSessions(t, s, c, ss...)
	wantTable(t, "userVisits", runQuery(t, s, c, "date1=2026-02-20&date2=2026-02-20&metrics=ym:s:visits,ym:s:ecommercePurchases&dimensions=ym:s:userVisits&sort=ym:s:userVisits"),
		"1: 1 1\n2: 1 0\n11: 1 2\ntotal: 3 3")
	wantTable(t, "userVisits, descending", runQuery(t, s, c, "date1=2026-02-20&date2=2026-02-20&metrics=ym:s:visits&dimensions=ym:s:userVisits&sort=-ym:s:userVisits"),
		"11: 1\n2: 1\n1: 1\ntotal: 3")
}
