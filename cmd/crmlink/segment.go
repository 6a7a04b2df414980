package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"slices"
	"strconv"
	"strings"
	"text/tabwriter"

	"github.com/crmlink/crmlink"
	"github.com/crmlink/crmlink/audience"
	crmhttp "github.com/crmlink/crmlink/http"
	"github.com/crmlink/crmlink/internal/cli"
	"github.com/crmlink/crmlink/report"
)

// segmentSubs are the segment command's subcommands.
var segmentSubs = []string{"create", "list", "show", "members", "export", "push", "delete"}

// cmdSegment makes, shows and exports a counter's segments, on the store
// or through a server's API (the same calls the dashboard makes).
func cmdSegment(ctx context.Context, args []string, e *cli.Env) error {
	if len(args) == 0 || !slices.Contains(segmentSubs, args[0]) {
		return cli.Usagef("segment: want one of %s", strings.Join(segmentSubs, ", "))
	}
	sub := args[0]
	fs := flags("segment "+sub, e)
	need := crmlink.ScopeRead
	switch sub {
	case "create", "members", "export", "push", "delete":
		need = crmlink.ScopeWrite
	}
	tgt := targetFlags(fs, e, need)
	counter := fs.String("counter", "", "counter id (required)")
	name := fs.String("name", "", "create: the segment's name (required)")
	format := fs.String("format", "", "export, push: the audience file's format: "+strings.Join(audience.Names(), ", "))
	plain := fs.Bool("plain", false, "export: plain emails and phones, where the platform takes them and the counter keeps them")
	out := fs.String("out", "-", "export: the file to write (- for stdout)")
	every := fs.Int("every-hours", -1, "push: push again every N hours (0: only when asked; unset: as before)")
	offset := fs.Int("offset", 1, "members: the first member to list (1-based)")
	limit := fs.Int("limit", 100, "members: how many members to list")
	asJSON := fs.Bool("json", false, "list, show, members: print JSON")
	pos, err := cli.Parse(fs, args[1:])
	if err != nil {
		return err
	}
	if *counter == "" {
		return cli.Usagef("--counter is required")
	}
	id, err := crmlink.ParseCounterID(*counter)
	if err != nil {
		return err
	}
	want := map[string]string{"create": "EXPRESSION", "show": "SEGMENT_ID", "members": "SEGMENT_ID", "export": "SEGMENT_ID",
		"push": "SEGMENT_ID", "delete": "SEGMENT_ID"}[sub]
	switch {
	case want == "" && len(pos) > 0:
		return cli.Usagef("segment %s takes no arguments, got %q", sub, pos)
	case want != "" && len(pos) != 1:
		return cli.Usagef("segment %s takes one %s", sub, want)
	case sub == "create" && *name == "":
		return cli.Usagef("segment create needs --name")
	case (sub == "export" || sub == "push") && *format == "":
		return cli.Usagef("segment %s needs --format (%s)", sub, strings.Join(audience.Names(), ", "))
	}
	var sid crmlink.SegmentID
	if want == "SEGMENT_ID" {
		n, err := strconv.ParseInt(pos[0], 10, 64)
		if err != nil || n <= 0 {
			return cli.Usagef("segment id %q: want a positive integer", pos[0])
		}
		sid = crmlink.SegmentID(n)
	}
	api, err := tgt.client()
	if err != nil {
		return err
	}
	var s segmentTarget
	if api != nil {
		s = &segmentAPI{api: api, counter: id}
	} else {
		st, err := tgt.open(ctx)
		if err != nil {
			return err
		}
		defer st.Close()
		c, err := st.Counter(ctx, id)
		if err != nil {
			return err
		}
		s = &segmentStore{st: st, c: c, e: e}
	}
	switch sub {
	case "create":
		sg, err := s.create(ctx, *name, pos[0])
		if err != nil {
			return err
		}
		fmt.Fprintln(e.Stdout, sg.ID)
		return nil
	case "list":
		list, err := s.list(ctx)
		if err != nil {
			return err
		}
		if *asJSON {
			return printJSON(e, map[string]any{"segments": list})
		}
		tw := tabwriter.NewWriter(e.Stdout, 0, 4, 2, ' ', 0)
		fmt.Fprintln(tw, "ID\tNAME\tEXPRESSION")
		for _, sg := range list {
			fmt.Fprintf(tw, "%d\t%s\t%s\n", sg.ID, sg.Name, sg.Expression)
		}
		return tw.Flush()
	case "show":
		sg, size, counts, err := s.show(ctx, sid)
		if err != nil {
			return err
		}
		if *asJSON {
			return printJSON(e, map[string]any{"segment": sg, "size": size, "audiences": counts})
		}
		fmt.Fprintf(e.Stdout, "%d  %s\n%s\n\ncustomers %d, visitors %d, ClientIDs %d, emails %d, phones %d\n\n",
			sg.ID, sg.Name, sg.Expression, size.Customers, size.Visitors, size.ClientIDs, size.Emails, size.Phones)
		tw := tabwriter.NewWriter(e.Stdout, 0, 4, 2, ' ', 0)
		fmt.Fprintln(tw, "FORMAT\tROWS\tMEMBERS\tLEFT OUT")
		for _, c := range counts {
			fmt.Fprintf(tw, "%s\t%d\t%d\t%d\n", c.Format, c.Rows, c.Members, c.LeftOut)
		}
		return tw.Flush()
	case "members":
		ms, err := s.members(ctx, sid, max(*offset, 1)-1, *limit)
		if err != nil {
			return err
		}
		if *asJSON {
			return printJSON(e, map[string]any{"members": ms})
		}
		tw := tabwriter.NewWriter(e.Stdout, 0, 4, 2, ' ', 0)
		fmt.Fprintln(tw, "UNIQ_ID\tCLIENT_IDS\tEMAILS (SHA-256)\tPHONES (SHA-256)")
		for _, m := range ms {
			fmt.Fprintf(tw, "%s\t%s\t%s\t%s\n", m.UniqID, strings.Join(m.ClientIDs, ","), strings.Join(m.Emails, ","), strings.Join(m.Phones, ","))
		}
		return tw.Flush()
	case "export":
		w, closeOut, err := openOutput(*out, e)
		if err != nil {
			return err
		}
		sum, err := s.export(ctx, sid, *format, *plain, w)
		if cerr := closeOut(); err == nil {
			err = cerr
		}
		if err != nil {
			return err
		}
		fmt.Fprintln(e.Stderr, sum)
		return nil
	case "push":
		var ev *int
		if *every >= 0 {
			ev = every
		}
		x, err := s.push(ctx, sid, *format, ev)
		if err != nil {
			return err
		}
		fmt.Fprintf(e.Stdout, "pushed to Yandex Audience segment %s: %d rows of %d members, %d left out\n", x.Target, x.Rows, x.Members, x.LeftOut)
		return nil
	}
	return s.delete(ctx, sid)
}

