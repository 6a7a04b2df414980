package crmlink

import (
	"bufio"
	_ "embed"
	"strconv"
	"strings"
	"time"
)

// CounterID identifies a counter (a tracked site), as in Metrica.
type CounterID int64

// String formats the id in decimal.
func (id CounterID) String() string { return strconv.FormatInt(int64(id), 10) }

// ParseCounterID parses a decimal counter id.
func ParseCounterID(s string) (CounterID, error) {
	n, err := strconv.ParseInt(strings.TrimSpace(s), 10, 64)
	if err != nil || n <= 0 {
		return 0, Errorf(KindInvalid, "invalid counter id %q: want a positive integer", s)
	}
	return CounterID(n), nil
}

// Defaults of a new counter (SPEC.md §3, §6).
const (
	DefaultSessionTimeout = 30 * time.Minute
	DefaultLinkWindow     = 21 * 24 * time.Hour
	DefaultUpdateWindow   = 90 * 24 * time.Hour
)

// Counter is one tracked site and the CRM data sent for it.
type Counter struct {
	ID             CounterID
	Name           string
	Site           string // host name, like "shop.example"
	TimeZone       string // IANA name, like "Europe/Moscow"
	Currency       string // ISO 4217, like "RUB"
	SessionTimeout time.Duration
	LinkWindow     time.Duration
	UpdateWindow   time.Duration
	// KeepPII keeps plain emails and phones for the Clients page; the hashes
	// are always kept (SPEC.md §1).
	KeepPII bool
	// Locale formats the dashboard's numbers and dates, as a language
	// (and region) tag of Locales; empty: the browser's language.
	Locale  string
	Created time.Time
}

// Location returns the counter's time zone. A counter is validated on
// creation, so an error here means the zone database changed under us.
func (c *Counter) Location() (*time.Location, error) {
	return time.LoadLocation(c.TimeZone)
}

// Normalize fills defaults and checks every field, returning an *Error of
// kind Invalid that names the first bad one.
func (c *Counter) Normalize() error {
	c.Name = strings.TrimSpace(c.Name)
	c.Site = strings.ToLower(strings.TrimSpace(c.Site))
	c.TimeZone = strings.TrimSpace(c.TimeZone)
	c.Currency = strings.ToUpper(strings.TrimSpace(c.Currency))
	if c.Name == "" {
		return Errorf(KindInvalid, "counter name is required")
	}
	if len(c.Name) > 255 {
		return Errorf(KindInvalid, "counter name is longer than 255 characters")
	}
	if c.Site == "" {
		return Errorf(KindInvalid, "counter site is required")
	}
	if !validHost(c.Site) {
		return Errorf(KindInvalid, "counter site %q is not a host name (like shop.example)", c.Site)
	}
	if c.TimeZone == "" {
		c.TimeZone = "UTC"
	}
	if c.TimeZone == "Local" {
		return Errorf(KindInvalid, "time zone %q is not an IANA time zone name", c.TimeZone)
	}
	if _, err := time.LoadLocation(c.TimeZone); err != nil {
		return Errorf(KindInvalid, "time zone %q does not exist (want an IANA name like Europe/Moscow)", c.TimeZone)
	}
	if c.Currency == "" {
		c.Currency = "RUB"
	}
	if !IsCurrency(c.Currency) {
		return Errorf(KindInvalid, "currency %q is not an ISO 4217 code (like RUB, USD, EUR)", c.Currency)
	}
	c.Locale = strings.TrimSpace(c.Locale)
	if c.Locale != "" {
		if _, ok := LocaleFormat(c.Locale); !ok {
			return Errorf(KindInvalid, "locale %q is not one crmlink formats (%s)", c.Locale, strings.Join(LocaleNames(), ", "))
		}
	}
	if c.SessionTimeout == 0 {
		c.SessionTimeout = DefaultSessionTimeout
	}
	if c.LinkWindow == 0 {
		c.LinkWindow = DefaultLinkWindow
	}
	if c.UpdateWindow == 0 {
		c.UpdateWindow = DefaultUpdateWindow
	}
	if c.SessionTimeout < time.Minute || c.SessionTimeout > 6*time.Hour {
		return Errorf(KindInvalid, "session timeout %s is out of range (1m to 6h)", c.SessionTimeout)
	}
	if c.LinkWindow < 24*time.Hour || c.LinkWindow > 365*24*time.Hour {
		return Errorf(KindInvalid, "link window %s is out of range (1 to 365 days)", c.LinkWindow)
	}
	if c.UpdateWindow < 24*time.Hour || c.UpdateWindow > 3*365*24*time.Hour {
		return Errorf(KindInvalid, "update window %s is out of range (1 to 1095 days)", c.UpdateWindow)
	}
	return nil
}

// validHost reports whether s looks like a DNS host name (labels of letters,
// digits and hyphens, or an IDN already in Unicode), optionally with a port.
func validHost(s string) bool {
	if h, p, ok := strings.Cut(s, ":"); ok {
		if _, err := strconv.ParseUint(p, 10, 16); err != nil {
			return false
		}
		s = h
	}
	if s == "" || len(s) > 253 || strings.HasPrefix(s, ".") || strings.HasSuffix(s, ".") {
		return false
	}
	for _, label := range strings.Split(s, ".") {
		if label == "" || len(label) > 63 || strings.HasPrefix(label, "-") || strings.HasSuffix(label, "-") {
			return false
		}
		for _, r := range label {
			ok := r == '-' || (r >= 'a' && r <= 'z') || (r >= '0' && r <= '9') || r > 127
			if !ok {
				return false
			}
		}
	}
	return true
}

//go:embed data/iso4217.txt
var iso4217Data string

var iso4217 = func() map[string]bool {
	m := make(map[string]bool)
	sc := bufio.NewScanner(strings.NewReader(iso4217Data))
	for sc.Scan() {
		line := strings.TrimSpace(sc.Text())
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		code, _, _ := strings.Cut(line, " ")
		m[code] = true
	}
	return m
}()

// IsCurrency reports whether code is an active ISO 4217 currency code.
func IsCurrency(code string) bool { return iso4217[code] }

// Scope is what a token may do. Each scope includes the ones before it.
type Scope int

// Token scopes.
const (
	ScopeRead  Scope = iota + 1 // reports, uploads' status, counters
	ScopeWrite                  // uploads and imports, status mapping
	ScopeAdmin                  // counters and tokens
)

// ParseScope parses "read", "write" or "admin".
func ParseScope(s string) (Scope, error) {
	switch strings.ToLower(strings.TrimSpace(s)) {
	case "read":
		return ScopeRead, nil
	case "write":
		return ScopeWrite, nil
	case "admin":
		return ScopeAdmin, nil
	}
	return 0, Errorf(KindInvalid, "invalid scope %q: want read, write or admin", s)
}

// String names the scope.
func (s Scope) String() string {
	switch s {
	case ScopeRead:
		return "read"
	case ScopeWrite:
		return "write"
	case ScopeAdmin:
		return "admin"
	}
	return "none"
}

// Token is an access token as stored: only its hash is kept. CounterID 0
// means the token is good for every counter.
type Token struct {
	Hash      string // hex SHA-256 of the secret
	CounterID CounterID
	Scope     Scope
	Name      string
	Created   time.Time
}

// Allows reports whether the token may act on counter id (0: no particular
// counter, such as listing counters) with the given scope.
func (t *Token) Allows(id CounterID, need Scope) bool {
	if t.Scope < need {
		return false
	}
	return t.CounterID == 0 || t.CounterID == id
}
