// Command crmlink is the crmlink binary: the server, and the commands that
// manage counters and tokens, and import and generate data. It and
// internal/cli, which it shares with the benchmark harness
// (cmd/crmlink-bench), are the only places that read flags and the
// environment and wire the packages together.
package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"strings"

	"github.com/crmlink/crmlink/internal/cli"
)

// DefaultStoreURL is the store used when neither --store nor CRMLINK_STORE
// names one.
const DefaultStoreURL = "duckdb://./crmlink-data/crmlink.db"

// command is one of the binary's commands: its name, its subcommands (each
// with flags of its own), the usage lines "crmlink help NAME" prints, and
// what runs it.
type command struct {
	name  string
	subs  []string
	usage string
	run   func(ctx context.Context, args []string, e *cli.Env) error
}

// clientNote is the help's paragraph on where client commands find their
// data.
const clientNote = `Client commands (counter, token, user, import, upload, statuses, relink,
report, segment) talk to a running crmlink when --server URL or CRMLINK_SERVER names
one, with --token T or CRMLINK_TOKEN; otherwise they open the store file
themselves (--store URL, env CRMLINK_STORE, default ` + DefaultStoreURL + `).
A store file is held by one process: while serve or demo runs, use --server.
`

// commands is every command, in the order the usage lists them. The help
// test goes through this list, so a command added here is checked to have
// help. It is filled by init: the commands' flags read it for their usage.
var commands []command

func main() { cli.Main(run) }

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
		{name: "upload", subs: []string{"contacts", "orders", "simple-orders", "offline-conversions", "expenses"}, run: cmdUpload,
			usage: `crmlink upload contacts|orders|simple-orders|offline-conversions|expenses FILE|- --counter ID
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
		{name: "segment", subs: segmentSubs, run: cmdSegment, usage: `crmlink segment create --counter ID --name NAME EXPRESSION
crmlink segment list --counter ID [--json]
crmlink segment show|members --counter ID SEGMENT_ID [--offset 1 --limit 100] [--json]
crmlink segment export --counter ID SEGMENT_ID --format yandex_crm|yandex_clientid|google|meta|vk_email|vk_phone
                       [--plain] [--out FILE|-]
crmlink segment push --counter ID SEGMENT_ID --format yandex_crm|yandex_clientid [--every-hours N]
crmlink segment delete --counter ID SEGMENT_ID
  Save a segment (a condition on customers and visitors), see its size, members and
  what each platform's file takes, write an audience file, or push it to Yandex Audience.`},
		{name: "gen", run: cmdGen, usage: `crmlink gen --out DIR [--seed 1] [--sessions N] [--contacts N] [--orders N] [--simple-orders N] [--days 90]
  Generate a synthetic shop's files: sessions, contacts, orders, statuses.`},
		{name: "version", run: cmdVersion, usage: `crmlink version (or crmlink --version)
  Print the build's version and source commit.`},
	}
}

// clientCommands are the commands that take --server: they work against a
// running server or on the store file.
var clientCommands = map[string]bool{"counter": true, "token": true, "user": true, "import": true, "upload": true,
	"statuses": true, "relink": true, "report": true, "segment": true}

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

func run(ctx context.Context, args []string, e *cli.Env) int {
	if len(args) == 0 {
		fmt.Fprint(e.Stderr, mainUsage())
		return cli.ExitUsage
	}
	name, rest := args[0], args[1:]
	switch {
	case name == "--version" || name == "-version":
		return cli.ExitCode("crmlink", cmdVersion(ctx, rest, e), e)
	case isHelp(name):
		return help(ctx, rest, e)
	}
	c := findCommand(name)
	if c == nil {
		fmt.Fprintf(e.Stderr, "crmlink: unknown command %q\n\n%s", name, mainUsage())
		return cli.ExitUsage
	}
	// A command with subcommands answers -h itself; each subcommand's
	// flags answer their own -h.
	if len(c.subs) > 0 && len(rest) > 0 && isHelp(rest[0]) {
		fmt.Fprint(e.Stdout, commandUsage(c))
		return cli.ExitOK
	}
	return cli.ExitCode("crmlink", c.run(ctx, rest, e), e)
}

// help answers "crmlink help [COMMAND [SUBCOMMAND]]" on stdout.
func help(ctx context.Context, args []string, e *cli.Env) int {
	if len(args) == 0 {
		fmt.Fprint(e.Stdout, mainUsage())
		return cli.ExitOK
	}
	c := findCommand(args[0])
	if c == nil {
		fmt.Fprintf(e.Stderr, "crmlink: no help for %q: unknown command\n\n%s", args[0], mainUsage())
		return cli.ExitUsage
	}
	if len(c.subs) > 0 && len(args) < 2 {
		fmt.Fprint(e.Stdout, commandUsage(c))
		return cli.ExitOK
	}
	// The command's own flags print its help, with every flag.
	return run(ctx, append(append([]string{}, args...), "-h"), e)
}

// flags returns the FlagSet of a command ("gen", "token create"), whose
// help prints the command's usage lines (and, for a client command, where
// its data lives) before its flags.
func flags(name string, e *cli.Env) *flag.FlagSet {
	head := ""
	if c := findCommand(strings.Fields(name)[0]); c != nil {
		head = fmt.Sprintf("Usage:\n%s\n", c.usage)
		if clientCommands[c.name] {
			head += "\n" + clientNote
		}
	}
	return cli.NewFlagSet("crmlink "+name, e, head)
}

// storeFlag adds --store with the environment's default.
func storeFlag(fs *flag.FlagSet, e *cli.Env) *string {
	def := e.Getenv("CRMLINK_STORE")
	if def == "" {
		def = DefaultStoreURL
	}
	return fs.String("store", def, "store URL (env CRMLINK_STORE): duckdb:///path/to/file.db")
}

func newLogger(w io.Writer, level string) (*slog.Logger, error) {
	var l slog.Level
	if err := l.UnmarshalText([]byte(strings.ToUpper(level))); err != nil {
		return nil, cli.Usagef("--log-level %q: want debug, info, warn or error", level)
	}
	return slog.New(slog.NewJSONHandler(w, &slog.HandlerOptions{Level: l})), nil
}
