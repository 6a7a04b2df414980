// Package traffic classifies where a session came from, from its landing URL
// and its referrer, by the rules of DESIGN.md ("Traffic source of a
// session"). The host and parameter lists are embedded data files under
// hosts/ (see hosts/README.md for their format).
//
// Rules, first that matches:
//
//  1. an ad click id in the landing URL (clickids.txt), or a paid utm_medium
//     (paid_mediums.txt): ad; the engine is the click id's ad system, else
//     utm_source's engine name (utm_sources.txt: "yandex" is Yandex Direct,
//     as a yclid says; "vk" is VK Ads);
//  2. a mailing utm_medium (email_mediums.txt): email, engine utm_source;
//  3. to 8. the referrer's host (or Android app) in a host list: the kind of
//     that list (saved, organic, social, messenger, recommend, email), the
//     engine its display name. The lists are searched together and the
//     longest matching pattern wins, so webmail (mail.yandex.ru) beats search
//     (yandex.*) and Dzen (zen.yandex.ru) beats Yandex. Cached copies of
//     pages (saved, rule 3) are placed before organic on purpose: they live
//     under the search engines' own domains (hghltd.yandex.net under
//     yandex.*), and a session from a cached copy is not a search click.
//     ads.txt adds the click redirectors of ad systems (yabs.yandex.ru): ad;
//  9. the referrer is the site itself (the same host or a subdomain either
//     way, ignoring "www." and ports): internal;
//  10. any other referrer: referral, engine the referring domain; with no
//     usable referrer, a social utm_medium (social_mediums.txt) gives
//     social and any other utm_source or utm_medium gives referral, both
//     with engine utm_source's name in utm_sources.txt ("vk" is VKontakte,
//     as the referrer vk.com says), else utm_source as sent;
//  11. nothing: direct.
//
// The five UTM fields are filled in every case.
package traffic

import (
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/crmlink/crmlink"
)

// maxHostLen is the longest host name DNS allows; longer "hosts" are not
// hosts.
const maxHostLen = 253

// Classifier holds the embedded host lists, parsed once. Safe for concurrent
// use: nothing in it changes after New.
type Classifier struct {
	exact    map[string]hostEntry // host patterns without wildcard
	wild     map[string]hostEntry // "google" for "google.*"
	apps     map[string]hostEntry // Android package names
	mediums  map[string]crmlink.SourceKind
	params   map[string]uint8 // query parameter -> paramSource.. or paramClickID+i
	clickIDs []clickID
	// utmEngines are the engine names of utm_source values, by kind
	// (utm_sources.txt).
	utmEngines map[utmKey]string
	// minParamLen is the length of the shortest parameter in params, to
	// skip shorter ones without a map look-up.
	minParamLen int
}

// New parses the embedded lists. It panics only if an embedded file is
// malformed, which is a build bug that every test of the package catches.
func New() *Classifier {
	c := &Classifier{}
	if err := c.load(); err != nil {
		panic("traffic: embedded list: " + err.Error())
	}
	return c
}

// Classify returns the traffic source of a session that landed on
// landingURL coming from referrer, on a site whose own host is siteHost
// (may be "" = unknown, in which case the landing URL's host stands for the
// site). Any input is accepted; what cannot be parsed counts as absent.
func (c *Classifier) Classify(landingURL, referrer, siteHost string) crmlink.TrafficSource {
	var p landing
	c.scanLanding(landingURL, &p)
	var ts crmlink.TrafficSource
	utm := [5]*string{&ts.UTMSource, &ts.UTMMedium, &ts.UTMCampaign, &ts.UTMContent, &ts.UTMTerm}
	for i, found := range p.found {
		if found {
			*utm[i] = queryValue(p.utm[i], maxUTMLen)
		}
	}

	// 1. Ad click id.
	if p.click >= 0 {
		id := c.clickIDs[p.click]
		if v := queryValue(p.clickVal, maxClickIDLen); v != "" {
			ts.Kind, ts.Engine = crmlink.SourceAd, id.system
			if p.clickKey == id.param && v == p.clickVal {
				ts.ClickID = p.clickPair // a substring of landingURL: no allocation
			} else {
				ts.ClickID = id.param + "=" + v
			}
			return ts
		}
	}
	// 1, 2. Paid or mailing utm_medium.
	medium := c.mediumKind(ts.UTMMedium)
	if medium == crmlink.SourceAd || medium == crmlink.SourceEmail {
		ts.Kind, ts.Engine = medium, c.utmEngine(medium, ts.UTMSource)
		return ts
	}

	// 3 to 10. The referrer.
	if host, app := parseURLHost(referrer, true); host != "" {
		var e hostEntry
		var ok bool
		if app {
			e, ok = c.lookupApp(host)
		} else {
			e, ok = c.lookupHost(host)
		}
		if ok && e.kind != crmlink.SourceReferral {
			ts.Kind, ts.Engine = e.kind, e.name
			return ts
		}
		if !app && isInternal(host, siteHost, landingURL) {
			ts.Kind = crmlink.SourceInternal
			return ts
		}
		ts.Kind, ts.Engine = crmlink.SourceReferral, trimWWW(host)
		return ts
	}

	// 10. UTM tags without a referrer. Apps and in-app browsers often send
	// no referrer, so a link tagged utm_medium=social (or smm) is trusted to
	// be social traffic; other tags make it link traffic.
	switch {
	case medium == crmlink.SourceSocial:
		ts.Kind, ts.Engine = crmlink.SourceSocial, c.utmEngine(crmlink.SourceSocial, ts.UTMSource)
	case ts.UTMSource != "" || ts.UTMMedium != "":
		ts.Kind, ts.Engine = crmlink.SourceReferral, c.utmEngine(crmlink.SourceReferral, ts.UTMSource)
	default:
		ts.Kind = crmlink.SourceDirect
	}
	return ts
}

