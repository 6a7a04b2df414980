package http_test

import (
	"context"
	"fmt"
	"html"
	"regexp"
	"strings"
	"testing"

	"github.com/crmlink/crmlink"
	crmhttp "github.com/crmlink/crmlink/http"
)

// mustSegment saves a segment straight into the store (its expression
// unchecked, as one whose goal was since deleted would be).
func mustSegment(t *testing.T, st crmlink.Store, c crmlink.CounterID, name, expr string) string {
	t.Helper()
	sg := &crmlink.Segment{CounterID: c, Name: name, Expression: expr}
	if err := st.CreateSegment(context.Background(), sg); err != nil {
		t.Fatal(err)
	}
	return fmt.Sprint(sg.ID)
}

// tokenFor makes a token of the scope on a counter.
func tokenFor(t *testing.T, st crmlink.Store, c crmlink.CounterID, sc crmlink.Scope) string {
	t.Helper()
	secret := crmhttp.NewTokenSecret()
	if err := st.CreateToken(context.Background(), &crmlink.Token{Hash: crmhttp.HashToken(secret), CounterID: c, Scope: sc, Name: sc.String() + " user"}); err != nil {
		t.Fatal(err)
	}
	return secret
}

var sizeCell = regexp.MustCompile(`data-size="([a-z_]+)">([^<]*)<`)

// cardOf returns the HTML of one segment's card on the Segments page.
func cardOf(t *testing.T, body, id string) string {
	t.Helper()
	m := regexp.MustCompile(`(?s)<article class="card segment" id="segment-` + id + `">.*?</article>`).FindString(body)
	if m == "" {
		t.Fatalf("no card of segment %s on the page: %.3000s", id, body)
	}
	return m
}

