package http

import (
	"bytes"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"html/template"
	"io/fs"
	"log/slog"
	"net/http"
	"net/url"
	"path"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/crmlink/crmlink"
	"github.com/crmlink/crmlink/web"
)

// The dashboard: server-rendered pages (html/template) under /c/{id}/, a
// sign-in page, and static files. Pages act with the rights of the token
// or user the browser signed in with, through the same authorize as the
// API, and the page scripts call the API itself (uploads, status mapping)
// with the session cookie and the CSRF header.

// pages are the dashboard's templates, each parsed with layout.html.
var pages = func() map[string]*template.Template {
	base := template.Must(template.New("layout.html").Funcs(template.FuncMap{
		"join":       strings.Join,
		"pathEscape": url.PathEscape,
	}).ParseFS(web.Templates, "layout.html", "part-*.html"))
	out := map[string]*template.Template{}
	names, _ := fs.Glob(web.Templates, "*.html")
	for _, n := range names {
		if n == "layout.html" || strings.HasPrefix(n, "part-") {
			continue
		}
		out[strings.TrimSuffix(n, ".html")] = template.Must(template.Must(base.Clone()).ParseFS(web.Templates, n))
	}
	return out
}()

// navItem is a link of the dashboard's navigation.
type navItem struct {
	Key, Label, URL string
}

// page is what every page template gets.
type page struct {
	Title    string
	Nav      string // the active navigation key
	NavItems []navItem
	Counter  *crmlink.Counter
	Counters []*crmlink.Counter
	Who      string
	CSRF     string
	F        formatter
	Static   string
	Flash    string
	Error    string
	Data     any
	tr       translator
}

// T returns s in the page's language (see i18n.go).
func (p *page) T(s string) string { return p.tr.T(s) }

// Tf translates a format and fills it.
func (p *page) Tf(format string, args ...any) string { return p.tr.Tf(format, args...) }

// N writes a count and the word it counts, in the form the number needs.
func (p *page) N(n int, one, many string) string { return p.tr.N(p.F, n, one, many) }

// Source is a traffic source id's name in the page's language.
func (p *page) Source(id string) string { return p.tr.Source(id) }

// Status is an order status type's name in the page's language.
func (p *page) Status(st crmlink.StatusType) string { return p.tr.Status(st) }

// Entity is what an upload carried, in the page's language.
func (p *page) Entity(e crmlink.UploadEntity) string { return p.tr.Entity(e) }

// Device is a device category in the page's language.
func (p *page) Device(d crmlink.DeviceCategory) string { return p.tr.Device(d) }

// UpState is an upload's status as the Uploads pages show it.
func (p *page) UpState(up *crmlink.Upload) upState { return p.tr.UpState(up) }

// Lang is the page's language, for <html lang>.
func (p *page) Lang() string { return string(p.tr.lang) }

// JSText is the page script's messages in the page's language.
func (p *page) JSText() map[string]string { return p.tr.jsMessages() }

// LangURL is the link of the language switch to l; the switch comes back
// to the page it was clicked on (langSwitch).
func (p *page) LangURL(l string) string { return "/lang?lang=" + l }

// ui is a dashboard request: who asks, for which counter.
type ui struct {
	tok     *crmlink.Token
	counter *crmlink.Counter
	// secret is the session cookie's (empty for a request with a token);
	// csrf derives from it, and flash messages are signed with it.
	secret string
	csrf   string
	// flashMsg is the message the previous request left (flash).
	flashMsg string
	f        formatter
	tr       translator
	// goals are the counter's goals, fetched by the page's first report.
	goals      []crmlink.Goal
	goalsValid bool
}

