package http

import (
	"encoding/json"
	"net/http"
	"strings"
	"time"

	"github.com/crmlink/crmlink"
	"github.com/crmlink/crmlink/crm"
)

func (s *Server) offlineRoutes() {
	s.handle("POST /management/v1/counter/{id}/offline_conversions/upload", s.uploadOffline)
	s.handle("GET /management/v1/counter/{id}/offline_conversions/uploading/{uid}", s.getOfflineUploading)
}

// offlineJSON is Metrica's offline conversions uploading object, with our
// counts beside it.
type offlineJSON struct {
	ID             json.Number        `json:"id"`
	SourceQuantity int                `json:"source_quantity"`
	LineQuantity   int                `json:"line_quantity"`
	ClientIDType   string             `json:"client_id_type,omitempty"`
	Status         string             `json:"status"`
	CreateTime     string             `json:"create_time"`
	Comment        string             `json:"comment"`
	Rows           int                `json:"rows"`
	Accepted       int                `json:"accepted"`
	Rejected       int                `json:"rejected"`
	Errors         []crmlink.RowError `json:"errors,omitempty"`
}

func offlineOut(up *crmlink.Upload, idType crmlink.IdentityKind, loc *time.Location) offlineJSON {
	status := "PROCESSED"
	if up.Status == crmlink.UploadFailed {
		status = "HANDLE_ERROR"
	}
	return offlineJSON{ID: json.Number(up.ID), LineQuantity: up.Accepted, ClientIDType: strings.ToUpper(string(idType)),
		Status: status, CreateTime: up.Created.In(loc).Format(time.RFC3339), Comment: "",
		Rows: up.Rows, Accepted: up.Accepted, Rejected: up.Rejected, Errors: up.Errors}
}

func (s *Server) uploadOffline(w http.ResponseWriter, r *http.Request) error {
	c, err := s.counterFor(r, crmlink.ScopeWrite)
	if err != nil {
		return err
	}
	loc := counterLoc(c)
	opt := crm.Options{Location: loc, Now: s.cfg.Clock.Now(), SkipInvalid: strings.EqualFold(r.URL.Query().Get("on_error"), "skip")}
	body, err := uploadedFile(r)
	if err != nil {
		return err
	}
	rd, err := crm.NewOfflineCSV(body, opt)
	if err != nil {
		return withType("invalid_uploading", err)
	}
	up := &crmlink.Upload{CounterID: c.ID, Format: "CSV", Source: "API", SkipInvalid: opt.SkipInvalid}
	if err := s.cfg.Store.UploadOfflineConversions(r.Context(), up, rd); err != nil {
		if kind := crmlink.KindOf(err); kind == crmlink.KindInvalid || kind == crmlink.KindTooLarge {
			return &typedError{errorType: "invalid_uploading", uploadingID: up.ID, err: err}
		}
		return err
	}
	return writeJSON(w, http.StatusOK, map[string]any{"uploading": offlineOut(up, rd.IDType(), loc)})
}

func (s *Server) getOfflineUploading(w http.ResponseWriter, r *http.Request) error {
	c, err := s.counterFor(r, crmlink.ScopeRead)
	if err != nil {
		return err
	}
	up, err := s.cfg.Store.Upload(r.Context(), c.ID, r.PathValue("uid"))
	if err != nil {
		return err
	}
	if up.Entity != crmlink.EntityOfflineConversions {
		return crmlink.Errorf(crmlink.KindNotFound, "uploading %s is not an offline conversions upload", up.ID)
	}
	return writeJSON(w, http.StatusOK, map[string]any{"uploading": offlineOut(up, "", counterLoc(c))})
}
