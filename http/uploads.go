package http

import (
	"net/http"
	"strconv"
	"time"

	"github.com/crmlink/crmlink"
	"github.com/crmlink/crmlink/sessionfile"
)

// uploadingJSON is Metrica's "uploading" object with our counts beside it.
type uploadingJSON struct {
	UploadingID         string             `json:"uploading_id"`
	Datetime            string             `json:"datetime"`
	APIValidationStatus string             `json:"api_validation_status"`
	ElementsCount       int                `json:"elements_count"`
	EntityType          string             `json:"entity_type"`
	UploadingFormat     string             `json:"uploading_format"`
	UploadingSource     string             `json:"uploading_source"`
	Entity              string             `json:"entity"`
	MergeMode           string             `json:"merge_mode,omitempty"`
	Rows                int                `json:"rows"`
	Accepted            int                `json:"accepted"`
	Rejected            int                `json:"rejected"`
	Linked              int                `json:"linked"`
	Unlinked            map[string]int     `json:"unlinked"`
	ErrorsTotal         int                `json:"errors_total"`
	Errors              []crmlink.RowError `json:"errors,omitempty"`
	// Applied is false while an accepted orders upload waits to be
	// applied; linked and unlinked are known once it is true.
	Applied bool `json:"applied"`
}

func uploadingOut(up *crmlink.Upload, loc *time.Location) uploadingJSON {
	unlinked := up.Unlinked
	if unlinked == nil {
		unlinked = map[string]int{}
	}
	return uploadingJSON{
		UploadingID: up.ID, Datetime: up.Created.In(loc).Format("2006-01-02 15:04:05"),
		APIValidationStatus: string(up.Status), ElementsCount: up.Accepted, EntityType: "SYSTEM",
		UploadingFormat: up.Format, UploadingSource: up.Source, Entity: string(up.Entity), MergeMode: string(up.MergeMode),
		Rows: up.Rows, Accepted: up.Accepted, Rejected: up.Rejected, Linked: up.Linked, Unlinked: unlinked,
		ErrorsTotal: up.ErrorsTotal, Errors: up.Errors, Applied: !up.Queued,
	}
}

func counterLoc(c *crmlink.Counter) *time.Location {
	if loc, err := c.Location(); err == nil {
		return loc
	}
	return time.UTC
}

// importSessions is ours: POST .../data/sessions?format=csv|metrica-logs.
func (s *Server) importSessions(w http.ResponseWriter, r *http.Request) error {
	c, err := s.counterFor(r, crmlink.ScopeWrite)
	if err != nil {
		return err
	}
	format, err := sessionfile.ParseFormat(r.URL.Query().Get("format"))
	if err != nil {
		return err
	}
	body, err := uploadedFile(r)
	if err != nil {
		return err
	}
	loc := counterLoc(c)
	up := &crmlink.Upload{CounterID: c.ID, Format: format.UploadFormat(), Source: "API"}
	rd, err := sessionfile.NewReader(body, sessionfile.Options{Format: format, Location: loc, Site: c.Site,
		Classifier: s.cfg.Classifier, Now: s.cfg.Clock.Now()})
	if err != nil {
		return withType("invalid_uploading", err)
	}
	if s.cfg.Collector != nil {
		// The collector attributes the sessions it opens from what it
		// remembers, which the import may change (collect.Importing).
		defer s.cfg.Collector.Importing(c.ID)()
		if err := s.cfg.Store.SyncHits(r.Context()); err != nil {
			return err
		}
	}
	if err := s.cfg.Store.ImportSessions(r.Context(), up, rd); err != nil {
		if crmlink.KindOf(err) == crmlink.KindInvalid {
			return &typedError{errorType: "invalid_uploading", uploadingID: up.ID, err: err}
		}
		return err
	}
	return writeJSON(w, http.StatusOK, map[string]any{"uploading": uploadingOut(up, loc)})
}

func (s *Server) getUploading(w http.ResponseWriter, r *http.Request) error {
	c, err := s.counterFor(r, crmlink.ScopeRead)
	if err != nil {
		return err
	}
	up, err := s.cfg.Store.Upload(r.Context(), c.ID, r.PathValue("uploading_id"))
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, map[string]any{"uploading": uploadingOut(up, counterLoc(c))})
}

// lastUploadings answers Metrica's last_uploadings: newest first, limit
// (default 10, at most 1000) and datetime_offset (uploads before it).
func (s *Server) lastUploadings(w http.ResponseWriter, r *http.Request) error {
	c, err := s.counterFor(r, crmlink.ScopeRead)
	if err != nil {
		return err
	}
	q := r.URL.Query()
	limit := 10
	if v := q.Get("limit"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 || n > 1000 {
			return crmlink.Errorf(crmlink.KindInvalid, "limit %q: want 1 to 1000", v)
		}
		limit = n
	}
	loc := counterLoc(c)
	var before time.Time
	if v := q.Get("datetime_offset"); v != "" {
		t, err := crmlink.ParseDateTime(v, loc)
		if err != nil {
			return crmlink.Errorf(crmlink.KindInvalid, "datetime_offset %q: %v", v, err)
		}
		before = t
	}
	ups, err := s.cfg.Store.Uploads(r.Context(), c.ID, before, limit)
	if err != nil {
		return err
	}
	out := []uploadingJSON{}
	for _, up := range ups {
		out = append(out, uploadingOut(up, loc))
	}
	return writeJSON(w, http.StatusOK, map[string]any{"uploadings": out})
}

// unlinkedOrdersJSON is one order of unlinkedOrders' answer.
type unlinkedOrderJSON struct {
	ID             string `json:"id"`
	ClientUniqID   string `json:"client_uniq_id,omitempty"`
	CreateDateTime string `json:"create_date_time"`
	StatusType     string `json:"order_status_type"`
	Revenue        string `json:"revenue"`
	Currency       string `json:"currency"`
	Reason         string `json:"reason"`
}

// unlinkedOrders is ours: GET .../uploading/{uploading_id}/unlinked_orders
// lists the orders an upload wrote that link to no session, with the
// reason for each (limit: default 100, at most 10,000).
func (s *Server) unlinkedOrders(w http.ResponseWriter, r *http.Request) error {
	c, err := s.counterFor(r, crmlink.ScopeRead)
	if err != nil {
		return err
	}
	limit := 100
	if v := r.URL.Query().Get("limit"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 || n > 10_000 {
			return crmlink.Errorf(crmlink.KindInvalid, "limit %q: want 1 to 10000", v)
		}
		limit = n
	}
	id := r.PathValue("uploading_id")
	if _, err := s.cfg.Store.Upload(r.Context(), c.ID, id); err != nil {
		return err
	}
	list, err := s.cfg.Store.UnlinkedOrders(r.Context(), crmlink.UnlinkedQuery{CounterID: c.ID, UploadID: id, Limit: limit})
	if err != nil {
		return err
	}
	loc := counterLoc(c)
	out := make([]unlinkedOrderJSON, len(list))
	for i, u := range list {
		out[i] = unlinkedOrderJSON{ID: u.OrderID, ClientUniqID: u.UniqID, CreateDateTime: u.Created.In(loc).Format("2006-01-02 15:04:05"),
			StatusType: string(u.StatusType), Revenue: u.Revenue.String(), Currency: u.Currency, Reason: u.Reason}
	}
	return writeJSON(w, http.StatusOK, map[string]any{"orders": out})
}
