package main

import (
	"context"
	"fmt"
	"github.com/crmlink/crmlink"
	"time"

	"github.com/crmlink/crmlink/gen"
)

// genFlags are the data set's shape, shared by gen, demo and bench.
type genFlags struct {
	seed                                     uint64
	sessions, contacts, orders, simple, days int
	site, tz                                 string
}

func (g *genFlags) register(fs interface {
	Uint64Var(*uint64, string, uint64, string)
	IntVar(*int, string, int, string)
	StringVar(*string, string, string, string)
}, sessions, contacts, orders, days int) {
	fs.Uint64Var(&g.seed, "seed", 1, "random seed: the same seed gives the same files")
	fs.IntVar(&g.sessions, "sessions", sessions, "number of sessions")
	fs.IntVar(&g.contacts, "contacts", contacts, "number of CRM contacts")
	fs.IntVar(&g.orders, "orders", orders, "number of full CRM orders")
	fs.IntVar(&g.simple, "simple-orders", -1, "number of simple orders (default: orders/20)")
	fs.IntVar(&g.days, "days", days, "days of data, ending today")
	fs.StringVar(&g.site, "site", "shop.example", "the site's host")
	fs.StringVar(&g.tz, "timezone", "Europe/Moscow", "the counter's time zone")
}

func (g *genFlags) config(out string, now time.Time) (gen.Config, error) {
	if g.sessions < 0 || g.contacts < 0 || g.orders < 0 {
		return gen.Config{}, usagef("--sessions, --contacts and --orders must not be negative")
	}
	if g.days < 1 || g.days > 3650 {
		return gen.Config{}, usagef("--days %d: want 1 to 3650", g.days)
	}
	loc, err := time.LoadLocation(g.tz)
	if err != nil || g.tz == "Local" {
		return gen.Config{}, usagef("--timezone %q is not an IANA time zone", g.tz)
	}
	simple := g.simple
	if simple < 0 {
		simple = g.orders / 20
	}
	return gen.Config{Out: out, Seed: g.seed, Sessions: g.sessions, Contacts: g.contacts, Orders: g.orders,
		SimpleOrders: simple, Days: g.days, End: now, Site: g.site, Location: loc}, nil
}

func cmdGen(ctx context.Context, args []string, e *env) error {
	fs := flags("gen", e)
	out := fs.String("out", "", "directory to write the files to (required)")
	var g genFlags
	g.register(fs, 100000, 5000, 10000, 90)
	pos, err := parse(fs, args)
	if err != nil {
		return err
	}
	if len(pos) > 0 {
		return usagef("gen takes no arguments, got %q", pos)
	}
	if *out == "" {
		return usagef("--out DIR is required")
	}
	cfg, err := g.config(*out, e.clock.Now())
	if err != nil {
		return err
	}
	start := time.Now()
	sum, err := gen.Generate(ctx, cfg)
	if err != nil {
		return err
	}
	fmt.Fprintf(e.stderr, "generated %s of %s (%s), %s, %s, %s in %s\n",
		plural(sum.Sessions, "session", ""), plural(sum.Visitors, "visitor", ""), plural(sum.Clients, "ClientID", ""),
		plural(sum.Contacts, "contact", ""), plural(sum.Orders, "order", ""), plural(sum.SimpleOrders, "simple order", ""),
		time.Since(start).Round(time.Millisecond))
	for _, f := range sum.Files {
		fmt.Fprintln(e.stdout, f)
	}
	return nil
}

// createCounter makes the counter that generated data belongs to.
func (g *genFlags) createCounter(ctx context.Context, st crmlink.Store, name string) (*crmlink.Counter, error) {
	c := &crmlink.Counter{Name: name, Site: g.site, TimeZone: g.tz, Currency: "RUB"}
	if err := c.Normalize(); err != nil {
		return nil, err
	}
	return c, st.CreateCounter(ctx, c)
}
