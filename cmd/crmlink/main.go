// Command crmlink is the crmlink binary: the server, and the commands that
// manage counters and tokens, import and generate data, and measure speed.
// It is the only place that reads flags and the environment and wires the
// packages together.
package main

import (
	"bytes"
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

// command is one of the binary's commands: its name, its subcommands (each
// with flags of its own), the usage lines "crmlink help NAME" prints, and
// what runs it.
type command struct {
	name  string
	subs  []string
	usage string
	run   func(ctx context.Context, args []string, e *env) error
}

// clientNote is the help's paragraph on where client commands find their
// data.
const clientNote = `Client commands (counter, token, user, import, upload, statuses, relink,
report) talk to a running crmlink when --server URL or CRMLINK_SERVER names
one, with --token T or CRMLINK_TOKEN; otherwise they open the store file
themselves (--store URL, env CRMLINK_STORE, default ` + DefaultStoreURL + `).
A store file is held by one process: while serve or demo runs, use --server.
`

// commands is every command, in the order the usage lists them. The help
// test goes through this list, so a command added here is checked to have
// help. It is filled by init: the commands' flags read it for their usage.
var commands []command

func init() {
	commands = []command{
		{name: "serve", run: cmdServe, usage: `crmlink serve [--addr 127.0.0.1:8080] [--store URL] [--max-body BYTES] [--log-level info]
              [--geoip FILE.mmdb] [--metrics-addr ADDR] [--metrics-token T]
  Run the server: the APIs, the tag's collector and the dashboard.`},
		{name: "demo", run: cmdDemo, usage: `crmlink demo [--addr 127.0.0.1:8080] [--store URL] [--sessions N --contacts N --orders N --days N --seed N]
  Generate a shop's data, load it into a fresh store and serve it; prints the
  address, a user and password, a token, and the export line for client commands.`},
		{name: "counter", subs: []string{"create", "list"}, run: cmdCounter, usage: `crmlink counter create --name NAME --site HOST [--timezone Europe/Moscow] [--currency RUB] [--json]
                       [--session-timeout 30m] [--link-window 21] [--update-window 90] [--keep-pii]
crmlink counter list [--json]
  Create a counter (prints its id) or list the counters.`},
		{name: "token", subs: []string{"create", "list", "revoke"}, run: cmdToken, usage: `crmlink token create --counter ID|all --scope read|write|admin [--name NOTE]
crmlink token list --counter ID|all
crmlink token revoke HASH
  Make an API token (printed once: only its hash is kept), list tokens by hash, revoke one.`},
		{name: "user", subs: []string{"add", "passwd"}, run: cmdUser, usage: `crmlink user add NAME --counter ID|all [--scope read|write|admin]
crmlink user passwd NAME
  Add a dashboard user, or change a password; the password comes from
  CRMLINK_PASSWORD, the terminal, or the first line of stdin.`},
		{name: "import", subs: []string{"sessions"}, run: cmdImport, usage: `crmlink import sessions --counter ID [--format csv|metrica-logs] FILE|-
  Import sessions: our CSV, or a Metrica Logs API visits export (TSV).`},
		{name: "upload", subs: []string{"contacts", "orders", "simple-orders", "offline-conversions"}, run: cmdUpload,
			usage: `crmlink upload contacts|orders|simple-orders|offline-conversions FILE|- --counter ID
               [--merge-mode SAVE|UPDATE|APPEND] [--delimiter comma|semicolon]
               [--columns-mapping '"uniq_id":"ID","name":"Full name"'] [--on-error fail|skip]
               [--no-wait] [--wait 10m]
  Upload a CRM file. For orders it tells how many linked to sessions and why
  the others did not; with --server it first waits until the server applied them.`},
		{name: "statuses", subs: []string{"set", "list"}, run: cmdStatuses, usage: `crmlink statuses set --counter ID FILE.json
crmlink statuses list --counter ID
  Set or show the order status mapping: {"order_statuses":[{"id":"new","type":"IN_PROGRESS"}, ...]}.`},
		{name: "relink", run: cmdRelink, usage: `crmlink relink --counter ID
  Link every order of the counter to its session again.`},
		{name: "report", run: cmdReport, usage: `crmlink report --counter ID [--preset orders_sources] [--date1 30daysAgo] [--date2 today]
               [--dimensions ym:s:lastsignTrafficSource,...] [--metrics ym:s:visits,...] [--attribution A]
               [--filters EXPR] [--sort -ym:s:visits] [--limit N] [--format table|csv|json]
  Print a report, as the Reporting API answers it.`},
		{name: "gen", run: cmdGen, usage: `crmlink gen --out DIR [--seed 1] [--sessions N] [--contacts N] [--orders N] [--simple-orders N] [--days 90]
  Generate a synthetic shop's files: sessions, contacts, orders, statuses.`},
		{name: "bench", subs: []string{"gen", "import", "upload", "link", "report", "dashboard", "collect", "restart", "hostile"}, run: cmdBench,
			usage: `crmlink bench gen|import|upload|link|report|dashboard|restart|hostile [--sessions N] [--orders N] [--store-options S]
crmlink bench collect [--duration 20s] [--concurrency 50] [--clients 20000] [--url URL --counter ID]
  Measure end-to-end figures on generated data.`},
		{name: "version", run: cmdVersion, usage: `crmlink version (or crmlink --version)
  Print the build's version and source commit.`},
	}
}

// clientCommands are the commands that take --server: they work against a
// running server or on the store file.
var clientCommands = map[string]bool{"counter": true, "token": true, "user": true, "import": true, "upload": true,
	"statuses": true, "relink": true, "report": true}

func findCommand(name string) *command {
	for i := range commands {
		if commands[i].name == name {
			return &commands[i]
		}
	}
	return nil
}

// mainUsage is what "crmlink help" prints: every command's usage lines.
func mainUsage() string {
	var b strings.Builder
	b.WriteString("crmlink: end-to-end analytics that links CRM orders to the sessions they came from.\n\nUsage:\n")
	for _, c := range commands {
		for _, line := range strings.Split(c.usage, "\n") {
			if !strings.HasPrefix(line, "  ") {
				b.WriteString("  " + line + "\n")
			}
		}
	}
	b.WriteString("  crmlink help [COMMAND [SUBCOMMAND]] (or crmlink COMMAND [SUBCOMMAND] -h)\n")
	b.WriteString("\n" + clientNote)
	b.WriteString("Run \"crmlink help COMMAND\" or \"crmlink COMMAND -h\" for a command's flags.\n")
	return b.String()
}

// commandUsage is the help of one command: its usage lines and, for a
// client command, where its data lives.
func commandUsage(c *command) string {
	s := "Usage:\n" + c.usage + "\n"
	if clientCommands[c.name] {
		s += "\n" + clientNote
	}
	if len(c.subs) > 0 {
		s += fmt.Sprintf("\nSubcommands: %s. Run \"crmlink %s SUBCOMMAND -h\" for one's flags.\n", strings.Join(c.subs, ", "), c.name)
	}
	return s
}

// isHelp tells whether an argument asks for help.
func isHelp(arg string) bool {
	return arg == "-h" || arg == "-help" || arg == "--help" || arg == "help"
}

// exit codes
const (
	exitOK    = 0
	exitError = 1
	exitUsage = 2
)

func run(ctx context.Context, args []string, e *env) int {
	if len(args) == 0 {
		fmt.Fprint(e.stderr, mainUsage())
		return exitUsage
	}
	name, rest := args[0], args[1:]
	switch {
	case name == "--version" || name == "-version":
		return exitCode(cmdVersion(ctx, rest, e), e)
	case isHelp(name):
		return help(ctx, rest, e)
	}
	c := findCommand(name)
	if c == nil {
		fmt.Fprintf(e.stderr, "crmlink: unknown command %q\n\n%s", name, mainUsage())
		return exitUsage
	}
	// A command with subcommands answers -h itself; each subcommand's
	// flags answer their own -h.
	if len(c.subs) > 0 && len(rest) > 0 && isHelp(rest[0]) {
		fmt.Fprint(e.stdout, commandUsage(c))
		return exitOK
	}
	return exitCode(c.run(ctx, rest, e), e)
}

// help answers "crmlink help [COMMAND [SUBCOMMAND]]" on stdout.
func help(ctx context.Context, args []string, e *env) int {
	if len(args) == 0 {
		fmt.Fprint(e.stdout, mainUsage())
		return exitOK
	}
	c := findCommand(args[0])
	if c == nil {
		fmt.Fprintf(e.stderr, "crmlink: no help for %q: unknown command\n\n%s", args[0], mainUsage())
		return exitUsage
	}
	if len(c.subs) > 0 && len(args) < 2 {
		fmt.Fprint(e.stdout, commandUsage(c))
		return exitOK
	}
	// The command's own flags print its help, with every flag.
	return run(ctx, append(append([]string{}, args...), "-h"), e)
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

// flags returns a FlagSet for a command that returns errors instead of
// exiting. What the flag package writes is held (flagOutput) until parse
// knows where it goes: asked-for help to stdout, a mistake to stderr.
func flags(name string, e *env) *flag.FlagSet {
	fs := flag.NewFlagSet("crmlink "+name, flag.ContinueOnError)
	fs.SetOutput(&flagOutput{e: e})
	fs.Usage = func() {
		w := fs.Output()
		if c := findCommand(strings.Fields(name)[0]); c != nil {
			fmt.Fprintf(w, "Usage:\n%s\n", c.usage)
			if clientCommands[c.name] {
				fmt.Fprintf(w, "\n%s", clientNote)
			}
		}
		fmt.Fprintf(w, "\nFlags of crmlink %s:\n", name)
		fs.PrintDefaults()
	}
	return fs
}

// flagOutput holds what a FlagSet writes while it parses.
type flagOutput struct {
	bytes.Buffer
	e *env
}

// flushFlagOutput writes what the FlagSet wrote to stdout when help was
// asked for, else to stderr.
func flushFlagOutput(fs *flag.FlagSet, help bool) {
	out, ok := fs.Output().(*flagOutput)
	if !ok {
		return
	}
	w := out.e.stderr
	if help {
		w = out.e.stdout
	}
	w.Write(out.Bytes())
	out.Reset()
}

// parse parses flags, allowing them after positional arguments too
// ("import sessions FILE --counter 1").
func parse(fs *flag.FlagSet, args []string) ([]string, error) {
	var pos []string
	for {
		if err := fs.Parse(args); err != nil {
			if errors.Is(err, flag.ErrHelp) {
				flushFlagOutput(fs, true)
				return nil, err
			}
			flushFlagOutput(fs, false)
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
