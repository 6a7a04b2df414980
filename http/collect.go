package http

import (
	"errors"
	"io"
	"log/slog"
	"net/http"
	"os"
	"strconv"
	"time"

	"github.com/crmlink/crmlink"
	"github.com/crmlink/crmlink/collect"
	"github.com/crmlink/crmlink/web"
)

// statusClientClosed counts, in the metrics, hits whose sender left before
// their answer (nginx's 499).
const statusClientClosed = 499

// gif is a transparent 1x1 GIF, the answer to a GET hit.
var gif = []byte("GIF89a\x01\x00\x01\x00\x80\x00\x00\x00\x00\x00\x00\x00\x00!\xf9\x04\x01\x00\x00\x00\x00,\x00\x00\x00\x00\x01\x00\x01\x00\x00\x02\x02D\x01\x00;")

func (s *Server) collectRoutes() {
	s.mux.HandleFunc("GET /tag.js", s.tag(false))
	s.mux.HandleFunc("GET /tag."+web.TagHash+".js", s.tag(true))
	if s.cfg.Collector == nil {
		return
	}
	s.mux.HandleFunc("GET /collect/{counter}", s.collectHit)
	s.mux.HandleFunc("POST /collect/{counter}", s.collectHit)
	s.mux.HandleFunc("OPTIONS /collect/{counter}", s.collectHit)
}

// tag serves tag.js: at /tag.js for an hour (sites paste that URL, and
// should see a new version soon), at /tag.<hash>.js for a year.
func (s *Server) tag(immutable bool) http.HandlerFunc {
	etag := `"` + web.TagHash + `"`
	return func(w http.ResponseWriter, r *http.Request) {
		h := w.Header()
		h.Set("Content-Type", "text/javascript; charset=utf-8")
		h.Set("ETag", etag)
		h.Set("Cross-Origin-Resource-Policy", "cross-origin")
		h.Set("Access-Control-Allow-Origin", "*")
		if immutable {
			h.Set("Cache-Control", "public, max-age=31536000, immutable")
		} else {
			h.Set("Cache-Control", "public, max-age=3600")
		}
		if r.Header.Get("If-None-Match") == etag {
			w.WriteHeader(http.StatusNotModified)
			return
		}
		w.Write(web.Tag())
	}
}

// collectHit takes one hit from the tag. Any site may send: CORS is open
// and no cookie is read (the ClientID travels in the hit). The answer, 204
// or a GIF, goes out once the hit is stored.
func (s *Server) collectHit(w http.ResponseWriter, r *http.Request) {
	start := time.Now()
	h := w.Header()
	h.Set("Access-Control-Allow-Origin", "*")
	h.Set("Cross-Origin-Resource-Policy", "cross-origin")
	h.Set("Timing-Allow-Origin", "*")
	h.Set("Cache-Control", "no-store")
	code := s.collect(w, r)
	switch code {
	case http.StatusNoContent:
		s.collect204.Inc()
	case http.StatusOK:
		s.collect200.Inc()
	default:
		s.requests.WithLabelValues(collectRoute, strconv.Itoa(code)).Inc()
	}
	s.collectDuration.Observe(time.Since(start).Seconds())
}

// collectRoute labels the tag's requests in the metrics.
const collectRoute = "/collect/{counter}"

func (s *Server) collect(w http.ResponseWriter, r *http.Request) int {
	if r.Method == http.MethodOptions {
		h := w.Header()
		h.Set("Access-Control-Allow-Methods", "GET, POST, OPTIONS")
		h.Set("Access-Control-Allow-Headers", "Content-Type")
		h.Set("Access-Control-Max-Age", "86400")
		w.WriteHeader(http.StatusNoContent)
		return http.StatusNoContent
	}
	fail := func(err error) int {
		sw := &statusWriter{ResponseWriter: w}
		writeError(sw, r, s.cfg.Logger, err)
		return sw.code
	}
	id, err := crmlink.ParseCounterID(r.PathValue("counter"))
	if err != nil {
		return fail(crmlink.Errorf(crmlink.KindNotFound, "no counter %q", r.PathValue("counter")))
	}
	var wire *collect.Wire
	if r.Method == http.MethodGet {
		wire, err = collect.ParseQuery(r.URL.Query())
	} else {
		// A hit's body is small and sent at once: a connection that holds
		// it back is cut at the deadline rather than held open.
		http.NewResponseController(w).SetReadDeadline(time.Now().Add(s.cfg.CollectReadTimeout))
		body, rerr := io.ReadAll(io.LimitReader(r.Body, collect.MaxBody+1))
		switch {
		case errors.Is(rerr, os.ErrDeadlineExceeded):
			err = crmlink.Errorf(crmlink.KindInvalid, "hit: the body did not arrive within %s", s.cfg.CollectReadTimeout)
		case rerr != nil:
			err = crmlink.Errorf(crmlink.KindInvalid, "hit: reading the body: %v", rerr)
		case len(body) > collect.MaxBody:
			err = crmlink.Errorf(crmlink.KindTooLarge, "hit: body larger than %d bytes", collect.MaxBody)
		default:
			wire, err = collect.ParseJSON(body)
		}
	}
	if err != nil {
		return fail(err)
	}
	req := &collect.Request{UserAgent: r.UserAgent(), Header: r.Header, IP: collect.ClientIP(r)}
	if err := s.cfg.Collector.Collect(r.Context(), wire, id, req); err != nil {
		if r.Context().Err() != nil {
			// The visitor left (closed the page or the connection) before
			// the hit's batch committed: no one reads an answer, and the
			// hit may yet be stored. Not the server's failure.
			return statusClientClosed
		}
		if crmlink.KindOf(err) == crmlink.KindInternal {
			s.cfg.Logger.LogAttrs(r.Context(), slog.LevelError, "hit not stored", slog.Any("err", err))
			err = crmlink.Errorf(crmlink.KindUnavailable, "hit not stored; send it again")
		}
		return fail(err)
	}
	if r.Method == http.MethodGet {
		w.Header().Set("Content-Type", "image/gif")
		w.Write(gif)
		return http.StatusOK
	}
	w.WriteHeader(http.StatusNoContent)
	return http.StatusNoContent
}
