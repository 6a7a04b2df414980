package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"runtime"
	"runtime/debug"
	"time"

	"github.com/crmlink/crmlink"
	"github.com/crmlink/crmlink/collect"
	crmhttp "github.com/crmlink/crmlink/http"
	"github.com/crmlink/crmlink/traffic"
)

type serveConfig struct {
	addr     string
	maxBody  int64
	logLevel string
	geoip    string
}

func serveFlags(fs interface {
	StringVar(*string, string, string, string)
	Int64Var(*int64, string, int64, string)
}, e *env, c *serveConfig) {
	addr := e.getenv("CRMLINK_ADDR")
	if addr == "" {
		addr = "127.0.0.1:8080"
	}
	fs.StringVar(&c.addr, "addr", addr, "listen address (env CRMLINK_ADDR)")
	fs.Int64Var(&c.maxBody, "max-body", crmhttp.DefaultMaxBodyBytes, "largest request body accepted, in bytes")
	fs.StringVar(&c.geoip, "geoip", e.getenv("CRMLINK_GEOIP"), "a MaxMind-format database (GeoLite2-City.mmdb) to place visitors by address (env CRMLINK_GEOIP)")
	level := e.getenv("CRMLINK_LOG_LEVEL")
	if level == "" {
		level = "info"
	}
	fs.StringVar(&c.logLevel, "log-level", level, "debug, info, warn or error (env CRMLINK_LOG_LEVEL); debug logs each step of an upload")
}

func cmdServe(ctx context.Context, args []string, e *env) error {
	fs := flags("serve", e)
	storeURL := storeFlag(fs, e)
	var cfg serveConfig
	serveFlags(fs, e, &cfg)
	pos, err := parse(fs, args)
	if err != nil {
		return err
	}
	if len(pos) > 0 {
		return usagef("serve takes no arguments, got %q", pos)
	}
	log, err := newLogger(e.stderr, cfg.logLevel)
	if err != nil {
		return err
	}
	tuneRuntime(e.getenv)
	st, err := openStore(ctx, *storeURL, e.clock)
	if err != nil {
		return err
	}
	defer st.Close()
	if l, ok := st.(interface{ SetLogger(*slog.Logger) }); ok {
		l.SetLogger(log)
	}
	return serve(ctx, st, cfg, log, e, nil)
}

// defaultProcs is the runtime's own GOMAXPROCS, taken before tuneRuntime.
var defaultProcs = runtime.GOMAXPROCS(0)

// tuneRuntime sets the Go runtime for a server, except what the
// environment sets. It may run more than once.
func tuneRuntime(getenv func(string) string) {
	// The collector allocates a little per hit, many times a second: a
	// collection at every fourth growth instead of every doubling costs a
	// server a few tens of MiB and gains it a fifth more hits per second
	// (`bench collect`); the soft limit keeps the heap bounded. GOGC and
	// GOMEMLIMIT, when set, win.
	if getenv("GOGC") == "" {
		debug.SetGCPercent(400)
	}
	if getenv("GOMEMLIMIT") == "" {
		debug.SetMemoryLimit(256 << 20)
	}
	// A server's threads block in fdatasync (the hit log) and in DuckDB's
	// C code (the hit applier, uploads, reports), each holding a Go P
	// until the runtime takes it back. One P more than the CPUs keeps the
	// requests going meanwhile: on two cores, 12–19% more hits per second
	// and a p99 a third lower (`bench collect`, run alternately with the
	// default). GOMAXPROCS, when set, wins.
	if getenv("GOMAXPROCS") == "" {
		runtime.GOMAXPROCS(defaultProcs + 1)
	}
}

// serve runs the HTTP server until ctx ends, then shuts down gracefully:
// it stops accepting, lets requests in flight finish (up to 30 s), and
// returns. onListen, if set, runs once the listener is open.
func serve(ctx context.Context, st crmlink.Store, cfg serveConfig, log *slog.Logger, e *env, onListen func(addr string)) error {
	classifier := traffic.New()
	enricher := collect.NewEnricher(classifier.Classify)
	if cfg.geoip != "" {
		geo, err := collect.OpenGeoIP(cfg.geoip)
		if err != nil {
			return err
		}
		defer geo.Close()
		enricher.WithGeoIP(geo)
	}
	col := collect.New(collect.Config{Store: st, Clock: e.clock, Enricher: enricher})
	// Closed last: requests in flight finish first, then the queued hits.
	defer col.Close()
	sweepCtx, stopSweep := context.WithCancel(ctx)
	defer stopSweep()
	go func() {
		// Sessions idle for longer than any counter's timeout live on in
		// the store only.
		t := time.NewTicker(time.Minute)
		defer t.Stop()
		for {
			select {
			case <-sweepCtx.Done():
				return
			case <-t.C:
				col.Forget(4 * time.Hour)
			}
		}
	}()
	h := crmhttp.NewServer(crmhttp.Config{Store: st, Clock: e.clock, Logger: log,
		Classifier: classifier, MaxBodyBytes: cfg.maxBody, Collector: col})
	if err := warmLookups(ctx, st, log); err != nil {
		return err
	}
	ln, err := net.Listen("tcp", cfg.addr)
	if err != nil {
		return crmlink.Errorf(crmlink.KindInvalid, "listen on %s: %v", cfg.addr, err)
	}
	srv := &http.Server{Handler: h, ReadHeaderTimeout: 10 * time.Second, IdleTimeout: 2 * time.Minute,
		ErrorLog: slog.NewLogLogger(log.Handler(), slog.LevelWarn)}
	addr := ln.Addr().String()
	log.Info("listening", "addr", addr)
	if onListen != nil {
		onListen(addr)
	}
	if e.ready != nil {
		e.ready(addr)
	}
	errc := make(chan error, 1)
	go func() { errc <- srv.Serve(ln) }()
	select {
	case err := <-errc:
		return fmt.Errorf("serve: %w", err)
	case <-ctx.Done():
	}
	log.Info("shutting down: finishing requests in flight")
	sctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 30*time.Second)
	defer cancel()
	if err := srv.Shutdown(sctx); err != nil {
		return fmt.Errorf("shutdown: %w", err)
	}
	if err := <-errc; err != nil && !errors.Is(err, http.ErrServerClosed) {
		return err
	}
	log.Info("stopped")
	return nil
}

// warmLookups has the store ready for the collector's first look-up of
// each counter before the server listens: the store builds a counter's
// filter of ClientIDs on the first look-up, and the hits of that visitor,
// and of those queued behind it, would wait for it (0.65 s on a store of
// 3M sessions).
func warmLookups(ctx context.Context, st crmlink.Store, log *slog.Logger) error {
	start := time.Now()
	counters, err := st.Counters(ctx)
	if err != nil {
		return err
	}
	for _, c := range counters {
		if _, err := st.LastSessions(ctx, c.ID, nil); err != nil {
			return err
		}
	}
	log.Debug("look-ups ready", "counters", len(counters), "ms", time.Since(start).Milliseconds())
	return nil
}
