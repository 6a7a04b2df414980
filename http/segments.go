package http

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/crmlink/crmlink"
	"github.com/crmlink/crmlink/audience"
	"github.com/crmlink/crmlink/report"
)

// Segments keep the paths and shapes of Metrica's management API
// (apisegment); members and sizes are ours.
func (s *Server) segmentRoutes() {
	base := "/management/v1/counter/{id}/apisegment/"
	s.handle("GET "+base+"segments", s.listSegments)
	s.handle("POST "+base+"segments", s.createSegment)
	s.handle("GET "+base+"segment/{segment}", s.getSegment)
	s.handle("PUT "+base+"segment/{segment}", s.updateSegment)
	s.handle("DELETE "+base+"segment/{segment}", s.deleteSegment)
	s.handle("GET "+base+"segment/{segment}/size", s.segmentSize)
	s.handle("GET "+base+"segment/{segment}/members", s.segmentMembers)
	s.handle("GET "+base+"segment/{segment}/audience", s.segmentAudience)
	s.handle("GET "+base+"segment/{segment}/exports", s.segmentExports)
	s.handle("GET "+base+"exports", s.counterExports)
	// An expression not saved yet, for an editor to show as it is typed.
	s.handle("GET "+base+"size", s.expressionSize)
	s.handle("GET "+base+"members", s.expressionMembers)
}

// SegmentJSON is a segment in Metrica's shape, with our update time.
type SegmentJSON struct {
	ID            crmlink.SegmentID `json:"segment_id"`
	CounterID     crmlink.CounterID `json:"counter_id"`
	Name          string            `json:"name"`
	Expression    string            `json:"expression"`
	Status        string            `json:"status"`
	SegmentSource string            `json:"segment_source"`
	CreateTime    string            `json:"create_time"`
	UpdateTime    string            `json:"update_time"`
}

// NewSegmentJSON renders a segment.
func NewSegmentJSON(sg *crmlink.Segment) SegmentJSON {
	return SegmentJSON{ID: sg.ID, CounterID: sg.CounterID, Name: sg.Name, Expression: sg.Expression, Status: "active",
		SegmentSource: "api", CreateTime: sg.Created.UTC().Format(time.RFC3339), UpdateTime: sg.Updated.UTC().Format(time.RFC3339)}
}

// segmentIn is the body of a segment's POST and PUT. Metrica's clients
// send more fields (segment_source, retargeting); they are read and let
// be.
type segmentIn struct {
	Segment struct {
		Name       string `json:"name"`
		Expression string `json:"expression"`
	} `json:"segment"`
}

func (s *Server) listSegments(w http.ResponseWriter, r *http.Request) error {
	c, err := s.counterFor(r, crmlink.ScopeRead)
	if err != nil {
		return err
	}
	list, err := s.cfg.Store.Segments(r.Context(), c.ID)
	if err != nil {
		return err
	}
	out := []SegmentJSON{}
	for _, sg := range list {
		out = append(out, NewSegmentJSON(sg))
	}
	return writeJSON(w, http.StatusOK, map[string]any{"segments": out})
}

// planSegment validates a segment's expression against its counter and
// plans it.
func (s *Server) planSegment(r *http.Request, c *crmlink.Counter, expr string) (*crmlink.SegmentPlan, error) {
	goals, err := s.cfg.Store.Goals(r.Context(), c.ID)
	if err != nil {
		return nil, err
	}
	return report.ParseSegment(expr, report.SegmentRequest{Counter: c, Goals: goals, Now: s.cfg.Clock.Now()})
}

// readSegment reads a POST or PUT body into sg and checks it.
func (s *Server) readSegment(w http.ResponseWriter, r *http.Request, c *crmlink.Counter, sg *crmlink.Segment) error {
	var in segmentIn
	if err := readJSON(w, r, &in, false); err != nil {
		return err
	}
	sg.CounterID, sg.Name, sg.Expression = c.ID, in.Segment.Name, in.Segment.Expression
	if err := sg.Normalize(); err != nil {
		return err
	}
	_, err := s.planSegment(r, c, sg.Expression)
	return err
}

