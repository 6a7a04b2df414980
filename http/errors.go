package http

import (
	"encoding/json"
	"errors"
	"log/slog"
	"net/http"
	"strconv"

	"github.com/crmlink/crmlink"
)

// apiError is Metrica's error body.
type apiError struct {
	Errors      []apiErrorItem `json:"errors"`
	Code        int            `json:"code"`
	Message     string         `json:"message"`
	UploadingID string         `json:"uploading_id,omitempty"`
}

type apiErrorItem struct {
	ErrorType string `json:"error_type"`
	Message   string `json:"message"`
	Location  string `json:"location,omitempty"`
}

// typedError lets a handler choose Metrica's error_type for an error whose
// kind alone does not say it (invalid_uploading, missing_parameter, ...).
type typedError struct {
	errorType   string
	uploadingID string
	err         error
}

func (e *typedError) Error() string { return e.err.Error() }
func (e *typedError) Unwrap() error { return e.err }

func withType(errorType string, err error) error {
	return &typedError{errorType: errorType, err: err}
}

// retryAfter is the Retry-After of a 503, in seconds: a full disk or a
// store being opened again takes a while.
const retryAfter = "10"

// statusOf maps an error kind to its HTTP status and default error_type.
func statusOf(kind crmlink.ErrorKind) (int, string) {
	switch kind {
	case crmlink.KindInvalid:
		return http.StatusBadRequest, "invalid_parameter"
	case crmlink.KindNotFound:
		return http.StatusNotFound, "not_found"
	case crmlink.KindConflict:
		return http.StatusConflict, "invalid_parameter"
	case crmlink.KindUnauthorized:
		return http.StatusUnauthorized, "unauthorized"
	case crmlink.KindForbidden:
		return http.StatusForbidden, "access_denied"
	case crmlink.KindTooLarge:
		return http.StatusRequestEntityTooLarge, "invalid_uploading"
	case crmlink.KindUnavailable:
		return http.StatusServiceUnavailable, "backend_error"
	case crmlink.KindUpstream:
		return http.StatusBadGateway, "upstream_error"
	}
	return http.StatusInternalServerError, "backend_error"
}

// writeError answers err in Metrica's shape. Internal errors are logged and
// shown only as "internal error".
func writeError(w http.ResponseWriter, r *http.Request, log *slog.Logger, err error) {
	var mbe *http.MaxBytesError
	if errors.As(err, &mbe) {
		err = crmlink.Errorf(crmlink.KindTooLarge, "request body is larger than the limit of %d bytes", mbe.Limit)
	}
	kind := crmlink.KindOf(err)
	code, errType := statusOf(kind)
	body := apiError{Code: code}
	var te *typedError
	if errors.As(err, &te) {
		errType = te.errorType
		body.UploadingID = te.uploadingID
	}
	var v *crmlink.ValidationError
	switch {
	case kind == crmlink.KindInternal:
		log.ErrorContext(r.Context(), "internal error", "method", r.Method, "path", r.URL.Path, "err", err)
		body.Message = "internal error"
		body.Errors = []apiErrorItem{{ErrorType: errType, Message: body.Message}}
	case errors.As(err, &v):
		body.Message = v.Error()
		for i, e := range v.Errors {
			if i == 100 {
				break
			}
			body.Errors = append(body.Errors, apiErrorItem{ErrorType: errType, Message: e.Error()})
		}
	default:
		body.Message = crmlink.MessageOf(err)
		body.Errors = []apiErrorItem{{ErrorType: errType, Message: body.Message}}
	}
	switch code {
	case http.StatusUnauthorized:
		w.Header().Set("WWW-Authenticate", `OAuth realm="crmlink"`)
	case http.StatusServiceUnavailable:
		w.Header().Set("Retry-After", retryAfter)
	}
	writeJSON(w, code, body)
}

// maxCallJSON caps the JSON body of a management call (a counter, a
// status mapping): small objects, decoded whole, so that a body of any
// size costs at most this much memory. Uploads stream theirs instead.
const maxCallJSON = 1 << 20

// readJSON decodes the JSON body of a management call into v; with
// strict, unknown fields are refused. A body over maxCallJSON answers 413.
func readJSON(w http.ResponseWriter, r *http.Request, v any, strict bool) error {
	return readJSONLimit(w, r, v, strict, maxCallJSON)
}

// maxSchemaJSON caps the body of a declaration of attributes or of a
// product list, which Metrica lets hold 160,000 items.
const maxSchemaJSON = 64 << 20

// readJSONLimit is readJSON with a body of at most limit bytes.
func readJSONLimit(w http.ResponseWriter, r *http.Request, v any, strict bool, limit int64) error {
	dec := json.NewDecoder(http.MaxBytesReader(w, r.Body, limit))
	if strict {
		dec.DisallowUnknownFields()
	}
	if err := dec.Decode(v); err != nil {
		var mbe *http.MaxBytesError
		if errors.As(err, &mbe) {
			return err
		}
		return withType("invalid_json", crmlink.Errorf(crmlink.KindInvalid, "request body: %v", err))
	}
	return nil
}

func writeJSON(w http.ResponseWriter, code int, v any) error {
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.WriteHeader(code)
	enc := json.NewEncoder(w)
	enc.SetEscapeHTML(false)
	// A failed write means the client went away; there is nobody to tell.
	_ = enc.Encode(v)
	return nil
}

// uitoa formats a 64-bit id as a decimal string: JSON numbers lose digits
// past 2^53 in most clients.
func uitoa(n uint64) string { return strconv.FormatUint(n, 10) }
