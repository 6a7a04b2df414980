package sessionfile

import (
	"strconv"
	"strings"
	"time"

	"github.com/crmlink/crmlink"
)

// columns holds the index of each known column in the header, -1 if absent.
type columns struct {
	sessionID, clientID, start, startUTC3, duration, pageViews, bounce int
	landing, referrer, device, os, browser, country, region, city      int
	userID, purchaseIDs, userIDHash                                    int
	// Metrica's own classification, when the export has it.
	source, searchEngine, advEngine, social, referral, recommend, messenger int
	utm                                                                     [5]int // source, medium, campaign, content, term
	gclid                                                                   int
}

func newColumns() columns {
	c := columns{}
	for _, p := range []*int{&c.sessionID, &c.clientID, &c.start, &c.startUTC3, &c.duration, &c.pageViews, &c.bounce,
		&c.landing, &c.referrer, &c.device, &c.os, &c.browser, &c.country, &c.region, &c.city,
		&c.userID, &c.purchaseIDs, &c.userIDHash, &c.source, &c.searchEngine, &c.advEngine, &c.social,
		&c.referral, &c.recommend, &c.messenger, &c.gclid, &c.utm[0], &c.utm[1], &c.utm[2], &c.utm[3], &c.utm[4]} {
		*p = -1
	}
	return c
}

func mapColumns(f Format, header []string, line int) (columns, error) {
	c := newColumns()
	seen := map[string]int{}
	v := &crmlink.ValidationError{}
	for i, h := range header {
		key := strings.TrimSpace(h)
		if f == FormatCSV {
			key = strings.ToLower(key)
		}
		if j, dup := seen[key]; dup && key != "" {
			v.Add(crmlink.RowError{Line: line, Column: h, Reason: "column appears twice in the header (also column " + strconv.Itoa(j+1) + ")"})
			continue
		}
		seen[key] = i
		var p *int
		if f == FormatCSV {
			p = csvColumn(&c, key)
		} else {
			p = logsColumn(&c, key)
		}
		if p != nil {
			*p = i
		}
	}
	need := func(idx int, name string) {
		if idx < 0 {
			v.Add(crmlink.RowError{Line: line, Column: name, Reason: "required column is missing from the header"})
		}
	}
	if f == FormatCSV {
		need(c.clientID, "client_id")
		need(c.start, "start")
	} else {
		need(c.sessionID, "ym:s:visitID")
		need(c.clientID, "ym:s:clientID")
		if c.start < 0 && c.startUTC3 < 0 {
			need(-1, "ym:s:dateTime")
		}
	}
	if v.Total > 0 {
		v.BadRows = 1
		return c, v
	}
	return c, nil
}

func csvColumn(c *columns, key string) *int {
	switch key {
	case "session_id", "visit_id":
		return &c.sessionID
	case "client_id":
		return &c.clientID
	case "start", "start_time", "date_time":
		return &c.start
	case "duration":
		return &c.duration
	case "page_views", "pageviews":
		return &c.pageViews
	case "bounce":
		return &c.bounce
	case "landing_url", "start_url":
		return &c.landing
	case "referrer", "referer":
		return &c.referrer
	case "device":
		return &c.device
	case "os":
		return &c.os
	case "browser":
		return &c.browser
	case "country":
		return &c.country
	case "region":
		return &c.region
	case "city":
		return &c.city
	case "user_id":
		return &c.userID
	case "purchase_ids", "purchase_id":
		return &c.purchaseIDs
	}
	return nil
}

// logsColumn maps a Logs API field (SPEC.md §7). The session's own source is
// Metrica's "last" attribution; the plain UTM fields are accepted too.
func logsColumn(c *columns, key string) *int {
	switch key {
	case "ym:s:visitID":
		return &c.sessionID
	case "ym:s:clientID":
		return &c.clientID
	case "ym:s:dateTime":
		return &c.start
	case "ym:s:dateTimeUTC":
		return &c.startUTC3
	case "ym:s:visitDuration":
		return &c.duration
	case "ym:s:pageViews":
		return &c.pageViews
	case "ym:s:bounce":
		return &c.bounce
	case "ym:s:startURL":
		return &c.landing
	case "ym:s:referer":
		return &c.referrer
	case "ym:s:deviceCategory":
		return &c.device
	case "ym:s:operatingSystem":
		return &c.os
	case "ym:s:operatingSystemRoot":
		if c.os < 0 {
			return &c.os
		}
	case "ym:s:browser":
		return &c.browser
	case "ym:s:regionCountry":
		return &c.country
	case "ym:s:regionArea":
		return &c.region
	case "ym:s:regionCity":
		return &c.city
	case "ym:s:purchaseID":
		return &c.purchaseIDs
	case "ym:s:counterUserIDHash":
		return &c.userIDHash
	case "ym:s:lastTrafficSource", "ym:s:trafficSource":
		return &c.source
	case "ym:s:lastSearchEngine", "ym:s:lastSearchEngineRoot":
		if c.searchEngine < 0 || key == "ym:s:lastSearchEngine" {
			return &c.searchEngine
		}
	case "ym:s:lastAdvEngine":
		return &c.advEngine
	case "ym:s:lastSocialNetwork":
		return &c.social
	case "ym:s:lastReferalSource":
		return &c.referral
	case "ym:s:lastRecommendationSystem":
		return &c.recommend
	case "ym:s:lastMessenger":
		return &c.messenger
	case "ym:s:lastGCLID":
		return &c.gclid
	}
	for i, f := range []string{"UTMSource", "UTMMedium", "UTMCampaign", "UTMContent", "UTMTerm"} {
		if key == "ym:s:last"+f || (key == "ym:s:"+f && c.utm[i] < 0) {
			return &c.utm[i]
		}
	}
	return nil
}

