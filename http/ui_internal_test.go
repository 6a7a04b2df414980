package http

import (
	"fmt"
	"net/http/httptest"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/crmlink/crmlink"
	"github.com/shopspring/decimal"
)

func TestFormatter(t *testing.T) {
	d := decimal.RequireFromString
	for _, tc := range []struct {
		locale, currency string
		fn               func(f formatter) string
		want             string
	}{
		{"en", "RUB", func(f formatter) string { return f.Int(d("1234567")) }, "1,234,567"},
		{"en", "RUB", func(f formatter) string { return f.Int(d("999")) }, "999"},
		{"en", "USD", func(f formatter) string { return f.Money(d("1234.5")) }, "$1,234.50"},
		{"en", "USD", func(f formatter) string { return f.Money(d("-0.004")) }, "$0.00"},
		{"en", "USD", func(f formatter) string { return f.Money(d("-1234.567")) }, "−$1,234.57"},
		{"ru", "RUB", func(f formatter) string { return f.Money(d("38737931.2")) }, "38\u00a0737\u00a0931,20\u00a0₽"},
		{"de", "EUR", func(f formatter) string { return f.Money(d("1234.5")) }, "1.234,50\u00a0€"},
		{"de", "XYZ", func(f formatter) string { return f.Money(d("5")) }, "5,00\u00a0XYZ"},
		{"en", "RUB", func(f formatter) string { return f.Percent(d("5.125")) }, "5.13\u00a0%"},
		{"en", "RUB", func(f formatter) string { return f.Change(d("110"), d("100")) }, "+10.0\u00a0%"},
		{"en", "RUB", func(f formatter) string { return f.Change(d("90"), d("100")) }, "−10.0\u00a0%"},
		{"en", "RUB", func(f formatter) string { return f.Change(d("90"), d("0")) }, ""},
		{"en", "RUB", func(f formatter) string { return f.Points(d("0.5")) }, "+0.50\u00a0pp"},
		{"en-US", "RUB", func(f formatter) string { return f.Date(time.Date(2026, 3, 4, 0, 0, 0, 0, time.UTC)) }, "03/04/2026"},
		{"ru", "RUB", func(f formatter) string { return f.Date(time.Date(2026, 3, 4, 0, 0, 0, 0, time.UTC)) }, "04.03.2026"},
		{"en", "RUB", func(f formatter) string { return f.Date(time.Date(2026, 3, 4, 0, 0, 0, 0, time.UTC)) }, "2026-03-04"},
	} {
		c := &crmlink.Counter{Currency: tc.currency, TimeZone: "UTC", Locale: tc.locale}
		if got := tc.fn(newFormatter(nil, c)); got != tc.want {
			t.Errorf("%s %s: got %q, want %q", tc.locale, tc.currency, got, tc.want)
		}
	}
	// Without a counter locale, the browser's first known language.
	r := httptest.NewRequest("GET", "/", nil)
	r.Header.Set("Accept-Language", "xx-YY, de-AT;q=0.9, en;q=0.5")
	if f := newFormatter(r, &crmlink.Counter{Currency: "EUR", TimeZone: "UTC"}); f.Int(d("1234")) != "1.234" {
		t.Errorf("Accept-Language de-AT: %q", f.Int(d("1234")))
	}
	// A time is shown in the counter's time zone.
	f := newFormatter(nil, &crmlink.Counter{Currency: "RUB", TimeZone: "Europe/Moscow", Locale: "ru"})
	if got := f.Time(time.Date(2026, 1, 1, 21, 30, 0, 0, time.UTC)); got != "02.01.2026 00:30" {
		t.Errorf("Time = %q", got)
	}
}

