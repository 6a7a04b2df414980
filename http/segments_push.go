package http

import (
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/crmlink/crmlink"
	"github.com/crmlink/crmlink/audience"
)

// Pushing audiences to Yandex Audience: the counter's target (the API's
// base URL and an OAuth token, which is never shown back), and pushes of
// a segment's file, when asked and on a schedule (the server's Pusher).
func (s *Server) pushRoutes() {
	s.handle("GET /management/v1/counter/{id}/audience/yandex", s.getYandexTarget)
	s.handle("PUT /management/v1/counter/{id}/audience/yandex", s.putYandexTarget)
	s.handle("POST /management/v1/counter/{id}/apisegment/segment/{segment}/push", s.pushSegment)
}

// yandexTargetJSON is a counter's Yandex Audience target as shown.
type yandexTargetJSON struct {
	BaseURL  string `json:"base_url"`
	TokenSet bool   `json:"token_set"`
	Updated  string `json:"update_time,omitempty"`
}

func (s *Server) getYandexTarget(w http.ResponseWriter, r *http.Request) error {
	c, err := s.counterFor(r, crmlink.ScopeRead)
	if err != nil {
		return err
	}
	out := yandexTargetJSON{BaseURL: audience.DefaultYandexURL}
	t, err := s.cfg.Store.AudienceTarget(r.Context(), c.ID, audience.PlatformYandex)
	switch {
	case crmlink.KindOf(err) == crmlink.KindNotFound:
	case err != nil:
		return err
	default:
		out = yandexTargetJSON{BaseURL: t.BaseURL, TokenSet: t.Token != "", Updated: t.Updated.Format(time.RFC3339)}
	}
	return writeJSON(w, http.StatusOK, map[string]any{"yandex_audience": out})
}

// yandexTargetIn is the body of PUT .../audience/yandex.
type yandexTargetIn struct {
	YandexAudience struct {
		Token   string `json:"token"`
		BaseURL string `json:"base_url"`
	} `json:"yandex_audience"`
}

// putYandexTarget sets the counter's Yandex Audience token and API URL;
// an admin's, as the token acts for the counter's owner at Yandex.
func (s *Server) putYandexTarget(w http.ResponseWriter, r *http.Request) error {
	c, err := s.counterFor(r, crmlink.ScopeAdmin)
	if err != nil {
		return err
	}
	var in yandexTargetIn
	if err := readJSON(w, r, &in, true); err != nil {
		return err
	}
	t := &crmlink.AudienceTarget{CounterID: c.ID, Platform: audience.PlatformYandex,
		Token: strings.TrimSpace(in.YandexAudience.Token), BaseURL: strings.TrimSpace(in.YandexAudience.BaseURL)}
	if err := checkAudienceTarget(t); err != nil {
		return err
	}
	if err := s.cfg.Store.SetAudienceTarget(r.Context(), t); err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, map[string]any{"yandex_audience": yandexTargetJSON{BaseURL: t.BaseURL, TokenSet: true,
		Updated: t.Updated.Format(time.RFC3339)}})
}

// checkAudienceTarget checks a target's URL (empty: Yandex Audience's
// own) and token.
func checkAudienceTarget(t *crmlink.AudienceTarget) error {
	if t.BaseURL == "" {
		t.BaseURL = audience.DefaultYandexURL
	}
	if u, err := url.Parse(t.BaseURL); err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" {
		return crmlink.Errorf(crmlink.KindInvalid, "base_url: %q: want an http(s) URL", t.BaseURL)
	}
	if t.Token == "" || len(t.Token) > 1024 || strings.ContainsAny(t.Token, " \r\n\t") {
		return crmlink.Errorf(crmlink.KindInvalid, "token: want the OAuth token Yandex gave, one word")
	}
	return nil
}

// pushIn is the body of a segment's push.
type pushIn struct {
	Format     string `json:"format"`
	EveryHours *int   `json:"every_hours"`
}

// pushSegment answers POST .../segment/{segment}/push: the segment's
// file in format pushed to Yandex Audience now (a new segment there the
// first time, its data replaced later), and, with every_hours, pushed
// again on that schedule. It answers {"export": ...}, the push as
// recorded; a platform's refusal answers 502 with its message, and is
// recorded too.
func (s *Server) pushSegment(w http.ResponseWriter, r *http.Request) error {
	c, sg, err := s.segmentFor(r, crmlink.ScopeWrite)
	if err != nil {
		return err
	}
	var in pushIn
	if err := readJSON(w, r, &in, true); err != nil {
		return err
	}
	e, err := s.pusher.Push(r.Context(), c, sg, in.Format, in.EveryHours, s.who(r))
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, map[string]any{"export": NewSegmentExportJSON(e)})
}

// NewSegmentExportJSON renders a recorded download or push.
func NewSegmentExportJSON(e *crmlink.SegmentExport) SegmentExportJSON {
	return SegmentExportJSON{SegmentID: e.SegmentID, SegmentName: e.SegmentName, Kind: e.Kind, Format: e.Format, Who: e.Who,
		Time: e.At.Format(time.RFC3339), Rows: e.Rows, Members: e.Members, LeftOut: e.LeftOut, Target: e.Target, Error: e.Error}
}