// segmentTarget is where the segment command acts: the store or a server.
type segmentTarget interface {
	create(ctx context.Context, name, expr string) (crmhttp.SegmentJSON, error)
	list(ctx context.Context) ([]crmhttp.SegmentJSON, error)
	show(ctx context.Context, id crmlink.SegmentID) (crmhttp.SegmentJSON, crmlink.SegmentSize, []audience.Count, error)
	members(ctx context.Context, id crmlink.SegmentID, offset, limit int) ([]crmlink.SegmentMember, error)
	// export writes the file to w and returns a line that says what it
	// holds.
	export(ctx context.Context, id crmlink.SegmentID, format string, plain bool, w io.Writer) (string, error)
	push(ctx context.Context, id crmlink.SegmentID, format string, every *int) (crmhttp.SegmentExportJSON, error)
	delete(ctx context.Context, id crmlink.SegmentID) error
}

// segmentStore acts on the store file.
type segmentStore struct {
	st crmlink.Store
	c  *crmlink.Counter
	e  *cli.Env
}

func (s *segmentStore) plan(ctx context.Context, expr string) (*crmlink.SegmentPlan, error) {
	goals, err := s.st.Goals(ctx, s.c.ID)
	if err != nil {
		return nil, err
	}
	return report.ParseSegment(expr, report.SegmentRequest{Counter: s.c, Goals: goals, Now: s.e.Clock.Now()})
}

