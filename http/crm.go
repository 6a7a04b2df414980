package http

import (
	"bufio"
	"bytes"
	"errors"
	"io"
	"mime"
	"mime/multipart"
	"net/http"
	"slices"
	"strings"

	"github.com/crmlink/crmlink"
	"github.com/crmlink/crmlink/crm"
)

// DefaultMaxJSONRows caps the elements of one JSON upload request; larger
// sets go as CSV or in several requests.
const DefaultMaxJSONRows = 100_000

func (s *Server) crmRoutes() {
	for _, entity := range []string{"contacts", "orders"} {
		entity := entity
		s.handle("POST /cdp/api/v1/counter/{id}/data/"+entity+"/csv", func(w http.ResponseWriter, r *http.Request) error {
			return s.upload(w, r, entity, "CSV")
		})
		s.handle("POST /cdp/api/v1/counter/{id}/data/"+entity+"/json", func(w http.ResponseWriter, r *http.Request) error {
			return s.upload(w, r, entity, "JSON")
		})
		// The older path: JSON by Content-Type, CSV otherwise.
		s.handle("POST /cdp/api/v1/counter/{id}/data/"+entity, func(w http.ResponseWriter, r *http.Request) error {
			format := "CSV"
			if mt, _, _ := mime.ParseMediaType(r.Header.Get("Content-Type")); mt == "application/json" {
				format = "JSON"
			}
			return s.upload(w, r, entity, format)
		})
	}
	s.handle("POST /cdp/api/v1/counter/{id}/data/simple_orders", func(w http.ResponseWriter, r *http.Request) error {
		return s.upload(w, r, "simple_orders", "CSV")
	})
	s.handle("GET /cdp/api/v1/counter/{id}/schema/order_statuses", s.getOrderStatuses)
	s.handle("POST /cdp/api/v1/counter/{id}/schema/order_statuses", s.setOrderStatuses)
	s.handle("GET /cdp/api/v1/counter/{id}/schema/attributes", s.getSchemaAttributes)
	s.handle("POST /cdp/api/v1/counter/{id}/schema/attributes", s.setSchemaAttributes)
	s.handle("GET /cdp/api/v1/counter/{id}/schema/products", s.getProducts)
	s.handle("POST /cdp/api/v1/counter/{id}/schema/products", s.setProducts)
}

// schemaEntity reads entity_type, one of crmlink.SchemaEntities.
func schemaEntity(r *http.Request) (string, error) {
	e := strings.ToUpper(r.URL.Query().Get("entity_type"))
	if !slices.Contains(crmlink.SchemaEntities, e) {
		return "", crmlink.Errorf(crmlink.KindInvalid, "entity_type: %q: want CONTACT, COMPANY, ORDER or SIMPLE_ORDER", r.URL.Query().Get("entity_type"))
	}
	return e, nil
}

// getSchemaAttributes answers the attributes declared for entity_type
// (ours: Metrica has no such call).
func (s *Server) getSchemaAttributes(w http.ResponseWriter, r *http.Request) error {
	c, err := s.counterFor(r, crmlink.ScopeRead)
	if err != nil {
		return err
	}
	e, err := schemaEntity(r)
	if err != nil {
		return err
	}
	attrs, err := s.cfg.Store.SchemaAttributes(r.Context(), c.ID, e)
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, map[string]any{"attributes": attrs})
}

// setSchemaAttributes answers Metrica's POST schema/attributes: the
// attributes of entity_type declared, replacing those of the same names.
func (s *Server) setSchemaAttributes(w http.ResponseWriter, r *http.Request) error {
	c, err := s.counterFor(r, crmlink.ScopeWrite)
	if err != nil {
		return err
	}
	e, err := schemaEntity(r)
	if err != nil {
		return err
	}
	var in struct {
		Attributes []crmlink.SchemaAttribute `json:"attributes"`
	}
	if err := readJSONLimit(w, r, &in, false, maxSchemaJSON); err != nil {
		return err
	}
	if err := crmlink.ValidateSchemaAttributes(in.Attributes); err != nil {
		return err
	}
	if err := s.cfg.Store.SaveSchemaAttributes(r.Context(), c.ID, e, in.Attributes); err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, map[string]any{"success": true})
}

