package http

import (
	"cmp"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"

	"github.com/crmlink/crmlink"
	"github.com/crmlink/crmlink/audience"
	"github.com/crmlink/crmlink/report"
)

// The Segments page: the counter's saved segments with their sizes, and,
// for write scope, the editor, the audience files and pushes. The page
// script (web/static/segments.js) does the editing through the segments
// API with the session's cookie and CSRF header; the page itself only
// reads.

// segmentsPageRows is how many segments the page sizes at once: each size
// is a query over the counter's people, 0.1 to 0.45 s each at 10M
// sessions and 250k customers (docs/benchmarks.md).
const segmentsPageRows = 10

// pushFormats are the formats a segment can be pushed in (to Yandex
// Audience, by POST .../segment/{id}/push).
var pushFormats = []string{"yandex_crm", "yandex_clientid"}

// segmentCard is one saved segment as the page lists it.
type segmentCard struct {
	ID         crmlink.SegmentID
	Name       string
	Expression string
	Updated    string
	// Error says why the segment could not be sized (a goal it reads was
	// deleted, say); Size and Formats are then empty.
	Error   string
	Size    crmlink.SegmentSize
	Formats []formatCount
	// Links to the reports cut by the segment.
	SourcesURL, ClientsURL, EditURL string
	// The API's paths of the segment, for the page script.
	ExportsURL string
}

// formatCount is what one audience file of a segment holds.
type formatCount struct {
	Name, Title            string
	Rows, Members, LeftOut int64
	// TooFew says the platform would refuse the file: fewer rows than
	// it takes (MinRows).
	TooFew  bool
	MinRows int
	// Download and Plain are the file's links (Plain: the plain values,
	// "" where the format or the counter has none); PushURL is set for
	// the formats that can be pushed.
	Download, Plain, PushURL string
}

// conditionPick are the editor's pickers' choices.
type conditionPicks struct {
	Sources      []pick
	Attributions []pick
	Devices      []pick
	Places       []pick
	Goals        []pick
}

// segmentEditor is the editor's start: a segment to change, or a new one.
type segmentEditor struct {
	ID         crmlink.SegmentID // 0 for a new segment
	Name       string
	Expression string
	Picks      conditionPicks
}

type segmentsData struct {
	Segments   []segmentCard
	Total      int
	From, To   int
	Prev, Next string
	CanWrite   bool
	Editor     *segmentEditor // nil for read scope
	APIBase    string         // .../apisegment
	Script     segmentsScript
}

// segmentsScript is what the page script reads from the page's JSON
// block: where the API is, and how to write what it answers.
type segmentsScript struct {
	API     string `json:"api"`
	Page    string `json:"page"`
	Clients string `json:"clients"`
	// How the page writes numbers and times (formatter): the script
	// writes them the same way.
	Group     string            `json:"group"`
	DateOrder string            `json:"date_order"`
	DateSep   string            `json:"date_sep"`
	TimeZone  string            `json:"time_zone"`
	Formats   []scriptFormat    `json:"formats"`
	Kinds     map[string]string `json:"kinds"`
}

type scriptFormat struct {
	Name    string `json:"name"`
	Title   string `json:"title"`
	MinRows int    `json:"min_rows"`
}

