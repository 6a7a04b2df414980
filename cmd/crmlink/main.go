// Command crmlink is the crmlink binary: the server, and the commands that
// manage counters and tokens, import and generate data, and measure speed.
// It is the only place that reads flags and the environment and wires the
// packages together.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/signal"
	"runtime/pprof"
	"strings"
	"syscall"
	_ "time/tzdata" // counters name IANA zones; do not depend on the host's zoneinfo

	"github.com/crmlink/crmlink"
)

// DefaultStoreURL is the store used when neither --store nor CRMLINK_STORE
// names one.
const DefaultStoreURL = "duckdb://./crmlink-data/crmlink.db"

// env is what a command reads from outside: arguments aside, the
// environment, standard streams and the clock, so tests can run commands in
// process.
type env struct {
	stdin  io.Reader
	stdout io.Writer
	stderr io.Writer
	getenv func(string) string
	clock  crmlink.Clock
	// isTerminal reports whether stderr is a terminal (for progress bars).
	isTerminal bool
	// ready, if set, is called with the server's address once it listens
	// (tests use it).
	ready func(addr string)
}

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if path := os.Getenv("CRMLINK_CPUPROFILE"); path != "" {
		// For performance work: a CPU profile of the whole command.
		if f, err := os.Create(path); err == nil {
			if pprof.StartCPUProfile(f) == nil {
				defer pprof.StopCPUProfile()
			}
		}
	}
	e := &env{stdin: os.Stdin, stdout: os.Stdout, stderr: os.Stderr, getenv: os.Getenv,
		clock: crmlink.SystemClock{}, isTerminal: isTerminal(os.Stderr)}
	code := run(ctx, os.Args[1:], e)
	pprof.StopCPUProfile()
	if path := os.Getenv("CRMLINK_MEMPROFILE"); path != "" {
		// For performance work: what the command allocated, by call site.
		if f, err := os.Create(path); err == nil {
			pprof.Lookup("allocs").WriteTo(f, 0)
			f.Close()
		}
	}
	os.Exit(code)
}

const usage = `crmlink: end-to-end analytics that links CRM orders to the sessions they came from.

Usage:
  crmlink serve   [--addr 127.0.0.1:8080] [--store URL]     run the server
  crmlink demo    [--addr 127.0.0.1:8080] [--store URL]     generate demo data, load it, serve
  crmlink counter create --name N --site HOST [--timezone Z] [--currency C] [--json]
  crmlink counter list [--json]
  crmlink token   create --counter ID|all --scope read|write|admin [--name N]
  crmlink token   list --counter ID|all
  crmlink token   revoke HASH
  crmlink user    add NAME --counter ID|all [--scope read|write|admin]   a dashboard user; password
                  from CRMLINK_PASSWORD or stdin (user passwd NAME changes it)
  crmlink import  sessions --counter ID [--format csv|metrica-logs] FILE [--server URL --token T]
  crmlink upload  contacts|orders|simple-orders FILE --counter ID [--merge-mode SAVE|UPDATE|APPEND]
                  [--delimiter comma|semicolon] [--columns-mapping M] [--on-error fail|skip] [--server URL --token T]
  crmlink statuses set|list --counter ID [FILE.json]           the order status mapping
  crmlink relink  --counter ID                                 link every order to its session again
  crmlink report  --counter ID [--preset orders_sources] [--date1 D] [--date2 D] [--dimensions ...]
                  [--metrics ...] [--attribution A] [--filters F] [--format table|csv|json] [--server URL --token T]
  crmlink gen     --out DIR [--seed N] [--sessions N] [--contacts N] [--orders N] [--days N]
  crmlink bench   gen|import|upload|link|report [--sessions N] ...
  crmlink bench   collect [--duration 20s] [--concurrency 50] [--clients 20000] [--url URL --counter ID]

Every command that works on the store takes --store URL (env CRMLINK_STORE,
default ` + DefaultStoreURL + `).
Run "crmlink COMMAND -h" for a command's flags.
`

