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
	"sync"
	"time"

	"github.com/crmlink/crmlink"
	"github.com/crmlink/crmlink/audience"
	"github.com/crmlink/crmlink/collect"
	crmhttp "github.com/crmlink/crmlink/http"
	"github.com/crmlink/crmlink/internal/cli"
	"github.com/crmlink/crmlink/traffic"
)

type serveConfig struct {
	addr     string
	maxBody  int64
	logLevel string
	geoip    string
	// metricsAddr and metricsToken limit /metrics (serveMetrics).
	metricsAddr, metricsToken string
}

func serveFlags(fs interface {
	StringVar(*string, string, string, string)
	Int64Var(*int64, string, int64, string)
}, e *cli.Env, c *serveConfig) {
	addr := e.Getenv("CRMLINK_ADDR")
	if addr == "" {
		addr = "127.0.0.1:8080"
	}
	fs.StringVar(&c.addr, "addr", addr, "listen address (env CRMLINK_ADDR)")
	fs.Int64Var(&c.maxBody, "max-body", crmhttp.DefaultMaxBodyBytes, "largest request body accepted, in bytes")
	fs.StringVar(&c.geoip, "geoip", e.Getenv("CRMLINK_GEOIP"), "a MaxMind-format database (GeoLite2-City.mmdb) to place visitors by address (env CRMLINK_GEOIP)")
	fs.StringVar(&c.metricsAddr, "metrics-addr", e.Getenv("CRMLINK_METRICS_ADDR"), "serve /metrics only on this address, such as 127.0.0.1:9090 (env CRMLINK_METRICS_ADDR)")
	fs.StringVar(&c.metricsToken, "metrics-token", e.Getenv("CRMLINK_METRICS_TOKEN"), "/metrics requires Authorization: Bearer with this token (env CRMLINK_METRICS_TOKEN, which keeps it out of ps)")
	level := e.Getenv("CRMLINK_LOG_LEVEL")
	if level == "" {
		level = "info"
	}
	fs.StringVar(&c.logLevel, "log-level", level, "debug, info, warn or error (env CRMLINK_LOG_LEVEL); debug logs each step of an upload")
}

func cmdServe(ctx context.Context, args []string, e *cli.Env) error {
	fs := flags("serve", e)
	storeURL := storeFlag(fs, e)
	var cfg serveConfig
	serveFlags(fs, e, &cfg)
	pos, err := cli.Parse(fs, args)
	if err != nil {
		return err
	}
	if len(pos) > 0 {
		return cli.Usagef("serve takes no arguments, got %q", pos)
	}
	log, err := newLogger(e.Stderr, cfg.logLevel)
	if err != nil {
		return err
	}
	tuneRuntime(e.Getenv)
	st, err := openServing(ctx, *storeURL, e.Clock, log)
	if err != nil {
		return err
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
	// (`crmlink-bench collect`); the soft limit keeps the heap bounded.
	// GOGC and GOMEMLIMIT, when set, win.
	if getenv("GOGC") == "" {
		debug.SetGCPercent(400)
	}
	if getenv("GOMEMLIMIT") == "" {
		debug.SetMemoryLimit(256 << 20)
	}
	// A server's threads block in fsync (the hit log) and in DuckDB's
	// C code (the hit applier, uploads, reports), each holding a Go P
	// until the runtime takes it back. One P more than the CPUs keeps the
	// requests going meanwhile: on two cores, 12–19% more hits per second
	// and a p99 a third lower (`crmlink-bench collect`, run alternately
	// with the default). GOMAXPROCS, when set, wins.
	if getenv("GOMAXPROCS") == "" {
		runtime.GOMAXPROCS(defaultProcs + 1)
	}
}

// stopDeadline bounds a graceful stop (SIGTERM): requests in flight get
// all of it but the last stopReserve, which closes the collector (its
// queued hits are written) and the store.
const (
	stopDeadline = 30 * time.Second
	stopReserve  = 5 * time.Second
)

// serve runs the HTTP server on st until ctx ends, then stops gracefully:
// it stops accepting, lets requests in flight finish (until the stop
// deadline, after which their connections are closed), writes the hits
// still queued, closes st and logs "stopped". It owns st: st is closed
// when serve returns. It listens before anything else that takes time
// (the store's look-ups are made ready in the background), so that the
// tag's hits are taken from the first moment. onListen, if set, runs once
// the listener is open.
func serve(ctx context.Context, st crmlink.Store, cfg serveConfig, log *slog.Logger, e *cli.Env, onListen func(addr string)) error {
	// On an early return; a stop closes it in its order, below.
	defer st.Close()
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
	col := collect.New(collect.Config{Store: st, Clock: e.Clock, Enricher: enricher})
	defer col.Close()
	h := crmhttp.NewServer(crmhttp.Config{Store: st, Clock: e.Clock, Logger: log,
		Classifier: classifier, MaxBodyBytes: cfg.maxBody, Collector: col,
		MetricsToken: cfg.metricsToken, MetricsApart: cfg.metricsAddr != ""})
	stopMetrics, err := serveMetrics(cfg.metricsAddr, h, log)
	if err != nil {
		return err
	}
	defer stopMetrics()
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
	if e.Ready != nil {
		e.Ready(addr)
	}
	errc := make(chan error, 1)
	go func() { errc <- srv.Serve(ln) }()

	bgCtx, stopBackground := context.WithCancel(ctx)
	var bg sync.WaitGroup
	bg.Go(func() {
		if err := warmLookups(bgCtx, st, log); err != nil && bgCtx.Err() == nil {
			log.Warn("look-ups not made ready: the first new visitors wait for them", "err", err)
		}
	})
	bg.Go(func() {
		// Sessions idle for longer than any counter's timeout live on in
		// the store only.
		t := time.NewTicker(time.Minute)
		defer t.Stop()
		for {
			select {
			case <-bgCtx.Done():
				return
			case <-t.C:
				col.Forget(4 * time.Hour)
			}
		}
	})
	bg.Go(func() {
		// Segments pushed to Yandex Audience on a schedule.
		p := &audience.Pusher{Store: st, Clock: e.Clock, Log: log}
		p.Run(bgCtx, time.Minute)
	})
	defer func() {
		stopBackground()
		bg.Wait()
	}()

	var serveErr error
	select {
	case serveErr = <-errc:
		serveErr = fmt.Errorf("serve: %w", serveErr)
	case <-ctx.Done():
	}
	stopAt := time.Now().Add(stopDeadline)
	log.Info("shutting down: finishing requests in flight", "deadline", stopDeadline.String())
	sctx, cancel := context.WithDeadline(context.WithoutCancel(ctx), stopAt.Add(-stopReserve))
	defer cancel()
	if err := srv.Shutdown(sctx); err != nil {
		// Past the deadline: the requests still running are cut (an
		// upload cut short stores nothing), so that the stop keeps it.
		log.Warn("requests still running at the stop deadline were cut", "err", err)
		srv.Close()
	}
	if serveErr == nil {
		if err := <-errc; err != nil && !errors.Is(err, http.ErrServerClosed) {
			serveErr = err
		}
	}
	stopMetrics()
	stopBackground()
	bg.Wait()
	// The collector writes the hits it queued, then the store applies
	// them and closes.
	col.Close()
	if err := st.Close(); err != nil {
		return errors.Join(serveErr, err)
	}
	if time.Now().After(stopAt) {
		log.Warn("stopped after the stop deadline", "over", time.Since(stopAt).Round(time.Millisecond).String())
	}
	log.Info("stopped")
	return serveErr
}

// warmLookups has the store ready for the collector's first look-up of
// each counter, once the server listens: the store builds a counter's
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
