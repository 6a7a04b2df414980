package http

import (
	"net/http"
	"time"

	"github.com/crmlink/crmlink"
)

// orderJSON is one order as the inspection endpoint shows it (ours).
type orderJSON struct {
	ID           string             `json:"id"`
	ClientUniqID string             `json:"client_uniq_id,omitempty"`
	Created      string             `json:"create_date_time"`
	Updated      string             `json:"update_date_time"`
	Finished     string             `json:"finish_date_time,omitempty"`
	Status       string             `json:"order_status"`
	StatusType   crmlink.StatusType `json:"status_type"`
	Revenue      string             `json:"revenue"`
	Cost         *string            `json:"cost"`
	Profit       string             `json:"profit"`
	Currency     string             `json:"currency"`
	Products     map[string]string  `json:"products,omitempty"`
	Link         *linkJSON          `json:"link"`
	Versions     []versionJSON      `json:"versions"`
	Goals        []reachJSON        `json:"goals"`
	// Report is what session reports count: frozen once the update window
	// of the order's creation has passed.
	Report reportJSON `json:"report"`
}

type reportJSON struct {
	StatusType crmlink.StatusType `json:"status_type"`
	Revenue    string             `json:"revenue"`
	Profit     string             `json:"profit"`
}

type reachJSON struct {
	GoalID    int64  `json:"goal_id"`
	SessionID string `json:"session_id"`
	Time      string `json:"datetime"`
	Revenue   string `json:"revenue"`
}

type linkJSON struct {
	SessionID    string `json:"session_id"`
	ClientID     string `json:"client_id"`
	Method       string `json:"method"`
	SessionStart string `json:"session_start"`
	ClickID      string `json:"click_id,omitempty"` // ours: the session's ad click id, "gclid=..."
}

type versionJSON struct {
	Version     int                `json:"version"`
	UploadingID string             `json:"uploading_id"`
	Line        int                `json:"line"`
	Accepted    string             `json:"accepted"`
	Status      string             `json:"order_status"`
	StatusType  crmlink.StatusType `json:"status_type"`
	Revenue     string             `json:"revenue"`
	Cost        *string            `json:"cost"`
}

const localLayout = "2006-01-02 15:04:05"

func localTime(t time.Time, loc *time.Location) string {
	if t.IsZero() {
		return ""
	}
	return t.In(loc).Format(localLayout)
}

// getOrder answers GET /cdp/api/v1/counter/{id}/orders/{order_id}: the
// order, its status type, its link and its version history.
func (s *Server) getOrder(w http.ResponseWriter, r *http.Request) error {
	c, err := s.counterFor(r, crmlink.ScopeRead)
	if err != nil {
		return err
	}
	o, versions, err := s.cfg.Store.Order(r.Context(), c.ID, r.PathValue("order_id"))
	if err != nil {
		return err
	}
	loc := counterLoc(c)
	out := orderJSON{ID: o.ID, ClientUniqID: o.UniqID, Created: localTime(o.Created, loc), Updated: localTime(o.Updated, loc),
		Finished: localTime(o.Finished, loc), Status: o.Status, StatusType: o.StatusType, Revenue: o.Revenue.String(),
		Profit: o.Profit().String(), Currency: o.Currency, Versions: []versionJSON{},
		Report: reportJSON{StatusType: o.Report.StatusType, Revenue: o.Report.Revenue.String(), Profit: o.Report.Profit().String()}}
	if o.Cost.Valid {
		v := o.Cost.Decimal.String()
		out.Cost = &v
	}
	if len(o.Products) > 0 {
		out.Products = map[string]string{}
		for _, p := range o.Products {
			out.Products[p.Name] = p.Qty.String()
		}
	}
	l, err := s.cfg.Store.OrderLink(r.Context(), c.ID, o.ID)
	switch {
	case err == nil:
		out.Link = &linkJSON{SessionID: uitoa(l.SessionID), ClientID: uitoa(l.ClientID), Method: l.Method,
			SessionStart: localTime(l.SessionStart, loc), ClickID: l.ClickID}
	case crmlink.KindOf(err) != crmlink.KindNotFound:
		return err
	}
	for _, v := range versions {
		vj := versionJSON{Version: v.Version, UploadingID: v.UploadID, Line: v.Line, Accepted: localTime(v.Accepted, loc),
			Status: v.Status, StatusType: v.StatusType, Revenue: v.Revenue.String()}
		if v.Cost.Valid {
			c := v.Cost.Decimal.String()
			vj.Cost = &c
		}
		out.Versions = append(out.Versions, vj)
	}
	reaches, err := s.cfg.Store.GoalReaches(r.Context(), c.ID, o.ID)
	if err != nil {
		return err
	}
	out.Goals = []reachJSON{}
	for _, g := range reaches {
		out.Goals = append(out.Goals, reachJSON{GoalID: g.GoalID, SessionID: uitoa(g.SessionID), Time: localTime(g.Time, loc),
			Revenue: g.Revenue.String()})
	}
	return writeJSON(w, http.StatusOK, map[string]any{"order": out})
}
