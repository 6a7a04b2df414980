package http

import (
	"fmt"
	"io"
	"net/http"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/crmlink/crmlink"
	"github.com/crmlink/crmlink/conversions"
	"github.com/crmlink/crmlink/report"
)

// conversionRoutes: the goal reaches of a period as the offline
// conversion files ad platforms import (package conversions).
func (s *Server) conversionRoutes() {
	s.handle("GET /management/v1/counter/{id}/conversions/export", s.exportConversions)
}

// exportConversions answers GET .../conversions/export?format=&date1=&date2=&goal_id=:
// the file of the goal reaches on those days of the counter (the last 30
// by default), of the goals named (a comma-separated list; none: all).
// The vk file needs pixel=, the VK Ads pixel's id.
// It is written to a temporary file first, so that the answer's headers
// say how many rows it holds and how many conversions it left out
// (X-Crmlink-Rows, X-Crmlink-Skipped: their sessions have no identifier
// the format needs).
func (s *Server) exportConversions(w http.ResponseWriter, r *http.Request) error {
	c, err := s.counterFor(r, crmlink.ScopeWrite)
	if err != nil {
		return err
	}
	p := r.URL.Query()
	f := conversions.Lookup(p.Get("format"))
	if f == nil {
		return crmlink.Errorf(crmlink.KindInvalid, "format: %q: want one of %s", p.Get("format"), strings.Join(conversions.Names(), ", "))
	}
	pixel := p.Get("pixel")
	if f.Pixel && !pixelID(pixel) {
		return crmlink.Errorf(crmlink.KindInvalid, "pixel: %q: the %s file needs the VK Ads pixel's id (digits)", pixel, f.Name)
	}
	loc, err := c.Location()
	if err != nil {
		return err
	}
	now := s.cfg.Clock.Now()
	from, to := now.AddDate(0, 0, -29), now
	for _, b := range []struct {
		name string
		dst  *time.Time
	}{{"date1", &from}, {"date2", &to}} {
		if v := p.Get(b.name); v != "" {
			d, err := report.ParseDate(v, now.In(loc))
			if err != nil {
				return crmlink.Errorf(crmlink.KindInvalid, "%s: %s", b.name, crmlink.MessageOf(err))
			}
			*b.dst = d
		}
	}
	day := func(t time.Time) time.Time {
		t = t.In(loc)
		return time.Date(t.Year(), t.Month(), t.Day(), 0, 0, 0, 0, time.UTC)
	}
	if p.Get("date1") == "" {
		from = day(from)
	}
	if p.Get("date2") == "" {
		to = day(to)
	}
	if to.Before(from) {
		return crmlink.Errorf(crmlink.KindInvalid, "date2 is before date1")
	}
	q := crmlink.ConversionQuery{CounterID: c.ID, From: crmlink.DayStart(from, loc), To: crmlink.DayStart(to.AddDate(0, 0, 1), loc)}
	if v := p.Get("goal_id"); v != "" {
		for _, g := range strings.Split(v, ",") {
			id, err := strconv.ParseInt(strings.TrimSpace(g), 10, 64)
			if err != nil || id <= 0 {
				return crmlink.Errorf(crmlink.KindInvalid, "goal_id: %q: want goal ids, comma-separated", v)
			}
			q.Goals = append(q.Goals, id)
		}
	}
	tmp, err := os.CreateTemp("", "crmlink-conversions-*")
	if err != nil {
		return err
	}
	defer os.Remove(tmp.Name())
	defer tmp.Close()
	cw := conversions.NewWriter(tmp, f, conversions.Options{Location: loc, Currency: c.Currency, Pixel: pixel})
	if err := s.cfg.Store.Conversions(r.Context(), q, cw.Write); err != nil {
		return err
	}
	if err := cw.Close(); err != nil {
		return err
	}
	if _, err := tmp.Seek(0, io.SeekStart); err != nil {
		return err
	}
	h := w.Header()
	h.Set("Content-Type", f.ContentType)
	h.Set("Content-Disposition", fmt.Sprintf(`attachment; filename="conversions-%s-%s-%s.%s"`, f.Name, from.Format("20060102"), to.Format("20060102"), f.Ext))
	h.Set("X-Crmlink-Rows", strconv.Itoa(cw.Rows))
	h.Set("X-Crmlink-Skipped", strconv.Itoa(cw.Skipped))
	w.WriteHeader(http.StatusOK)
	// A failed copy means the client went away.
	_, _ = io.Copy(w, tmp)
	return nil
}

// pixelID tells whether s is an ad pixel's id: 1 to 20 digits.
func pixelID(s string) bool {
	if s == "" || len(s) > 20 {
		return false
	}
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return true
}