// exit codes
const (
	exitOK    = 0
	exitError = 1
	exitUsage = 2
)

func run(ctx context.Context, args []string, e *env) int {
	if len(args) == 0 {
		fmt.Fprint(e.stderr, usage)
		return exitUsage
	}
	cmd, rest := args[0], args[1:]
	var err error
	switch cmd {
	case "serve":
		err = cmdServe(ctx, rest, e)
	case "demo":
		err = cmdDemo(ctx, rest, e)
	case "counter":
		err = cmdCounter(ctx, rest, e)
	case "token":
		err = cmdToken(ctx, rest, e)
	case "user":
		err = cmdUser(ctx, rest, e)
	case "import":
		err = cmdImport(ctx, rest, e)
	case "upload":
		err = cmdUpload(ctx, rest, e)
	case "statuses":
		err = cmdStatuses(ctx, rest, e)
	case "relink":
		err = cmdRelink(ctx, rest, e)
	case "report":
		err = cmdReport(ctx, rest, e)
	case "gen":
		err = cmdGen(ctx, rest, e)
	case "bench":
		err = cmdBench(ctx, rest, e)
	case "help", "-h", "--help":
		fmt.Fprint(e.stdout, usage)
		return exitOK
	default:
		fmt.Fprintf(e.stderr, "crmlink: unknown command %q\n\n%s", cmd, usage)
		return exitUsage
	}
	return exitCode(err, e)
}

// usageError is a mistake in the command line.
type usageError struct{ msg string }

func (u usageError) Error() string { return u.msg }

func usagef(format string, args ...any) error { return usageError{fmt.Sprintf(format, args...)} }

func exitCode(err error, e *env) int {
	if err == nil {
		return exitOK
	}
	if errors.Is(err, flag.ErrHelp) {
		return exitOK
	}
	var ue usageError
	if errors.As(err, &ue) {
		fmt.Fprintf(e.stderr, "crmlink: %s\n", ue.msg)
		return exitUsage
	}
	if errors.Is(err, errFlagParse) {
		return exitUsage // the flag package has printed its message
	}
	if crmlink.KindOf(err) == crmlink.KindInternal {
		fmt.Fprintf(e.stderr, "crmlink: %v\n", err)
	} else {
		fmt.Fprintf(e.stderr, "crmlink: %s\n", crmlink.MessageOf(err))
	}
	return exitError
}

var errFlagParse = errors.New("bad flags")

// flags returns a FlagSet for a subcommand that prints to stderr and
// returns errors instead of exiting.
func flags(name string, e *env) *flag.FlagSet {
	fs := flag.NewFlagSet("crmlink "+name, flag.ContinueOnError)
	fs.SetOutput(e.stderr)
	return fs
}

// parse parses flags, allowing them after positional arguments too
// ("import sessions FILE --counter 1").
func parse(fs *flag.FlagSet, args []string) ([]string, error) {
	var pos []string
	for {
		if err := fs.Parse(args); err != nil {
			if errors.Is(err, flag.ErrHelp) {
				return nil, err
			}
			return nil, errFlagParse
		}
		args = fs.Args()
		if len(args) == 0 {
			return pos, nil
		}
		if args[0] == "--" {
			return append(pos, args[1:]...), nil
		}
		pos = append(pos, args[0])
		args = args[1:]
	}
}

// storeFlag adds --store with the environment's default.
func storeFlag(fs *flag.FlagSet, e *env) *string {
	def := e.getenv("CRMLINK_STORE")
	if def == "" {
		def = DefaultStoreURL
	}
	return fs.String("store", def, "store URL (env CRMLINK_STORE): duckdb:///path/to/file.db")
}

func newLogger(w io.Writer, level string) (*slog.Logger, error) {
	var l slog.Level
	if err := l.UnmarshalText([]byte(strings.ToUpper(level))); err != nil {
		return nil, usagef("--log-level %q: want debug, info, warn or error", level)
	}
	return slog.New(slog.NewJSONHandler(w, &slog.HandlerOptions{Level: l})), nil
}