func (s *segmentStore) create(ctx context.Context, name, expr string) (crmhttp.SegmentJSON, error) {
	sg := &crmlink.Segment{CounterID: s.c.ID, Name: name, Expression: expr}
	if err := sg.Normalize(); err != nil {
		return crmhttp.SegmentJSON{}, err
	}
	if _, err := s.plan(ctx, expr); err != nil {
		return crmhttp.SegmentJSON{}, err
	}
	if err := s.st.CreateSegment(ctx, sg); err != nil {
		return crmhttp.SegmentJSON{}, err
	}
	return crmhttp.NewSegmentJSON(sg), nil
}

func (s *segmentStore) list(ctx context.Context) ([]crmhttp.SegmentJSON, error) {
	list, err := s.st.Segments(ctx, s.c.ID)
	out := []crmhttp.SegmentJSON{}
	for _, sg := range list {
		out = append(out, crmhttp.NewSegmentJSON(sg))
	}
	return out, err
}

func (s *segmentStore) show(ctx context.Context, id crmlink.SegmentID) (crmhttp.SegmentJSON, crmlink.SegmentSize, []audience.Count, error) {
	var size crmlink.SegmentSize
	sg, err := s.st.Segment(ctx, s.c.ID, id)
	if err != nil {
		return crmhttp.SegmentJSON{}, size, nil, err
	}
	p, err := s.plan(ctx, sg.Expression)
	if err != nil {
		return crmhttp.SegmentJSON{}, size, nil, err
	}
	size, err = s.st.SegmentSize(ctx, p)
	return crmhttp.NewSegmentJSON(sg), size, audience.Counts(size), err
}

func (s *segmentStore) members(ctx context.Context, id crmlink.SegmentID, offset, limit int) ([]crmlink.SegmentMember, error) {
	sg, err := s.st.Segment(ctx, s.c.ID, id)
	if err != nil {
		return nil, err
	}
	p, err := s.plan(ctx, sg.Expression)
	if err != nil {
		return nil, err
	}
	return s.st.SegmentMembers(ctx, p, offset, limit)
}

func (s *segmentStore) export(ctx context.Context, id crmlink.SegmentID, format string, plain bool, w io.Writer) (string, error) {
	f := audience.Lookup(format)
	if f == nil {
		return "", cli.Usagef("--format %q: want one of %s", format, strings.Join(audience.Names(), ", "))
	}
	if plain && (!f.Plain || !s.c.KeepPII) {
		return "", crmlink.Errorf(crmlink.KindInvalid, "--plain: %s takes plain values only from a counter that keeps them", f.Title)
	}
	sg, err := s.st.Segment(ctx, s.c.ID, id)
	if err != nil {
		return "", err
	}
	tmp, wr, err := audience.WriteFile(ctx, s.st, s.c, sg, f, plain, s.e.Clock.Now())
	if tmp != nil {
		defer os.Remove(tmp.Name())
		defer tmp.Close()
	}
	if err != nil {
		return "", err
	}
	if _, err := io.Copy(w, tmp); err != nil {
		return "", err
	}
	x := &crmlink.SegmentExport{CounterID: s.c.ID, SegmentID: sg.ID, SegmentName: sg.Name, Kind: "download", Format: f.Name, Who: "crmlink CLI"}
	wr.Count(x)
	if err := s.st.RecordSegmentExport(ctx, x); err != nil {
		return "", err
	}
	reasons, _ := json.Marshal(wr.LeftOut)
	return fmt.Sprintf("%s: %d rows of %d members; left out: %s", f.Name, wr.Rows, wr.Members, reasons), nil
}

func (s *segmentStore) push(ctx context.Context, id crmlink.SegmentID, format string, every *int) (crmhttp.SegmentExportJSON, error) {
	sg, err := s.st.Segment(ctx, s.c.ID, id)
	if err != nil {
		return crmhttp.SegmentExportJSON{}, err
	}
	p := &audience.Pusher{Store: s.st, Clock: s.e.Clock}
	x, err := p.Push(ctx, s.c, sg, format, every, "crmlink CLI")
	if err != nil {
		return crmhttp.SegmentExportJSON{}, err
	}
	return crmhttp.NewSegmentExportJSON(x), nil
}