// getProducts answers the product list and its items' attributes (ours).
func (s *Server) getProducts(w http.ResponseWriter, r *http.Request) error {
	c, err := s.counterFor(r, crmlink.ScopeRead)
	if err != nil {
		return err
	}
	attrs, err := s.cfg.Store.SchemaAttributes(r.Context(), c.ID, crmlink.SchemaProduct)
	if err != nil {
		return err
	}
	items, err := s.cfg.Store.Products(r.Context(), c.ID)
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, map[string]any{"attributes": attrs, "items": items})
}

// setProducts answers Metrica's POST schema/products: items added to the
// product list, and attributes declared for them, replacing those of the
// same names.
func (s *Server) setProducts(w http.ResponseWriter, r *http.Request) error {
	c, err := s.counterFor(r, crmlink.ScopeWrite)
	if err != nil {
		return err
	}
	var in struct {
		Attributes []crmlink.SchemaAttribute `json:"attributes"`
		Items      []crmlink.ProductItem     `json:"items"`
	}
	if err := readJSONLimit(w, r, &in, false, maxSchemaJSON); err != nil {
		return err
	}
	if err := crmlink.ValidateSchemaAttributes(in.Attributes); err != nil {
		return err
	}
	if err := crmlink.ValidateProductItems(in.Items); err != nil {
		return err
	}
	if err := s.cfg.Store.SaveSchemaAttributes(r.Context(), c.ID, crmlink.SchemaProduct, in.Attributes); err != nil {
		return err
	}
	if err := s.cfg.Store.SaveProducts(r.Context(), c.ID, in.Items); err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, map[string]any{"success": true})
}

// uploadOptions reads the query parameters every upload takes; others
// (type=BASIC, comment=..., client_id_type=...) are ignored, as clients
// send them.
func uploadOptions(r *http.Request, c *crmlink.Counter, now func() crm.Options) (crm.Options, crmlink.MergeMode, bool, error) {
	q := r.URL.Query()
	opt := now()
	mode, err := crmlink.ParseMergeMode(q.Get("merge_mode"))
	if err != nil {
		return opt, "", false, err
	}
	switch strings.ToUpper(q.Get("delimiter_type")) {
	case "", "COMMA":
		opt.Delimiter = ','
	case "SEMICOLON":
		opt.Delimiter = ';'
	case "TAB", "TABULATION":
		opt.Delimiter = '\t'
	default:
		return opt, "", false, crmlink.Errorf(crmlink.KindInvalid, "invalid delimiter_type %q: want COMMA or SEMICOLON", q.Get("delimiter_type"))
	}
	if m := q.Get("columns_mapping"); m != "" {
		if opt.ColumnsMapping, err = crm.ParseColumnsMapping(m); err != nil {
			return opt, "", false, err
		}
	}
	skip := false
	switch strings.ToLower(q.Get("on_error")) {
	case "", "fail":
	case "skip":
		skip = true
	default:
		return opt, "", false, crmlink.Errorf(crmlink.KindInvalid, "invalid on_error %q: want fail or skip", q.Get("on_error"))
	}
	opt.SkipInvalid = skip
	return opt, mode, skip, nil
}