// TestUISegmentsPage: a read-scope reader sees the saved segments with
// their sizes and what each audience file would hold, and nothing that
// builds, lists members or exports; write scope gets the editor, the
// downloads, the pushes of the Yandex formats and the history.
func TestUISegmentsPage(t *testing.T) {
	f := newShopFixture(t)
	cid := f.shop.ID
	alice := mustSegment(t, f.store, cid, "Alice & co", "cdp:c:paidOrders>=2")
	mobile := mustSegment(t, f.store, cid, "Mobile visitors", "EXISTS(ym:s:deviceCategory=='mobile') OR EXISTS(ym:s:regionCity=='Omsk')")
	broken := mustSegment(t, f.store, cid, "Old goal", "ym:s:goal=='42'")
	base := "/c/" + cid.String() + "/segments"
	api := "/management/v1/counter/" + cid.String() + "/apisegment/segment/"

	read := newBrowser(t, f.fixture)
	read.signIn(tokenFor(t, f.store, cid, crmlink.ScopeRead), "", "")
	p := read.get(base)
	if p.code != 200 {
		t.Fatalf("read: %d %.500s", p.code, p.body)
	}
	if !strings.Contains(p.body, `href="`+base+`" aria-current="page">Segments</a>`) {
		t.Error("the navigation does not mark the Segments page")
	}
	card := cardOf(t, p.body, alice)
	sizes := map[string]string{}
	for _, m := range sizeCell.FindAllStringSubmatch(card, -1) {
		sizes[m[1]] = m[2]
	}
	// Alice has two paid orders and the ClientIDs 1 and 2.
	if want := map[string]string{"customers": "1", "visitors": "0", "client_ids": "2", "emails": "0", "phones": "0"}; fmt.Sprint(sizes) != fmt.Sprint(want) {
		t.Errorf("alice's sizes %v, want %v", sizes, want)
	}
	clientIDRow := regexp.MustCompile(`(?s)<tr data-format="yandex_clientid">.*?</tr>`).FindString(card)
	if cells := regexp.MustCompile(`<td class="num">([^<]*)</td>`).FindAllStringSubmatch(clientIDRow, -1); len(cells) != 3 ||
		cells[0][1] != "2" || cells[1][1] != "1" || cells[2][1] != "0" || !strings.Contains(clientIDRow, "Yandex Audience: Metrica ClientIDs") ||
		!strings.Contains(clientIDRow, "takes at least 100 rows") {
		t.Errorf("the ClientIDs file's row: %s", clientIDRow)
	}
	// Visitors without a customer record count in a site-only segment.
	mob := cardOf(t, p.body, mobile)
	if !strings.Contains(mob, `data-size="customers">1<`) || !strings.Contains(mob, `data-size="visitors">0<`) {
		t.Errorf("mobile segment: %s", mob)
	}
	// A segment that no longer plans says why, and the page still works.
	if old := cardOf(t, p.body, broken); !strings.Contains(old, `class="error"`) || !strings.Contains(old, "the counter has no goal") {
		t.Errorf("a segment naming a deleted goal: %s", old)
	}
	for _, s := range []string{`id="segment-form"`, `data-audience`, `data-push`, `class="history"`, "/audience?format=", ">Edit<"} {
		if strings.Contains(p.body, s) {
			t.Errorf("a read-scope reader sees %q", s)
		}
	}
	if !strings.Contains(p.body, "Your access reads the segments") {
		t.Error("a read-scope reader is not told why there is no editor")
	}

	write := newBrowser(t, f.fixture)
	write.signIn(tokenFor(t, f.store, cid, crmlink.ScopeWrite), "", "")
	p = write.get(base)
	if p.code != 200 {
		t.Fatalf("write: %d", p.code)
	}
	for _, s := range []string{`id="segment-form"`, `id="cond-kind"`, `name="expression"`, `id="segment-size"`, `id="segment-preview"`,
		`/segments.js"`, `id="segments-data"`, `<option value="ad" selected>`, `<option value="lastsign" selected>`, `<option value="mobile" selected>`,
		`<option value="regionCity" selected>`, `CRM: Order paid`} {
		if !strings.Contains(p.body, s) {
			t.Errorf("the editor lacks %q", s)
		}
	}
	if strings.Contains(p.body, `id="segment-delete"`) {
		t.Error("a new segment's editor offers to delete")
	}
	card = cardOf(t, p.body, alice)
	links := regexp.MustCompile(`href="([^"]+)" data-audience`).FindAllStringSubmatch(card, -1)
	if len(links) != 6 {
		t.Errorf("%d download links, want one per format: %s", len(links), card)
	}
	for _, l := range links {
		if !strings.HasPrefix(html.UnescapeString(l[1]), api+alice+"/audience?format=") || strings.Contains(l[1], "plain") {
			t.Errorf("download link %s", l[1])
		}
	}
	pushes := regexp.MustCompile(`data-push="([a-z_]+)" data-url="([^"]+)"`).FindAllStringSubmatch(card, -1)
	if len(pushes) != 2 || pushes[0][1] != "yandex_crm" || pushes[1][1] != "yandex_clientid" || pushes[0][2] != api+alice+"/push" {
		t.Errorf("push buttons %q", pushes)
	}
	if !strings.Contains(card, `data-url="`+api+alice+`/exports"`) {
		t.Error("no history of the segment")
	}
	if !strings.Contains(card, `href="/c/`+cid.String()+`/sources?segment=`+alice+`"`) || !strings.Contains(card, `href="/c/`+cid.String()+`/clients?segment=`+alice+`"`) {
		t.Error("the card does not link to the reports cut by the segment")
	}
	// Downloads are what the links say: the file, refused under a
	// platform's minimum with the API's message.
	if d := write.get(html.UnescapeString(links[2][1])); d.code != 200 || !strings.Contains(d.header.Get("Content-Disposition"), "segment-"+alice+"-") {
		t.Errorf("download %s: %d %v", links[2][1], d.code, d.header)
	}
	if d := write.get(api + alice + "/audience?format=yandex_crm"); d.code != 409 || !strings.Contains(d.body, "at least 100") {
		t.Errorf("yandex_crm of one customer: %d %s", d.code, d.body)
	}

	// The editor opens a saved segment.
	p = write.get(base + "?edit=" + alice)
	if !strings.Contains(p.body, `data-id="`+alice+`"`) || !strings.Contains(p.body, `value="Alice &amp; co"`) ||
		!strings.Contains(p.body, `>cdp:c:paidOrders&gt;=2</textarea>`) || !strings.Contains(p.body, `id="segment-delete"`) {
		t.Errorf("editing alice: %.4000s", p.body)
	}
	if p := write.get(base + "?edit=999"); p.code != 200 || !strings.Contains(p.body, "There is no such segment") || !strings.Contains(p.body, `data-id=""`) {
		t.Errorf("editing a deleted segment: %d", p.code)
	}
	// A counter that keeps plain values offers them where the platform
	// takes them.
	c := *f.shop
	c.KeepPII = true
	if err := f.store.UpdateCounter(context.Background(), &c); err != nil {
		t.Fatal(err)
	}
	plain := regexp.MustCompile(`format=([a-z_]+)&amp;plain=true`).FindAllStringSubmatch(cardOf(t, write.get(base).body, alice), -1)
	if got := fmt.Sprint(plain); got != "[[format=yandex_crm&amp;plain=true yandex_crm] [format=google&amp;plain=true google] [format=vk_email&amp;plain=true vk_email] [format=vk_phone&amp;plain=true vk_phone]]" {
		t.Errorf("plain links: %s", got)
	}
}