// uiRoutes registers the dashboard.
func (s *Server) uiRoutes() {
	s.mux.HandleFunc("GET /static/{version}/{file...}", s.staticFile)
	s.uiHandle("GET /lang", s.langSwitch)
	s.uiHandle("GET /{$}", s.home)
	s.uiHandle("GET /signin", s.signinPage)
	s.uiHandle("POST /signin", s.signinPost)
	s.uiHandle("POST /signout", s.signoutPost)
	s.counterPage("GET /c/{id}/{$}", crmlink.ScopeRead, s.overviewPage)
	s.counterPage("GET /c/{id}/sources", crmlink.ScopeRead, s.sourcesPage)
	s.counterPage("GET /c/{id}/sources.csv", crmlink.ScopeRead, s.sourcesCSV)
	s.counterPage("GET /c/{id}/payback", crmlink.ScopeRead, s.paybackPage)
	s.counterPage("GET /c/{id}/clients", crmlink.ScopeRead, s.clientsPage)
	s.counterPage("GET /c/{id}/clients.csv", crmlink.ScopeRead, s.clientsPageCSV)
	s.counterPage("GET /c/{id}/clients/{uniq}", crmlink.ScopeRead, s.customerPage)
	s.counterPage("GET /c/{id}/segments", crmlink.ScopeRead, s.segmentsPage)
	s.counterPage("GET /c/{id}/uploads", crmlink.ScopeRead, s.uploadsPage)
	s.counterPage("GET /c/{id}/uploads/{upload}", crmlink.ScopeRead, s.uploadPage)
	s.counterPage("POST /c/{id}/statuses", crmlink.ScopeWrite, s.statusesPost)
	s.counterPage("GET /c/{id}/goals", crmlink.ScopeRead, s.goalsPage)
	s.counterPage("GET /c/{id}/settings", crmlink.ScopeRead, s.settingsPage)
	s.counterPage("POST /c/{id}/settings", crmlink.ScopeAdmin, s.settingsPost)
	s.counterPage("POST /c/{id}/tokens", crmlink.ScopeAdmin, s.tokenCreatePost)
	s.counterPage("POST /c/{id}/yandex", crmlink.ScopeAdmin, s.yandexPost)
	s.counterPage("POST /c/{id}/tokens/revoke", crmlink.ScopeAdmin, s.tokenRevokePost)
	s.counterPage("POST /c/{id}/users", crmlink.ScopeAdmin, s.userCreatePost)
	s.counterPage("POST /c/{id}/users/remove", crmlink.ScopeAdmin, s.userRemovePost)
	// Any other page of a counter: a page saying so, not the API's JSON.
	s.counterPage("GET /c/{id}/{rest...}", crmlink.ScopeRead, func(w http.ResponseWriter, r *http.Request, u *ui) error {
		p, err := s.pageFor(r, u, "", "Not found", nil)
		if err != nil {
			return err
		}
		p.Error = u.tr.T("There is no such page of this counter.")
		return s.render(w, r, http.StatusNotFound, "error", p)
	})
}

// uiHandle registers a dashboard handler: like handle, but errors are
// pages, and an unsigned browser is sent to the sign-in page.
func (s *Server) uiHandle(pattern string, h func(w http.ResponseWriter, r *http.Request) error) {
	s.handle(pattern, func(w http.ResponseWriter, r *http.Request) error {
		if err := s.cop.Check(r); err != nil {
			return s.errorPage(w, r, crmlink.Errorf(crmlink.KindForbidden, "cross-origin request refused"))
		}
		w.Header().Set("X-Frame-Options", "DENY")
		w.Header().Set("Referrer-Policy", "same-origin")
		w.Header().Set("Content-Security-Policy", "default-src 'self'; img-src 'self' data:; style-src 'self'; script-src 'self'; frame-ancestors 'none'; base-uri 'none'; form-action 'self'")
		if err := h(w, r); err != nil {
			return s.errorPage(w, r, err)
		}
		return nil
	})
}

// counterPage registers a page of one counter, for tokens or users with
// the given scope on it.
func (s *Server) counterPage(pattern string, need crmlink.Scope, h func(w http.ResponseWriter, r *http.Request, u *ui) error) {
	s.uiHandle(pattern, func(w http.ResponseWriter, r *http.Request) error {
		id, err := crmlink.ParseCounterID(r.PathValue("id"))
		if err != nil {
			return crmlink.Errorf(crmlink.KindNotFound, "no such counter")
		}
		tok, err := s.authorize(r, id, need)
		if err != nil {
			return err
		}
		c, err := s.cfg.Store.Counter(r.Context(), id)
		if err != nil {
			return err
		}
		u := &ui{tok: tok, counter: c, f: newFormatter(r, c), tr: translator{pickLang(r, c)}}
		u.f.points = u.tr.T("pp") // percentage points
		if ck, err := r.Cookie(sessionCookie); err == nil && ck.Value != "" {
			u.secret, u.csrf = ck.Value, csrfFor(ck.Value)
		}
		if r.Method == http.MethodGet {
			u.flashMsg = takeFlash(w, r, u)
		}
		return h(w, r, u)
	})
}

