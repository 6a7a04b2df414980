// Package collect is the tag's endpoint: it reads a hit, enriches it in
// small steps (robots, user agent, geography, traffic source, identities),
// places it in its session, and hands it to a writer that stores hits in
// batches; the answer goes out once the hit's batch has committed.
package collect

import (
	"net/http"
	"net/netip"
	"net/textproto"
	"slices"
	"strings"
	"sync"

	"github.com/crmlink/crmlink"
	"github.com/crmlink/crmlink/crm"
	"github.com/medama-io/go-useragent"
	"github.com/medama-io/go-useragent/agents"
)

// Request is what the enrichment steps read besides the hit itself.
type Request struct {
	UserAgent string
	Header    http.Header
	Site      string // the counter's host
	Webdriver bool   // the tag saw navigator.webdriver
	IP        netip.Addr
}

// Step is one enrichment step: it fills fields of h from r.
type Step func(h *crmlink.Hit, r *Request)

// Enricher runs the steps in order.
type Enricher struct {
	Steps []Step
	geoAt int // where WithGeoIP puts its step: before GeoHeaderStep
}

// NewEnricher returns the standard steps. classify is the traffic-source
// classifier (traffic.Classifier.Classify).
func NewEnricher(classify func(landingURL, referrer, siteHost string) crmlink.TrafficSource) *Enricher {
	ua := useragent.NewParser()
	return &Enricher{Steps: []Step{CachedUserAgentSteps(BotStep, UserAgentStep(ua)), GeoHeaderStep, SourceStep(classify), IdentityStep},
		geoAt: 1}
}

// CachedUserAgentSteps runs steps that read only the user agent and the
// webdriver flag, and set only Bot, Device, OS and Browser, once per user
// agent: a visitor sends the same one with every hit, and a lookup costs
// far less than parsing it again. The cache holds up to uaCacheSize user
// agents of up to uaCacheMaxLen bytes, and starts over when full.
func CachedUserAgentSteps(steps ...Step) Step {
	c := &uaCache{steps: steps, m: map[uaKey]uaFacts{}}
	return c.step
}

const (
	uaCacheSize   = 8192
	uaCacheMaxLen = 512
)

type uaCache struct {
	steps []Step
	mu    sync.RWMutex
	m     map[uaKey]uaFacts
}

type uaKey struct {
	ua        string
	webdriver bool
}

type uaFacts struct {
	bot         bool
	device      crmlink.DeviceCategory
	os, browser string
}

func (c *uaCache) step(h *crmlink.Hit, r *Request) {
	k := uaKey{r.UserAgent, r.Webdriver}
	c.mu.RLock()
	f, ok := c.m[k]
	c.mu.RUnlock()
	if !ok {
		var tmp crmlink.Hit
		for _, s := range c.steps {
			s(&tmp, r)
		}
		f = uaFacts{bot: tmp.Bot, device: tmp.Device, os: tmp.OS, browser: tmp.Browser}
		if len(k.ua) <= uaCacheMaxLen {
			c.mu.Lock()
			if len(c.m) >= uaCacheSize {
				clear(c.m)
			}
			c.m[k] = f
			c.mu.Unlock()
		}
	}
	h.Bot = h.Bot || f.bot
	if f.device != "" {
		h.Device = f.device
	}
	if f.os != "" {
		h.OS = f.os
	}
	if f.browser != "" {
		h.Browser = f.browser
	}
}

// WithGeoIP places visitors by their address with g, before the CDN
// headers are read (they fill only what g left empty).
func (e *Enricher) WithGeoIP(g *GeoIP) *Enricher {
	e.Steps = slices.Insert(e.Steps, min(e.geoAt, len(e.Steps)), Step(g.Step))
	return e
}

// Enrich runs every step on h.
func (e *Enricher) Enrich(h *crmlink.Hit, r *Request) {
	for _, s := range e.Steps {
		s(h, r)
	}
}

// botMarkers are user agent fragments of robots, headless browsers and
// tools that medama's parser does not flag (it knows the common crawlers).
var botMarkers = []string{
	"bot", "crawl", "spider", "slurp", "headless", "phantomjs", "selenium", "puppeteer", "playwright",
	"lighthouse", "pagespeed", "curl/", "wget/", "python-requests", "python-urllib", "go-http-client",
	"java/", "okhttp", "axios/", "node-fetch", "httpclient", "scrapy", "monitor", "uptime", "preview",
}

// BotStep marks robots: an empty user agent, a known marker in it, or a
// browser driven by automation (navigator.webdriver). Robots' hits are
// stored, apart, and left out of reports.
func BotStep(h *crmlink.Hit, r *Request) {
	ua := strings.ToLower(r.UserAgent)
	if ua == "" || r.Webdriver {
		h.Bot = true
		return
	}
	for _, m := range botMarkers {
		if strings.Contains(ua, m) {
			h.Bot = true
			return
		}
	}
}

