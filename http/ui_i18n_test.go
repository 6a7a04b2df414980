package http_test

import (
	"bytes"
	"context"
	"encoding/csv"
	"fmt"
	"html"
	"net/http"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/crmlink/crmlink"
	crmhttp "github.com/crmlink/crmlink/http"
	"github.com/crmlink/crmlink/store/storetest"
)

var (
	scriptBlock = regexp.MustCompile(`(?s)<script\b.*?</script>`)
	textNode    = regexp.MustCompile(`>([^<]+)<`)
	textAttr    = regexp.MustCompile(`\b(?:placeholder|aria-label|title|data-confirm)="([^"]*)"`)
	cyrillic    = regexp.MustCompile(`[А-Яа-яЁё]`)
)

// shownTexts returns the texts a reader sees on a page: its text nodes
// and the attributes read out or shown, trimmed, without scripts.
func shownTexts(body string) []string {
	body = scriptBlock.ReplaceAllString(body, "")
	var out []string
	for _, re := range []*regexp.Regexp{textNode, textAttr} {
		for _, m := range re.FindAllStringSubmatch(body, -1) {
			if t := strings.TrimSpace(html.UnescapeString(m[1])); t != "" {
				out = append(out, t)
			}
		}
	}
	return out
}

// dashboardPaths are the pages of the shop fixture's counter that the
// language tests load.
func dashboardPaths(t *testing.T, f *shopFixture, b *browser) []string {
	t.Helper()
	base := "/c/" + f.shop.ID.String()
	dates := "date1=2026-01-29&date2=2026-02-01"
	// A segment, so that the pickers show and the Segments page lists it;
	// another whose goal is gone, so that its error shows.
	seg := mustSegment(t, f.store, f.shop.ID, "Paid twice", "cdp:c:paidOrders>=2")
	mustSegment(t, f.store, f.shop.ID, "Old goal", "ym:s:goal=='42'")
	paths := []string{base + "/?" + dates, base + "/sources?" + dates, base + "/sources?" + dates + "&source=ad&dim=engine&dim=utm_campaign",
		base + "/clients", base + "/clients?search=nobody", base + "/clients/alice", base + "/uploads", base + "/goals",
		base + "/settings", base + "/no-such-page", base + "/sources?date1=bad&date2=x",
		base + "/segments", base + "/segments?edit=" + seg, base + "/segments?edit=999", base + "/?" + dates + "&segment=" + seg,
		base + "/clients?segment=999", base + "/payback?" + dates, base + "/payback?" + dates + "&attribution=first&dim=source&dim=engine&sort=roi",
		base + "/payback?date1=2020-01-01&date2=2020-01-31"}
	// Ad spend, and a delete of some, so that the payback page has rows
	// and the newest upload, whose page is loaded below, is an expense one.
	uploadPaybackExpenses(t, f)
	if code, out := f.do(t, "POST", "/management/v1/counter/"+f.shop.ID.String()+"/expense/delete_single?date=2026-01-29&UTMSource=yandex",
		"OAuth "+f.admin, nil, ""); code != 200 {
		t.Fatalf("expense delete: %d %v", code, out)
	}
	p := b.get(base + "/uploads")
	if m := regexp.MustCompile(`href="uploads/([0-9]+)"`).FindStringSubmatch(p.body); m != nil {
		paths = append(paths, base+"/uploads/"+m[1])
	} else {
		t.Fatal("no upload on the Uploads page")
	}
	return paths
}

