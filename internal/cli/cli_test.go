package cli

import (
	"bytes"
	"errors"
	"flag"
	"slices"
	"strings"
	"testing"

	"github.com/crmlink/crmlink"
)

func TestPlural(t *testing.T) {
	for _, tc := range []struct {
		n         int
		one, many string
		want      string
	}{
		{0, "row", "", "0 rows"}, {1, "row", "", "1 row"}, {2, "row", "", "2 rows"}, {-1, "row", "", "-1 row"},
		{1, "more error", "more errors", "1 more error"}, {11, "more error", "more errors", "11 more errors"},
	} {
		if got := Plural(tc.n, tc.one, tc.many); got != tc.want {
			t.Errorf("Plural(%d, %q, %q) = %q, want %q", tc.n, tc.one, tc.many, got, tc.want)
		}
	}
}

// TestParse: flags may follow positional arguments, "--" ends them; help
// goes to stdout and exits 0, a wrong flag to stderr and exits 2, and a
// usage error is printed with the program's name.
func TestParse(t *testing.T) {
	newEnv := func() (*Env, *bytes.Buffer, *bytes.Buffer) {
		var out, errb bytes.Buffer
		return &Env{Stdout: &out, Stderr: &errb, Getenv: func(string) string { return "" }}, &out, &errb
	}
	e, _, _ := newEnv()
	fs := NewFlagSet("prog cmd", e, "Usage:\nprog cmd FILE [--n N]\n")
	n := fs.Int("n", 1, "a number")
	pos, err := Parse(fs, []string{"a", "--n", "3", "b", "--", "--n"})
	if err != nil || *n != 3 || !slices.Equal(pos, []string{"a", "b", "--n"}) {
		t.Errorf("Parse = %q, %v; n %d", pos, err, *n)
	}

	e, out, errb := newEnv()
	fs = NewFlagSet("prog cmd", e, "Usage:\nprog cmd FILE [--n N]\n")
	fs.Int("n", 1, "a number")
	_, err = Parse(fs, []string{"-h"})
	if !errors.Is(err, flag.ErrHelp) || ExitCode("prog", err, e) != ExitOK || errb.Len() != 0 ||
		!strings.HasPrefix(out.String(), "Usage:\nprog cmd FILE [--n N]\n\nFlags of prog cmd:\n") || !strings.Contains(out.String(), "a number") {
		t.Errorf("-h: %v; stdout %q, stderr %q", err, out, errb)
	}

	e, out, errb = newEnv()
	fs = NewFlagSet("prog cmd", e, "")
	_, err = Parse(fs, []string{"--colour", "red"})
	if code := ExitCode("prog", err, e); code != ExitUsage || out.Len() != 0 || !strings.Contains(errb.String(), "flag provided but not defined: -colour") {
		t.Errorf("a wrong flag: exit %d; stdout %q, stderr %q", code, out, errb)
	}

	for _, tc := range []struct {
		err  error
		code int
		msg  string
	}{
		{nil, ExitOK, ""},
		{Usagef("--n %d: want 1 to 9", 10), ExitUsage, "prog: --n 10: want 1 to 9\n"},
		{crmlink.Errorf(crmlink.KindNotFound, "counter 7 not found"), ExitError, "prog: counter 7 not found\n"},
	} {
		e, _, errb := newEnv()
		if code := ExitCode("prog", tc.err, e); code != tc.code || errb.String() != tc.msg {
			t.Errorf("ExitCode(%v) = %d, stderr %q; want %d, %q", tc.err, code, errb, tc.code, tc.msg)
		}
	}
}