func (s *Server) createSegment(w http.ResponseWriter, r *http.Request) error {
	c, err := s.counterFor(r, crmlink.ScopeWrite)
	if err != nil {
		return err
	}
	var sg crmlink.Segment
	if err := s.readSegment(w, r, c, &sg); err != nil {
		return err
	}
	if err := s.cfg.Store.CreateSegment(r.Context(), &sg); err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, map[string]any{"segment": NewSegmentJSON(&sg)})
}

// segmentFor returns the counter and the segment a request names, with
// the scope need on the counter.
func (s *Server) segmentFor(r *http.Request, need crmlink.Scope) (*crmlink.Counter, *crmlink.Segment, error) {
	c, err := s.counterFor(r, need)
	if err != nil {
		return nil, nil, err
	}
	id, err := strconv.ParseInt(r.PathValue("segment"), 10, 64)
	if err != nil || id <= 0 {
		return nil, nil, crmlink.Errorf(crmlink.KindInvalid, "segment id %q: want a positive integer", r.PathValue("segment"))
	}
	sg, err := s.cfg.Store.Segment(r.Context(), c.ID, crmlink.SegmentID(id))
	return c, sg, err
}

func (s *Server) getSegment(w http.ResponseWriter, r *http.Request) error {
	_, sg, err := s.segmentFor(r, crmlink.ScopeRead)
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, map[string]any{"segment": NewSegmentJSON(sg)})
}

func (s *Server) updateSegment(w http.ResponseWriter, r *http.Request) error {
	c, sg, err := s.segmentFor(r, crmlink.ScopeWrite)
	if err != nil {
		return err
	}
	if err := s.readSegment(w, r, c, sg); err != nil {
		return err
	}
	if err := s.cfg.Store.UpdateSegment(r.Context(), sg); err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, map[string]any{"segment": NewSegmentJSON(sg)})
}

func (s *Server) deleteSegment(w http.ResponseWriter, r *http.Request) error {
	c, sg, err := s.segmentFor(r, crmlink.ScopeWrite)
	if err != nil {
		return err
	}
	if err := s.cfg.Store.DeleteSegment(r.Context(), c.ID, sg.ID); err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, map[string]any{"success": true})
}

// expressionSize answers GET .../apisegment/size?expression=: what
// segmentSize answers for a saved segment, for an expression not saved.
func (s *Server) expressionSize(w http.ResponseWriter, r *http.Request) error {
	c, err := s.counterFor(r, crmlink.ScopeRead)
	if err != nil {
		return err
	}
	p, err := s.planExpression(r, c)
	if err != nil {
		return err
	}
	size, err := s.cfg.Store.SegmentSize(r.Context(), p)
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, map[string]any{"size": size, "audiences": audience.Counts(size)})
}

// expressionMembers answers GET .../apisegment/members?expression=: what
// segmentMembers answers for a saved segment, for an expression not
// saved.
func (s *Server) expressionMembers(w http.ResponseWriter, r *http.Request) error {
	c, err := s.counterFor(r, crmlink.ScopeWrite)
	if err != nil {
		return err
	}
	p, err := s.planExpression(r, c)
	if err != nil {
		return err
	}
	return s.writeMembers(w, r, p, 0)
}

// planExpression plans the expression parameter.
func (s *Server) planExpression(r *http.Request, c *crmlink.Counter) (*crmlink.SegmentPlan, error) {
	expr := r.URL.Query().Get("expression")
	if strings.TrimSpace(expr) == "" {
		return nil, withType("missing_parameter", crmlink.Errorf(crmlink.KindInvalid, "expression: missing"))
	}
	return s.planSegment(r, c, expr)
}

// segmentSize answers GET .../segment/{segment}/size: how many customers,
// visitors, ClientIDs, emails and phones the segment holds now. A read
// token may ask.
func (s *Server) segmentSize(w http.ResponseWriter, r *http.Request) error {
	c, sg, err := s.segmentFor(r, crmlink.ScopeRead)
	if err != nil {
		return err
	}
	p, err := s.planSegment(r, c, sg.Expression)
	if err != nil {
		return err
	}
	size, err := s.cfg.Store.SegmentSize(r.Context(), p)
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, map[string]any{"segment": NewSegmentJSON(sg), "size": size, "audiences": audience.Counts(size)})
}