// utc3 is the zone of Logs API's ym:s:dateTimeUTC, which despite its name
// is UTC+3 (SPEC.md §7).
var utc3 = time.FixedZone("UTC+3", 3*3600)

// fill reads the current row into s, recording bad cells.
func (r *Reader) fill(s *crmlink.Session) {
	c := &r.cols
	s.ClientID = r.uint64Cell(c.clientID, true)
	if c.start >= 0 {
		s.Start = r.timeCell(c.start, r.opt.Location)
	} else {
		s.Start = r.timeCell(c.startUTC3, utc3)
	}
	s.Duration = time.Duration(r.intCell(c.duration, 0, 7*24*3600)) * time.Second
	s.PageViews = r.intCell(c.pageViews, 1, 1_000_000)
	if b, ok := r.boolCell(c.bounce); ok {
		s.Bounce = b
	} else {
		// Metrica's definition: one page view and under 15 seconds.
		s.Bounce = s.PageViews <= 1 && s.Duration < 15*time.Second
	}
	s.LandingURL = r.text(c.landing)
	s.Referrer = r.text(c.referrer)
	if d, ok := crmlink.ParseDevice(r.cell(c.device)); ok {
		s.Device = d
	} else {
		r.bad(r.header[c.device], r.cell(c.device), "unknown device: want desktop, mobile, tablet or tv (or 1 to 4)")
	}
	s.OS = r.text(c.os)
	s.Browser = r.text(c.browser)
	s.Country = r.text(c.country)
	s.Region = r.text(c.region)
	s.City = r.text(c.city)
	s.UserID = r.text(c.userID)
	s.PurchaseIDs = r.listCell(c.purchaseIDs, s.PurchaseIDs[:0])
	if h := strings.TrimSpace(r.cell(c.userIDHash)); h != "" && h != "0" {
		s.Identities = append(s.Identities, crmlink.Identity{Kind: crmlink.IdentityUserIDHash, Value: h})
	}
	if r.opt.Classifier != nil {
		s.Source = r.opt.Classifier.Classify(s.LandingURL, s.Referrer, r.opt.Site)
	} else {
		s.Source = crmlink.TrafficSource{Kind: crmlink.SourceDirect}
	}
	if r.opt.Format == FormatMetricaLogs {
		r.metricaSource(s)
	}
	if c.sessionID >= 0 && (r.opt.Format == FormatMetricaLogs || strings.TrimSpace(r.cell(c.sessionID)) != "") {
		s.ID = r.uint64Cell(c.sessionID, true)
	} else if !r.rowBad {
		s.ID = derivedSessionID(s.ClientID, s.Start)
	}
}

// metricaSource prefers the classification Metrica exported over ours: it
// saw the whole visit, including hits our rules cannot see.
func (r *Reader) metricaSource(s *crmlink.Session) {
	c := &r.cols
	for i, p := range []*string{&s.Source.UTMSource, &s.Source.UTMMedium, &s.Source.UTMCampaign, &s.Source.UTMContent, &s.Source.UTMTerm} {
		if c.utm[i] >= 0 {
			if v := r.text(c.utm[i]); v != "" {
				*p = v
			}
		}
	}
	if g := r.text(c.gclid); g != "" && s.Source.ClickID == "" {
		s.Source.ClickID = "gclid=" + g
	}
	v := strings.TrimSpace(r.cell(c.source))
	if v == "" {
		return
	}
	kind, ok := metricaSourceKind(v)
	if !ok {
		if !strings.EqualFold(v, "undefined") {
			r.bad(r.header[c.source], v, "unknown traffic source")
		}
		return
	}
	engineCol, ok := map[crmlink.SourceKind]int{
		crmlink.SourceOrganic: c.searchEngine, crmlink.SourceAd: c.advEngine, crmlink.SourceSocial: c.social,
		crmlink.SourceReferral: c.referral, crmlink.SourceRecommend: c.recommend, crmlink.SourceMessenger: c.messenger,
	}[kind]
	if !ok {
		engineCol = -1
	}
	if kind != s.Source.Kind {
		s.Source.Engine = ""
	}
	s.Source.Kind = kind
	if engineCol >= 0 {
		if e := r.text(engineCol); e != "" {
			s.Source.Engine = e
		}
	}
}

// metricaSourceKind maps a Logs API traffic source to ours: the ids, and the
// display names an export in English may carry.
func metricaSourceKind(v string) (crmlink.SourceKind, bool) {
	lv := strings.ToLower(v)
	switch lv {
	case "link":
		return crmlink.SourceReferral, true
	case "recommendation":
		return crmlink.SourceRecommend, true
	case "mailing", "e-mail":
		return crmlink.SourceEmail, true
	}
	for _, k := range crmlink.SourceKinds {
		if lv == string(k) || strings.EqualFold(v, k.Name()) {
			return k, true
		}
	}
	return "", false
}