// utmKey is a utm_source value, lower-cased, under a kind of traffic.
type utmKey struct {
	kind   crmlink.SourceKind
	source string
}

// utmEngine is the engine of a session of the given kind whose engine
// comes from utm_source: the one name utm_sources.txt gives that value
// under that kind, else the value as sent.
func (c *Classifier) utmEngine(kind crmlink.SourceKind, source string) string {
	if source == "" || len(source) > maxUTMLen {
		return source
	}
	if n, ok := c.utmEngines[utmKey{kind, strings.ToLower(source)}]; ok {
		return n
	}
	return source
}

// mediumKind returns the kind a utm_medium value is listed under, or "".
func (c *Classifier) mediumKind(medium string) crmlink.SourceKind {
	if medium == "" || len(medium) > maxMediumLen {
		return ""
	}
	for i := 0; i < len(medium); i++ {
		if medium[i] >= utf8.RuneSelf {
			return c.mediums[strings.ToLower(medium)]
		}
	}
	var buf [maxMediumLen]byte
	n := lowerASCII(buf[:], medium)
	return c.mediums[string(buf[:n])]
}

// RefererDomain returns the referrer's host, lower-cased, without a leading
// "www." ("" if none/unparseable). For an Android app referrer
// (android-app://org.telegram.messenger) it is the app's package name.
// A referrer without a scheme ("example.com/page") is read as a URL when
// its host has a dot.
func RefererDomain(referrer string) string {
	host, app := parseURLHost(referrer, true)
	if app {
		return host
	}
	return trimWWW(host)
}

func trimWWW(host string) string {
	if len(host) > 4 && strings.HasPrefix(host, "www.") {
		return host[4:]
	}
	return host
}

// isInternal reports whether a referrer from host (lower case) comes from
// the site itself: the same host, or a subdomain of it, or the site a
// subdomain of the referrer's host, ignoring "www.". Without a siteHost the
// landing URL's host stands for the site.
func isInternal(host, siteHost, landingURL string) bool {
	var site string
	if siteHost != "" {
		site, _ = parseURLHost(siteHost, false)
	} else {
		var app bool
		site, app = parseURLHost(landingURL, true)
		if app {
			return false
		}
	}
	if site == "" {
		return false
	}
	host, site = trimWWW(host), trimWWW(site)
	switch {
	case host == site:
		return true
	case len(host) > len(site):
		return isSubdomain(host, site)
	default:
		return isSubdomain(site, host)
	}
}

// isSubdomain reports whether sub is a subdomain of parent, which must have
// a dot (no site is a subdomain of "com").
func isSubdomain(sub, parent string) bool {
	return strings.IndexByte(parent, '.') >= 0 &&
		len(sub) > len(parent) &&
		strings.HasSuffix(sub, parent) &&
		sub[len(sub)-len(parent)-1] == '.'
}