// Limits of a page of members.
const (
	defaultMembersLimit = 100
	maxMembersLimit     = 10_000
)

// segmentMembers answers GET .../segment/{segment}/members?offset=&limit=:
// a page of members, customers by uniq_id and then visitors by ClientID,
// with emails and phones as SHA-256 hashes. Members are people's
// identifiers, so a write token is needed, as for exports.
func (s *Server) segmentMembers(w http.ResponseWriter, r *http.Request) error {
	c, sg, err := s.segmentFor(r, crmlink.ScopeWrite)
	if err != nil {
		return err
	}
	p, err := s.planSegment(r, c, sg.Expression)
	if err != nil {
		return err
	}
	return s.writeMembers(w, r, p, sg.ID)
}

// writeMembers answers a page of a segment's members, as the offset and
// limit parameters ask.
func (s *Server) writeMembers(w http.ResponseWriter, r *http.Request, p *crmlink.SegmentPlan, id crmlink.SegmentID) error {
	q := r.URL.Query()
	offset, limit := 0, defaultMembersLimit
	if v := q.Get("offset"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 {
			return crmlink.Errorf(crmlink.KindInvalid, "offset: %q: want a whole number from 1 (the first member)", v)
		}
		offset = n - 1
	}
	if v := q.Get("limit"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 || n > maxMembersLimit {
			return crmlink.Errorf(crmlink.KindInvalid, "limit: %q: want a whole number from 1 to %d", v, maxMembersLimit)
		}
		limit = n
	}
	members, err := s.cfg.Store.SegmentMembers(r.Context(), p, offset, limit)
	if err != nil {
		return err
	}
	out := map[string]any{"offset": offset + 1, "limit": limit, "members": members}
	if id != 0 {
		out["segment_id"] = id
	}
	return writeJSON(w, http.StatusOK, out)
}

// segmentAudience answers GET .../segment/{segment}/audience?format=&plain=:
// the segment's audience file for one platform (package audience). The
// file is written to a temporary file first, so that a file a platform
// would refuse (too few rows) is an error rather than a download, and
// the answer's headers can say how many rows and members it holds and
// whom it left out (X-Crmlink-Rows, X-Crmlink-Members,
// X-Crmlink-Left-Out, a JSON object of reasons). Each download sent
// whole is recorded.
func (s *Server) segmentAudience(w http.ResponseWriter, r *http.Request) error {
	c, sg, err := s.segmentFor(r, crmlink.ScopeWrite)
	if err != nil {
		return err
	}
	q := r.URL.Query()
	f := audience.Lookup(q.Get("format"))
	if f == nil {
		return withType("invalid_parameter", crmlink.Errorf(crmlink.KindInvalid, "format: %q: want one of %s", q.Get("format"), strings.Join(audience.Names(), ", ")))
	}
	plain := false
	if v := q.Get("plain"); v != "" {
		if plain, err = strconv.ParseBool(v); err != nil {
			return crmlink.Errorf(crmlink.KindInvalid, "plain: %q: want true or false", v)
		}
	}
	switch {
	case plain && !f.Plain:
		return crmlink.Errorf(crmlink.KindInvalid, "plain: %s takes SHA-256 hashes only", f.Title)
	case plain && !c.KeepPII:
		return crmlink.Errorf(crmlink.KindInvalid, "plain: the counter keeps no plain emails or phones (keep_pii is off)")
	}
	tmp, wr, err := audience.WriteFile(r.Context(), s.cfg.Store, c, sg, f, plain, s.cfg.Clock.Now())
	if tmp != nil {
		defer os.Remove(tmp.Name())
		defer tmp.Close()
	}
	if err != nil {
		return err
	}
	reasons, _ := json.Marshal(wr.LeftOut)
	h := w.Header()
	h.Set("Content-Type", f.ContentType)
	h.Set("Content-Disposition", fmt.Sprintf(`attachment; filename="segment-%d-%s.%s"`, sg.ID, f.Name, f.Ext))
	h.Set("X-Crmlink-Rows", strconv.Itoa(wr.Rows))
	h.Set("X-Crmlink-Members", strconv.Itoa(wr.Members))
	h.Set("X-Crmlink-Left-Out", string(reasons))
	w.WriteHeader(http.StatusOK)
	if _, err := io.Copy(w, tmp); err != nil {
		// The client went away: nothing was downloaded.
		return nil
	}
	// Recorded once sent; the answer is out, so a failure is only logged.
	e := &crmlink.SegmentExport{CounterID: c.ID, SegmentID: sg.ID, SegmentName: sg.Name, Kind: "download", Format: f.Name, Who: s.who(r)}
	wr.Count(e)
	if err := s.cfg.Store.RecordSegmentExport(context.WithoutCancel(r.Context()), e); err != nil {
		s.cfg.Logger.Warn("audience download not recorded", "err", err)
	}
	return nil
}

