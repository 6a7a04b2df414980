// Package http serves crmlink over HTTP: the Metrica-compatible management,
// upload and report APIs, health and metrics. Errors are mapped to HTTP
// statuses and Metrica's error body in one place (writeError).
package http

import (
	"context"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/hex"
	"log/slog"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/crmlink/crmlink"
	"github.com/crmlink/crmlink/audience"
	"github.com/crmlink/crmlink/collect"
	"github.com/crmlink/crmlink/sessionfile"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"
)

// DefaultMaxBodyBytes caps a request body unless configured otherwise.
const DefaultMaxBodyBytes = 1 << 30

// DefaultCollectReadTimeout is how long a hit's body may take to arrive.
const DefaultCollectReadTimeout = 10 * time.Second

// Config is what a Server needs; cmd/crmlink fills it.
type Config struct {
	Store      crmlink.Store
	Clock      crmlink.Clock
	Logger     *slog.Logger
	Classifier sessionfile.Classifier
	// MaxBodyBytes caps every request body; 0 means DefaultMaxBodyBytes.
	MaxBodyBytes int64
	// MaxJSONRows caps the elements of one JSON upload; 0 means
	// DefaultMaxJSONRows.
	MaxJSONRows int
	// Collector takes the tag's hits; nil serves no /collect.
	Collector *collect.Collector
	// CollectReadTimeout bounds the reading of a hit's body; 0 means
	// DefaultCollectReadTimeout.
	CollectReadTimeout time.Duration
	// MetricsToken, when set, is the token /metrics requires, sent as
	// "Authorization: Bearer <token>".
	MetricsToken string
	// MetricsApart leaves /metrics off the server's routes (it answers 404
	// there): cmd/crmlink serves MetricsHandler on a listener of its own.
	MetricsApart bool
}

// Server is crmlink's HTTP handler.
type Server struct {
	cfg      Config
	mux      *http.ServeMux
	registry *prometheus.Registry
	signins  *signinLimiter
	// cop refuses cross-origin requests that change something, for the
	// dashboard's routes and for API calls made with its cookie.
	cop *http.CrossOriginProtection
	// The tag's metrics, resolved once: every hit counts in them.
	collect204, collect200 prometheus.Counter
	collectDuration        prometheus.Observer
	requests               *prometheus.CounterVec
	duration               *prometheus.HistogramVec
	// pusher pushes segments' audiences to Yandex Audience when asked.
	pusher *audience.Pusher
}

// NewServer builds the routes.
func NewServer(cfg Config) *Server {
	if cfg.MaxBodyBytes <= 0 {
		cfg.MaxBodyBytes = DefaultMaxBodyBytes
	}
	if cfg.MaxJSONRows <= 0 {
		cfg.MaxJSONRows = DefaultMaxJSONRows
	}
	if cfg.CollectReadTimeout <= 0 {
		cfg.CollectReadTimeout = DefaultCollectReadTimeout
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	if cfg.Clock == nil {
		cfg.Clock = crmlink.SystemClock{}
	}
	s := &Server{cfg: cfg, mux: http.NewServeMux(), registry: prometheus.NewRegistry(), signins: newSigninLimiter(cfg.Clock.Now),
		cop: http.NewCrossOriginProtection(), pusher: &audience.Pusher{Store: cfg.Store, Clock: cfg.Clock, Log: cfg.Logger}}
	s.requests = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "crmlink_http_requests_total", Help: "HTTP requests by route and status code.",
	}, []string{"route", "code"})
	s.duration = prometheus.NewHistogramVec(prometheus.HistogramOpts{
		Name: "crmlink_http_request_duration_seconds", Help: "HTTP request latency by route.",
		Buckets: prometheus.ExponentialBuckets(0.0005, 2.5, 12),
	}, []string{"route"})
	s.collect204 = s.requests.WithLabelValues(collectRoute, "204")
	s.collect200 = s.requests.WithLabelValues(collectRoute, "200")
	s.collectDuration = s.duration.WithLabelValues(collectRoute)
	s.registry.MustRegister(s.requests, s.duration,
		collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))

	s.handle("GET /healthz", s.health)
	if !cfg.MetricsApart {
		s.mux.Handle("GET /metrics", s.MetricsHandler())
	}

	s.handle("GET /management/v1/counters", s.listCounters)
	s.handle("POST /management/v1/counters", s.createCounter)
	s.handle("GET /management/v1/counter/{id}", s.getCounter)
	s.handle("GET /management/v1/counter/{id}/goals", s.listGoals)
	s.handle("POST /management/v1/counter/{id}/goals", s.createGoal)
	s.handle("GET /management/v1/counter/{id}/goal/{goalId}", s.getGoal)
	s.handle("PUT /management/v1/counter/{id}/goal/{goalId}", s.updateGoal)
	s.handle("DELETE /management/v1/counter/{id}/goal/{goalId}", s.deleteGoal)

	s.handle("POST /cdp/api/v1/counter/{id}/data/sessions", s.importSessions)
	s.handle("GET /cdp/api/v1/counter/{id}/uploading/{uploading_id}", s.getUploading)
	s.handle("GET /cdp/api/v1/counter/{id}/last_uploadings", s.lastUploadings)
	s.handle("GET /cdp/api/v1/counter/{id}/uploading/{uploading_id}/unlinked_orders", s.unlinkedOrders)
	s.crmRoutes()
	s.handle("GET /cdp/api/v1/counter/{id}/orders/{order_id}", s.getOrder)
	s.offlineRoutes()
	s.manageRoutes()
	s.segmentRoutes()
	s.pushRoutes()
	s.expenseRoutes()
	s.conversionRoutes()
	s.reportRoutes()
	s.collectRoutes()
	s.uiRoutes()

	s.mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		writeError(w, r, s.cfg.Logger, crmlink.Errorf(crmlink.KindNotFound, "no such endpoint: %s %s", r.Method, r.URL.Path))
	})
	return s
}

