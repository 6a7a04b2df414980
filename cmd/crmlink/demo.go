package main

import (
	"context"
	"fmt"
	"os"

	"github.com/crmlink/crmlink"
	crmhttp "github.com/crmlink/crmlink/http"
	"github.com/crmlink/crmlink/internal/cli"
)

// DemoStoreURL is the demo's own store, recreated at every start unless
// --store names another.
const DemoStoreURL = "duckdb://./crmlink-data/demo.db"

func cmdDemo(ctx context.Context, args []string, e *cli.Env) error {
	fs := flags("demo", e)
	storeURL := fs.String("store", DemoStoreURL, "store URL; the default demo store is recreated at each start")
	dataDir := fs.String("data", "./crmlink-data/demo-data", "directory for the generated files")
	var cfg serveConfig
	serveFlags(fs, e, &cfg)
	var g cli.GenFlags
	g.Register(fs, 200000, 8000, 12000, 90)
	pos, err := cli.Parse(fs, args)
	if err != nil {
		return err
	}
	if len(pos) > 0 {
		return cli.Usagef("demo takes no arguments, got %q", pos)
	}
	log, err := newLogger(e.Stderr, cfg.logLevel)
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
	st, err := cli.OpenStore(ctx, *storeURL, e.Clock)
	if err != nil {
		return err
	}
	defer st.Close()
	c, err := cli.LoadDemo(ctx, st, &g, *dataDir, e)
	if err != nil {
		return err
	}
	secret, err := cli.CreateToken(ctx, st, 0, crmlink.ScopeAdmin, "demo")
	if err != nil {
		return err
	}
	password := crmhttp.NewTokenSecret()[4:20]
	if err := createUser(ctx, st, "demo", password, 0, crmlink.ScopeAdmin); err != nil {
		return err
	}
	tuneRuntime(e.Getenv) // the demo's data is loaded; from here it is a server
	return serve(ctx, st, cfg, log, e, func(addr string) {
		fmt.Fprintf(e.Stdout, "crmlink demo is running at http://%s\n", addr)
		fmt.Fprintf(e.Stdout, "sign in: user demo, password %s (or the token)\n", password)
		fmt.Fprintf(e.Stdout, "counter: %d (%s)\n", c.ID, c.Site)
		fmt.Fprintf(e.Stdout, "token:   %s\n", secret)
		fmt.Fprintf(e.Stdout, "try:     curl -H 'Authorization: OAuth %s' http://%s/management/v1/counter/%d\n", secret, addr, c.ID)
		fmt.Fprintf(e.Stdout, "the command line talks to this server once these are set:\n")
		fmt.Fprintf(e.Stdout, "  export CRMLINK_SERVER=http://%s CRMLINK_TOKEN=%s\n", addr, secret)
		fmt.Fprintf(e.Stdout, "  crmlink report --counter %d --preset orders_sources\n", c.ID)
		fmt.Fprintf(e.Stdout, "files:   %s (sessions.csv, contacts.csv, orders.csv, simple_orders.csv, expenses.csv, truth.csv)\n", *dataDir)
	})
}