func TestPasswords(t *testing.T) {
	h, err := HashPassword("correct horse battery")
	if err != nil {
		t.Fatal(err)
	}
	if !CheckPassword(h, "correct horse battery") {
		t.Error("the right password is refused")
	}
	for _, bad := range []string{"correct horse batterY", "", "correct horse battery "} {
		if CheckPassword(h, bad) {
			t.Errorf("%q is accepted", bad)
		}
	}
	h2, _ := HashPassword("correct horse battery")
	if h2 == h {
		t.Error("two hashes of one password are equal: no salt")
	}
	for _, malformed := range []string{"", "plain", "$argon2i$v=19$m=19456,t=2,p=1$c2FsdA$a2V5", h[:len(h)-4] + "!!!!",
		"$argon2id$v=19$m=999999999,t=2,p=1$c2FsdA$a2V5"} {
		if CheckPassword(malformed, "correct horse battery") {
			t.Errorf("malformed hash %q accepted", malformed)
		}
	}
	if _, err := HashPassword("short"); crmlink.KindOf(err) != crmlink.KindInvalid {
		t.Errorf("a 5-character password: %v", err)
	}
}

func TestSafeNext(t *testing.T) {
	for _, tc := range []struct{ in, want string }{
		// Same-origin paths are kept, with their query and fragment.
		{"/", "/"},
		{"/c/1/", "/c/1/"},
		{"/c/1/sources?date1=2026-01-01&dim=a%2Fb#top", "/c/1/sources?date1=2026-01-01&dim=a%2Fb#top"},
		{"/c/1/clients/a%20b", "/c/1/clients/a%20b"},
		// Everything else is "/".
		{"", "/"},
		{"c/1", "/"},
		{"https://evil.example/", "/"},
		{"HTTPS://evil.example/", "/"},
		{"javascript:alert(1)", "/"},
		{"//evil.example/", "/"},
		{"///evil.example/", "/"},
		{"/\\evil.example", "/"},
		{"\\/evil.example", "/"},
		{"/\t/evil.example/phish", "/"}, // /signin?next=/%09/evil.example/phish, decoded
		{"/\n/evil.example", "/"},
		{"/\r/evil.example", "/"},
		{"\t//evil.example", "/"},
		{" //evil.example", "/"},
		{"/%09/evil.example", "/"},
		{"/%2F/evil.example", "/"},
		{"/%2f/evil.example", "/"},
		{"/%5C/evil.example", "/"},
		{"/%5cevil.example", "/"},
		{"/c/1/\x00", "/"},
		{"/c/1/\u0085", "/"},
		{"/\xff", "/"},
		{"http:/evil.example", "/"},
		{"/@evil.example", "/@evil.example"}, // a path on this site
	} {
		if got := safeNext(tc.in); got != tc.want {
			t.Errorf("safeNext(%q) = %q, want %q", tc.in, got, tc.want)
		}
	}
}

func TestSigninLimiter(t *testing.T) {
	clock := &crmlink.FixedClock{T: time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)}
	l := newSigninLimiter(clock.Now)
	a := httptest.NewRequest("POST", "/signin", nil)
	a.RemoteAddr = "192.0.2.1:5000"
	b := httptest.NewRequest("POST", "/signin", nil)
	b.RemoteAddr = "192.0.2.2:5000"
	for range 20 {
		if l.blocked(a, "anna") {
			t.Fatal("blocked before the limit")
		}
		l.failed(a, "anna")
	}
	if !l.blocked(a, "") || !l.blocked(a, "bob") {
		t.Error("the 21st try from the address is not refused")
	}
	if l.blocked(b, "bob") {
		t.Error("another address and user are refused")
	}
	// Guessing one user's password from many addresses stops too.
	for i := range 30 {
		c := httptest.NewRequest("POST", "/signin", nil)
		c.RemoteAddr = fmt.Sprintf("198.51.100.%d:1", i)
		l.failed(c, "anna")
	}
	if !l.blocked(b, "anna") {
		t.Error("50 failures for anna do not block her name")
	}
	clock.Add(15 * time.Minute)
	if l.blocked(a, "anna") {
		t.Error("still refused after the window")
	}
}

// TestReadmeSnippet: the tag snippet the README shows is the one Settings
// gives, for counter 1 served at https://crmlink.example.
func TestReadmeSnippet(t *testing.T) {
	readme, err := os.ReadFile("../README.md")
	if err != nil {
		t.Fatal(err)
	}
	want := snippet("https://crmlink.example", &crmlink.Counter{ID: 1})
	if !strings.Contains(string(readme), "```html\n"+want+"\n```") {
		t.Errorf("the README's tag snippet is not Settings' one:\n%s", want)
	}
}