func (s *Server) upload(w http.ResponseWriter, r *http.Request, entity, format string) error {
	c, err := s.counterFor(r, crmlink.ScopeWrite)
	if err != nil {
		return err
	}
	loc := counterLoc(c)
	opt, mode, skip, err := uploadOptions(r, c, func() crm.Options {
		return crm.Options{Location: loc, Now: s.cfg.Clock.Now()}
	})
	if err != nil {
		return err
	}
	if entity != "contacts" {
		opt.Partial = mode == crmlink.MergeUpdate || mode == crmlink.MergeAppend
		statuses, err := s.statusResolver(r, c.ID)
		if err != nil {
			return err
		}
		opt.Statuses = statuses
	}
	var body io.Reader
	if format == "JSON" {
		body = rawBody{r.Body}
		opt.MaxRows = s.cfg.MaxJSONRows
	} else if body, err = uploadedFile(r); err != nil {
		return err
	}
	up := &crmlink.Upload{CounterID: c.ID, Format: format, Source: "API", MergeMode: mode, SkipInvalid: skip}
	ctx := r.Context()
	switch entity {
	case "contacts":
		var rd *crm.ContactReader
		if format == "JSON" {
			rd, err = crm.NewContactJSON(body, opt)
		} else {
			rd, err = crm.NewContactCSV(body, opt)
		}
		if err == nil {
			err = s.cfg.Store.UploadContacts(ctx, up, rd)
		}
	default:
		var rd *crm.OrderReader
		switch {
		case entity == "simple_orders":
			up.Entity = crmlink.EntitySimpleOrders
			rd, err = crm.NewSimpleOrderCSV(body, opt)
		case format == "JSON":
			rd, err = crm.NewOrderJSON(body, opt)
		default:
			rd, err = crm.NewOrderCSV(body, opt)
		}
		if err == nil {
			// Answered once validated and durably queued; the orders are
			// applied in the background, seconds later (SPEC.md §3: reports
			// show CRM data once processed). Up.Queued says so.
			err = s.cfg.Store.AcceptOrders(ctx, up, rd)
		}
	}
	if err != nil {
		if kind := crmlink.KindOf(err); kind == crmlink.KindInvalid || kind == crmlink.KindTooLarge {
			te := &typedError{errorType: "invalid_uploading", uploadingID: up.ID, err: err}
			if strings.Contains(err.Error(), "JSON") && format == "JSON" {
				te.errorType = "invalid_json"
			}
			return te
		}
		return err
	}
	return writeJSON(w, http.StatusOK, map[string]any{"uploading": uploadingOut(up, loc)})
}

// uploadedFile returns the file of an upload: the multipart part "file"
// (or the only file part), or the raw body. Some clients send a multipart
// body under a stray "Content-Type: text/csv" header; a body that starts
// with a multipart boundary is read as multipart whatever the header says.
func uploadedFile(r *http.Request) (io.Reader, error) {
	mt, _, _ := mime.ParseMediaType(r.Header.Get("Content-Type"))
	if strings.HasPrefix(mt, "multipart/") {
		mr, err := r.MultipartReader()
		if err != nil {
			return nil, withType("invalid_uploading", crmlink.Errorf(crmlink.KindInvalid, "multipart body: %v", err))
		}
		return firstFilePart(mr)
	}
	br := bufio.NewReaderSize(rawBody{r.Body}, 64<<10)
	head, _ := br.Peek(4096)
	if boundary, ok := sniffBoundary(head); ok {
		part, err := firstFilePart(multipart.NewReader(br, boundary))
		if err != nil {
			return nil, err
		}
		return part, nil
	}
	return br, nil
}

// sniffBoundary recognises a multipart body: a first line "--boundary"
// followed by part headers.
func sniffBoundary(head []byte) (string, bool) {
	if !bytes.HasPrefix(head, []byte("--")) {
		return "", false
	}
	line, rest, ok := bytes.Cut(head, []byte("\n"))
	if !ok {
		return "", false
	}
	boundary := strings.TrimSpace(string(line[2:]))
	if boundary == "" || len(boundary) > 70 {
		return "", false
	}
	if !bytes.Contains(bytes.ToLower(rest), []byte("content-disposition:")) {
		return "", false
	}
	return boundary, true
}

func firstFilePart(mr *multipart.Reader) (io.Reader, error) {
	for {
		p, err := mr.NextPart()
		if err == io.EOF {
			return nil, withType("missing_parameter", crmlink.Errorf(crmlink.KindInvalid, "no part named \"file\" in the multipart body"))
		}
		if err != nil {
			return nil, multipartError(err)
		}
		if p.FormName() == "file" || p.FileName() != "" {
			return &filePart{mr: mr, p: p}, nil
		}
	}
}

