package main

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/crmlink/crmlink"
	"github.com/crmlink/crmlink/crm"
	"github.com/crmlink/crmlink/gen"
	"github.com/crmlink/crmlink/internal/cli"
	"github.com/crmlink/crmlink/sessionfile"
	"github.com/crmlink/crmlink/store"
)

// benchLoad generates a data set and loads it into a fresh store the way a
// user would: sessions, then contacts and orders (linked as they come),
// each step timed with the checkpoint that writes it to disk.
func benchLoad(ctx context.Context, g *cli.GenFlags, dir, storeOpts string, e *cli.Env) (crmlink.Store, *crmlink.Counter, gen.Config, error) {
	cfg, err := g.Config(filepath.Join(dir, "data"), e.Clock.Now())
	if err != nil {
		return nil, nil, cfg, err
	}
	if err := benchGenerate(ctx, cfg, e); err != nil {
		return nil, nil, cfg, err
	}
	st, err := cli.OpenStore(ctx, benchStoreURL(dir, storeOpts), e.Clock)
	if err != nil {
		return nil, nil, cfg, err
	}
	fail := func(err error) (crmlink.Store, *crmlink.Counter, gen.Config, error) {
		st.Close()
		return nil, nil, cfg, err
	}
	c, err := g.CreateCounter(ctx, st, "Bench")
	if err != nil {
		return fail(err)
	}
	f, err := os.Open(filepath.Join(cfg.Out, gen.SessionsFile))
	if err != nil {
		return fail(err)
	}
	start := time.Now()
	_, err = cli.ImportSessions(ctx, st, c.ID, sessionfile.FormatCSV, f, e.Clock, "CLI")
	f.Close()
	if err != nil {
		return fail(err)
	}
	el := time.Since(start)
	start = time.Now()
	if err := checkpoint(ctx, st); err != nil {
		return fail(err)
	}
	fmt.Fprintf(e.Stdout, "import sessions: %s, then checkpoint %s\n", el.Round(time.Millisecond), time.Since(start).Round(time.Millisecond))
	start = time.Now()
	if err := demoCRMPrepare(ctx, st, c, cfg.Out, e); err != nil {
		return fail(err)
	}
	in, err := os.Open(filepath.Join(cfg.Out, gen.OrdersFile))
	if err != nil {
		return fail(err)
	}
	up := &crmlink.Upload{CounterID: c.ID, Format: "CSV", Source: "CLI", MergeMode: crmlink.MergeSave}
	err = cli.UploadCSV(ctx, st, up, "orders", in, crm.Options{}, e.Clock)
	in.Close()
	if err != nil {
		return fail(err)
	}
	el = time.Since(start)
	start = time.Now()
	if err := checkpoint(ctx, st); err != nil {
		return fail(err)
	}
	fmt.Fprintf(e.Stdout, "upload contacts and orders (linked as they came): %s, then writing them to disk (checkpoint): %s; %d linked, unlinked %v\n",
		el.Round(time.Millisecond), time.Since(start).Round(time.Millisecond), up.Linked, up.Unlinked)
	return st, c, cfg, nil
}

// benchLink loads a generated data set and times a full relink of every
// order against every session.
func benchLink(ctx context.Context, g *cli.GenFlags, dir, storeOpts string, e *cli.Env) error {
	st, c, cfg, err := benchLoad(ctx, g, dir, storeOpts, e)
	if err != nil {
		return err
	}
	defer st.Close()
	// Three full relinks, each timed with the checkpoint after it apart:
	// every run is printed, not only the best.
	var runs []string
	var ls crmlink.LinkStats
	for i := 0; i < 3; i++ {
		start := time.Now()
		if ls, err = st.Relink(ctx, c.ID); err != nil {
			return err
		}
		el := time.Since(start)
		start = time.Now()
		if err := checkpoint(ctx, st); err != nil {
			return err
		}
		runs = append(runs, fmt.Sprintf("%s (checkpoint %s)", el.Round(time.Millisecond), time.Since(start).Round(time.Millisecond)))
	}
	fmt.Fprintf(e.Stdout, "full relink: %d orders against %d sessions: %s; %d linked, unlinked %v\n",
		cfg.Orders, cfg.Sessions, strings.Join(runs, ", "), ls.Linked, ls.Unlinked)
	return benchIncremental(ctx, st, c, filepath.Join(cfg.Out, gen.OrdersFile), filepath.Join(dir, "orders10k.csv"), e)
}

// benchIncremental uploads 10k of the orders again (as a CRM sends its
// changes) and times relinking that upload's orders.
func benchIncremental(ctx context.Context, st crmlink.Store, c *crmlink.Counter, orders, part string, e *cli.Env) error {
	if err := headLines(orders, part, 10_001); err != nil {
		return err
	}
	in, err := os.Open(part)
	if err != nil {
		return err
	}
	defer in.Close()
	up := &crmlink.Upload{CounterID: c.ID, Format: "CSV", Source: "CLI", MergeMode: crmlink.MergeUpdate}
	start := time.Now()
	if err := cli.UploadCSV(ctx, st, up, "orders", in, crm.Options{}, e.Clock); err != nil {
		return err
	}
	total := time.Since(start)
	var best time.Duration
	for i := 0; i < 3; i++ {
		start = time.Now()
		if _, err := st.RelinkUpload(ctx, c.ID, up.ID); err != nil {
			return err
		}
		if el := time.Since(start); best == 0 || el < best {
			best = el
		}
	}
	fmt.Fprintf(e.Stdout, "10k-order upload into that store: %s in all; relinking its orders: %s (best of 3)\n",
		total.Round(time.Millisecond), best.Round(time.Millisecond))
	return nil
}

// headLines copies the first n lines of a file.
func headLines(from, to string, n int) error {
	in, err := os.Open(from)
	if err != nil {
		return err
	}
	defer in.Close()
	out, err := os.Create(to)
	if err != nil {
		return err
	}
	sc := bufio.NewScanner(in)
	sc.Buffer(make([]byte, 1<<20), 16<<20)
	w := bufio.NewWriter(out)
	for i := 0; i < n && sc.Scan(); i++ {
		w.Write(sc.Bytes())
		w.WriteByte('\n')
	}
	if err := w.Flush(); err != nil {
		out.Close()
		return err
	}
	return errors.Join(sc.Err(), out.Close())
}

// checkpoint flushes a store's log to its file, where its engine has one.
func checkpoint(ctx context.Context, st crmlink.Store) error {
	var e any = st
	if s, ok := st.(*store.Store); ok {
		e = s.Engine
	}
	if c, ok := e.(interface{ Checkpoint(context.Context) error }); ok {
		return c.Checkpoint(ctx)
	}
	return nil
}
