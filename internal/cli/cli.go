// Package cli is what crmlink's programs (the crmlink binary and the
// crmlink-bench harness) share: how a command meets the process (Env,
// Main, flag sets, usage errors, exit codes), the shape of a generated data
// set (GenFlags), the store operations that the commands, the demo and the
// benchmarks all go through (OpenStore, ImportSessions, UploadCSV, ...),
// and a client of a running server's API (APIClient, UploadRemote,
// WaitApplied, WaitHealthy).
package cli

import (
	"bytes"
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"runtime/pprof"
	"syscall"
	_ "time/tzdata" // counters name IANA zones: do not depend on the host's zoneinfo

	"github.com/crmlink/crmlink"
	"golang.org/x/term"
)

// Env is what a command reads from outside: arguments aside, the
// environment, standard streams and the clock, so that tests can run
// commands in process.
type Env struct {
	Stdin  io.Reader
	Stdout io.Writer
	Stderr io.Writer
	Getenv func(string) string
	Clock  crmlink.Clock
	// IsTerminal reports whether stderr is a terminal (for progress bars).
	IsTerminal bool
	// Ready, if set, is called with a server's address once it listens
	// (tests use it).
	Ready func(addr string)
}

// OSEnv is the process's own Env: its standard streams, its environment
// and the system clock.
func OSEnv() *Env {
	return &Env{Stdin: os.Stdin, Stdout: os.Stdout, Stderr: os.Stderr, Getenv: os.Getenv,
		Clock: crmlink.SystemClock{}, IsTerminal: term.IsTerminal(int(os.Stderr.Fd()))}
}

// Main is a program's main function: it calls run with the process's
// arguments and Env, under a context that SIGINT and SIGTERM cancel (a
// server then stops gracefully), and exits with the code run returns. For
// performance work it writes a CPU profile of the whole run to
// CRMLINK_CPUPROFILE, and what the run allocated, by call site, to
// CRMLINK_MEMPROFILE.
func Main(run func(ctx context.Context, args []string, e *Env) int) {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	if path := os.Getenv("CRMLINK_CPUPROFILE"); path != "" {
		if f, err := os.Create(path); err == nil {
			if pprof.StartCPUProfile(f) != nil {
				f.Close()
			}
		}
	}
	code := run(ctx, os.Args[1:], OSEnv())
	stop()
	pprof.StopCPUProfile()
	if path := os.Getenv("CRMLINK_MEMPROFILE"); path != "" {
		if f, err := os.Create(path); err == nil {
			pprof.Lookup("allocs").WriteTo(f, 0)
			f.Close()
		}
	}
	os.Exit(code)
}

// Exit codes of the programs.
const (
	ExitOK    = 0 // done
	ExitError = 1 // failed; the message says why
	ExitUsage = 2 // a mistake in the command line
)

// usageError is a mistake in the command line.
type usageError struct{ msg string }

func (u usageError) Error() string { return u.msg }

// Usagef returns a mistake in the command line: ExitCode prints it and
// exits with ExitUsage.
func Usagef(format string, args ...any) error { return usageError{fmt.Sprintf(format, args...)} }

// errFlagParse is Parse's error for flags the flag package refused, once
// it has printed why.
var errFlagParse = errors.New("bad flags")

// ExitCode prints a command's error on stderr, prefixed by the program's
// name, and returns the exit code it means: ExitOK for none and for help
// asked for (flag.ErrHelp), ExitUsage for a mistake in the command line,
// else ExitError. An internal error is printed whole; any other, by the
// message meant for the user.
func ExitCode(prog string, err error, e *Env) int {
	if err == nil || errors.Is(err, flag.ErrHelp) {
		return ExitOK
	}
	var ue usageError
	if errors.As(err, &ue) {
		fmt.Fprintf(e.Stderr, "%s: %s\n", prog, ue.msg)
		return ExitUsage
	}
	if errors.Is(err, errFlagParse) {
		return ExitUsage // the flag package has printed its message
	}
	if crmlink.KindOf(err) == crmlink.KindInternal {
		fmt.Fprintf(e.Stderr, "%s: %v\n", prog, err)
	} else {
		fmt.Fprintf(e.Stderr, "%s: %s\n", prog, crmlink.MessageOf(err))
	}
	return ExitError
}

// NewFlagSet returns a FlagSet for the command name (such as "crmlink
// gen") that returns errors instead of exiting. Its help prints head (the
// command's usage lines), then every flag. What the flag package writes is
// held until Parse knows where it goes: asked-for help to stdout, a
// mistake to stderr.
func NewFlagSet(name string, e *Env, head string) *flag.FlagSet {
	fs := flag.NewFlagSet(name, flag.ContinueOnError)
	fs.SetOutput(&flagOutput{e: e})
	fs.Usage = func() {
		w := fs.Output()
		fmt.Fprint(w, head)
		fmt.Fprintf(w, "\nFlags of %s:\n", name)
		fs.PrintDefaults()
	}
	return fs
}

// flagOutput holds what a FlagSet writes while it parses.
type flagOutput struct {
	bytes.Buffer
	e *Env
}

// flushFlagOutput writes what the FlagSet wrote to stdout when help was
// asked for, else to stderr.
func flushFlagOutput(fs *flag.FlagSet, help bool) {
	out, ok := fs.Output().(*flagOutput)
	if !ok {
		return
	}
	w := out.e.Stderr
	if help {
		w = out.e.Stdout
	}
	w.Write(out.Bytes())
	out.Reset()
}

// Parse parses flags, allowing them after positional arguments too
// ("import sessions FILE --counter 1"), and returns the positional
// arguments. Help asked for returns flag.ErrHelp, once printed to stdout;
// a wrong flag returns an error for which ExitCode gives ExitUsage, once
// the flag package's message is on stderr.
func Parse(fs *flag.FlagSet, args []string) ([]string, error) {
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

// Plural writes a count with its noun in English: "1 row", "2 rows".
// many is the plural form; empty means one+"s".
func Plural(n int, one, many string) string {
	if n == 1 || n == -1 {
		return fmt.Sprintf("%d %s", n, one)
	}
	if many == "" {
		many = one + "s"
	}
	return fmt.Sprintf("%d %s", n, many)
}
