package gen

import (
	"net/url"
	"strconv"
	"strings"
	"testing"
)

// TestExpenses checks expenses.csv against sessions.csv: a row a day for
// each campaign with ad sessions, clicks at least the tagged sessions it
// paid for (and, where every ad session carries its campaign's tags, at
// most a quarter more), spend positive with two decimals, and the brand
// campaign the cheapest click of Yandex's.
func TestExpenses(t *testing.T) {
	cfg := testConfig(t)
	mustGenerate(t, cfg)

	type key struct{ day, src, medium, camp string }
	sessions := map[key]int{}
	for _, row := range readCSV(t, cfg.Out, SessionsFile, strings.TrimSuffix(sessionsHeader, "\n")) {
		u, err := url.Parse(row[5])
		if err != nil {
			t.Fatal(err)
		}
		q := u.Query()
		switch src := q.Get("utm_source"); src {
		case "yandex", "google", "vk":
			sessions[key{row[2][:10], src, q.Get("utm_medium"), q.Get("utm_campaign")}]++
		}
	}
	rows := readCSV(t, cfg.Out, ExpensesFile, "Date,UTMSource,UTMMedium,UTMCampaign,Expenses,Clicks")
	if len(rows) == 0 {
		t.Fatal("no spend")
	}
	seen := map[key]bool{}
	spend := map[string]float64{}
	clicksOf := map[string]int{}
	for i, row := range rows {
		k := key{row[0], row[1], row[2], row[3]}
		if seen[k] {
			t.Errorf("line %d: %v twice", i+2, k)
		}
		seen[k] = true
		clicks, err := strconv.Atoi(row[5])
		if err != nil || clicks <= 0 {
			t.Errorf("line %d: clicks %q", i+2, row[5])
		}
		whole, frac, ok := strings.Cut(row[4], ".")
		if v, err := strconv.ParseFloat(row[4], 64); !ok || len(frac) != 2 || whole == "" || err != nil || v <= 0 {
			t.Errorf("line %d: expenses %q", i+2, row[4])
		} else if k.src == "yandex" {
			spend[k.camp] += v
			clicksOf[k.camp] += clicks
		}
		n := sessions[k]
		if clicks < n {
			t.Errorf("line %d: %d clicks for %d sessions", i+2, clicks, n)
		}
		if k.src != "google" && (n == 0 || clicks > n+n/4+1) {
			t.Errorf("line %d: %d clicks for %d sessions", i+2, clicks, n)
		}
	}
	for k, n := range sessions {
		if (k.src == "yandex" || k.src == "vk") && !seen[k] {
			t.Errorf("%d sessions of %v and no spend", n, k)
		}
	}
	brand := spend["brand_search"] / float64(clicksOf["brand_search"])
	for camp, s := range spend {
		if cpc := s / float64(clicksOf[camp]); camp != "brand_search" && cpc <= brand {
			t.Errorf("Yandex's %s costs %.2f a click, brand search %.2f", camp, cpc, brand)
		}
	}
}
