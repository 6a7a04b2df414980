package http

import (
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"encoding/hex"
	"fmt"
	"mime"
	"net/http"
	"strings"
	"time"

	"github.com/crmlink/crmlink"
	"golang.org/x/crypto/argon2"
)

// The dashboard's cookies. The session cookie holds a random secret; the
// store keeps only its hash. Before sign-in, the pre-session cookie seeds
// the sign-in form's CSRF field.
const (
	sessionCookie    = "crmlink_session"
	preSessionCookie = "crmlink_pre"
	// WebSessionTTL is how long a dashboard sign-in lasts.
	WebSessionTTL = 14 * 24 * time.Hour
)

// Argon2id parameters: OWASP's recommended minimum (19 MiB, two passes,
// one lane). Checks run at most two at a time (passwordChecks), so a burst
// of sign-ins cannot take more than 38 MiB.
const (
	argonTime    = 2
	argonMemory  = 19 << 10 // KiB
	argonThreads = 1
	argonKeyLen  = 32
)

// passwordChecks bounds the Argon2id derivations running at once.
var passwordChecks = make(chan struct{}, 2)

// HashPassword derives a password's stored form with Argon2id, in the PHC
// string format: $argon2id$v=19$m=19456,t=2,p=1$<salt>$<key>.
func HashPassword(password string) (string, error) {
	if len(password) < 8 {
		return "", crmlink.Errorf(crmlink.KindInvalid, "password must be at least 8 characters")
	}
	if len(password) > 1024 {
		return "", crmlink.Errorf(crmlink.KindInvalid, "password must be at most 1024 characters")
	}
	salt := make([]byte, 16)
	if _, err := rand.Read(salt); err != nil {
		return "", err
	}
	passwordChecks <- struct{}{}
	defer func() { <-passwordChecks }()
	key := argon2.IDKey([]byte(password), salt, argonTime, argonMemory, argonThreads, argonKeyLen)
	return fmt.Sprintf("$argon2id$v=%d$m=%d,t=%d,p=%d$%s$%s", argon2.Version, argonMemory, argonTime, argonThreads,
		base64.RawStdEncoding.EncodeToString(salt), base64.RawStdEncoding.EncodeToString(key)), nil
}

// CheckPassword tells whether password matches a hash from HashPassword,
// with the parameters the hash was made with.
func CheckPassword(hash, password string) bool {
	parts := strings.Split(hash, "$")
	if len(parts) != 6 || parts[1] != "argon2id" || parts[2] != fmt.Sprintf("v=%d", argon2.Version) {
		return false
	}
	var m uint32
	var t uint32
	var p uint8
	if _, err := fmt.Sscanf(parts[3], "m=%d,t=%d,p=%d", &m, &t, &p); err != nil || m == 0 || m > 1<<20 || t == 0 || t > 16 || p == 0 {
		return false
	}
	salt, err := base64.RawStdEncoding.DecodeString(parts[4])
	if err != nil {
		return false
	}
	want, err := base64.RawStdEncoding.DecodeString(parts[5])
	if err != nil || len(want) == 0 || len(want) > 128 {
		return false
	}
	passwordChecks <- struct{}{}
	defer func() { <-passwordChecks }()
	got := argon2.IDKey([]byte(password), salt, t, m, p, uint32(len(want)))
	return subtle.ConstantTimeCompare(got, want) == 1
}

// randomSecret returns 32 random bytes, base64url-encoded.
func randomSecret() string {
	var b [32]byte
	if _, err := rand.Read(b[:]); err != nil {
		panic("crypto/rand failed: " + err.Error())
	}
	return base64.RawURLEncoding.EncodeToString(b[:])
}

// csrfFor derives the CSRF token of a cookie's secret. Pages put it into
// forms (field "csrf") and scripts into the X-CSRF-Token header; a site
// that cannot read our cookie cannot compute it.
func csrfFor(secret string) string {
	mac := hmac.New(sha256.New, []byte(secret))
	mac.Write([]byte("crmlink csrf"))
	return hex.EncodeToString(mac.Sum(nil)[:16])
}