func (s *segmentStore) delete(ctx context.Context, id crmlink.SegmentID) error {
	return s.st.DeleteSegment(ctx, s.c.ID, id)
}

// segmentAPI acts through a server's API.
type segmentAPI struct {
	api     *cli.APIClient
	counter crmlink.CounterID
}

func (s *segmentAPI) path(rest string) string {
	return fmt.Sprintf("/management/v1/counter/%d/apisegment/%s", s.counter, rest)
}

func (s *segmentAPI) segment(id crmlink.SegmentID, rest string) string {
	return s.path(fmt.Sprintf("segment/%d%s", id, rest))
}

func (s *segmentAPI) create(ctx context.Context, name, expr string) (crmhttp.SegmentJSON, error) {
	var out struct {
		Segment crmhttp.SegmentJSON `json:"segment"`
	}
	in := map[string]any{"segment": map[string]string{"name": name, "expression": expr}}
	err := s.api.Call(ctx, http.MethodPost, s.path("segments"), in, &out)
	return out.Segment, err
}

func (s *segmentAPI) list(ctx context.Context) ([]crmhttp.SegmentJSON, error) {
	var out struct {
		Segments []crmhttp.SegmentJSON `json:"segments"`
	}
	err := s.api.Call(ctx, http.MethodGet, s.path("segments"), nil, &out)
	return out.Segments, err
}

func (s *segmentAPI) show(ctx context.Context, id crmlink.SegmentID) (crmhttp.SegmentJSON, crmlink.SegmentSize, []audience.Count, error) {
	var out struct {
		Segment   crmhttp.SegmentJSON `json:"segment"`
		Size      crmlink.SegmentSize `json:"size"`
		Audiences []audience.Count    `json:"audiences"`
	}
	err := s.api.Call(ctx, http.MethodGet, s.segment(id, "/size"), nil, &out)
	return out.Segment, out.Size, out.Audiences, err
}

func (s *segmentAPI) members(ctx context.Context, id crmlink.SegmentID, offset, limit int) ([]crmlink.SegmentMember, error) {
	var out struct {
		Members []crmlink.SegmentMember `json:"members"`
	}
	q := url.Values{"offset": {strconv.Itoa(offset + 1)}, "limit": {strconv.Itoa(limit)}}
	err := s.api.Call(ctx, http.MethodGet, s.segment(id, "/members?"+q.Encode()), nil, &out)
	return out.Members, err
}

func (s *segmentAPI) export(ctx context.Context, id crmlink.SegmentID, format string, plain bool, w io.Writer) (string, error) {
	q := url.Values{"format": {format}}
	if plain {
		q.Set("plain", "true")
	}
	h, err := s.api.Download(ctx, s.segment(id, "/audience?"+q.Encode()), w)
	if err != nil {
		return "", err
	}
	return fmt.Sprintf("%s: %s rows of %s members; left out: %s", format, h.Get("X-Crmlink-Rows"), h.Get("X-Crmlink-Members"), h.Get("X-Crmlink-Left-Out")), nil
}

func (s *segmentAPI) push(ctx context.Context, id crmlink.SegmentID, format string, every *int) (crmhttp.SegmentExportJSON, error) {
	var out struct {
		Export crmhttp.SegmentExportJSON `json:"export"`
	}
	in := map[string]any{"format": format}
	if every != nil {
		in["every_hours"] = *every
	}
	err := s.api.Call(ctx, http.MethodPost, s.segment(id, "/push"), in, &out)
	return out.Export, err
}

func (s *segmentAPI) delete(ctx context.Context, id crmlink.SegmentID) error {
	return s.api.Call(ctx, http.MethodDelete, s.segment(id, ""), nil, nil)
}

// openOutput opens the file an export writes: "-" is stdout.
func openOutput(name string, e *cli.Env) (io.Writer, func() error, error) {
	if name == "-" {
		return e.Stdout, func() error { return nil }, nil
	}
	f, err := os.Create(name)
	if err != nil {
		return nil, nil, crmlink.Errorf(crmlink.KindInvalid, "--out: %v", err)
	}
	return f, f.Close, nil
}