// errorPage shows an error as a page; an unsigned browser goes to sign in.
func (s *Server) errorPage(w http.ResponseWriter, r *http.Request, err error) error {
	var mbe *http.MaxBytesError
	if errors.As(err, &mbe) {
		err = crmlink.Errorf(crmlink.KindTooLarge, "request body is larger than the limit of %d bytes", mbe.Limit)
	}
	kind := crmlink.KindOf(err)
	if kind == crmlink.KindUnauthorized && r.Method == http.MethodGet {
		http.Redirect(w, r, "/signin?next="+url.QueryEscape(r.URL.RequestURI()), http.StatusSeeOther)
		return nil
	}
	code, _ := statusOf(kind)
	msg := crmlink.MessageOf(err)
	if kind == crmlink.KindInternal {
		s.cfg.Logger.ErrorContext(r.Context(), "internal error", "method", r.Method, "path", r.URL.Path, "err", err)
	}
	tr := translator{pickLang(r, nil)}
	return s.render(w, r, code, "error", &page{Title: tr.T(http.StatusText(code)), Error: tr.Message(msg), F: newFormatter(r, nil), tr: tr})
}

// render executes a page template into a buffer, so that a template error
// becomes a 500 rather than half a page.
func (s *Server) render(w http.ResponseWriter, r *http.Request, code int, name string, p *page) error {
	t, ok := pages[name]
	if !ok {
		return errors.New("no template " + name)
	}
	p.Static = "/static/" + web.StaticHash
	p.Title = p.tr.T(p.Title)
	var buf bytes.Buffer
	if err := t.ExecuteTemplate(&buf, "layout.html", p); err != nil {
		s.cfg.Logger.ErrorContext(r.Context(), "template", "page", name, "err", err)
		http.Error(w, "internal error", http.StatusInternalServerError)
		return nil
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(code)
	_, _ = w.Write(buf.Bytes())
	return nil
}

// pageFor fills what every page of a counter shows: its navigation, the
// counters the browser may pick, who is signed in, the CSRF token.
func (s *Server) pageFor(r *http.Request, u *ui, nav, title string, data any) (*page, error) {
	p := &page{Title: title, Nav: nav, Counter: u.counter, Who: u.tok.Name, CSRF: u.csrf, F: u.f, Data: data, tr: u.tr}
	all, err := s.cfg.Store.Counters(r.Context())
	if err != nil {
		return nil, err
	}
	for _, c := range all {
		if u.tok.CounterID == 0 || u.tok.CounterID == c.ID {
			p.Counters = append(p.Counters, c)
		}
	}
	base := "/c/" + u.counter.ID.String()
	p.NavItems = []navItem{{"overview", u.tr.T("Overview"), base + "/"}, {"sources", u.tr.T("Order sources"), base + "/sources"},
		{"payback", u.tr.T("Ad payback"), base + "/payback"},
		{"clients", u.tr.T("Clients"), base + "/clients"}, {"segments", u.tr.T("Segments"), base + "/segments"},
		{"uploads", u.tr.T("Uploads"), base + "/uploads"},
		{"goals", u.tr.T("Goals"), base + "/goals"}, {"settings", u.tr.T("Settings"), base + "/settings"}}
	p.Flash = u.flashMsg
	return p, nil
}

// flashCookie carries a flash message from a form's answer to the page it
// redirects to: the message, base64url-encoded, a dot, and the first 16
// bytes of its HMAC-SHA256 under the session secret, in hex. It lasts a
// minute and is read once.
const flashCookie = "crmlink_flash"

func flashMAC(secret, msg string) string {
	mac := hmac.New(sha256.New, []byte(secret))
	mac.Write([]byte("crmlink flash\x00" + msg))
	return hex.EncodeToString(mac.Sum(nil)[:16])
}

// signFlash is a flash cookie's value for msg.
func signFlash(secret, msg string) string {
	return base64.RawURLEncoding.EncodeToString([]byte(msg)) + "." + flashMAC(secret, msg)
}

// takeFlash returns the message of the request's flash cookie, and clears
// it. A cookie that this browser's session did not sign shows nothing.
func takeFlash(w http.ResponseWriter, r *http.Request, u *ui) string {
	c, err := r.Cookie(flashCookie)
	if err != nil {
		return ""
	}
	http.SetCookie(w, &http.Cookie{Name: flashCookie, Path: "/c/" + u.counter.ID.String() + "/", MaxAge: -1,
		HttpOnly: true, Secure: secureRequest(r), SameSite: http.SameSiteStrictMode})
	enc, mac, ok := strings.Cut(c.Value, ".")
	raw, err := base64.RawURLEncoding.DecodeString(enc)
	if !ok || err != nil || u.secret == "" || !hmac.Equal([]byte(mac), []byte(flashMAC(u.secret, string(raw)))) {
		return ""
	}
	return string(raw)
}

func (s *Server) staticFile(w http.ResponseWriter, r *http.Request) {
	name := path.Clean(r.PathValue("file"))
	b, err := fs.ReadFile(web.Static, name)
	if err != nil || strings.HasPrefix(name, ".") {
		http.NotFound(w, r)
		return
	}
	switch path.Ext(name) {
	case ".css":
		w.Header().Set("Content-Type", "text/css; charset=utf-8")
	case ".js":
		w.Header().Set("Content-Type", "text/javascript; charset=utf-8")
	case ".md", ".txt":
		w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	case ".svg":
		w.Header().Set("Content-Type", "image/svg+xml")
	}
	if r.PathValue("version") == web.StaticHash {
		w.Header().Set("Cache-Control", "public, max-age=31536000, immutable")
	} else {
		w.Header().Set("Cache-Control", "no-cache")
	}
	http.ServeContent(w, r, name, time.Time{}, bytes.NewReader(b))
}

// home sends a signed-in browser to its first counter, others to sign in.
func (s *Server) home(w http.ResponseWriter, r *http.Request) error {
	tok, err := s.token(r)
	if err != nil {
		http.Redirect(w, r, "/signin", http.StatusSeeOther)
		return nil
	}
	all, err := s.cfg.Store.Counters(r.Context())
	if err != nil {
		return err
	}
	for _, c := range all {
		if tok.CounterID == 0 || tok.CounterID == c.ID {
			http.Redirect(w, r, "/c/"+c.ID.String()+"/", http.StatusSeeOther)
			return nil
		}
	}
	return crmlink.Errorf(crmlink.KindNotFound, "there are no counters yet: create one with `crmlink counter create`")
}

// preSecret returns the pre-session cookie's secret, setting a new one if
// the browser has none; the sign-in form's CSRF field derives from it.
func preSecret(w http.ResponseWriter, r *http.Request) string {
	if c, err := r.Cookie(preSessionCookie); err == nil && len(c.Value) >= 32 {
		return c.Value
	}
	v := randomSecret()
	http.SetCookie(w, &http.Cookie{Name: preSessionCookie, Value: v, Path: "/signin", MaxAge: 3600,
		HttpOnly: true, Secure: secureRequest(r), SameSite: http.SameSiteStrictMode})
	return v
}

type signinData struct {
	Next string
	User string
}

func (s *Server) signinPage(w http.ResponseWriter, r *http.Request) error {
	p := &page{Title: "Sign in", CSRF: csrfFor(preSecret(w, r)), F: newFormatter(r, nil), tr: translator{pickLang(r, nil)},
		Data: signinData{Next: safeNext(r.URL.Query().Get("next"))}}
	return s.render(w, r, http.StatusOK, "signin", p)
}

// safeNext keeps a redirect target on this site: a path that starts with
// one slash, with no scheme or host, no backslash and no control
// character, before or after percent-decoding; anything else is "/".
// Browsers drop tabs and line ends from a Location and read a backslash as
// a slash, so "/\t/evil.example" and "/\\evil.example" both lead to
// //evil.example.
func safeNext(next string) string {
	u, err := url.Parse(next)
	if err != nil || u.Scheme != "" || u.Host != "" || u.User != nil || u.Opaque != "" {
		return "/"
	}
	for _, s := range []string{next, u.Path} {
		if !strings.HasPrefix(s, "/") || strings.HasPrefix(s, "//") || strings.ContainsFunc(s, func(r rune) bool {
			return r == '\\' || unicode.IsControl(r) || r == utf8.RuneError
		}) {
			return "/"
		}
	}
	return next
}

func (s *Server) signinPost(w http.ResponseWriter, r *http.Request) error {
	pre := preSecret(w, r)
	if err := r.ParseForm(); err != nil {
		return crmlink.Errorf(crmlink.KindInvalid, "bad form")
	}
	next := safeNext(r.PostFormValue("next"))
	fail := func(msg string) error {
		tr := translator{pickLang(r, nil)}
		p := &page{Title: "Sign in", CSRF: csrfFor(pre), F: newFormatter(r, nil), Error: tr.T(msg), tr: tr,
			Data: signinData{Next: next, User: r.PostFormValue("user")}}
		// 200, not 401: the page is a form to fill again, and browsers
		// log a 4xx page as a failed load.
		return s.render(w, r, http.StatusOK, "signin", p)
	}
	if !csrfMatches(r.PostFormValue("csrf"), pre) {
		return fail("The form expired: please sign in again.")
	}
	ctx := r.Context()
	name := strings.TrimSpace(r.PostFormValue("user"))
	if s.signins.blocked(r, name) {
		return fail("Too many failed sign-ins: wait a quarter of an hour and try again.")
	}
	if secret := strings.TrimSpace(r.PostFormValue("token")); secret != "" {
		tok, err := s.cfg.Store.TokenByHash(ctx, HashToken(secret))
		if crmlink.KindOf(err) == crmlink.KindUnauthorized {
			s.signins.failed(r, "")
			return fail("This token is not valid, or has been revoked.")
		}
		if err != nil {
			return err
		}
		if err := s.signIn(w, r, tok.Hash, ""); err != nil {
			return err
		}
	} else {
		password := r.PostFormValue("password")
		u, err := s.cfg.Store.User(ctx, name)
		if err != nil && crmlink.KindOf(err) != crmlink.KindNotFound {
			return err
		}
		// A missing user costs the same derivation as a wrong password,
		// so timing does not tell which names exist.
		hash := dummyHash()
		if u != nil {
			hash = u.PasswordHash
		}
		if !CheckPassword(hash, password) || u == nil {
			s.cfg.Logger.LogAttrs(ctx, slog.LevelWarn, "sign-in refused", slog.String("user", name), slog.String("addr", clientAddr(r)))
			s.signins.failed(r, name)
			return fail("Wrong user name or password.")
		}
		if err := s.signIn(w, r, "", u.Name); err != nil {
			return err
		}
	}
	http.Redirect(w, r, next, http.StatusSeeOther)
	return nil
}

// dummyHash is checked against when the user does not exist; made on
// first use, so that commands that never check a password do not pay for
// a derivation.
var dummyHash = sync.OnceValue(func() string {
	h, _ := HashPassword("not a real password, only for timing")
	return h
})

func (s *Server) signoutPost(w http.ResponseWriter, r *http.Request) error {
	if c, err := r.Cookie(sessionCookie); err == nil {
		if !csrfMatches(r.PostFormValue("csrf"), c.Value) {
			return crmlink.Errorf(crmlink.KindForbidden, "missing or wrong CSRF token: reload the page and try again")
		}
	}
	if err := s.signOut(w, r); err != nil {
		return err
	}
	http.Redirect(w, r, "/signin", http.StatusSeeOther)
	return nil
}

// formInt reads a whole number from a query or form value, or def.
func formInt(v string, def, lo, hi int) int {
	n, err := strconv.Atoi(v)
	if err != nil || n < lo || n > hi {
		return def
	}
	return n
}

// withParams returns u's path with the query q, changed by the key-value
// pairs given (an empty value removes the key).
func withParams(base string, q url.Values, kv ...string) string {
	c := url.Values{}
	for k, v := range q {
		c[k] = slices.Clone(v)
	}
	for i := 0; i+1 < len(kv); i += 2 {
		if kv[i+1] == "" {
			c.Del(kv[i])
		} else {
			c.Set(kv[i], kv[i+1])
		}
	}
	if len(c) == 0 {
		return base
	}
	return base + "?" + c.Encode()
}
