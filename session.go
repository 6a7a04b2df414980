package crmlink

import (
	"slices"
	"strings"
	"time"
)

// SourceKind is a traffic source id as Metrica names it (SPEC.md §4).
type SourceKind string

// Traffic source ids.
const (
	SourceOrganic   SourceKind = "organic"
	SourceAd        SourceKind = "ad"
	SourceDirect    SourceKind = "direct"
	SourceReferral  SourceKind = "referral"
	SourceInternal  SourceKind = "internal"
	SourceSocial    SourceKind = "social"
	SourceRecommend SourceKind = "recommend"
	SourceEmail     SourceKind = "email"
	SourceMessenger SourceKind = "messenger"
	SourceSaved     SourceKind = "saved"
)

// SourceKinds lists every traffic source id in the order reports show them.
var SourceKinds = []SourceKind{
	SourceAd, SourceOrganic, SourceDirect, SourceReferral, SourceInternal,
	SourceSocial, SourceRecommend, SourceEmail, SourceMessenger, SourceSaved,
}

var sourceNames = map[SourceKind]string{
	SourceOrganic:   "Search engine traffic",
	SourceAd:        "Ad traffic",
	SourceDirect:    "Direct traffic",
	SourceReferral:  "Link traffic",
	SourceInternal:  "Internal traffic",
	SourceSocial:    "Social network traffic",
	SourceRecommend: "Recommendation system traffic",
	SourceEmail:     "Mailing traffic",
	SourceMessenger: "Messenger traffic",
	SourceSaved:     "Cached page traffic",
}

// Name is the display name of the source, as reports show it.
func (k SourceKind) Name() string {
	if n, ok := sourceNames[k]; ok {
		return n
	}
	return string(k)
}

// Valid reports whether k is one of the known ids.
func (k SourceKind) Valid() bool { _, ok := sourceNames[k]; return ok }

// InsignificantSources are the sources last-significant attribution passes
// over (direct, internal, cached pages, and none): a session from one is
// credited to its ClientID's latest earlier session from another.
var InsignificantSources = []SourceKind{SourceDirect, SourceInternal, SourceSaved, ""}

// Significant reports whether the source counts for last-significant
// attribution: it is not one of InsignificantSources.
func (k SourceKind) Significant() bool {
	return !slices.Contains(InsignificantSources, k)
}

// The bounce rule: a session is a bounce while it has at most
// BounceMaxPageViews page views, lasts under BounceDuration and has
// reached no goal; once not, it never is again.
const (
	BounceMaxPageViews = 1
	BounceDuration     = 15 * time.Second
)

// IsBounce applies the bounce rule to a session so far.
func IsBounce(pageViews int, duration time.Duration, goal bool) bool {
	return pageViews <= BounceMaxPageViews && duration < BounceDuration && !goal
}

// TrafficSource is where a session came from.
type TrafficSource struct {
	Kind SourceKind
	// Engine names the source within its kind: the search engine, ad
	// system, social network, messenger, recommendation system, mail
	// service, or the referring domain for link traffic.
	Engine      string
	UTMSource   string
	UTMMedium   string
	UTMCampaign string
	UTMContent  string
	UTMTerm     string
	// ClickID is an ad click id found in the landing URL, as "name=value"
	// (for example "yclid=123").
	ClickID string
}

// DeviceCategory is the kind of device a session came from.
type DeviceCategory string

// Device categories, with Metrica's Logs API codes 1 to 4 in that order.
const (
	DeviceDesktop DeviceCategory = "desktop"
	DeviceMobile  DeviceCategory = "mobile"
	DeviceTablet  DeviceCategory = "tablet"
	DeviceTV      DeviceCategory = "tv"
)

