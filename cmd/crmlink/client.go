package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"io/fs"
	"net/http"
	"net/url"
	"os"
	"sort"
	"strings"

	"github.com/crmlink/crmlink"
	"github.com/crmlink/crmlink/duckdb"
)

// target is where a client command's data lives: a running crmlink server
// (--server, CRMLINK_SERVER), which it talks to over HTTP, or the store
// file (--store, CRMLINK_STORE), which it opens itself. A store file is
// held by the one process that opens it, so while a server runs, commands
// must go through the server.
type target struct {
	e      *env
	fs     *flag.FlagSet
	store  *string
	server *string
	token  *string
}

// targetFlags adds --store, --server and --token; need names the token's
// scope that the command needs, for the flag's help.
func targetFlags(fs *flag.FlagSet, e *env, need crmlink.Scope) *target {
	return &target{e: e, fs: fs, store: storeFlag(fs, e),
		server: fs.String("server", e.getenv("CRMLINK_SERVER"),
			"talk to a running crmlink at this URL, like http://127.0.0.1:8080, instead of opening the store (env CRMLINK_SERVER)"),
		token: fs.String("token", e.getenv("CRMLINK_TOKEN"),
			fmt.Sprintf("token with %s scope, for --server (env CRMLINK_TOKEN)", need)),
	}
}

// client returns the server to talk to, or nil when the command opens the
// store. Flags win over the environment: --store on the command line
// opens the store even when CRMLINK_SERVER is set.
func (t *target) client() (*apiClient, error) {
	set := map[string]bool{}
	t.fs.Visit(func(f *flag.Flag) { set[f.Name] = true })
	if set["server"] && set["store"] {
		return nil, usagef("--server and --store name two places: give one")
	}
	if *t.server == "" || (set["store"] && !set["server"]) {
		return nil, nil
	}
	return newAPIClient(*t.server, *t.token)
}

// open opens the store for a command that runs once, saying so when that
// creates a new, empty store: a user who meant a running server finds out
// at once, not from an empty answer.
func (t *target) open(ctx context.Context) (crmlink.Store, error) {
	url := *t.store
	if path, _, err := duckdb.ParseURL(url); err == nil && path != "" {
		if _, err := os.Stat(path); errors.Is(err, fs.ErrNotExist) {
			fmt.Fprintf(t.e.stderr, "crmlink: creating a new empty store at %s; to talk to a running server use --server or CRMLINK_SERVER\n", path)
		}
	}
	st, err := openStore(ctx, url, t.e.clock)
	if errors.Is(err, crmlink.ErrInUse) {
		return nil, crmlink.Errorf(crmlink.KindUnavailable,
			"store %s is in use by a running crmlink (serve or demo): send the command to it with --server URL or CRMLINK_SERVER, and --token T or CRMLINK_TOKEN", url)
	}
	return st, err
}

// apiClient calls a running crmlink server's API with a token.
type apiClient struct {
	base  string // scheme://host[:port][/prefix], without a trailing slash
	token string
}

func newAPIClient(server, token string) (*apiClient, error) {
	u, err := url.Parse(strings.TrimRight(server, "/"))
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return nil, usagef("--server %q: want http://host:port", server)
	}
	if token == "" {
		return nil, usagef("--server needs --token (or CRMLINK_TOKEN)")
	}
	return &apiClient{base: u.String(), token: token}, nil
}

// call sends in (nil: no body) as JSON and decodes the answer into out
// (nil: the answer is dropped). An error answer becomes an error of the
// kind its status says, with the server's message.
func (c *apiClient) call(ctx context.Context, method, path string, in, out any) error {
	var body io.Reader
	if in != nil {
		raw, err := json.Marshal(in)
		if err != nil {
			return err
		}
		body = bytes.NewReader(raw)
	}
	req, err := http.NewRequestWithContext(ctx, method, c.base+path, body)
	if err != nil {
		return err
	}
	req.Header.Set("Authorization", "OAuth "+c.token)
	if in != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return unreachable(c.base, err)
	}
	defer resp.Body.Close()
	raw, err := io.ReadAll(io.LimitReader(resp.Body, 64<<20))
	if err != nil {
		return crmlink.Errorf(crmlink.KindUnavailable, "read the answer of %s: %v", c.base, err)
	}
	if resp.StatusCode != http.StatusOK {
		return answerError(resp, raw)
	}
	if out == nil {
		return nil
	}
	if err := json.Unmarshal(raw, out); err != nil {
		return fmt.Errorf("the answer of %s %s: %w", method, path, err)
	}
	return nil
}

// unreachable is the error of a server that did not answer.
func unreachable(server string, err error) error {
	return crmlink.Errorf(crmlink.KindUnavailable, "no answer from %s (is crmlink running there? --server or CRMLINK_SERVER names it): %v", server, err)
}

// answerError turns an error answer into an error of the kind its status
// says, with the server's message (Metrica's error body).
func answerError(resp *http.Response, raw []byte) error {
	kind := crmlink.KindInternal
	switch resp.StatusCode {
	case http.StatusBadRequest, http.StatusMethodNotAllowed:
		kind = crmlink.KindInvalid
	case http.StatusUnauthorized:
		kind = crmlink.KindUnauthorized
	case http.StatusForbidden:
		kind = crmlink.KindForbidden
	case http.StatusNotFound:
		kind = crmlink.KindNotFound
	case http.StatusConflict:
		kind = crmlink.KindConflict
	case http.StatusRequestEntityTooLarge:
		kind = crmlink.KindTooLarge
	case http.StatusServiceUnavailable, http.StatusTooManyRequests:
		kind = crmlink.KindUnavailable
	}
	var body struct {
		Message string `json:"message"`
	}
	if json.Unmarshal(raw, &body) == nil && body.Message != "" {
		return crmlink.Errorf(kind, "%s", body.Message)
	}
	return crmlink.Errorf(kind, "server answered %s", resp.Status)
}

// plural writes a count with its noun in English: "1 row", "2 rows".
// many is the plural form; empty means one+"s".
func plural(n int, one, many string) string {
	if n == 1 || n == -1 {
		return fmt.Sprintf("%d %s", n, one)
	}
	if many == "" {
		many = one + "s"
	}
	return fmt.Sprintf("%d %s", n, many)
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
	s := plural(linked, "order", "") + " linked to sessions"
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