func (s *Server) segmentsPage(w http.ResponseWriter, r *http.Request, u *ui) error {
	ctx := r.Context()
	q := r.URL.Query()
	cid := u.counter.ID.String()
	base := "/c/" + cid
	data := segmentsData{CanWrite: u.tok.Scope >= crmlink.ScopeWrite, APIBase: "/management/v1/counter/" + cid + "/apisegment"}
	data.Script = segmentsScript{API: data.APIBase, Page: base + "/segments", Clients: base + "/clients", Group: u.f.nf.Group,
		DateOrder: u.f.nf.DateOrder, DateSep: u.f.nf.DateSep, TimeZone: u.f.loc.String(),
		Kinds: map[string]string{"download": u.tr.T("download"), "push": u.tr.T("push")}}
	for _, f := range audience.Formats {
		data.Script.Formats = append(data.Script.Formats, scriptFormat{Name: f.Name, Title: u.tr.T(f.Title), MinRows: f.MinRows})
	}
	list, err := s.cfg.Store.Segments(ctx, u.counter.ID)
	if err != nil {
		return err
	}
	// The newest changed first: a segment just saved is at the top.
	slices.SortFunc(list, func(a, b *crmlink.Segment) int {
		return cmp.Or(b.Updated.Compare(a.Updated), cmp.Compare(b.ID, a.ID))
	})
	goals, err := s.cfg.Store.Goals(ctx, u.counter.ID)
	if err != nil {
		return err
	}
	var warn string
	if data.CanWrite {
		ed := &segmentEditor{Picks: s.conditionPicks(u, goals)}
		if v := q.Get("edit"); v != "" {
			i := slices.IndexFunc(list, func(sg *crmlink.Segment) bool { return strconv.FormatInt(int64(sg.ID), 10) == v })
			if i < 0 {
				warn = u.tr.T("There is no such segment: it may have been deleted. The editor starts a new one.")
			} else {
				ed.ID, ed.Name, ed.Expression = list[i].ID, list[i].Name, list[i].Expression
			}
		}
		data.Editor = ed
	}
	offset := formInt(q.Get("offset"), 1, 1, 1<<30)
	data.Total = len(list)
	shown := list[min(offset-1, len(list)):min(offset-1+segmentsPageRows, len(list))]
	for _, sg := range shown {
		card, err := s.segmentCard(r, u, sg, goals, base)
		if err != nil {
			return err
		}
		data.Segments = append(data.Segments, card)
	}
	data.From, data.To = offset, offset+len(shown)-1
	if offset > 1 {
		data.Prev = withParams(r.URL.Path, q, "offset", strconv.Itoa(max(1, offset-segmentsPageRows)))
	}
	if offset-1+len(shown) < len(list) {
		data.Next = withParams(r.URL.Path, q, "offset", strconv.Itoa(offset+segmentsPageRows))
	}
	p, err := s.pageFor(r, u, "segments", "Segments", data)
	if err != nil {
		return err
	}
	p.Error = warn
	return s.render(w, r, http.StatusOK, "segments", p)
}

// segmentCard sizes a saved segment for the list. An expression that no
// longer plans (it names a goal since deleted) is shown with its error
// rather than failing the page.
func (s *Server) segmentCard(r *http.Request, u *ui, sg *crmlink.Segment, goals []crmlink.Goal, base string) (segmentCard, error) {
	id := strconv.FormatInt(int64(sg.ID), 10)
	api := "/management/v1/counter/" + u.counter.ID.String() + "/apisegment/segment/" + id
	c := segmentCard{ID: sg.ID, Name: sg.Name, Expression: sg.Expression, Updated: u.f.Time(sg.Updated),
		SourcesURL: base + "/sources?segment=" + id, ClientsURL: base + "/clients?segment=" + id,
		EditURL: base + "/segments?edit=" + id + "#editor", ExportsURL: api + "/exports"}
	p, err := report.ParseSegment(sg.Expression, report.SegmentRequest{Counter: u.counter, Goals: goals, Now: s.cfg.Clock.Now()})
	if crmlink.KindOf(err) == crmlink.KindInvalid {
		c.Error = crmlink.MessageOf(err)
		return c, nil
	}
	if err != nil {
		return c, err
	}
	if c.Size, err = s.cfg.Store.SegmentSize(r.Context(), p); err != nil {
		return c, err
	}
	counts := audience.Counts(c.Size)
	for i, f := range audience.Formats {
		fc := formatCount{Name: f.Name, Title: u.tr.T(f.Title), Rows: counts[i].Rows, Members: counts[i].Members,
			LeftOut: counts[i].LeftOut, MinRows: f.MinRows, TooFew: counts[i].Rows < int64(f.MinRows),
			Download: api + "/audience?format=" + f.Name}
		if f.Plain && u.counter.KeepPII {
			fc.Plain = fc.Download + "&plain=true"
		}
		if slices.Contains(pushFormats, f.Name) {
			fc.PushURL = api + "/push"
		}
		c.Formats = append(c.Formats, fc)
	}
	return c, nil
}

