package crmlink

import (
	"slices"
	"strings"
)

// NumberFormat is how a locale writes numbers and money.
type NumberFormat struct {
	Locale  string // the tag it was found for, like "ru" or "en-GB"
	Decimal string // decimal separator
	Group   string // thousands separator
	// SymbolAfter puts the currency symbol after the amount ("1 234 ₽")
	// rather than before it ("$1,234").
	SymbolAfter bool
	// DateOrder is "dmy", "mdy" or "ymd"; DateSep separates the parts.
	DateOrder string
	DateSep   string
}

// locales are the languages the dashboard formats numbers for; a region
// (en-US, en-GB) falls back to its language when it has no entry.
var locales = map[string]NumberFormat{
	"en":    {Decimal: ".", Group: ",", DateOrder: "ymd", DateSep: "-"},
	"en-US": {Decimal: ".", Group: ",", DateOrder: "mdy", DateSep: "/"},
	"en-GB": {Decimal: ".", Group: ",", DateOrder: "dmy", DateSep: "/"},
	"ru":    {Decimal: ",", Group: "\u00a0", SymbolAfter: true, DateOrder: "dmy", DateSep: "."},
	"uk":    {Decimal: ",", Group: "\u00a0", SymbolAfter: true, DateOrder: "dmy", DateSep: "."},
	"be":    {Decimal: ",", Group: "\u00a0", SymbolAfter: true, DateOrder: "dmy", DateSep: "."},
	"kk":    {Decimal: ",", Group: "\u00a0", SymbolAfter: true, DateOrder: "dmy", DateSep: "."},
	"de":    {Decimal: ",", Group: ".", SymbolAfter: true, DateOrder: "dmy", DateSep: "."},
	"fr":    {Decimal: ",", Group: "\u202f", SymbolAfter: true, DateOrder: "dmy", DateSep: "/"},
	"es":    {Decimal: ",", Group: ".", SymbolAfter: true, DateOrder: "dmy", DateSep: "/"},
	"it":    {Decimal: ",", Group: ".", SymbolAfter: true, DateOrder: "dmy", DateSep: "/"},
	"pt":    {Decimal: ",", Group: ".", SymbolAfter: true, DateOrder: "dmy", DateSep: "/"},
	"nl":    {Decimal: ",", Group: ".", DateOrder: "dmy", DateSep: "-"},
	"pl":    {Decimal: ",", Group: "\u00a0", SymbolAfter: true, DateOrder: "dmy", DateSep: "."},
	"tr":    {Decimal: ",", Group: ".", DateOrder: "dmy", DateSep: "."},
	"sv":    {Decimal: ",", Group: "\u00a0", SymbolAfter: true, DateOrder: "ymd", DateSep: "-"},
	"fi":    {Decimal: ",", Group: "\u00a0", SymbolAfter: true, DateOrder: "dmy", DateSep: "."},
	"cs":    {Decimal: ",", Group: "\u00a0", SymbolAfter: true, DateOrder: "dmy", DateSep: "."},
	"ja":    {Decimal: ".", Group: ",", DateOrder: "ymd", DateSep: "/"},
	"zh":    {Decimal: ".", Group: ",", DateOrder: "ymd", DateSep: "-"},
}

// LocaleFormat returns the number format of a language tag such as "ru",
// "en-GB" or "de_DE": the tag's own entry, else its language's.
func LocaleFormat(tag string) (NumberFormat, bool) {
	tag = strings.ReplaceAll(strings.TrimSpace(tag), "_", "-")
	lang, region, _ := strings.Cut(tag, "-")
	lang = strings.ToLower(lang)
	if region != "" {
		key := lang + "-" + strings.ToUpper(region)
		if f, ok := locales[key]; ok {
			f.Locale = key
			return f, true
		}
	}
	f, ok := locales[lang]
	f.Locale = lang
	return f, ok
}

// LocaleNames lists the tags LocaleFormat knows, sorted.
func LocaleNames() []string {
	out := make([]string, 0, len(locales))
	for k := range locales {
		out = append(out, k)
	}
	slices.Sort(out)
	return out
}
