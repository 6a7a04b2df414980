package http

import (
	"io/fs"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/crmlink/crmlink"
	"github.com/crmlink/crmlink/audience"
	"github.com/crmlink/crmlink/conversions"
	"github.com/crmlink/crmlink/web"
)

// Where the dashboard's English text is: T, Tf and N in templates and Go,
// the titles pages are made with, and the sign-in form's refusals.
var (
	tmplT     = regexp.MustCompile(`\.(?:T|Tf) "((?:[^"\\]|\\.)*)"`)
	tmplN     = regexp.MustCompile(`\.N [^"]*?"([^"]+)" "([^"]+)"`)
	goT       = regexp.MustCompile(`\b(?:T|Tf)\("((?:[^"\\]|\\.)*)"`)
	goN       = regexp.MustCompile(`\.N\([^"]*?"([^"]+)", "([^"]+)"\)`)
	goTitle   = regexp.MustCompile(`pageFor\(r, u, "[^"]*", "([^"]+)"`)
	goFail    = regexp.MustCompile(`\bfail\("((?:[^"\\]|\\.)*)"\)`)
	goSignin  = regexp.MustCompile(`Title: "([^"]+)"`)
	verbs     = regexp.MustCompile(`%[-+# 0]*[0-9]*(?:\.[0-9]+)?[a-zA-Z]|\{[0-9]\}`)
	unquoteGo = strings.NewReplacer(`\"`, `"`, `\\`, `\`)
)

// catalogKeys returns every English text the dashboard shows, each with
// where it was found; plural keys are "one|many".
func catalogKeys(t *testing.T) map[string]string {
	t.Helper()
	keys := map[string]string{}
	add := func(k, where string) {
		if _, ok := keys[k]; !ok {
			keys[k] = where
		}
	}
	names, _ := fs.Glob(web.Templates, "*.html")
	for _, n := range names {
		b, _ := fs.ReadFile(web.Templates, n)
		for _, m := range tmplT.FindAllStringSubmatch(string(b), -1) {
			add(unquoteGo.Replace(m[1]), n)
		}
		for _, m := range tmplN.FindAllStringSubmatch(string(b), -1) {
			add(m[1]+"|"+m[2], n)
		}
	}
	gos, _ := filepath.Glob("*.go")
	for _, n := range gos {
		if strings.HasSuffix(n, "_test.go") {
			continue
		}
		b, err := os.ReadFile(n)
		if err != nil {
			t.Fatal(err)
		}
		for _, re := range []*regexp.Regexp{goT, goTitle, goFail} {
			for _, m := range re.FindAllStringSubmatch(string(b), -1) {
				add(unquoteGo.Replace(m[1]), n)
			}
		}
		if n == "ui.go" {
			for _, m := range goSignin.FindAllStringSubmatch(string(b), -1) {
				add(m[1], n)
			}
		}
		for _, m := range goN.FindAllStringSubmatch(string(b), -1) {
			add(m[1]+"|"+m[2], n)
		}
	}
	// The label tables, translated where they are used.
	for _, d := range sourceDims {
		add(d.Label, "sourceDims")
	}
	for _, c := range sourceCols {
		add(c.Label, "sourceCols")
	}
	for _, a := range attributionLabels {
		add(a.Label, "attributionLabels")
	}
	for _, d := range paybackDims {
		add(d.Label, "paybackDims")
	}
	for _, c := range paybackCols {
		add(c.Label, "paybackCols")
		if c.Hint != "" {
			add(c.Hint, "paybackCols")
		}
	}
	for _, f := range conversions.Formats {
		add(f.Title, "conversions.Formats")
	}
	for _, m := range overviewMetrics {
		add(m.label, "overviewMetrics")
	}
	for _, c := range clientsCols {
		add(c.Label, "clientsCols")
	}
	for _, v := range unlinkedReasons {
		add(v, "unlinkedReasons")
	}
	for _, k := range crmlink.SourceKinds {
		add(k.Name(), "crmlink.SourceKinds")
	}
	for _, v := range entityNames {
		add(v, "entityNames")
	}
	for _, v := range deviceNames {
		add(v, "deviceNames")
	}
	for _, s := range reportNames {
		add(s, "reportNames")
	}
	for _, s := range jsText {
		add(s, "jsText")
	}
	for _, g := range crmlink.CRMGoals {
		add(g.Name, "crmlink.CRMGoals")
	}
	for _, f := range audience.Formats {
		add(f.Title, "audience.Formats")
	}
	for _, m := range []string{"purchase_id", "client_id", "user_id", "email", "phone"} {
		add(m, "link methods")
	}
	for _, sc := range []crmlink.Scope{crmlink.ScopeRead, crmlink.ScopeWrite, crmlink.ScopeAdmin} {
		add(sc.String(), "scopes")
	}
	for _, k := range []crmlink.ErrorKind{crmlink.KindInvalid, crmlink.KindNotFound, crmlink.KindConflict, crmlink.KindUnauthorized,
		crmlink.KindForbidden, crmlink.KindTooLarge, crmlink.KindUnavailable, crmlink.KindInternal} {
		code, _ := statusOf(k)
		add(http.StatusText(code), "errorPage titles")
	}
	return keys
}

// TestCatalogComplete fails when a text the dashboard shows has no Russian
// entry, or an entry does not keep the text's placeholders.
func TestCatalogComplete(t *testing.T) {
	keys := catalogKeys(t)
	if len(keys) < 200 {
		t.Fatalf("found only %d texts: the scan is broken", len(keys))
	}
	var missing []string
	for k, where := range keys {
		ru, ok := ruText[k]
		if !ok || strings.TrimSpace(ru) == "" {
			missing = append(missing, where+": "+k)
			continue
		}
		if strings.Contains(k, "|") && !strings.HasPrefix(where, "jsText") {
			if n := len(strings.Split(ru, "|")); n != 3 {
				t.Errorf("%s: plural %q has %d forms, want 3: %q", where, k, n, ru)
			}
			continue
		}
		a, b := verbs.FindAllString(k, -1), verbs.FindAllString(ru, -1)
		slices.Sort(a)
		slices.Sort(b)
		if !slices.Equal(a, b) {
			t.Errorf("%s: %q has placeholders %q, its Russian %q has %q", where, k, a, ru, b)
		}
	}
	for st, n := range statusTypeNames {
		if ruStatus[n] == "" {
			missing = append(missing, "ruStatus: "+string(st))
		}
	}
	// The page scripts' messages are given to them from jsText.
	scripts, _ := fs.Glob(web.Static, "*.js")
	if !slices.Contains(scripts, "app.js") || !slices.Contains(scripts, "segments.js") {
		t.Fatalf("page scripts found: %q", scripts)
	}
	for _, name := range scripts {
		js, err := fs.ReadFile(web.Static, name)
		if err != nil {
			t.Fatal(err)
		}
		jsCalls := regexp.MustCompile(`\bt\('((?:[^'\\]|\\.)*)'`).FindAllStringSubmatch(string(js), -1)
		if len(jsCalls) < 10 {
			t.Errorf("found %d messages in %s: the scan is broken", len(jsCalls), name)
		}
		for _, m := range jsCalls {
			if !slices.Contains(jsText, m[1]) {
				missing = append(missing, name+" (not in jsText): "+m[1])
			}
		}
	}
	slices.Sort(missing)
	for _, m := range missing {
		t.Errorf("no Russian text for %s", m)
	}
}

