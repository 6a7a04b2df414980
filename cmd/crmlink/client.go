package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io/fs"
	"os"
	"sort"
	"strings"

	"github.com/crmlink/crmlink"
	"github.com/crmlink/crmlink/duckdb"
	"github.com/crmlink/crmlink/internal/cli"
)

// target is where a client command's data lives: a running crmlink server
// (--server, CRMLINK_SERVER), which it talks to over HTTP, or the store
// file (--store, CRMLINK_STORE), which it opens itself. A store file is
// held by the one process that opens it, so while a server runs, commands
// must go through the server.
type target struct {
	e      *cli.Env
	fs     *flag.FlagSet
	store  *string
	server *string
	token  *string
}

// targetFlags adds --store, --server and --token; need names the token's
// scope that the command needs, for the flag's help.
func targetFlags(fs *flag.FlagSet, e *cli.Env, need crmlink.Scope) *target {
	return &target{e: e, fs: fs, store: storeFlag(fs, e),
		server: fs.String("server", e.Getenv("CRMLINK_SERVER"),
			"talk to a running crmlink at this URL, like http://127.0.0.1:8080, instead of opening the store (env CRMLINK_SERVER)"),
		token: fs.String("token", e.Getenv("CRMLINK_TOKEN"),
			fmt.Sprintf("token with %s scope, for --server (env CRMLINK_TOKEN)", need)),
	}
}

// client returns the server to talk to, or nil when the command opens the
// store. Flags win over the environment: --store on the command line
// opens the store even when CRMLINK_SERVER is set.
func (t *target) client() (*cli.APIClient, error) {
	set := map[string]bool{}
	t.fs.Visit(func(f *flag.Flag) { set[f.Name] = true })
	if set["server"] && set["store"] {
		return nil, cli.Usagef("--server and --store name two places: give one")
	}
	if *t.server == "" || (set["store"] && !set["server"]) {
		return nil, nil
	}
	return cli.NewAPIClient(*t.server, *t.token)
}

// open opens the store for a command that runs once, saying so when that
// creates a new, empty store: a user who meant a running server finds out
// at once, not from an empty answer.
func (t *target) open(ctx context.Context) (crmlink.Store, error) {
	url := *t.store
	if path, _, err := duckdb.ParseURL(url); err == nil && path != "" {
		if _, err := os.Stat(path); errors.Is(err, fs.ErrNotExist) {
			fmt.Fprintf(t.e.Stderr, "crmlink: creating a new empty store at %s; to talk to a running server use --server or CRMLINK_SERVER\n", path)
		}
	}
	st, err := cli.OpenStore(ctx, url, t.e.Clock)
	if errors.Is(err, crmlink.ErrInUse) {
		return nil, crmlink.Errorf(crmlink.KindUnavailable,
			"store %s is in use by a running crmlink (serve or demo): send the command to it with --server URL or CRMLINK_SERVER, and --token T or CRMLINK_TOKEN", url)
	}
	return st, err
}

// unlinkedReasons are the readable phrases of the reasons an order is not
// linked to a session (crmlink.LinkStats).
var unlinkedReasons = map[string]string{
	"no_identifier":           "no identifier of the customer",
	"unknown_customer":        "unknown customer",
	"no_session_before_order": "no session before the order",
	"outside_link_window":     "the last session before the order is outside the link window",
}

// linkSummary tells how many orders linked and why the others did not:
// "312 orders linked to sessions; 41 not linked: 30 no session before the
// order, 11 unknown customer", the largest reason first.
func linkSummary(linked int, unlinked map[string]int) string {
	s := cli.Plural(linked, "order", "") + " linked to sessions"
	if linked == 1 {
		s = "1 order linked to a session"
	}
	total := 0
	reasons := make([]string, 0, len(unlinked))
	for r, n := range unlinked {
		if n > 0 {
			total += n
			reasons = append(reasons, r)
		}
	}
	if total == 0 {
		return s
	}
	sort.Slice(reasons, func(i, j int) bool {
		a, b := unlinked[reasons[i]], unlinked[reasons[j]]
		return a > b || (a == b && reasons[i] < reasons[j])
	})
	parts := make([]string, len(reasons))
	for i, r := range reasons {
		phrase := unlinkedReasons[r]
		if phrase == "" {
			phrase = strings.ReplaceAll(r, "_", " ")
		}
		parts[i] = fmt.Sprintf("%d %s", unlinked[r], phrase)
	}
	return fmt.Sprintf("%s; %d not linked: %s", s, total, strings.Join(parts, ", "))
}
