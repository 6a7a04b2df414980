package http

import (
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/crmlink/crmlink"
)

// CounterJSON is a counter in the shape of Metrica's management API, with
// our own settings beside Metrica's names. The CLI prints the same.
type CounterJSON struct {
	ID               crmlink.CounterID `json:"id"`
	Status           string            `json:"status"`
	Name             string            `json:"name"`
	Site             string            `json:"site"`
	Site2            site2JSON         `json:"site2"`
	CreateTime       string            `json:"create_time"`
	TimeZoneName     string            `json:"time_zone_name"`
	TimeZoneOffset   int               `json:"time_zone_offset"` // minutes east of UTC, now
	Currency         string            `json:"currency"`
	VisitThreshold   int               `json:"visit_threshold"` // session timeout, seconds
	LinkWindowDays   int               `json:"link_window_days"`
	UpdateWindowDays int               `json:"update_window_days"`
	KeepPII          bool              `json:"keep_pii"`
}

type site2JSON struct {
	Site   string `json:"site"`
	Domain string `json:"domain,omitempty"`
}

func (s *Server) counterOut(c *crmlink.Counter) CounterJSON {
	return NewCounterJSON(c, s.cfg.Clock.Now())
}

// NewCounterJSON renders a counter; now gives its time zone's current offset.
func NewCounterJSON(c *crmlink.Counter, now time.Time) CounterJSON {
	offset := 0
	if loc, err := c.Location(); err == nil {
		_, off := now.In(loc).Zone()
		offset = off / 60
	}
	return CounterJSON{
		ID: c.ID, Status: "Active", Name: c.Name, Site: c.Site, Site2: site2JSON{Site: c.Site, Domain: c.Site},
		CreateTime: c.Created.UTC().Format(time.RFC3339), TimeZoneName: c.TimeZone, TimeZoneOffset: offset,
		Currency: c.Currency, VisitThreshold: int(c.SessionTimeout / time.Second),
		LinkWindowDays: int(c.LinkWindow / (24 * time.Hour)), UpdateWindowDays: int(c.UpdateWindow / (24 * time.Hour)),
		KeepPII: c.KeepPII,
	}
}

func (s *Server) listCounters(w http.ResponseWriter, r *http.Request) error {
	// Any token may list; a counter's own token sees that counter only.
	tok, err := s.token(r)
	if err != nil {
		return err
	}
	all, err := s.cfg.Store.Counters(r.Context())
	if err != nil {
		return err
	}
	out := []CounterJSON{}
	for _, c := range all {
		if tok.Allows(c.ID, crmlink.ScopeRead) {
			out = append(out, s.counterOut(c))
		}
	}
	return writeJSON(w, http.StatusOK, map[string]any{"rows": len(out), "counters": out})
}

func (s *Server) getCounter(w http.ResponseWriter, r *http.Request) error {
	c, err := s.counterFor(r, crmlink.ScopeRead)
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, map[string]any{"counter": s.counterOut(c)})
}

// counterIn is the body of POST /management/v1/counters.
type counterIn struct {
	Counter struct {
		Name             string     `json:"name"`
		Site             string     `json:"site"`
		Site2            *site2JSON `json:"site2"`
		TimeZoneName     string     `json:"time_zone_name"`
		Currency         string     `json:"currency"`
		VisitThreshold   int        `json:"visit_threshold"`
		LinkWindowDays   int        `json:"link_window_days"`
		UpdateWindowDays int        `json:"update_window_days"`
		KeepPII          bool       `json:"keep_pii"`
	} `json:"counter"`
}

func (s *Server) createCounter(w http.ResponseWriter, r *http.Request) error {
	if _, err := s.authorize(r, 0, crmlink.ScopeAdmin); err != nil {
		return err
	}
	var in counterIn
	if err := readJSON(w, r, &in, true); err != nil {
		return err
	}
	ci := in.Counter
	c := &crmlink.Counter{Name: ci.Name, Site: ci.Site, TimeZone: ci.TimeZoneName, Currency: ci.Currency, KeepPII: ci.KeepPII,
		SessionTimeout: time.Duration(ci.VisitThreshold) * time.Second,
		LinkWindow:     time.Duration(ci.LinkWindowDays) * 24 * time.Hour,
		UpdateWindow:   time.Duration(ci.UpdateWindowDays) * 24 * time.Hour}
	if c.Site == "" && ci.Site2 != nil {
		c.Site = ci.Site2.Site
	}
	if err := c.Normalize(); err != nil {
		return err
	}
	if err := s.cfg.Store.CreateCounter(r.Context(), c); err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, map[string]any{"counter": s.counterOut(c)})
}

// goalJSON is a goal in Metrica's management API shape: an action goal's
// identifier is its condition of type exact.
type goalJSON struct {
	ID            int64               `json:"id"`
	Name          string              `json:"name"`
	Type          string              `json:"type"`
	IsRetargeting int                 `json:"is_retargeting"`
	Conditions    []goalConditionJSON `json:"conditions"`
	Reaches       int64               `json:"reaches"` // ours
	Revenue       string              `json:"revenue"` // ours: sum of the reaches' revenue
}

// goalConditionJSON is a goal's condition: for an action goal, exact and
// its identifier.
type goalConditionJSON struct {
	Type string `json:"type"`
	URL  string `json:"url"`
}

func goalOut(g *crmlink.Goal) goalJSON {
	out := goalJSON{ID: g.ID, Name: g.Name, Type: g.Type, Reaches: g.Reaches, Revenue: g.Revenue.String(), Conditions: []goalConditionJSON{}}
	if g.Type == "action" {
		out.Conditions = append(out.Conditions, goalConditionJSON{Type: "exact", URL: g.Action})
	}
	return out
}

