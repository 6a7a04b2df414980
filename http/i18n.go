package http

import (
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/crmlink/crmlink"
)

// The dashboard's languages. Every page, flash message, page error,
// label and page-script message is written in English in the code and
// looked up in a catalog for the other language (ruText). The API's
// answers stay English: clients parse them.
//
// The language of a request, first that applies:
//  1. the crmlink_lang cookie that the layout's RU/EN switch sets;
//  2. the counter's locale (its number format): ru, be or kk read Russian,
//     any other locale English;
//  3. the first language of the browser's Accept-Language: Russian if it is
//     ru, be or kk, else English;
//  4. English.

// langCookie holds the language the reader picked with the switch.
const langCookie = "crmlink_lang"

// Lang is a language of the dashboard.
type lang string

const (
	langEN lang = "en"
	langRU lang = "ru"
)

// russianLocale reports whether a locale tag's language reads Russian on
// the dashboard: Russian itself, and the languages whose Metrica users
// work in its Russian interface.
func russianLocale(tag string) bool {
	l, _, _ := strings.Cut(strings.ReplaceAll(strings.TrimSpace(tag), "_", "-"), "-")
	switch strings.ToLower(l) {
	case "ru", "be", "kk":
		return true
	}
	return false
}

// pickLang chooses the language of a request for counter c (nil on pages
// of no counter), by the rule above.
func pickLang(r *http.Request, c *crmlink.Counter) lang {
	if r != nil {
		if ck, err := r.Cookie(langCookie); err == nil {
			switch lang(ck.Value) {
			case langRU, langEN:
				return lang(ck.Value)
			}
		}
	}
	if c != nil && c.Locale != "" {
		if russianLocale(c.Locale) {
			return langRU
		}
		return langEN
	}
	if r != nil {
		for _, part := range strings.Split(r.Header.Get("Accept-Language"), ",") {
			tag, q, _ := strings.Cut(strings.TrimSpace(part), ";")
			if tag == "" || tag == "*" || strings.ReplaceAll(strings.TrimSpace(q), " ", "") == "q=0" {
				continue
			}
			if russianLocale(tag) {
				return langRU
			}
			return langEN
		}
	}
	return langEN
}

// translator writes the dashboard's text in one language.
type translator struct{ lang lang }

// T returns the text s (English, the catalog's key) in the language.
// A key the catalog lacks is shown in English; TestCatalogComplete keeps
// that from happening.
func (t translator) T(s string) string {
	if t.lang == langRU {
		if v, ok := ruText[s]; ok {
			return v
		}
	}
	return s
}

// Tf translates a format, then fills it like fmt.Sprintf.
func (t translator) Tf(format string, args ...any) string {
	return fmt.Sprintf(t.T(format), args...)
}

// N writes a count with the word it counts, in the form the number needs:
// "1 order", "5 orders"; in Russian one of three forms ("1 заказ",
// "2 заказа", "5 заказов"), from the catalog entry "one|many" whose value
// is "one|few|many". The count is written by the formatter f.
func (t translator) N(f formatter, n int, one, many string) string {
	num := f.Count(n)
	if t.lang == langRU {
		if v, ok := ruText[one+"|"+many]; ok {
			forms := strings.SplitN(v, "|", 3)
			if len(forms) == 3 {
				return num + "\u00a0" + forms[ruPlural(n)]
			}
		}
	}
	if n == 1 {
		return num + "\u00a0" + one
	}
	return num + "\u00a0" + many
}

// ruPlural is the index of the Russian plural form for n: 0 for 1, 21,
// 101…; 1 for 2–4, 22–24…; 2 for 0, 5–20, 25–30… (CLDR's one, few, many).
func ruPlural(n int) int {
	if n < 0 {
		n = -n
	}
	switch d, h := n%10, n%100; {
	case d == 1 && h != 11:
		return 0
	case d >= 2 && d <= 4 && (h < 12 || h > 14):
		return 1
	}
	return 2
}

// Source is the display name of a traffic source id in the language; an
// unknown id is shown as "Not determined" rather than raw.
func (t translator) Source(id string) string {
	k := crmlink.SourceKind(id)
	if !k.Valid() {
		return t.T("Not determined")
	}
	return t.T(k.Name())
}

// Status is the display name of an order status type. Status names have
// their own Russian entries (ruStatus): a status is "Оплачен", while the
// column of the same English name counts "Оплачено".
func (t translator) Status(st crmlink.StatusType) string {
	n, ok := statusTypeNames[st]
	if !ok {
		return string(st)
	}
	if v, ok := ruStatus[n]; ok && t.lang == langRU {
		return v
	}
	return n
}

// statusTypeNames are the order status types as pages name them.
var statusTypeNames = map[crmlink.StatusType]string{
	crmlink.StatusInProgress: "In progress",
	crmlink.StatusPaid:       "Paid",
	crmlink.StatusCancelled:  "Cancelled",
	crmlink.StatusSpam:       "Spam",
	crmlink.StatusOther:      "Other",
}

// Entity is what an upload carried, as pages name it.
func (t translator) Entity(e crmlink.UploadEntity) string {
	if n, ok := entityNames[e]; ok {
		return t.T(n)
	}
	return string(e)
}

var entityNames = map[crmlink.UploadEntity]string{
	crmlink.EntitySessions: "sessions", crmlink.EntityContacts: "contacts", crmlink.EntityOrders: "orders",
	crmlink.EntitySimpleOrders: "simple orders", crmlink.EntityOfflineConversions: "offline conversions",
	crmlink.EntityExpenses: "ad expenses", crmlink.EntityExpenseRemoves: "ad expenses deleted",
}