// parseURLHost returns the host of a URL, lower-cased, without userinfo,
// port, brackets or a final dot; or "" when there is no valid one. It
// accepts http and https URLs, protocol-relative ones ("//host/") and, when
// bare is true, URLs without a scheme ("example.com/page") whose host has a
// dot. For android-app:// URLs it returns the package name and app=true.
// Other schemes (about:, file:, chrome-extension:, ...) give "".
func parseURLHost(s string, bare bool) (host string, app bool) {
	s = strings.TrimSpace(s)
	rest, needDot := s, bare
	i := 0
	for i < len(s) && i < 32 && isSchemeChar(s[i], i == 0) {
		i++
	}
	switch {
	case i > 0 && strings.HasPrefix(s[i:], "://"):
		scheme := s[:i]
		rest, needDot = s[i+3:], false
		switch {
		case strings.EqualFold(scheme, "http"), strings.EqualFold(scheme, "https"):
		case strings.EqualFold(scheme, "android-app"):
			app = true
		default:
			return "", false
		}
	case strings.HasPrefix(s, "//"):
		rest, needDot = s[2:], false
	case bare && i > 0 && i < len(s) && s[i] == ':' && strings.IndexByte(s[:i], '.') < 0:
		return "", false // about:blank, mailto:, javascript:, data:
	}
	if end := strings.IndexAny(rest, "/?#\\"); end >= 0 {
		rest = rest[:end]
	}
	if at := strings.LastIndexByte(rest, '@'); at >= 0 && !needDot {
		rest = rest[at+1:] // user info, only after a scheme or "//"
	}
	if app {
		if !validAppPackage(rest) {
			return "", false
		}
		return strings.ToLower(rest), true
	}
	if strings.HasPrefix(rest, "[") {
		end := strings.IndexByte(rest, ']')
		if end < 0 || !validPort(rest[end+1:]) || !validIPv6(rest[1:end]) {
			return "", false
		}
		return strings.ToLower(rest[1:end]), false
	}
	if colon := strings.IndexByte(rest, ':'); colon >= 0 {
		if !validPort(rest[colon:]) {
			return "", false
		}
		rest = rest[:colon]
	}
	rest = strings.TrimSuffix(rest, ".")
	if !validHost(rest) || needDot && strings.IndexByte(rest, '.') < 0 {
		return "", false
	}
	return strings.ToLower(rest), false
}

func isSchemeChar(c byte, first bool) bool {
	switch {
	case 'a' <= c && c <= 'z', 'A' <= c && c <= 'Z':
		return true
	case '0' <= c && c <= '9', c == '+', c == '-', c == '.':
		return !first
	}
	return false
}

// validPort accepts "" or ":" followed by up to five digits.
func validPort(s string) bool {
	if s == "" {
		return true
	}
	if s[0] != ':' || len(s) > 6 {
		return false
	}
	for i := 1; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return true
}

func validIPv6(s string) bool {
	if len(s) < 2 || len(s) > 45 || strings.IndexByte(s, ':') < 0 {
		return false
	}
	for i := 0; i < len(s); i++ {
		if c := s[i]; !(isHex(c) || c == ':' || c == '.') {
			return false
		}
	}
	return true
}

// validHost accepts DNS names of ASCII letters, digits, '-' and '_', and of
// Unicode letters, digits and marks (internationalised names as typed),
// with non-empty labels; a name whose last label is all digits must be an
// IPv4 address.
func validHost(h string) bool {
	if h == "" || len(h) > maxHostLen {
		return false
	}
	labelStart, labels, digitsOnly := 0, 0, true
	for i := 0; i < len(h); {
		c := h[i]
		switch {
		case c == '.':
			if i == labelStart {
				return false
			}
			labels++
			labelStart, digitsOnly = i+1, true
			i++
			continue
		case '0' <= c && c <= '9':
		case 'a' <= c && c <= 'z', 'A' <= c && c <= 'Z', c == '-', c == '_':
			digitsOnly = false
		case c >= utf8.RuneSelf:
			r, size := utf8.DecodeRuneInString(h[i:])
			if r == utf8.RuneError || !(unicode.IsLetter(r) || unicode.IsDigit(r) || unicode.IsMark(r)) {
				return false
			}
			digitsOnly = false
			i += size
			continue
		default:
			return false
		}
		i++
	}
	if labelStart == len(h) {
		return false // empty last label ("a..", or "." alone)
	}
	labels++
	if digitsOnly {
		return validIPv4(h, labels)
	}
	return true
}

func validIPv4(h string, labels int) bool {
	if labels != 4 {
		return false
	}
	for part := range strings.SplitSeq(h, ".") {
		if len(part) > 3 {
			return false
		}
	}
	return true
}

// validAppPackage accepts an Android package name: dotted labels of ASCII
// letters, digits and '_'.
func validAppPackage(p string) bool {
	if p == "" || len(p) > maxHostLen || p[0] == '.' || p[len(p)-1] == '.' || strings.Contains(p, "..") {
		return false
	}
	for i := 0; i < len(p); i++ {
		c := p[i]
		if !('a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' || c == '_' || c == '.') {
			return false
		}
	}
	return true
}
