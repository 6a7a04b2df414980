package main

import (
	"bufio"
	"context"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"time"

	"github.com/crmlink/crmlink/gen"
	"github.com/crmlink/crmlink/internal/cli"
	"github.com/crmlink/crmlink/sessionfile"
)

// cmdBench measures end-to-end figures on generated data in a temporary
// directory, which it removes afterwards.
func cmdBench(ctx context.Context, args []string, e *cli.Env) error {
	if len(args) == 0 {
		return cli.Usagef("bench: want gen, import, upload, link, report, dashboard, collect, restart or hostile")
	}
	what := args[0]
	if what == "collect" {
		return benchCollectCmd(ctx, args[1:], e)
	}
	fs := flags("bench "+what, e)
	var g cli.GenFlags
	switch what {
	case "gen":
		g.Register(fs, 10_000_000, 500_000, 1_000_000, 90)
	case "import":
		g.Register(fs, 1_000_000, 1000, 1000, 90)
	case "upload", "restart":
		g.Register(fs, 100_000, 200_000, 1_000_000, 90)
	case "hostile":
	case "link", "report":
		g.Register(fs, 10_000_000, 250_000, 1_000_000, 90)
	case "dashboard":
		g.Register(fs, 200000, 8000, 12000, 90) // the demo's own data set
	default:
		return cli.Usagef("bench: unknown benchmark %q (want gen, import, upload, link, report, dashboard, collect, restart or hostile)", what)
	}
	serveBin := fs.String("serve-binary", "", "restart, hostile: the crmlink binary whose server is measured (default this one), to compare builds")
	jsonMB := fs.Int("json-mb", 300, "hostile: megabytes of the one string field of a JSON upload (0: none)")
	slow := fs.Int("slow", 3000, "hostile: hits that hold back their bodies, each on its own connection (0: none)")
	tmp := fs.String("dir", os.TempDir(), "where to write the temporary files")
	runs := fs.Int("runs", 7, "dashboard: loads of each page")
	storeOpts := fs.String("store-options", "", "DuckDB settings for the benchmark's store, as URL query: memory_limit=1GB&threads=2")
	if _, err := cli.Parse(fs, args[1:]); err != nil {
		return err
	}
	dir, err := os.MkdirTemp(*tmp, "crmlink-bench-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(dir)
	switch what {
	case "upload":
		return benchUpload(ctx, &g, dir, *storeOpts, e)
	case "restart":
		return benchRestart(ctx, &g, dir, *storeOpts, *serveBin, e)
	case "hostile":
		return benchHostile(ctx, dir, *serveBin, *jsonMB, *slow, e)
	case "link":
		return benchLink(ctx, &g, dir, *storeOpts, e)
	case "report":
		return benchReport(ctx, &g, dir, *storeOpts, e)
	case "dashboard":
		if *runs < 1 {
			return cli.Usagef("--runs must be at least 1")
		}
		return benchDashboard(ctx, &g, dir, *runs, e)
	}
	cfg, err := g.Config(filepath.Join(dir, "data"), e.Clock.Now())
	if err != nil {
		return err
	}
	fmt.Fprintf(e.Stdout, "machine: %s/%s, %d CPUs, %s\n", runtime.GOOS, runtime.GOARCH, runtime.NumCPU(), runtime.Version())
	resetPeakRSS()
	start := time.Now()
	sum, err := gen.Generate(ctx, cfg)
	if err != nil {
		return err
	}
	el := time.Since(start)
	fmt.Fprintf(e.Stdout, "gen: %d sessions, %d contacts, %d orders in %s (%.0f sessions/s), peak RSS %s\n",
		sum.Sessions, sum.Contacts, sum.Orders, el.Round(time.Millisecond), float64(sum.Sessions)/el.Seconds(), peakRSS())
	if what == "gen" {
		return nil
	}
	st, err := cli.OpenStore(ctx, benchStoreURL(dir, *storeOpts), e.Clock)
	if err != nil {
		return err
	}
	defer st.Close()
	c, err := g.CreateCounter(ctx, st, "Bench")
	if err != nil {
		return err
	}
	path := filepath.Join(cfg.Out, "sessions.csv")
	fi, err := os.Stat(path)
	if err != nil {
		return err
	}
	f, err := os.Open(path)
	if err != nil {
		return err
	}
	defer f.Close()
	runtime.GC()
	resetPeakRSS()
	start = time.Now()
	up, err := cli.ImportSessions(ctx, st, c.ID, sessionfile.FormatCSV, f, e.Clock, "CLI")
	if err != nil {
		return err
	}
	el = time.Since(start)
	rss := peakRSS()
	// DuckDB writes what a commit logged into its file at a checkpoint,
	// which may come at a later commit: part of the import's cost.
	cstart := time.Now()
	if err := checkpoint(ctx, st); err != nil {
		return err
	}
	cp := time.Since(cstart)
	fmt.Fprintf(e.Stdout, "import sessions: %d rows (%.0f MiB) in %s: %.0f rows/s, peak RSS %s; then checkpoint %s (%.0f rows/s with it)\n",
		up.Accepted, float64(fi.Size())/(1<<20), el.Round(time.Millisecond), float64(up.Accepted)/el.Seconds(), rss,
		cp.Round(time.Millisecond), float64(up.Accepted)/(el+cp).Seconds())
	return nil
}

// resetPeakRSS resets the kernel's high-water mark of this process's
// resident memory (Linux), so peakRSS measures one step.
func resetPeakRSS() {
	_ = os.WriteFile("/proc/self/clear_refs", []byte("5"), 0)
}

// peakRSS reads VmHWM from /proc/self/status, or "n/a" off Linux.
func peakRSS() string {
	f, err := os.Open("/proc/self/status")
	if err != nil {
		return "n/a"
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if v, ok := strings.CutPrefix(sc.Text(), "VmHWM:"); ok {
			var kb int64
			fmt.Sscan(strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(v), "kB")), &kb)
			return fmt.Sprintf("%.0f MiB", float64(kb)/1024)
		}
	}
	return "n/a"
}

// benchStoreURL is the URL of a benchmark's store in dir, with DuckDB
// settings from --store-options.
func benchStoreURL(dir, opts string) string {
	u := "duckdb://" + filepath.Join(dir, "bench.db")
	if opts != "" {
		u += "?" + opts
	}
	return u
}

// benchGenerate writes a benchmark's data set and says how long it took.
func benchGenerate(ctx context.Context, cfg gen.Config, e *cli.Env) error {
	start := time.Now()
	if _, err := gen.Generate(ctx, cfg); err != nil {
		return err
	}
	fmt.Fprintf(e.Stdout, "gen: %d sessions, %d contacts, %d orders in %s\n",
		cfg.Sessions, cfg.Contacts, cfg.Orders, time.Since(start).Round(time.Millisecond))
	return nil
}