// Device is a device category as pages name it.
func (t translator) Device(d crmlink.DeviceCategory) string {
	if n, ok := deviceNames[d]; ok {
		return t.T(n)
	}
	return string(d)
}

var deviceNames = map[crmlink.DeviceCategory]string{
	crmlink.DeviceDesktop: "desktop", crmlink.DeviceMobile: "smartphone", crmlink.DeviceTablet: "tablet", crmlink.DeviceTV: "TV",
}

// upState is how the Uploads pages show an upload's status: the class
// that colours it and its text.
type upState struct{ Class, Text string }

// UpState shows an upload's status. An upload that passed but stored no
// row (every row refused with on_error=skip, or an empty file) is not a
// success to the reader: it is shown as a warning, "nothing stored".
func (t translator) UpState(up *crmlink.Upload) upState {
	switch {
	case up.Status == crmlink.UploadPassed && up.Accepted == 0:
		return upState{"EMPTY", t.T("nothing stored")}
	case up.Status == crmlink.UploadPassed:
		return upState{string(up.Status), t.T("PASSED")}
	case up.Status == crmlink.UploadFailed:
		return upState{string(up.Status), t.T("FAILED")}
	}
	return upState{string(up.Status), string(up.Status)}
}

// Duration writes a session's length in minutes and seconds.
func (t translator) Duration(d time.Duration) string {
	d = d.Round(time.Second)
	if d < time.Minute {
		return t.Tf("%d s", int(d/time.Second))
	}
	return t.Tf("%d min %d s", int(d/time.Minute), int(d%time.Minute/time.Second))
}

// Message translates an error message the domain returned, when the
// catalog has it; messages built with values stay as they are.
func (t translator) Message(msg string) string { return t.T(msg) }

// jsText are the messages of the page scripts (web/static/app.js and
// segments.js), given to them per page in the reader's language (a JSON
// block the layout writes).
var jsText = []string{
	"Copied", "Copy", "Select and copy by hand",
	"Choose a file first.",
	"The file is larger than the server accepts ({0} bytes).",
	"Sending…",
	"Sent; the server is checking and storing the rows…",
	"Upload {0}: {1}, {2} rows stored, {3} refused.",
	"Upload {0}: nothing stored, {1} rows refused.",
	"Not stored: ",
	" See the row errors.",
	"The upload did not reach the server; check the connection and try again.",
	"PASSED", "FAILED",
	"Delete every stored day of spend this file names?", "Upload {0}: {1}, {2} days of spend deleted.", "Open the upload",
	"Rows in {1}: {0}. Reports in {2}, the currency of the counter, leave their money out (crmlink keeps no exchange rates).",
	// The Segments page (segments.js).
	"Customers", "Visitors", "ClientIDs", "Emails", "Phones", "Audience file", "Rows", "Members", "Left out",
	"takes at least {0} rows", "Build a condition with the pickers, or type an expression.", "Counting…", "Loading…",
	"Give a whole number of orders from 1.", "Give a whole number of days.", "Give a whole number of days from 1.",
	"Give an amount, such as 10000 or 2500.50.", "Give the name of the place.", "The counter has no goals yet.",
	"Pick a condition.", "No members shown: ", "No one meets the condition.", "visitor", "Members shown: {0}",
	"Customer", "Emails (SHA-256)", "Phones (SHA-256)", "Saving…", "Saved.", "Not saved: ", "Not deleted: ",
	"Nothing downloaded or pushed yet.", "Yandex Audience segment {0}", "When", "What", "Who", "Result",
	"Preparing the file…", "No file: ", "Downloaded {0}: {1} rows, {2} members.", "Left out: {0}.",
	"Pushing to Yandex Audience…", "Not pushed: ", "Pushed {0} rows, {1} members; Yandex Audience segment {2}.",
	"The server did not answer; check the connection and try again.",
	"visitors without a customer record", "no email or phone", "emails and phones known only as MD5",
	"phones without a country code", "known only as hashes", "no ClientID", "no email", "no phone",
}

// jsMessages returns jsText in the language, by its English text.
func (t translator) jsMessages() map[string]string {
	m := make(map[string]string, len(jsText))
	for _, s := range jsText {
		m[s] = t.T(s)
	}
	return m
}

// langSwitch sets the language cookie and goes back to the page the
// switch was clicked on, which the browser names in its Referer (the
// dashboard's Referrer-Policy sends it within the site): the link carries
// no address of its own, so no page reflects its URL into the switch. A
// GET, so it works on every page without a form; it changes nothing but
// the reader's own cookie.
func (s *Server) langSwitch(w http.ResponseWriter, r *http.Request) error {
	l := lang(r.URL.Query().Get("lang"))
	if l != langRU && l != langEN {
		return crmlink.Errorf(crmlink.KindInvalid, "lang: want ru or en")
	}
	http.SetCookie(w, &http.Cookie{Name: langCookie, Value: string(l), Path: "/", MaxAge: 365 * 24 * 3600,
		HttpOnly: true, Secure: secureRequest(r), SameSite: http.SameSiteLaxMode})
	back := "/"
	if ref, err := url.Parse(r.Referer()); err == nil && ref.Host == r.Host && ref.Path != "/lang" {
		back = safeNext(ref.RequestURI())
	}
	http.Redirect(w, r, back, http.StatusSeeOther)
	return nil
}