// who names the caller for the record of exports: the token's name, or
// the start of its hash.
func (s *Server) who(r *http.Request) string {
	tok, err := s.token(r)
	switch {
	case err != nil:
		return ""
	case tok.Name != "":
		return tok.Name
	}
	return "token " + tok.Hash[:min(8, len(tok.Hash))]
}

// SegmentExportJSON is one recorded download or push.
type SegmentExportJSON struct {
	SegmentID   crmlink.SegmentID `json:"segment_id"`
	SegmentName string            `json:"segment_name"`
	Kind        string            `json:"kind"`
	Format      string            `json:"format"`
	Who         string            `json:"who"`
	Time        string            `json:"time"`
	Rows        int64             `json:"rows"`
	Members     int64             `json:"members"`
	LeftOut     int64             `json:"left_out"`
	Target      string            `json:"target,omitempty"`
	Error       string            `json:"error,omitempty"`
}

// counterExports answers GET .../apisegment/exports?limit=: the
// counter's downloads and pushes, newest first, deleted segments' too.
func (s *Server) counterExports(w http.ResponseWriter, r *http.Request) error {
	c, err := s.counterFor(r, crmlink.ScopeRead)
	if err != nil {
		return err
	}
	limit := 100
	if v := r.URL.Query().Get("limit"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 || n > maxMembersLimit {
			return crmlink.Errorf(crmlink.KindInvalid, "limit: %q: want a whole number from 1 to %d", v, maxMembersLimit)
		}
		limit = n
	}
	list, err := s.cfg.Store.SegmentExports(r.Context(), c.ID, 0, limit)
	if err != nil {
		return err
	}
	out := []SegmentExportJSON{}
	for i := range list {
		out = append(out, NewSegmentExportJSON(&list[i]))
	}
	return writeJSON(w, http.StatusOK, map[string]any{"exports": out})
}

// segmentExports answers GET .../segment/{segment}/exports: the
// segment's downloads and pushes, newest first, and its pushes' state
// (the platform's segment, the schedule).
func (s *Server) segmentExports(w http.ResponseWriter, r *http.Request) error {
	c, sg, err := s.segmentFor(r, crmlink.ScopeRead)
	if err != nil {
		return err
	}
	list, err := s.cfg.Store.SegmentExports(r.Context(), c.ID, sg.ID, 100)
	if err != nil {
		return err
	}
	out := []SegmentExportJSON{}
	for i := range list {
		out = append(out, NewSegmentExportJSON(&list[i]))
	}
	pushes, err := s.cfg.Store.SegmentPushes(r.Context(), c.ID)
	if err != nil {
		return err
	}
	type pushJSON struct {
		Format     string `json:"format"`
		TargetID   int64  `json:"target_id"`
		EveryHours int    `json:"every_hours"`
		LastPush   string `json:"last_push,omitempty"`
	}
	ps := []pushJSON{}
	for _, p := range pushes {
		if p.SegmentID == sg.ID {
			x := pushJSON{Format: p.Format, TargetID: p.TargetID, EveryHours: p.EveryHours}
			if !p.LastPush.IsZero() {
				x.LastPush = p.LastPush.UTC().Format(time.RFC3339)
			}
			ps = append(ps, x)
		}
	}
	return writeJSON(w, http.StatusOK, map[string]any{"exports": out, "pushes": ps})
}
