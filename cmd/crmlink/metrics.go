package main

import (
	"log/slog"
	"net"
	"net/http"
	"time"

	"github.com/crmlink/crmlink"
	crmhttp "github.com/crmlink/crmlink/http"
)

// serveMetrics serves the server's /metrics on a listener of its own at
// addr (--metrics-addr), so that they can stay on a private address while
// the main one faces the site's visitors; the main listener then answers
// 404 for /metrics (crmhttp.Config.MetricsApart). It returns the function
// that stops it. With no addr it does nothing.
func serveMetrics(addr string, h *crmhttp.Server, log *slog.Logger) (stop func(), err error) {
	if addr == "" {
		return func() {}, nil
	}
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, crmlink.Errorf(crmlink.KindInvalid, "listen on %s (--metrics-addr): %v", addr, err)
	}
	mux := http.NewServeMux()
	mux.Handle("GET /metrics", h.MetricsHandler())
	srv := &http.Server{Handler: mux, ReadHeaderTimeout: 10 * time.Second, IdleTimeout: 2 * time.Minute,
		ErrorLog: slog.NewLogLogger(log.Handler(), slog.LevelWarn)}
	log.Info("metrics listening", "addr", ln.Addr().String())
	go func() { _ = srv.Serve(ln) }()
	return func() { _ = srv.Close() }, nil
}