// conditionPicks fills the editor's pickers: the traffic sources and
// attribution models, the devices, the levels of place, and the
// counter's goals, each named in the reader's language.
func (s *Server) conditionPicks(u *ui, goals []crmlink.Goal) conditionPicks {
	var p conditionPicks
	for _, k := range crmlink.SourceKinds {
		p.Sources = append(p.Sources, pick{string(k), u.tr.Source(string(k)), k == crmlink.SourceAd})
	}
	for _, a := range attributionLabels {
		p.Attributions = append(p.Attributions, pick{string(a.Model), u.tr.T(a.Label), a.Model == crmlink.DefaultAttribution})
	}
	for _, d := range []crmlink.DeviceCategory{crmlink.DeviceDesktop, crmlink.DeviceMobile, crmlink.DeviceTablet, crmlink.DeviceTV} {
		p.Devices = append(p.Devices, pick{string(d), u.tr.Device(d), d == crmlink.DeviceMobile})
	}
	for _, k := range []string{"city", "region", "country"} {
		d := dimByKey[k]
		p.Places = append(p.Places, pick{strings.TrimPrefix(d.API, "ym:s:"), u.tr.T(d.Label), k == "city"})
	}
	for i, g := range goals {
		p.Goals = append(p.Goals, pick{strconv.FormatInt(g.ID, 10), u.tr.T(g.Name), i == 0})
	}
	return p
}

// segmentChoice is the segment a report page is cut by, and the
// picker's choices: "All visitors", then the counter's saved segments by
// name.
type segmentChoice struct {
	ID    string // "" for every visitor
	Picks []pick // nil when the counter has no segments: no picker
	Warn  string
}

// set adds the segment to a report's parameters or a link's query.
func (c segmentChoice) set(v url.Values) {
	if c.ID != "" {
		v.Set("segment", c.ID)
	}
}

// pickSegment reads the segment parameter of a report page and checks it
// against the counter's saved segments. A segment that no longer exists
// is dropped from the request's query, with a warning, so that the page
// and every link it builds from its query show all visitors rather than
// an error.
func (s *Server) pickSegment(r *http.Request, u *ui) (segmentChoice, error) {
	var c segmentChoice
	list, err := s.cfg.Store.Segments(r.Context(), u.counter.ID)
	if err != nil {
		return c, err
	}
	q := r.URL.Query()
	want := q.Get("segment")
	if want != "" && !slices.ContainsFunc(list, func(sg *crmlink.Segment) bool { return strconv.FormatInt(int64(sg.ID), 10) == want }) {
		c.Warn = u.tr.T("The segment picked no longer exists; showing all visitors.")
		want = ""
	}
	if q.Has("segment") && want == "" {
		q.Del("segment")
		r.URL.RawQuery = q.Encode()
	}
	c.ID = want
	if len(list) == 0 {
		return c, nil
	}
	c.Picks = append(c.Picks, pick{"", u.tr.T("All visitors"), want == ""})
	slices.SortFunc(list, func(a, b *crmlink.Segment) int {
		return cmp.Or(cmp.Compare(strings.ToLower(a.Name), strings.ToLower(b.Name)), cmp.Compare(a.ID, b.ID))
	})
	for _, sg := range list {
		id := strconv.FormatInt(int64(sg.ID), 10)
		c.Picks = append(c.Picks, pick{id, sg.Name, id == want})
	}
	return c, nil
}

// joinWarnings joins a page's warnings into one message.
func joinWarnings(ws ...string) string {
	var out []string
	for _, w := range ws {
		if w != "" {
			out = append(out, w)
		}
	}
	return strings.Join(out, " ")
}