// Registry is the Prometheus registry /metrics serves, for other parts to
// register their own collectors.
func (s *Server) Registry() *prometheus.Registry { return s.registry }

// MetricsHandler serves the Prometheus metrics, to those with the metrics
// token when one is configured: at /metrics of the server, or, with
// MetricsApart, wherever cmd/crmlink mounts it.
func (s *Server) MetricsHandler() http.Handler {
	h := promhttp.HandlerFor(s.registry, promhttp.HandlerOpts{})
	want := sha256.Sum256([]byte(s.cfg.MetricsToken))
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		// Also on a listener of its own, which ServeHTTP does not answer.
		w.Header().Set("X-Content-Type-Options", "nosniff")
		if s.cfg.MetricsToken == "" {
			h.ServeHTTP(w, r)
			return
		}
		scheme, tok, _ := strings.Cut(strings.TrimSpace(r.Header.Get("Authorization")), " ")
		// Hashes of equal length, compared in constant time: the answer's
		// timing tells nothing of the token, its length included.
		got := sha256.Sum256([]byte(strings.TrimSpace(tok)))
		if !strings.EqualFold(scheme, "Bearer") || subtle.ConstantTimeCompare(got[:], want[:]) != 1 {
			w.Header().Set("WWW-Authenticate", `Bearer realm="crmlink metrics"`)
			msg := "metrics need Authorization: Bearer <metrics token>"
			_ = writeJSON(w, http.StatusUnauthorized, apiError{Code: http.StatusUnauthorized, Message: msg,
				Errors: []apiErrorItem{{ErrorType: "unauthorized", Message: msg}}})
			return
		}
		h.ServeHTTP(w, r)
	})
}

// statusWriter remembers the status code for logs and metrics.
type statusWriter struct {
	http.ResponseWriter
	code int
}

func (w *statusWriter) WriteHeader(code int) {
	if w.code == 0 {
		w.code = code
	}
	w.ResponseWriter.WriteHeader(code)
}

func (w *statusWriter) Write(b []byte) (int, error) {
	if w.code == 0 {
		w.code = http.StatusOK
	}
	return w.ResponseWriter.Write(b)
}

// handle registers a handler that returns an error, wrapped with the body
// limit, logging and metrics.
func (s *Server) handle(pattern string, h func(w http.ResponseWriter, r *http.Request) error) {
	_, route, _ := strings.Cut(pattern, " ")
	s.mux.HandleFunc(pattern, func(w http.ResponseWriter, r *http.Request) {
		start := time.Now()
		sw := &statusWriter{ResponseWriter: w}
		r.Body = http.MaxBytesReader(sw, r.Body, s.cfg.MaxBodyBytes)
		if err := h(sw, r); err != nil {
			writeError(sw, r, s.cfg.Logger, err)
		}
		elapsed := time.Since(start)
		code := sw.code
		if code == 0 {
			code = http.StatusOK
		}
		s.requests.WithLabelValues(route, strconv.Itoa(code)).Inc()
		s.duration.WithLabelValues(route).Observe(elapsed.Seconds())
		s.cfg.Logger.LogAttrs(r.Context(), slog.LevelInfo, "request",
			slog.String("method", r.Method), slog.String("path", r.URL.Path), slog.Int("status", code),
			slog.Duration("duration", elapsed))
	})
}