// TestPickLang checks the language rule: the switch's cookie, else the
// counter's locale, else the browser's first language, else English.
func TestPickLang(t *testing.T) {
	ru, de := &crmlink.Counter{Locale: "ru"}, &crmlink.Counter{Locale: "de"}
	for _, tt := range []struct {
		name    string
		cookie  string
		accept  string
		counter *crmlink.Counter
		want    lang
	}{
		{"nothing", "", "", nil, langEN},
		{"browser ru", "", "ru-RU,ru;q=0.9,en;q=0.8", nil, langRU},
		{"browser en first", "", "en-US,ru;q=0.9", nil, langEN},
		{"browser kk", "", "kk", nil, langRU},
		{"counter ru over browser", "", "en-US", ru, langRU},
		{"counter de over browser ru", "", "ru", de, langEN},
		{"counter be", "", "", &crmlink.Counter{Locale: "be"}, langRU},
		{"counter without locale: browser", "", "ru", &crmlink.Counter{}, langRU},
		{"cookie over counter", "en", "ru", ru, langEN},
		{"cookie ru over all", "ru", "en", de, langRU},
		{"bad cookie ignored", "xx", "ru", nil, langRU},
	} {
		t.Run(tt.name, func(t *testing.T) {
			r := httptest.NewRequest("GET", "/", nil)
			if tt.accept != "" {
				r.Header.Set("Accept-Language", tt.accept)
			}
			if tt.cookie != "" {
				r.AddCookie(&http.Cookie{Name: langCookie, Value: tt.cookie})
			}
			if got := pickLang(r, tt.counter); got != tt.want {
				t.Errorf("got %s, want %s", got, tt.want)
			}
		})
	}
}

// TestRussianPlural checks the three Russian forms of a count.
func TestRussianPlural(t *testing.T) {
	tr := translator{langRU}
	f := formatter{nf: crmlink.NumberFormat{Group: "\u00a0", Decimal: ","}}
	for n, want := range map[int]string{1: "1\u00a0заказ", 2: "2\u00a0заказа", 4: "4\u00a0заказа", 5: "5\u00a0заказов",
		11: "11\u00a0заказов", 12: "12\u00a0заказов", 21: "21\u00a0заказ", 22: "22\u00a0заказа", 111: "111\u00a0заказов", 0: "0\u00a0заказов"} {
		if got := tr.N(f, n, "order", "orders"); got != want {
			t.Errorf("%d: %q, want %q", n, got, want)
		}
	}
	en := translator{langEN}
	if got := en.N(f, 1, "order", "orders"); got != "1\u00a0order" {
		t.Errorf("en 1: %q", got)
	}
	if got := en.N(f, 3, "order", "orders"); got != "3\u00a0orders" {
		t.Errorf("en 3: %q", got)
	}
}

// TestLocaleFollowsSwitch: without a counter locale, the number format
// follows the language picked with the switch when the browser's does not
// read that language; a counter's locale stays.
func TestLocaleFollowsSwitch(t *testing.T) {
	for _, tt := range []struct {
		cookie, accept string
		counter        *crmlink.Counter
		want           string
	}{
		{"ru", "en-US", nil, "ru"},
		{"en", "ru-RU", nil, "en"},
		{"en", "en-GB", nil, "en-GB"},
		{"ru", "kk", nil, "kk"},
		{"", "en-US", nil, "en-US"},
		{"ru", "en-US", &crmlink.Counter{Locale: "de"}, "de"},
	} {
		r := httptest.NewRequest("GET", "/", nil)
		r.Header.Set("Accept-Language", tt.accept)
		if tt.cookie != "" {
			r.AddCookie(&http.Cookie{Name: langCookie, Value: tt.cookie})
		}
		if got := pickLocale(r, tt.counter).Locale; got != tt.want {
			t.Errorf("cookie %q, browser %q, counter %v: %s, want %s", tt.cookie, tt.accept, tt.counter, got, tt.want)
		}
	}
}