// csrfMatches tells, in constant time, whether got is the CSRF token of a
// cookie's secret.
func csrfMatches(got, secret string) bool {
	return subtle.ConstantTimeCompare([]byte(got), []byte(csrfFor(secret))) == 1
}

// safeMethod tells whether a method changes nothing.
func safeMethod(m string) bool {
	return m == http.MethodGet || m == http.MethodHead || m == http.MethodOptions
}

// sessionToken returns the token a signed-in browser acts with: the token
// it signed in with, or its user's rights as a token. Requests that change
// something must come from our own origin (Go's CrossOriginProtection, as
// the dashboard's routes) and carry the CSRF token, in the X-CSRF-Token
// header or the form field "csrf". This holds for the API's routes too:
// whatever a cookie authenticates is checked here, while a request with a
// token of its own never reaches it.
func (s *Server) sessionToken(r *http.Request, secret string) (*crmlink.Token, error) {
	if err := s.cop.Check(r); err != nil {
		return nil, crmlink.Errorf(crmlink.KindForbidden, "cross-origin request refused")
	}
	ctx := r.Context()
	ws, err := s.cfg.Store.WebSession(ctx, HashToken(secret), s.cfg.Clock.Now())
	if err != nil {
		return nil, err
	}
	if !safeMethod(r.Method) {
		got := r.Header.Get("X-CSRF-Token")
		if got == "" {
			if mt, _, _ := mime.ParseMediaType(r.Header.Get("Content-Type")); mt == "application/x-www-form-urlencoded" {
				got = r.PostFormValue("csrf")
			}
		}
		if !csrfMatches(got, secret) {
			return nil, crmlink.Errorf(crmlink.KindForbidden, "missing or wrong CSRF token: reload the page and try again")
		}
	}
	if ws.TokenHash != "" {
		return s.cfg.Store.TokenByHash(ctx, ws.TokenHash)
	}
	u, err := s.cfg.Store.User(ctx, ws.UserName)
	if crmlink.KindOf(err) == crmlink.KindNotFound {
		return nil, crmlink.Errorf(crmlink.KindUnauthorized, "user %q no longer exists", ws.UserName)
	}
	if err != nil {
		return nil, err
	}
	return &crmlink.Token{Hash: "user:" + u.Name, CounterID: u.CounterID, Scope: u.Scope, Name: u.Name, Created: u.Created}, nil
}

// signIn opens a dashboard session for a token hash or a user name and
// sets its cookie.
func (s *Server) signIn(w http.ResponseWriter, r *http.Request, tokenHash, user string) error {
	secret := randomSecret()
	now := s.cfg.Clock.Now()
	ws := &crmlink.WebSession{Hash: HashToken(secret), TokenHash: tokenHash, UserName: user, Expires: now.Add(WebSessionTTL)}
	if err := s.cfg.Store.CreateWebSession(r.Context(), ws); err != nil {
		return err
	}
	http.SetCookie(w, &http.Cookie{Name: sessionCookie, Value: secret, Path: "/", Expires: ws.Expires,
		MaxAge: int(WebSessionTTL / time.Second), HttpOnly: true, Secure: secureRequest(r), SameSite: http.SameSiteLaxMode})
	return nil
}

// signOut ends the request's dashboard session, if any, and clears its
// cookie.
func (s *Server) signOut(w http.ResponseWriter, r *http.Request) error {
	if c, err := r.Cookie(sessionCookie); err == nil && c.Value != "" {
		if err := s.cfg.Store.DeleteWebSession(r.Context(), HashToken(c.Value)); err != nil {
			return err
		}
	}
	http.SetCookie(w, &http.Cookie{Name: sessionCookie, Value: "", Path: "/", MaxAge: -1,
		HttpOnly: true, Secure: secureRequest(r), SameSite: http.SameSiteLaxMode})
	return nil
}

// secureRequest tells whether the browser reached us over HTTPS, directly
// or through a proxy that says so; the cookies are then Secure.
func secureRequest(r *http.Request) bool {
	return r.TLS != nil || strings.EqualFold(r.Header.Get("X-Forwarded-Proto"), "https")
}