// TestUIRussian loads every page with a browser that prefers Russian and
// checks that the page is in Russian: Metrica's words are there, and no
// text the catalog translates is left in English.
func TestUIRussian(t *testing.T) {
	f := newShopFixture(t)
	b := newBrowser(t, f.fixture)
	b.lang = "ru-RU,ru;q=0.9,en;q=0.5"
	if p := b.get("/signin"); !strings.Contains(p.body, "Вход в crmlink") || !strings.Contains(p.body, `<html lang="ru">`) {
		t.Errorf("sign-in page not in Russian: %.400s", p.body)
	}
	b.signIn(f.admin, "", "")
	ru := crmhttp.RuText()
	for _, path := range dashboardPaths(t, f, b) {
		p := b.get(path)
		if p.code != 200 && p.code != 404 {
			t.Fatalf("%s: %d", path, p.code)
		}
		if !strings.Contains(p.body, `<html lang="ru">`) {
			t.Errorf("%s: not marked Russian", path)
		}
		for _, w := range []string{"Сводка", "Источники заказов", "Окупаемость рекламы", "Клиенты", "Сегменты", "Загрузки", "Цели", "Настройки", "Выйти"} {
			if !strings.Contains(p.body, ">"+w+"<") {
				t.Errorf("%s: the navigation lacks %q", path, w)
			}
		}
		for _, s := range shownTexts(p.body) {
			if v, ok := ru[s]; ok && v != s {
				t.Errorf("%s: %q is shown in English", path, s)
			}
		}
	}
	base := "/c/" + f.shop.ID.String()
	p := b.get(base + "/sources?date1=2026-01-29&date2=2026-02-01")
	for _, w := range []string{"Визиты", "Заказы", "Источник трафика", "Модель атрибуции", "Последний значимый переход",
		"Переходы по рекламе", "Прямые заходы", "Переходы из поисковых систем", "Выручка", "Прибыль", "Скачать CSV"} {
		if !strings.Contains(p.body, w) {
			t.Errorf("Order sources lacks %q", w)
		}
	}
	if strings.Contains(p.body, ">ad<") || strings.Contains(p.body, ">direct<") {
		t.Error("Order sources shows a raw source id")
	}
	// Counts take the Russian form their number needs.
	if p := b.get(base + "/?date1=2026-01-29&date2=2026-02-01"); !strings.Contains(p.body, ">7\u00a0дней<") {
		t.Errorf("the overview does not say “7 дней”: %s", shownTexts(p.body))
	}
	if p := b.get(base + "/uploads"); !strings.Contains(p.body, `"Copied":"Скопировано"`) {
		t.Errorf("the page script gets no Russian messages")
	}
	p = b.get(base + "/payback?date1=2026-01-29&date2=2026-02-01")
	for _, w := range []string{"Расходы", "Клики", "Визиты", "Оплачено", "Прибыль", "Модель атрибуции", "Расходы и прибыль",
		"Конверсии для рекламных систем", "Офлайн-конверсии Метрики, по ClientId", "CRM: Заказ оплачен"} {
		if !strings.Contains(p.body, w) {
			t.Errorf("Ad payback lacks %q", w)
		}
	}
	if p := b.get(base + "/uploads"); !strings.Contains(p.body, "удаление расходов на рекламу") || !strings.Contains(p.body, `"Open the upload":"Открыть загрузку"`) {
		t.Error("the Uploads page does not name an expense delete in Russian, or its script has no Russian")
	}
	p = b.get(base + "/segments")
	for _, w := range []string{"Сохранённые сегменты", "Собрать условие", "Яндекс Аудитории: данные CRM", "Отправить в Яндекс Аудитории",
		`"Counting…":"Считаем…"`, `"download":"скачивание"`} {
		if !strings.Contains(p.body, w) {
			t.Errorf("Segments lacks %q", w)
		}
	}
}

// TestUIEnglish: a browser without Russian gets English pages, with no
// Russian text of the catalog.
func TestUIEnglish(t *testing.T) {
	f := newShopFixture(t)
	b := newBrowser(t, f.fixture)
	b.lang = "en-US,en;q=0.9"
	b.signIn(f.admin, "", "")
	ruValues := map[string]bool{}
	for _, v := range crmhttp.RuText() {
		ruValues[v] = true
	}
	for _, path := range dashboardPaths(t, f, b) {
		p := b.get(path)
		if !strings.Contains(p.body, `<html lang="en">`) || !strings.Contains(p.body, ">Order sources<") {
			t.Errorf("%s: not in English", path)
		}
		for _, s := range shownTexts(p.body) {
			if ruValues[s] && cyrillic.MatchString(s) {
				t.Errorf("%s: %q is shown in Russian", path, s)
			}
		}
	}
}

// TestUILanguageChoice checks the rule: the switch's cookie over the
// counter's locale over the browser's language.
func TestUILanguageChoice(t *testing.T) {
	f := newShopFixture(t)
	b := newBrowser(t, f.fixture)
	b.lang = "en-US"
	b.signIn(f.admin, "", "")
	overview := "/c/" + f.shop.ID.String() + "/"
	isRU := func() bool { return strings.Contains(b.get(overview).body, `<html lang="ru">`) }
	if isRU() {
		t.Fatal("an English browser got Russian")
	}
	// The counter's locale, set in Settings.
	c := *f.shop
	c.Locale = "ru"
	if err := f.store.UpdateCounter(context.Background(), &c); err != nil {
		t.Fatal(err)
	}
	if !isRU() {
		t.Error("a counter with locale ru is not shown in Russian")
	}
	// The switch overrides it, and sends the browser back to the page it
	// was clicked on, never off the site.
	switchTo := func(l, referer string) page {
		req, _ := http.NewRequest("GET", b.base+"/lang?lang="+l, nil)
		if referer != "" {
			req.Header.Set("Referer", referer)
		}
		return b.do(req)
	}
	back := overview + "sources?dim=engine&date1=2026-01-29&date2=2026-02-01"
	p := switchTo("en", b.base+back)
	if p.code != http.StatusSeeOther || p.location != back {
		t.Fatalf("switch: %d to %q, want %q", p.code, p.location, back)
	}
	if isRU() {
		t.Error("the EN switch does not override the counter's locale")
	}
	if p := switchTo("ru", "http://evil.example/c/1/"); p.location != "/" {
		t.Errorf("the switch follows another site's Referer: %q", p.location)
	}
	if !isRU() {
		t.Error("the RU switch does not take effect")
	}
	if p := switchTo("de", b.base+back); p.code != http.StatusBadRequest {
		t.Errorf("an unknown language: %d", p.code)
	}
	// The switch is on every page.
	if body := b.get(overview + "goals").body; !strings.Contains(body, `href="/lang?lang=en"`) || !strings.Contains(body, `href="/lang?lang=ru"`) {
		t.Errorf("no language switch: %.2000s", body)
	}
}

