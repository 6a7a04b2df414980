// Command crmlink-bench measures crmlink's end-to-end figures on
// generated data: generation, session import, uploads over HTTP, linking,
// reports, the dashboard's pages, the tag's hits, restarts and hostile
// requests. It is the developers' tool, apart from the product binary;
// docs/benchmarks.md lists its commands and the figures measured with them.
//
// The benchmarks of a server (upload, restart, hostile, collect) run
// `crmlink serve` in a child process, so that its memory and CPU are its
// own: the binary --serve-binary names, or else crmlink built from this
// module's ./cmd/crmlink into the benchmark's temporary directory, with
// the go command, from the repository (where `go run ./cmd/crmlink-bench`
// runs).
package main

import (
	"bufio"
	"context"
	"flag"
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

// usage is what "crmlink-bench help" prints, and every benchmark's -h
// before its flags.
const usage = `Usage:
crmlink-bench gen|import|upload|link|report|segment|expenses|dashboard|restart|hostile [--sessions N] [--orders N] [--store-options S]
              [--dir DIR] [--serve-binary PATH]
crmlink-bench collect [--duration 20s] [--concurrency 50] [--clients 20000] [--url URL --counter ID] [--serve-binary PATH]
crmlink-bench help [BENCHMARK] (or crmlink-bench BENCHMARK -h)
  Measure end-to-end figures on generated data, in a temporary directory removed afterwards.
  upload, restart, hostile and collect measure a crmlink server in a child process: the
  binary --serve-binary names, else crmlink built from ./cmd/crmlink (go build, from the
  repository) into the temporary directory.
`

// benchmarks are the benchmarks, in the order the usage lists them.
var benchmarks = []string{"gen", "import", "upload", "link", "report", "segment", "expenses", "dashboard", "collect", "restart", "hostile"}

func main() { cli.Main(run) }

// run runs one benchmark, or prints the usage, and returns the exit code.
func run(ctx context.Context, args []string, e *cli.Env) int {
	if len(args) == 0 {
		fmt.Fprint(e.Stderr, usage)
		return cli.ExitUsage
	}
	if isHelp(args[0]) {
		if len(args) > 1 && !isHelp(args[1]) {
			return run(ctx, []string{args[1], "-h"}, e) // the benchmark's flags
		}
		fmt.Fprint(e.Stdout, usage)
		return cli.ExitOK
	}
	return cli.ExitCode("crmlink-bench", bench(ctx, args, e), e)
}

// isHelp tells whether an argument asks for help.
func isHelp(arg string) bool {
	return arg == "-h" || arg == "-help" || arg == "--help" || arg == "help"
}

// flags returns the FlagSet of a benchmark, whose help prints the usage
// before its flags.
func flags(what string, e *cli.Env) *flag.FlagSet {
	return cli.NewFlagSet("crmlink-bench "+what, e, usage)
}

// serveBinaryFlag adds --serve-binary, for the benchmarks that run a
// server.
func serveBinaryFlag(fs *flag.FlagSet) *string {
	return fs.String("serve-binary", "", "upload, restart, hostile, collect: the crmlink binary whose server is measured, "+
		"such as an earlier build to compare with (default: crmlink built from ./cmd/crmlink into the temporary directory)")
}

// bench measures end-to-end figures on generated data in a temporary
// directory, which it removes afterwards.
func bench(ctx context.Context, args []string, e *cli.Env) error {
	what := args[0]
	if what == "collect" {
		return benchCollectCmd(ctx, args[1:], e)
	}
	fs := flags(what, e)
	var g cli.GenFlags
	switch what {
	case "gen":
		g.Register(fs, 10_000_000, 500_000, 1_000_000, 90)
	case "import":
		g.Register(fs, 1_000_000, 1000, 1000, 90)
	case "upload", "restart":
		g.Register(fs, 100_000, 200_000, 1_000_000, 90)
	case "hostile":
	case "link", "report", "segment", "expenses":
		g.Register(fs, 10_000_000, 250_000, 1_000_000, 90)
	case "dashboard":
		g.Register(fs, 200000, 8000, 12000, 90) // the demo's own data set
	default:
		return cli.Usagef("unknown benchmark %q (want %s)", what, strings.Join(benchmarks, ", "))
	}
	serveBin := serveBinaryFlag(fs)
	jsonMB := fs.Int("json-mb", 300, "hostile: megabytes of the one string field of a JSON upload (0: none)")
	slow := fs.Int("slow", 3000, "hostile: hits that hold back their bodies, each on its own connection (0: none)")
	tmp := fs.String("dir", os.TempDir(), "where to write the temporary files")
	runs := fs.Int("runs", 7, "dashboard: loads of each page")
	keepStore := fs.String("keep-store", "", "report, segment, expenses: load the data set into this directory and keep it; a store kept there is reused, to time reports alone")
	storeOpts := fs.String("store-options", "", "DuckDB settings for the benchmark's store, as URL query: memory_limit=1GB&threads=2")
	pos, err := cli.Parse(fs, args[1:])
	if err != nil {
		return err
	}
	if len(pos) > 0 {
		return cli.Usagef("%s takes no arguments, got %q", what, pos)
	}
	if what == "dashboard" && *runs < 1 {
		return cli.Usagef("--runs must be at least 1")
	}
	dir, err := os.MkdirTemp(*tmp, "crmlink-bench-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(dir)
	var bin string
	switch what {
	case "upload", "restart", "hostile":
		if bin, err = serveBinary(ctx, *serveBin, dir, e); err != nil {
			return err
		}
	}
	switch what {
	case "upload":
		return benchUpload(ctx, &g, dir, *storeOpts, bin, e)
	case "restart":
		return benchRestart(ctx, &g, dir, *storeOpts, bin, e)
	case "hostile":
		return benchHostile(ctx, dir, bin, *jsonMB, *slow, e)
	case "link":
		return benchLink(ctx, &g, dir, *storeOpts, e)
	case "report":
		return benchReport(ctx, &g, dir, *keepStore, *storeOpts, e)
	case "segment":
		return benchSegment(ctx, &g, dir, *keepStore, *storeOpts, e)
	case "expenses":
		return benchExpenses(ctx, &g, dir, *keepStore, *storeOpts, e)
	case "dashboard":
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
