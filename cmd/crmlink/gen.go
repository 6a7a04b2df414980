package main

import (
	"context"
	"fmt"
	"time"

	"github.com/crmlink/crmlink/gen"
	"github.com/crmlink/crmlink/internal/cli"
)

func cmdGen(ctx context.Context, args []string, e *cli.Env) error {
	fs := flags("gen", e)
	out := fs.String("out", "", "directory to write the files to (required)")
	var g cli.GenFlags
	g.Register(fs, 100000, 5000, 10000, 90)
	pos, err := cli.Parse(fs, args)
	if err != nil {
		return err
	}
	if len(pos) > 0 {
		return cli.Usagef("gen takes no arguments, got %q", pos)
	}
	if *out == "" {
		return cli.Usagef("--out DIR is required")
	}
	cfg, err := g.Config(*out, e.Clock.Now())
	if err != nil {
		return err
	}
	start := time.Now()
	sum, err := gen.Generate(ctx, cfg)
	if err != nil {
		return err
	}
	fmt.Fprintf(e.Stderr, "generated %s of %s (%s), %s, %s, %s in %s\n",
		cli.Plural(sum.Sessions, "session", ""), cli.Plural(sum.Visitors, "visitor", ""), cli.Plural(sum.Clients, "ClientID", ""),
		cli.Plural(sum.Contacts, "contact", ""), cli.Plural(sum.Orders, "order", ""), cli.Plural(sum.SimpleOrders, "simple order", ""),
		time.Since(start).Round(time.Millisecond))
	for _, f := range sum.Files {
		fmt.Fprintln(e.Stdout, f)
	}
	return nil
}