// TestUISourcesCSV checks the Order sources page's download: every row
// of the view, not one page of 100; a UTF-8 byte order mark; the page's
// column titles in the reader's language; sources by name; formulas
// neutralised.
func TestUISourcesCSV(t *testing.T) {
	f := newFixture(t, 0)
	ctx := context.Background()
	var sessions []crmlink.Session
	start := time.Date(2026, 1, 20, 10, 0, 0, 0, time.UTC)
	const campaigns = 150
	for i := range campaigns {
		campaign := fmt.Sprintf("campaign-%03d", i)
		if i == 0 {
			campaign = "=HYPERLINK(\"http://evil.example\")"
		}
		sessions = append(sessions, crmlink.Session{ID: uint64(i + 1), ClientID: uint64(i + 1), Start: start.Add(time.Duration(i) * time.Minute),
			PageViews: 1, Device: crmlink.DeviceDesktop, Source: crmlink.TrafficSource{Kind: crmlink.SourceAd, Engine: "Yandex Direct", UTMCampaign: campaign}})
	}
	if err := f.store.ImportSessions(ctx, &crmlink.Upload{CounterID: f.counter.ID}, &storetest.SliceReader{Sessions: sessions}); err != nil {
		t.Fatal(err)
	}
	base := "/c/" + f.counter.ID.String()
	view := "/sources?date1=2026-01-01&date2=2026-01-31&dim=source&dim=utm_campaign&col=-&col=revenue&sort=utm_campaign"
	for _, tt := range []struct {
		lang  string
		title []string
		total string
		src   string
	}{
		{"en", []string{"Traffic source", "UTM Campaign", "Sessions", "All orders", "Revenue"}, "Total and averages", "Ad traffic"},
		{"ru", []string{"Источник трафика", "UTM Campaign", "Визиты", "Заказы", "Выручка"}, "Итого и средние", "Переходы по рекламе"},
	} {
		t.Run(tt.lang, func(t *testing.T) {
			b := newBrowser(t, f)
			b.lang = tt.lang
			b.signIn(f.admin, "", "")
			p := b.get(base + view)
			link := regexp.MustCompile(`href="(` + base + `/sources\.csv\?[^"]+)"`).FindStringSubmatch(p.body)
			if p.code != 200 || link == nil {
				t.Fatalf("page %d, CSV link %v", p.code, link)
			}
			if !strings.Contains(p.body, "Rows 1–100 of 150.") && !strings.Contains(p.body, "Строки 1–100 из 150.") {
				t.Fatalf("the page does not show 100 of 150 rows: the test proves nothing")
			}
			got := b.get(html.UnescapeString(link[1]))
			if got.code != 200 || !strings.HasPrefix(got.header.Get("Content-Type"), "text/csv") ||
				!strings.Contains(got.header.Get("Content-Disposition"), "attachment") {
				t.Fatalf("download: %d %v", got.code, got.header)
			}
			if !strings.HasPrefix(got.body, "\uFEFF") {
				t.Error("no UTF-8 byte order mark")
			}
			recs, err := csv.NewReader(bytes.NewReader([]byte(strings.TrimPrefix(got.body, "\uFEFF")))).ReadAll()
			if err != nil {
				t.Fatal(err)
			}
			if strings.Join(recs[0], "|") != strings.Join(tt.title, "|") {
				t.Errorf("titles %q, want %q", recs[0], tt.title)
			}
			if recs[1][0] != tt.total || recs[1][2] != "150" {
				t.Errorf("totals row %q", recs[1])
			}
			rows := recs[2:]
			if len(rows) != campaigns {
				t.Fatalf("%d rows, want all %d", len(rows), campaigns)
			}
			seen := map[string]bool{}
			for _, r := range rows {
				if r[0] != tt.src || r[2] != "1" || r[4] != "0.00" {
					t.Fatalf("row %q", r)
				}
				seen[r[1]] = true
			}
			if len(seen) != campaigns || !seen["campaign-149"] {
				t.Errorf("%d distinct campaigns", len(seen))
			}
			if !seen[`'=HYPERLINK("http://evil.example")`] {
				t.Error("a formula cell is not neutralised")
			}
		})
	}
	// The API's CSV keeps the API's names, without a BOM.
	b := newBrowser(t, f)
	b.lang = "ru"
	b.signIn(f.admin, "", "")
	p := b.get("/stat/v1/data.csv?ids=" + f.counter.ID.String() + "&date1=2026-01-01&date2=2026-01-31&dimensions=ym:s:lastsignTrafficSource&metrics=ym:s:visits")
	if p.code != 200 || strings.HasPrefix(p.body, "\uFEFF") || !strings.HasPrefix(p.body, "ym:s:lastsignTrafficSource") {
		t.Errorf("API CSV changed: %d %.200s", p.code, p.body)
	}
}
