package main

import (
	"bytes"
	"context"
	"io"
	"os"
	"strings"
	"sync"
	"testing"

	"github.com/crmlink/crmlink"
	"github.com/crmlink/crmlink/internal/cli"
)

// TestMain removes the crmlink binary testServeBinary built.
func TestMain(m *testing.M) {
	code := m.Run()
	if served.dir != "" {
		os.RemoveAll(served.dir)
	}
	os.Exit(code)
}

// served is the crmlink binary built once for the tests that run a
// server.
var served struct {
	once      sync.Once
	dir, path string
	err       error
}

// testServeBinary builds crmlink from ./cmd/crmlink once for all the
// tests, as a benchmark without --serve-binary does, and returns its path.
func testServeBinary(t *testing.T) string {
	t.Helper()
	served.once.Do(func() {
		if served.dir, served.err = os.MkdirTemp("", "crmlink-bench-test-"); served.err != nil {
			return
		}
		e := &cli.Env{Stdout: io.Discard, Stderr: io.Discard, Getenv: func(string) string { return "" }, Clock: crmlink.SystemClock{}}
		served.path, served.err = serveBinary(context.Background(), "", served.dir, e)
	})
	if served.err != nil {
		t.Fatal(served.err)
	}
	return served.path
}

// runIn runs `crmlink-bench ARGS` in process, with an empty environment
// but for the process's own (which a child server inherits), and returns
// its exit code, stdout and stderr.
func runIn(args ...string) (int, string, string) {
	var out, errb bytes.Buffer
	e := &cli.Env{Stdin: strings.NewReader(""), Stdout: &out, Stderr: &errb, Getenv: func(string) string { return "" },
		Clock: crmlink.SystemClock{}}
	code := run(context.Background(), args, e)
	return code, out.String(), errb.String()
}

// TestHelp: the usage goes to stdout for help asked for, with a
// benchmark's flags for BENCHMARK -h, and to stderr for a wrong command
// line, which exits 2.
func TestHelp(t *testing.T) {
	for _, args := range [][]string{{"help"}, {"-h"}, {"--help"}, {"help", "help"}} {
		if code, out, errs := runIn(args...); code != 0 || !strings.HasPrefix(out, "Usage:\ncrmlink-bench gen|import|upload") || errs != "" {
			t.Errorf("crmlink-bench %s: exit %d, stdout %q, stderr %q", strings.Join(args, " "), code, out, errs)
		}
	}
	for _, what := range benchmarks {
		for _, args := range [][]string{{what, "-h"}, {"help", what}} {
			code, out, errs := runIn(args...)
			if code != 0 || !strings.HasPrefix(out, "Usage:\n") || !strings.Contains(out, "Flags of crmlink-bench "+what+":\n") ||
				!strings.Contains(out, "-serve-binary") || errs != "" {
				t.Errorf("crmlink-bench %s: exit %d, stdout %q, stderr %q", strings.Join(args, " "), code, out, errs)
			}
		}
	}
	for _, tc := range []struct {
		args []string
		msg  string
	}{
		{nil, "Usage:\ncrmlink-bench gen|import|upload"},
		{[]string{"frobnicate"}, `crmlink-bench: unknown benchmark "frobnicate"`},
		{[]string{"upload", "--colour", "red"}, "flag provided but not defined: -colour"},
		{[]string{"upload", "extra"}, `crmlink-bench: upload takes no arguments, got ["extra"]`},
		{[]string{"dashboard", "--runs", "0"}, "--runs must be at least 1"},
		{[]string{"hostile", "--serve-binary", "/does/not/exist/crmlink", "--dir", t.TempDir()}, `--serve-binary "/does/not/exist/crmlink"`},
	} {
		if code, out, errs := runIn(tc.args...); code != 2 || out != "" || !strings.Contains(errs, tc.msg) {
			t.Errorf("crmlink-bench %s: exit %d, stdout %q, stderr %q; want 2 naming %q", strings.Join(tc.args, " "), code, out, errs, tc.msg)
		}
	}
}
