package audience

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"os"
	"time"

	"github.com/crmlink/crmlink"
	"github.com/crmlink/crmlink/report"
)

// PlatformYandex names Yandex Audience among a counter's targets.
const PlatformYandex = "yandex"

// Pusher pushes segments' audience files to Yandex Audience, when asked
// and on each push's schedule, and records every push.
type Pusher struct {
	Store  crmlink.Store
	Clock  crmlink.Clock
	Client *http.Client // nil: a client with a long timeout
	Log    *slog.Logger // nil: no log
}

// Push writes a segment's file in a Yandex format and pushes it: the
// first push makes a segment at Audience, later ones replace its data.
// every, when not nil, sets how often the schedule pushes it again, in
// hours (0: only when asked). The push is recorded, failed or not, once
// the counter's target is known; a platform's refusal is an error of
// kind Upstream.
func (p *Pusher) Push(ctx context.Context, c *crmlink.Counter, sg *crmlink.Segment, format string, every *int, who string) (*crmlink.SegmentExport, error) {
	f := Lookup(format)
	if f == nil || !YandexFormat(format) {
		return nil, crmlink.Errorf(crmlink.KindInvalid, "format: %q: Yandex Audience takes yandex_crm or yandex_clientid", format)
	}
	if every != nil && (*every < 0 || *every > 24*366) {
		return nil, crmlink.Errorf(crmlink.KindInvalid, "every_hours: want 0 (only when asked) to %d", 24*366)
	}
	t, err := p.Store.AudienceTarget(ctx, c.ID, PlatformYandex)
	if crmlink.KindOf(err) == crmlink.KindNotFound {
		return nil, crmlink.Errorf(crmlink.KindConflict, "Yandex Audience is not set up for counter %d: set its OAuth token first", c.ID)
	}
	if err != nil {
		return nil, err
	}
	state := crmlink.SegmentPush{CounterID: c.ID, SegmentID: sg.ID, Format: format}
	pushes, err := p.Store.SegmentPushes(ctx, c.ID)
	if err != nil {
		return nil, err
	}
	for _, x := range pushes {
		if x.SegmentID == sg.ID && x.Format == format {
			state = x
		}
	}
	if every != nil {
		state.EveryHours = *every
	}
	e := &crmlink.SegmentExport{CounterID: c.ID, SegmentID: sg.ID, SegmentName: sg.Name, Kind: "push", Format: format, Who: who}
	pushErr := p.push(ctx, c, sg, f, t, &state, e)
	if pushErr != nil {
		e.Error = crmlink.MessageOf(pushErr)
	}
	state.LastPush = p.Clock.Now()
	if err := p.Store.SetSegmentPush(ctx, &state); err != nil {
		return nil, errors.Join(pushErr, err)
	}
	if err := p.Store.RecordSegmentExport(ctx, e); err != nil {
		return nil, errors.Join(pushErr, err)
	}
	return e, pushErr
}

// push writes the file to a temporary file and sends it.
func (p *Pusher) push(ctx context.Context, c *crmlink.Counter, sg *crmlink.Segment, f *Format, t *crmlink.AudienceTarget,
	state *crmlink.SegmentPush, e *crmlink.SegmentExport) error {
	tmp, w, err := WriteFile(ctx, p.Store, c, sg, f, false, p.Clock.Now())
	if tmp != nil {
		defer os.Remove(tmp.Name())
		defer tmp.Close()
	}
	if w != nil {
		w.Count(e)
	}
	if err != nil {
		return err
	}
	y := &Yandex{BaseURL: t.BaseURL, Token: t.Token, Client: p.Client}
	id, err := y.Push(ctx, f.Name, tmp, state.TargetID, sg.Name, c.ID)
	if err != nil {
		return err
	}
	state.TargetID = id
	e.Target = fmt.Sprint(id)
	return nil
}

// WriteFile writes a segment's file in format f into a temporary file,
// read back from its start: the caller removes it. A file with fewer
// rows than the platform takes is an error of kind Conflict, with the
// writer's counts. now is when the segment's days are counted from.
func WriteFile(ctx context.Context, st crmlink.Store, c *crmlink.Counter, sg *crmlink.Segment, f *Format, plain bool,
	now time.Time) (*os.File, *Writer, error) {
	goals, err := st.Goals(ctx, c.ID)
	if err != nil {
		return nil, nil, err
	}
	plan, err := report.ParseSegment(sg.Expression, report.SegmentRequest{Counter: c, Goals: goals, Now: now})
	if err != nil {
		return nil, nil, err
	}
	tmp, err := os.CreateTemp("", "crmlink-audience-*")
	if err != nil {
		return nil, nil, err
	}
	w := NewWriter(tmp, f, plain)
	if err := st.SegmentAudience(ctx, plan, w.Write); err != nil {
		return tmp, nil, err
	}
	if err := w.Close(); err != nil {
		return tmp, nil, err
	}
	if w.Rows < f.MinRows {
		return tmp, w, crmlink.Errorf(crmlink.KindConflict, "the segment gives %d rows for %s, which takes files of at least %d", w.Rows, f.Title, f.MinRows)
	}
	_, err = tmp.Seek(0, 0)
	return tmp, w, err
}

// PushDue pushes every segment whose schedule says it is due: pushed
// every N hours, and last pushed (or tried) N hours ago or more. Each
// push is recorded; their errors are returned together.
func (p *Pusher) PushDue(ctx context.Context) error {
	pushes, err := p.Store.SegmentPushes(ctx, 0)
	if err != nil {
		return err
	}
	now := p.Clock.Now()
	var errs []error
	for _, x := range pushes {
		if x.EveryHours <= 0 || !x.LastPush.IsZero() && now.Before(x.LastPush.Add(time.Duration(x.EveryHours)*time.Hour)) {
			continue
		}
		c, err := p.Store.Counter(ctx, x.CounterID)
		if err != nil {
			errs = append(errs, err)
			continue
		}
		sg, err := p.Store.Segment(ctx, x.CounterID, x.SegmentID)
		if err != nil {
			errs = append(errs, err)
			continue
		}
		if _, err := p.Push(ctx, c, sg, x.Format, nil, "schedule"); err != nil {
			errs = append(errs, fmt.Errorf("push of segment %d of counter %d: %w", x.SegmentID, x.CounterID, err))
		}
	}
	return errors.Join(errs...)
}

// Run pushes what is due every tick until ctx ends, logging failures.
func (p *Pusher) Run(ctx context.Context, tick time.Duration) {
	t := time.NewTicker(tick)
	defer t.Stop()
	for {
		if err := p.PushDue(ctx); err != nil && p.Log != nil && ctx.Err() == nil {
			p.Log.Warn("scheduled audience push failed", "err", err)
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}