// readGoal reads Metrica's {"goal": {...}} body of a goal to create or
// change: an action goal, named, with one exact condition, its
// identifier. Goals reached by page URLs, by a number of pages or by
// steps need the page views matched against conditions, which crmlink
// does not do: they answer 400 saying so.
func readGoal(w http.ResponseWriter, r *http.Request) (*crmlink.Goal, error) {
	var in struct {
		Goal struct {
			Name       string              `json:"name"`
			Type       string              `json:"type"`
			Conditions []goalConditionJSON `json:"conditions"`
		} `json:"goal"`
	}
	if err := readJSON(w, r, &in, false); err != nil {
		return nil, err
	}
	g := in.Goal
	switch {
	case g.Type != "action":
		return nil, crmlink.Errorf(crmlink.KindInvalid, "goal.type: %q: crmlink's goals are action goals, reached by the tag's reachGoal and by CRM orders; url, number and step goals need the page views matched against conditions, which crmlink does not do", g.Type)
	case len(g.Conditions) != 1 || g.Conditions[0].Type != "exact":
		return nil, crmlink.Errorf(crmlink.KindInvalid, "goal.conditions: an action goal has one condition, {\"type\": \"exact\", \"url\": \"<its identifier>\"}")
	case strings.TrimSpace(g.Conditions[0].URL) == "" || len(g.Conditions[0].URL) > 255:
		return nil, crmlink.Errorf(crmlink.KindInvalid, "goal.conditions[0].url: the goal's identifier, 1 to 255 bytes")
	case strings.TrimSpace(g.Name) == "" || len(g.Name) > 255:
		return nil, crmlink.Errorf(crmlink.KindInvalid, "goal.name: 1 to 255 bytes")
	}
	return &crmlink.Goal{Name: strings.TrimSpace(g.Name), Type: "action", Action: strings.TrimSpace(g.Conditions[0].URL)}, nil
}

// goalID reads the goal id of the path.
func goalID(r *http.Request) (int64, error) {
	id, err := strconv.ParseInt(r.PathValue("goalId"), 10, 64)
	if err != nil || id <= 0 {
		return 0, crmlink.Errorf(crmlink.KindNotFound, "goal %q not found", r.PathValue("goalId"))
	}
	return id, nil
}

// findGoal returns a counter's goal by id.
func (s *Server) findGoal(r *http.Request, counter crmlink.CounterID, id int64) (*crmlink.Goal, error) {
	goals, err := s.cfg.Store.Goals(r.Context(), counter)
	if err != nil {
		return nil, err
	}
	for i := range goals {
		if goals[i].ID == id {
			return &goals[i], nil
		}
	}
	return nil, crmlink.Errorf(crmlink.KindNotFound, "goal %d not found", id)
}

// createGoal answers POST /management/v1/counter/{id}/goals.
func (s *Server) createGoal(w http.ResponseWriter, r *http.Request) error {
	c, err := s.counterFor(r, crmlink.ScopeWrite)
	if err != nil {
		return err
	}
	g, err := readGoal(w, r)
	if err != nil {
		return err
	}
	g.CounterID = c.ID
	if err := s.cfg.Store.CreateGoal(r.Context(), g); err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, map[string]any{"goal": goalOut(g)})
}

// getGoal answers GET /management/v1/counter/{id}/goal/{goalId}.
func (s *Server) getGoal(w http.ResponseWriter, r *http.Request) error {
	c, err := s.counterFor(r, crmlink.ScopeRead)
	if err != nil {
		return err
	}
	id, err := goalID(r)
	if err != nil {
		return err
	}
	g, err := s.findGoal(r, c.ID, id)
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, map[string]any{"goal": goalOut(g)})
}

// updateGoal answers PUT /management/v1/counter/{id}/goal/{goalId}.
func (s *Server) updateGoal(w http.ResponseWriter, r *http.Request) error {
	c, err := s.counterFor(r, crmlink.ScopeWrite)
	if err != nil {
		return err
	}
	id, err := goalID(r)
	if err != nil {
		return err
	}
	g, err := readGoal(w, r)
	if err != nil {
		return err
	}
	g.CounterID, g.ID = c.ID, id
	if err := s.cfg.Store.UpdateGoal(r.Context(), g); err != nil {
		return err
	}
	if g, err = s.findGoal(r, c.ID, id); err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, map[string]any{"goal": goalOut(g)})
}

// deleteGoal answers DELETE /management/v1/counter/{id}/goal/{goalId}.
func (s *Server) deleteGoal(w http.ResponseWriter, r *http.Request) error {
	c, err := s.counterFor(r, crmlink.ScopeWrite)
	if err != nil {
		return err
	}
	id, err := goalID(r)
	if err != nil {
		return err
	}
	if err := s.cfg.Store.DeleteGoal(r.Context(), c.ID, id); err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, map[string]any{"success": true})
}

// listGoals answers GET /management/v1/counter/{id}/goals; a goal's id is
// what ym:s:goal<id>reaches names in reports.
func (s *Server) listGoals(w http.ResponseWriter, r *http.Request) error {
	c, err := s.counterFor(r, crmlink.ScopeRead)
	if err != nil {
		return err
	}
	goals, err := s.cfg.Store.Goals(r.Context(), c.ID)
	if err != nil {
		return err
	}
	out := []goalJSON{}
	for _, g := range goals {
		out = append(out, goalOut(&g))
	}
	return writeJSON(w, http.StatusOK, map[string]any{"goals": out})
}