// filePart reads the file of a multipart upload. Past its end it reads the
// rest of the body, which must hold no other file: we read only one, and
// would drop a second without a word. A second file, and a body that ends
// before its closing boundary, fail the read with a *crmlink.Error of
// KindInvalid, which the readers pass on: the upload fails with a 400 and
// stores nothing, as for a bad row.
type filePart struct {
	mr  *multipart.Reader
	p   *multipart.Part
	err error
}

func (f *filePart) Read(b []byte) (int, error) {
	if f.err != nil {
		return 0, f.err
	}
	n, err := f.p.Read(b)
	if err == io.EOF {
		err = f.rest()
	}
	if err != nil {
		f.err = multipartError(err)
	}
	return n, f.err
}

// rest reads the parts after the file: form fields are skipped.
func (f *filePart) rest() error {
	for {
		p, err := f.mr.NextPart()
		if err != nil {
			return err
		}
		if p.FormName() == "file" || p.FileName() != "" {
			return crmlink.Errorf(crmlink.KindInvalid, "the multipart body has a second file (part %q, file name %q): send one file per request",
				p.FormName(), p.FileName())
		}
	}
}

// multipartError is what the user sees of an error reading a multipart
// body: a body over the limit stays *http.MaxBytesError (413); the rest
// are the body's fault (400).
func multipartError(err error) error {
	var mbe *http.MaxBytesError
	var ce *crmlink.Error
	switch {
	case err == io.EOF || errors.As(err, &mbe) || errors.As(err, &ce):
		return err
	case errors.Is(err, io.ErrUnexpectedEOF):
		return crmlink.Errorf(crmlink.KindInvalid, "the multipart body ends before its closing boundary: the upload was cut off")
	}
	return crmlink.Errorf(crmlink.KindInvalid, "multipart body: %v", err)
}

// rawBody is a request body read as the file itself: one that ends before
// its declared length was cut off, which is the sender's fault (400), not
// ours.
type rawBody struct{ r io.Reader }

func (b rawBody) Read(p []byte) (int, error) {
	n, err := b.r.Read(p)
	if err != nil && errors.Is(err, io.ErrUnexpectedEOF) {
		err = crmlink.Errorf(crmlink.KindInvalid, "the request body ends before its declared length: the upload was cut off")
	}
	return n, err
}

// statusResolver maps statuses through the counter's mapping, then accepts
// the type names themselves (SPEC.md §2).
func (s *Server) statusResolver(r *http.Request, id crmlink.CounterID) (crmlink.StatusResolver, error) {
	ms, err := s.cfg.Store.StatusMappings(r.Context(), id)
	if err != nil {
		return nil, err
	}
	return crmlink.NewStatusResolver(ms), nil
}

func (s *Server) getOrderStatuses(w http.ResponseWriter, r *http.Request) error {
	c, err := s.counterFor(r, crmlink.ScopeRead)
	if err != nil {
		return err
	}
	ms, err := s.cfg.Store.StatusMappings(r.Context(), c.ID)
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, map[string]any{"order_statuses": ms})
}

func (s *Server) setOrderStatuses(w http.ResponseWriter, r *http.Request) error {
	c, err := s.counterFor(r, crmlink.ScopeWrite)
	if err != nil {
		return err
	}
	var in struct {
		OrderStatuses []crmlink.StatusMapping `json:"order_statuses"`
	}
	if err := readJSON(w, r, &in, false); err != nil {
		return err
	}
	if err := crmlink.ValidateStatusMappings(in.OrderStatuses); err != nil {
		return err
	}
	if err := s.cfg.Store.SetStatusMappings(r.Context(), c.ID, in.OrderStatuses); err != nil {
		return err
	}
	ms, err := s.cfg.Store.StatusMappings(r.Context(), c.ID)
	if err != nil {
		return err
	}
	// Metrica's schema calls answer {"success": true}, which CRM clients
	// check; the mapping as stored comes with it.
	return writeJSON(w, http.StatusOK, map[string]any{"success": true, "order_statuses": ms})
}
