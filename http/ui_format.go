package http

import (
	"net/http"
	"strings"
	"time"

	"github.com/crmlink/crmlink"
	"github.com/shopspring/decimal"
)

// currencySymbols are the symbols the dashboard writes money with; other
// currencies are written with their code.
var currencySymbols = map[string]string{
	"RUB": "₽", "USD": "$", "EUR": "€", "GBP": "£", "UAH": "₴", "KZT": "₸", "BYN": "Br", "CNY": "¥",
	"JPY": "¥", "TRY": "₺", "INR": "₹", "PLN": "zł", "ILS": "₪", "KRW": "₩", "AMD": "֏", "GEL": "₾", "AZN": "₼",
}

// formatter writes the dashboard's numbers, money and dates for one
// counter and reader: in the counter's locale (else the browser's first
// language crmlink knows, else English), the counter's currency and time
// zone. Money stays decimal: amounts are rounded and grouped as strings.
type formatter struct {
	nf       crmlink.NumberFormat
	currency string
	loc      *time.Location
	// points is the unit of a difference of percentages in the page's
	// language ("pp"; "" reads as "pp").
	points string
}

func newFormatter(r *http.Request, c *crmlink.Counter) formatter {
	f := formatter{nf: pickLocale(r, c), loc: time.UTC}
	if c != nil {
		f.currency, f.loc = c.Currency, counterLoc(c)
	}
	return f
}

// pickLocale chooses the number format: the counter's locale, else the
// first language of Accept-Language that crmlink knows, else "en". When
// the reader picked a language with the switch (langCookie) that this
// format does not read, the format of that language is used instead, so
// that a Russian page does not write English numbers.
func pickLocale(r *http.Request, c *crmlink.Counter) crmlink.NumberFormat {
	if c != nil && c.Locale != "" {
		if nf, ok := crmlink.LocaleFormat(c.Locale); ok {
			return nf
		}
	}
	nf := browserLocale(r)
	if r != nil {
		if ck, err := r.Cookie(langCookie); err == nil && (ck.Value == string(langRU) || ck.Value == string(langEN)) &&
			russianLocale(nf.Locale) != (ck.Value == string(langRU)) {
			nf, _ = crmlink.LocaleFormat(ck.Value)
		}
	}
	return nf
}

// browserLocale is the number format of the browser's first language that
// crmlink knows, else "en".
func browserLocale(r *http.Request) crmlink.NumberFormat {
	if r != nil {
		for _, part := range strings.Split(r.Header.Get("Accept-Language"), ",") {
			tag, _, _ := strings.Cut(strings.TrimSpace(part), ";")
			if nf, ok := crmlink.LocaleFormat(tag); ok && tag != "" && tag != "*" {
				return nf
			}
		}
	}
	nf, _ := crmlink.LocaleFormat("en")
	return nf
}

// number writes d rounded to places decimals, with the locale's grouping.
func (f formatter) number(d decimal.Decimal, places int32) string {
	s := d.StringFixed(places)
	neg := strings.HasPrefix(s, "-")
	s = strings.TrimPrefix(s, "-")
	intPart, frac, _ := strings.Cut(s, ".")
	var b strings.Builder
	if neg && strings.Trim(s, "0.") != "" {
		b.WriteString("−")
	}
	for i, c := range intPart {
		if i > 0 && (len(intPart)-i)%3 == 0 {
			b.WriteString(f.nf.Group)
		}
		b.WriteRune(c)
	}
	if frac != "" {
		b.WriteString(f.nf.Decimal)
		b.WriteString(frac)
	}
	return b.String()
}

// Int writes a count.
func (f formatter) Int(d decimal.Decimal) string { return f.number(d, 0) }

// Count writes an int count.
func (f formatter) Count(n int) string { return f.number(decimal.NewFromInt(int64(n)), 0) }

// Money writes an amount of the counter's currency, to the kopeck.
func (f formatter) Money(d decimal.Decimal) string { return f.MoneyIn(d, f.currency) }

// MoneyIn writes an amount of the given currency.
func (f formatter) MoneyIn(d decimal.Decimal, currency string) string {
	n := f.number(d, 2)
	sym, ok := currencySymbols[currency]
	if !ok {
		return n + "\u00a0" + currency
	}
	if f.nf.SymbolAfter {
		return n + "\u00a0" + sym
	}
	if strings.HasPrefix(n, "−") {
		return "−" + sym + strings.TrimPrefix(n, "−")
	}
	return sym + n
}

// Percent writes a percentage that the report already computed.
func (f formatter) Percent(d decimal.Decimal) string { return f.number(d, 2) + "\u00a0%" }

// Change writes the change from prev to cur as a signed percentage, or ""
// when there is nothing to compare with.
func (f formatter) Change(cur, prev decimal.Decimal) string {
	if prev.IsZero() {
		return ""
	}
	ch := cur.Sub(prev).Mul(decimal.NewFromInt(100)).Div(prev.Abs())
	s := f.number(ch, 1) + "\u00a0%"
	if ch.IsPositive() && ch.Round(1).IsPositive() {
		s = "+" + s
	}
	return s
}

// Date writes a calendar date in the locale's order.
func (f formatter) Date(t time.Time) string {
	if t.IsZero() {
		return ""
	}
	var layout string
	sep := f.nf.DateSep
	switch f.nf.DateOrder {
	case "dmy":
		layout = "02" + sep + "01" + sep + "2006"
	case "mdy":
		layout = "01" + sep + "02" + sep + "2006"
	default:
		layout = "2006" + sep + "01" + sep + "02"
	}
	return t.Format(layout)
}

// Time writes an instant as a date and a time of day in the counter's
// time zone.
func (f formatter) Time(t time.Time) string {
	if t.IsZero() {
		return ""
	}
	t = t.In(f.loc)
	return f.Date(t) + " " + t.Format("15:04")
}

// Count64 writes an int64 count.
func (f formatter) Count64(n int64) string { return f.number(decimal.NewFromInt(n), 0) }

// Points writes a difference of two percentages, in percentage points.
func (f formatter) Points(d decimal.Decimal) string {
	unit := f.points
	if unit == "" {
		unit = "pp"
	}
	s := f.number(d, 2) + "\u00a0" + unit
	if d.Round(2).IsPositive() {
		s = "+" + s
	}
	return s
}