// UserAgentStep reads device category, operating system and browser.
func UserAgentStep(p *useragent.Parser) Step {
	return func(h *crmlink.Hit, r *Request) {
		a := p.Parse(r.UserAgent)
		if a.IsBot() {
			h.Bot = true
		}
		switch a.Device() {
		case agents.DeviceMobile:
			h.Device = crmlink.DeviceMobile
		case agents.DeviceTablet:
			h.Device = crmlink.DeviceTablet
		case agents.DeviceTV:
			h.Device = crmlink.DeviceTV
		case agents.DeviceDesktop:
			h.Device = crmlink.DeviceDesktop
		}
		h.OS = osNames[a.OS()]
		if h.OS == "" {
			h.OS = string(a.OS())
		}
		h.Browser = string(a.Browser())
	}
}

var osNames = map[agents.OS]string{agents.OSMacOS: "macOS"}

// countryHeaders are the headers CDNs and proxies put the visitor's
// country in (ISO 3166-1 alpha-2), in canonical form: looked up in the
// header map directly, they are not canonicalised again on every hit.
var countryHeaders = func() []string {
	names := []string{"CF-IPCountry", "CloudFront-Viewer-Country", "X-Vercel-IP-Country", "Fastly-Geo-Country", "X-Country-Code"}
	for i, n := range names {
		names[i] = textproto.CanonicalMIMEHeaderKey(n)
	}
	return names
}()

// GeoHeaderStep reads the visitor's country from a CDN's header.
func GeoHeaderStep(h *crmlink.Hit, r *Request) {
	if h.Country != "" {
		return
	}
	for _, name := range countryHeaders {
		vs := r.Header[name]
		if len(vs) == 0 {
			continue
		}
		v := strings.ToUpper(strings.TrimSpace(vs[0]))
		if len(v) == 2 && v != "XX" && v[0] >= 'A' && v[0] <= 'Z' && v[1] >= 'A' && v[1] <= 'Z' {
			// The ISO code: CDNs give no region or city.
			h.Country = v
			return
		}
	}
}

// SourceStep classifies the traffic source the hit would give a new
// session (DESIGN.md's rules), and whether a page view came from outside
// the site: a click id, UTM tags or another site's referrer. Every kind is
// classified: a goal or purchase that opens a session (it overtook its
// page view, or came after the idle timeout) takes the source of its page.
func SourceStep(classify func(landingURL, referrer, siteHost string) crmlink.TrafficSource) Step {
	return func(h *crmlink.Hit, r *Request) {
		h.Source = classify(h.URL, h.Referrer, r.Site)
		switch h.Source.Kind {
		case crmlink.SourceDirect, crmlink.SourceInternal:
			h.External = false
		default:
			h.External = h.Kind == crmlink.HitPageview
		}
	}
}

// emailKeys and phoneKeys are the parameter names that carry an email or a phone.
var emailKeys = []string{"email", "e-mail", "mail", "user_email"}
var phoneKeys = []string{"phone", "tel", "telephone", "mobile", "user_phone"}

// IdentityStep turns emails and phones among the hit's parameters into
// hashed identities; the plain values leave the parameters and are never
// stored by the collector, whatever the counter's keep-PII setting (which
// governs CRM uploads).
func IdentityStep(h *crmlink.Hit, r *Request) {
	for k, v := range h.Params {
		lk := strings.ToLower(k)
		switch {
		case matchKey(lk, emailKeys):
			if e, ok := crm.NormalizeEmail(v); ok {
				h.Identities = append(h.Identities, crmlink.Identity{Kind: crmlink.IdentityEmailMD5, Value: crm.MD5Hex(e)},
					crmlink.Identity{Kind: crmlink.IdentityEmailSHA256, Value: crm.SHA256Hex(e)})
			}
			delete(h.Params, k)
		case matchKey(lk, phoneKeys):
			if p, ok := crm.NormalizePhone(v); ok {
				h.Identities = append(h.Identities, crmlink.Identity{Kind: crmlink.IdentityPhoneMD5, Value: crm.MD5Hex(p)},
					crmlink.Identity{Kind: crmlink.IdentityPhoneSHA256, Value: crm.SHA256Hex(p)})
			}
			delete(h.Params, k)
		}
	}
	if h.UserID != "" {
		h.Identities = append(h.Identities, crmlink.Identity{Kind: crmlink.IdentityUserID, Value: h.UserID})
	}
}

func matchKey(k string, keys []string) bool {
	for _, x := range keys {
		if k == x || strings.HasSuffix(k, "."+x) {
			return true
		}
	}
	return false
}