// ServeHTTP implements http.Handler. Every answer, JSON, CSV, pages and
// files alike, tells browsers not to guess its type: a report cell or an
// upload's error message that looks like HTML stays text.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("X-Content-Type-Options", "nosniff")
	s.mux.ServeHTTP(w, r)
}

// healthTimeout bounds the store's probe: a store that takes longer to
// write a row is not serving.
const healthTimeout = 5 * time.Second

// health answers /healthz: {"status":"ok"} when the store passes its probe
// (a real write and read, crmlink.Store.Check), else 503 with the reason
// a user may see, such as a full disk or a store being opened again.
func (s *Server) health(w http.ResponseWriter, r *http.Request) error {
	ctx, cancel := context.WithTimeout(r.Context(), healthTimeout)
	defer cancel()
	if err := s.cfg.Store.Check(ctx); err != nil {
		reason := "the store failed its probe (see the server's log)"
		switch {
		case crmlink.KindOf(err) != crmlink.KindInternal:
			reason = crmlink.MessageOf(err)
		case ctx.Err() != nil && r.Context().Err() == nil:
			reason = "the store did not answer its probe within " + healthTimeout.String()
		}
		s.cfg.Logger.WarnContext(r.Context(), "health check failed", "err", err)
		w.Header().Set("Retry-After", retryAfter)
		return writeJSON(w, http.StatusServiceUnavailable, map[string]string{"status": "unavailable", "reason": reason})
	}
	return writeJSON(w, http.StatusOK, map[string]string{"status": "ok"})
}

// HashToken returns the stored form of a token: hex SHA-256.
func HashToken(secret string) string {
	sum := sha256.Sum256([]byte(secret))
	return hex.EncodeToString(sum[:])
}

// tokenOf finds the token a request carries: "Authorization: OAuth <t>",
// "Bearer <t>", the bare token, or the oauth_token query parameter.
func tokenOf(r *http.Request) string {
	if h := strings.TrimSpace(r.Header.Get("Authorization")); h != "" {
		for _, p := range []string{"OAuth ", "Bearer ", "oauth ", "bearer ", "OAUTH ", "BEARER "} {
			if v, ok := strings.CutPrefix(h, p); ok {
				return strings.TrimSpace(v)
			}
		}
		return h
	}
	return r.URL.Query().Get("oauth_token")
}

// token returns the live token the request carries, or the one a
// signed-in dashboard browser acts with.
func (s *Server) token(r *http.Request) (*crmlink.Token, error) {
	secret := tokenOf(r)
	if secret == "" {
		if c, err := r.Cookie(sessionCookie); err == nil && c.Value != "" {
			return s.sessionToken(r, c.Value)
		}
		return nil, crmlink.Errorf(crmlink.KindUnauthorized, "missing token: send Authorization: OAuth <token>")
	}
	return s.cfg.Store.TokenByHash(r.Context(), HashToken(secret))
}

// authorize checks that the request's token may act on counter id (0: no
// particular counter) with the given scope.
func (s *Server) authorize(r *http.Request, id crmlink.CounterID, need crmlink.Scope) (*crmlink.Token, error) {
	tok, err := s.token(r)
	if err != nil {
		return nil, err
	}
	if !tok.Allows(id, need) {
		if tok.Scope < need {
			return nil, crmlink.Errorf(crmlink.KindForbidden, "this token's scope is %s; this needs %s", tok.Scope, need)
		}
		return nil, crmlink.Errorf(crmlink.KindForbidden, "this token has no access to counter %d", id)
	}
	return tok, nil
}

// counterFor parses the {id} path value, authorises the request for it and
// returns the counter.
func (s *Server) counterFor(r *http.Request, need crmlink.Scope) (*crmlink.Counter, error) {
	id, err := crmlink.ParseCounterID(r.PathValue("id"))
	if err != nil {
		return nil, err
	}
	if _, err := s.authorize(r, id, need); err != nil {
		return nil, err
	}
	return s.cfg.Store.Counter(r.Context(), id)
}

// NewTokenSecret returns a fresh random token: 32 bytes from crypto/rand,
// base64url-encoded with a "crm_" prefix so that secret scanners can spot
// a leaked one.
func NewTokenSecret() string { return "crm_" + randomSecret() }