// ParseDevice accepts a category name or Metrica's numeric code; an empty
// string gives an empty category.
func ParseDevice(s string) (DeviceCategory, bool) {
	switch strings.ToLower(strings.TrimSpace(s)) {
	case "":
		return "", true
	case "1", "desktop", "pc", "computer":
		return DeviceDesktop, true
	case "2", "mobile", "smartphone", "phone":
		return DeviceMobile, true
	case "3", "tablet":
		return DeviceTablet, true
	case "4", "tv", "smarttv", "smart tv":
		return DeviceTV, true
	}
	return "", false
}

// Session is one visit of one browser (ClientID) to the site.
type Session struct {
	CounterID CounterID
	// ID is unique within the counter. Imported sessions keep the visit id
	// of their source, so reports can be traced back to the user's data.
	ID       uint64
	ClientID uint64
	UserID   string
	Start    time.Time // an instant; stores keep it in UTC
	Duration time.Duration
	// PageViews counts page views. Bounce follows IsBounce (imports take
	// the file's own bounce flag when it has one).
	PageViews  int
	Bounce     bool
	Source     TrafficSource
	Referrer   string
	LandingURL string
	Country    string
	Region     string
	City       string
	Device     DeviceCategory
	OS         string
	Browser    string
	Bot        bool
	// PurchaseIDs are e-commerce purchase (order) ids seen in the session:
	// the most precise way to link a CRM order (SPEC.md §3).
	PurchaseIDs []string
	// Identities are identifiers the site collected in this session, such
	// as a hashed email from userParams or Metrica's counterUserIDHash.
	Identities []Identity
	// Attribution is the session's attribution as the store keeps it,
	// where a store returns it (LastSessions); imports leave it out, and
	// the store derives it.
	Attribution SessionAttribution
}

// IdentityKind names a kind of customer identifier.
type IdentityKind string

// Identifier kinds, shared by the site's and the CRM's identities.
const (
	IdentityClientID    IdentityKind = "client_id"
	IdentityUserID      IdentityKind = "user_id"
	IdentityUserIDHash  IdentityKind = "user_id_hash" // Metrica's counterUserIDHash
	IdentityEmailMD5    IdentityKind = "email_md5"
	IdentityPhoneMD5    IdentityKind = "phone_md5"
	IdentityEmailSHA256 IdentityKind = "email_sha256"
	IdentityPhoneSHA256 IdentityKind = "phone_sha256"
)

// Identity is one identifier of a visitor or a customer.
type Identity struct {
	Kind  IdentityKind
	Value string
}

// SessionReader yields sessions one at a time, for imports. Next fills s and
// returns nil, or io.EOF after the last session. Any other error aborts the
// import and nothing of it is stored; a reader that found bad rows returns a
// *ValidationError, at the latest in place of io.EOF.
type SessionReader interface {
	Next(s *Session) error
}

// SourceRef is a session as an attribution names it: its id and source.
// SessionID 0 names none: a last-significant attribution without one
// falls back to direct.
type SourceRef struct {
	SessionID uint64
	Kind      SourceKind
	Engine    string
}

// SessionAttribution is a session's sources under the per-ClientID models: the
// ClientID's first session's, and the last significant one's (the session
// itself if its source is significant, else the ClientID's latest earlier
// significant session, else none).
type SessionAttribution struct {
	First, LastSign SourceRef
}

// Known tells whether a is an attribution at all: the zero one is not.
func (a SessionAttribution) Known() bool { return a.First.SessionID != 0 }

// NextAttribution is the attribution of a ClientID's session, of the
// given id and source, that follows the one attributed prev (nil: the
// ClientID's first session). The collector applies it to the sessions it
// opens; stores turn the same rule into SQL for the sessions they import.
func NextAttribution(prev *SessionAttribution, sessionID uint64, src TrafficSource) SessionAttribution {
	self := SourceRef{SessionID: sessionID, Kind: src.Kind, Engine: src.Engine}
	a := SessionAttribution{First: self}
	if prev != nil {
		a = *prev
	}
	if src.Kind.Significant() {
		a.LastSign = self
	}
	return a
}