// TestUISegmentsPaging: the page sizes 10 segments at a time, the newest
// first.
func TestUISegmentsPaging(t *testing.T) {
	f := newFixture(t, 0)
	var last string
	for i := range 11 {
		last = mustSegment(t, f.store, f.counter.ID, fmt.Sprintf("Segment %02d", i), "cdp:c:orders>=1")
	}
	b := newBrowser(t, f)
	b.signIn(f.read, "", "")
	base := "/c/" + f.counter.ID.String() + "/segments"
	p := b.get(base)
	if n := strings.Count(p.body, `<article class="card segment"`); n != 10 || !strings.Contains(p.body, "Segments 1–10 of 11.") {
		t.Errorf("first page: %d cards", n)
	}
	if !strings.Contains(p.body, `id="segment-`+last+`"`) {
		t.Error("the newest segment is not on the first page")
	}
	next := regexp.MustCompile(`href="([^"]+)">Next`).FindStringSubmatch(p.body)
	if next == nil {
		t.Fatal("no next page")
	}
	p = b.get(html.UnescapeString(next[1]))
	if n := strings.Count(p.body, `<article class="card segment"`); n != 1 || !strings.Contains(p.body, "Segment 00") {
		t.Errorf("second page: %d cards", n)
	}
}

// TestUISegmentPicker: Overview, Order sources and Clients offer the
// counter's segments, cut their reports by the one picked as the API
// does, keep it in their links, and show everyone, with a warning, for a
// segment since deleted.
func TestUISegmentPicker(t *testing.T) {
	f := newShopFixture(t)
	cid := f.shop.ID.String()
	base := "/c/" + cid
	dates := "date1=2026-01-29&date2=2026-02-01"
	alice := mustSegment(t, f.store, f.shop.ID, "Alice", "cdp:c:id=='alice'")
	bob := mustSegment(t, f.store, f.shop.ID, "Bob", "cdp:c:id=='bob'")
	b := newBrowser(t, f.fixture)
	b.signIn(f.token, "", "")
	figures := func(p page) map[string]string {
		out := map[string]string{}
		for _, m := range figure.FindAllStringSubmatch(p.body, -1) {
			out[m[1]] = m[2]
		}
		return out
	}

	// Overview.
	p := b.get(base + "/?" + dates)
	if figures(p)["Sessions"] != "6" || !strings.Contains(p.body, `<option value="" selected>All visitors</option>`) ||
		!strings.Contains(p.body, `<option value="`+alice+`">Alice</option>`) {
		t.Errorf("overview of all visitors: %v", figures(p))
	}
	p = b.get(base + "/?" + dates + "&segment=" + alice)
	a := f.answer(t, f.path+"&metrics=ym:s:visits,ym:s:cdpOrdersAllOrders&segment="+alice)
	if got := figures(p); got["Sessions"] != string(a.Totals[0]) || got["All orders"] != string(a.Totals[1]) || got["Sessions"] != "4" {
		t.Errorf("overview of alice: %v, the API says %v", got, a.Totals)
	}
	if !strings.Contains(p.body, `<option value="`+alice+`" selected>Alice</option>`) {
		t.Error("the picker does not show the segment picked")
	}
	for _, want := range []string{"segment=" + alice + "\">7", "/sources?date1=2026-01-29&amp;date2=2026-02-01&amp;segment=" + alice} {
		if !strings.Contains(p.body, want) {
			t.Errorf("overview's links lose the segment: no %q", want)
		}
	}

	// Order sources: the table, its links, its download and its API link.
	p = b.get(base + "/sources?" + dates + "&segment=" + alice)
	totals := regexp.MustCompile(`(?s)<tr class="totals">.*?</tr>`).FindString(p.body)
	if !strings.Contains(totals, `<td class="num">4</td>`) {
		t.Errorf("sources of alice: totals %s", totals)
	}
	for _, want := range []string{`/stat/v1/data?`, `segment=` + alice, `/sources.csv?`} {
		if !strings.Contains(p.body, want) {
			t.Errorf("sources page lacks %q", want)
		}
	}
	main := p.body[strings.Index(p.body, "<main"):]
	sourceLinks := regexp.MustCompile(`<a href="(/c/[0-9]+/sources[^"]*)"`).FindAllStringSubmatch(main, -1)
	if len(sourceLinks) < 5 {
		t.Errorf("%d links on the sources page: the check proves nothing", len(sourceLinks))
	}
	for _, m := range sourceLinks {
		if !strings.Contains(m[1], "segment="+alice) {
			t.Errorf("a link of the sources page loses the segment: %s", m[1])
		}
	}
	csv := b.get(base + "/sources.csv?" + dates + "&segment=" + alice)
	if lines := strings.Split(strings.TrimSpace(csv.body), "\n"); csv.code != 200 || !strings.HasPrefix(lines[1], "Total and averages,,4,") {
		t.Errorf("sources.csv of alice: %d %q", csv.code, csv.body)
	}
	if csv := b.get(base + "/sources.csv?" + dates + "&segment=999"); csv.code != 400 {
		t.Errorf("sources.csv of a deleted segment: %d, want a refusal rather than every visitor", csv.code)
	}

	// Clients.
	p = b.get(base + "/clients?segment=" + bob)
	tbl := regexp.MustCompile(`(?s)<table class="report" id="clients">.*?</table>`).FindString(p.body)
	if !strings.Contains(tbl, ">bob<") || strings.Contains(tbl, ">alice<") || !strings.Contains(p.body, `href="`+base+`/clients.csv?segment=`+bob+`"`) {
		t.Errorf("clients of bob: %s", tbl)
	}
	if p := b.get(base + "/clients?segment=" + bob + "&search=alice"); !strings.Contains(p.body, "No customer matches") {
		t.Error("an empty cut of the clients is not told apart from no customers at all")
	}

	// A segment since deleted: everyone, with a warning, and links without it.
	for _, path := range []string{"/?" + dates, "/sources?" + dates, "/clients?"} {
		p := b.get(base + path + "&segment=999")
		if p.code != 200 || !strings.Contains(p.body, "The segment picked no longer exists") || strings.Contains(p.body, "segment=999") {
			t.Errorf("%s with a deleted segment: %d", path, p.code)
		}
	}
	if p := b.get(base + "/?" + dates + "&segment=999"); figures(p)["Sessions"] != "6" {
		t.Errorf("overview of a deleted segment: %v", figures(p))
	}

	// No picker for a counter without segments.
	if p := newBrowserSigned(t, f.fixture, f.admin).get("/c/" + f.counter.ID.String() + "/"); strings.Contains(p.body, `name="segment"`) {
		t.Error("a counter without segments shows a segment picker")
	}
}

// newBrowserSigned is a browser signed in with a token.
func newBrowserSigned(t *testing.T, f *fixture, token string) *browser {
	b := newBrowser(t, f)
	b.signIn(token, "", "")
	return b
}
