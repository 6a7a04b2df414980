package main

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"time"

	"github.com/crmlink/crmlink"
	"github.com/crmlink/crmlink/crm"
	"github.com/crmlink/crmlink/gen"
	crmhttp "github.com/crmlink/crmlink/http"
	"github.com/crmlink/crmlink/sessionfile"
)

// DemoStoreURL is the demo's own store, recreated at every start unless
// --store names another.
const DemoStoreURL = "duckdb://./crmlink-data/demo.db"

func cmdDemo(ctx context.Context, args []string, e *env) error {
	fs := flags("demo", e)
	storeURL := fs.String("store", DemoStoreURL, "store URL; the default demo store is recreated at each start")
	dataDir := fs.String("data", "./crmlink-data/demo-data", "directory for the generated files")
	var cfg serveConfig
	serveFlags(fs, e, &cfg)
	var g genFlags
	g.register(fs, 200000, 8000, 12000, 90)
	pos, err := parse(fs, args)
	if err != nil {
		return err
	}
	if len(pos) > 0 {
		return usagef("demo takes no arguments, got %q", pos)
	}
	log, err := newLogger(e.stderr, cfg.logLevel)
	if err != nil {
		return err
	}
	if *storeURL == DemoStoreURL {
		for _, suffix := range []string{"", ".wal"} {
			if err := os.Remove("./crmlink-data/demo.db" + suffix); err != nil && !os.IsNotExist(err) {
				return fmt.Errorf("demo: remove the old demo store: %w", err)
			}
		}
	}
	st, err := openStore(ctx, *storeURL, e.clock)
	if err != nil {
		return err
	}
	defer st.Close()
	c, err := loadDemo(ctx, st, &g, *dataDir, e)
	if err != nil {
		return err
	}
	secret, err := createToken(ctx, st, 0, crmlink.ScopeAdmin, "demo")
	if err != nil {
		return err
	}
	password := crmhttp.NewTokenSecret()[4:20]
	if err := createUser(ctx, st, "demo", password, 0, crmlink.ScopeAdmin); err != nil {
		return err
	}
	tuneRuntime(e.getenv) // the demo's data is loaded; from here it is a server
	return serve(ctx, st, cfg, log, e, func(addr string) {
		fmt.Fprintf(e.stdout, "crmlink demo is running at http://%s\n", addr)
		fmt.Fprintf(e.stdout, "sign in: user demo, password %s (or the token)\n", password)
		fmt.Fprintf(e.stdout, "counter: %d (%s)\n", c.ID, c.Site)
		fmt.Fprintf(e.stdout, "token:   %s\n", secret)
		fmt.Fprintf(e.stdout, "try:     curl -H 'Authorization: OAuth %s' http://%s/management/v1/counter/%d\n", secret, addr, c.ID)
		fmt.Fprintf(e.stdout, "the command line talks to this server once these are set:\n")
		fmt.Fprintf(e.stdout, "  export CRMLINK_SERVER=http://%s CRMLINK_TOKEN=%s\n", addr, secret)
		fmt.Fprintf(e.stdout, "  crmlink report --counter %d --preset orders_sources\n", c.ID)
		fmt.Fprintf(e.stdout, "files:   %s (sessions.csv, contacts.csv, orders.csv, simple_orders.csv, truth.csv)\n", *dataDir)
	})
}

// loadDemo generates a data set into dir and loads it into st as a user's
// data would go: a counter, the sessions, then the CRM's files.
func loadDemo(ctx context.Context, st crmlink.Store, g *genFlags, dir string, e *env) (*crmlink.Counter, error) {
	gcfg, err := g.config(dir, e.clock.Now())
	if err != nil {
		return nil, err
	}
	fmt.Fprintf(e.stderr, "demo: generating %s, %s, %s into %s ...\n",
		plural(g.sessions, "session", ""), plural(g.contacts, "contact", ""), plural(g.orders, "order", ""), dir)
	if _, err := gen.Generate(ctx, gcfg); err != nil {
		return nil, err
	}
	c, err := g.createCounter(ctx, st, "Demo shop")
	if err != nil {
		return nil, err
	}
	f, err := os.Open(filepath.Join(dir, "sessions.csv"))
	if err != nil {
		return nil, err
	}
	start := time.Now()
	up, err := importSessions(ctx, st, c.ID, sessionfile.FormatCSV, f, e.clock, "CLI")
	f.Close()
	if err != nil {
		return nil, fmt.Errorf("demo: import sessions: %w", err)
	}
	fmt.Fprintf(e.stderr, "demo: imported %s in %s\n", plural(up.Accepted, "session", ""), time.Since(start).Round(time.Millisecond))
	if err := demoCRM(ctx, st, c, dir, e); err != nil {
		return nil, err
	}
	return c, nil
}

// demoCRM loads the generated CRM files the way a user's would go: the
// status mapping, then contacts, orders and simple orders as CSV uploads.
func demoCRM(ctx context.Context, st crmlink.Store, c *crmlink.Counter, dir string, e *env) error {
	if err := setGeneratedStatuses(ctx, st, c, dir); err != nil {
		return err
	}
	for _, f := range []struct{ file, entity, noun string }{
		{gen.ContactsFile, "contacts", "contact"}, {gen.OrdersFile, "orders", "order"}, {gen.SimpleOrdersFile, "simple_orders", "simple order"},
	} {
		in, err := os.Open(filepath.Join(dir, f.file))
		if err != nil {
			return err
		}
		start := time.Now()
		up := &crmlink.Upload{CounterID: c.ID, Format: "CSV", Source: "CLI", MergeMode: crmlink.MergeSave}
		err = uploadCSV(ctx, st, up, f.entity, in, crm.Options{}, e.clock)
		in.Close()
		if err != nil {
			return fmt.Errorf("demo: upload %s: %w", f.file, err)
		}
		fmt.Fprintf(e.stderr, "demo: uploaded %s in %s\n", plural(up.Accepted, f.noun, ""), time.Since(start).Round(time.Millisecond))
	}
	return nil
}

// setGeneratedStatuses sets the generator's status mapping on a counter.
func setGeneratedStatuses(ctx context.Context, st crmlink.Store, c *crmlink.Counter, dir string) error {
	raw, err := os.ReadFile(filepath.Join(dir, gen.OrderStatusesFile))
	if err != nil {
		return err
	}
	var mapping struct {
		OrderStatuses []crmlink.StatusMapping `json:"order_statuses"`
	}
	if err := json.Unmarshal(raw, &mapping); err != nil {
		return fmt.Errorf("%s: %w", gen.OrderStatusesFile, err)
	}
	return st.SetStatusMappings(ctx, c.ID, mapping.OrderStatuses)
}
