package main

import (
	"context"
	"net/http"
	"os"
	"path/filepath"
	"runtime/debug"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/crmlink/crmlink"
	"github.com/crmlink/crmlink/internal/cli"
	"github.com/crmlink/crmlink/report"
)

// TestHelp asks every command and subcommand for help in each way a user
// would: help goes to stdout and the exit status is 0. It goes through the
// command table, so a new command is checked too.
func TestHelp(t *testing.T) {
	c := newCLI(t)
	check := func(want string, args ...string) {
		t.Helper()
		code, out, errs := c.run(args...)
		if code != 0 || errs != "" || !strings.Contains(out, want) {
			t.Errorf("crmlink %s: exit %d, stderr %q, stdout %.200q; want exit 0 and %q on stdout",
				strings.Join(args, " "), code, errs, out, want)
		}
	}
	for _, args := range [][]string{{"help"}, {"--help"}, {"-h"}} {
		for _, cmd := range commands {
			check("crmlink "+cmd.name, args...)
		}
	}
	for _, cmd := range commands {
		if cmd.usage == "" || !strings.HasPrefix(cmd.usage, "crmlink "+cmd.name) {
			t.Errorf("command %s: usage %q does not start with its name", cmd.name, cmd.usage)
			continue
		}
		first, _, _ := strings.Cut(cmd.usage, "\n")
		check(first, "help", cmd.name)
		for _, h := range []string{"-h", "--help"} {
			check(first, cmd.name, h)
		}
		if len(cmd.subs) == 0 {
			check("Flags of crmlink "+cmd.name+":", cmd.name, "-h")
			continue
		}
		for _, sub := range cmd.subs {
			want := "Flags of crmlink " + cmd.name + " " + sub + ":"
			check(want, cmd.name, sub, "-h")
			check(want, cmd.name, sub, "--help")
			check(want, "help", cmd.name, sub)
		}
	}
	// Client commands say where their data lives.
	check("CRMLINK_SERVER", "report", "-h")
	check("-server string", "upload", "orders", "-h")
	// A mistake is still one: the flags' usage on stderr, exit 2.
	if code, out, errs := c.run("upload", "orders", "--frobnicate"); code != 2 || out != "" || !strings.Contains(errs, "flag provided but not defined") {
		t.Errorf("a bad flag: exit %d, stdout %q, stderr %q", code, out, errs)
	}
	if code, _, errs := c.run("help", "frobnicate"); code != 2 || !strings.Contains(errs, "unknown command") {
		t.Errorf("help for an unknown command: exit %d, %q", code, errs)
	}
}

func TestVersion(t *testing.T) {
	c := newCLI(t)
	for _, args := range [][]string{{"version"}, {"--version"}} {
		code, out, errs := c.run(args...)
		if code != 0 || errs != "" || !strings.HasPrefix(out, "crmlink ") || !strings.Contains(out, "(commit ") {
			t.Errorf("crmlink %s: exit %d, %q, %q", args[0], code, out, errs)
		}
	}
	vcs := func(rev, modified string) []debug.BuildSetting {
		return []debug.BuildSetting{{Key: "vcs", Value: "git"}, {Key: "vcs.revision", Value: rev}, {Key: "vcs.modified", Value: modified}}
	}
	for _, tc := range []struct {
		info *debug.BuildInfo
		ok   bool
		want string
	}{
		{&debug.BuildInfo{GoVersion: "go1.26.0", Main: debug.Module{Version: "v1.2.3"}, Settings: vcs("0123abc", "false")}, true,
			"crmlink v1.2.3 (commit 0123abc) go1.26.0"},
		{&debug.BuildInfo{GoVersion: "go1.26.0", Main: debug.Module{Version: "(devel)"}, Settings: vcs("0123abc", "true")}, true,
			"crmlink devel (commit 0123abc, modified) go1.26.0"},
		{&debug.BuildInfo{GoVersion: "go1.26.0", Main: debug.Module{Version: "(devel)"}}, true, "crmlink devel (commit unknown) go1.26.0"},
		{nil, false, "crmlink devel (commit unknown)"},
	} {
		if got := versionLine(tc.info, tc.ok); got != tc.want {
			t.Errorf("versionLine = %q, want %q", got, tc.want)
		}
	}
}

// TestPlural: the commands' messages count in English, one row or more.
func TestPlural(t *testing.T) {
	var b strings.Builder
	printUpload(&b, &crmlink.Upload{ID: "7", Status: crmlink.UploadPassed, Rows: 1, Accepted: 1})
	if b.String() != "uploading 7: PASSED, 1 row, 1 accepted, 0 rejected\n" {
		t.Errorf("one row: %q", b.String())
	}
	b.Reset()
	if err := report.WriteAligned(&b, []string{"ym:s:lastTrafficSource", "ym:s:visits"}, [][]string{{"Direct traffic", "3"}}, 1, 1); err != nil || !strings.HasSuffix(b.String(), "\n1 row\n") {
		t.Errorf("a report of one row: %q, %v", b.String(), err)
	}
	for _, tc := range []struct {
		linked   int
		unlinked map[string]int
		want     string
	}{
		{312, map[string]int{"no_session_before_order": 30, "unknown_customer": 11}, "312 orders linked to sessions; 41 not linked: 30 no session before the order, 11 unknown customer"},
		{1, nil, "1 order linked to a session"},
		{0, map[string]int{"no_identifier": 1, "outside_link_window": 0}, "0 orders linked to sessions; 1 not linked: 1 no identifier of the customer"},
	} {
		if got := linkSummary(tc.linked, tc.unlinked); got != tc.want {
			t.Errorf("linkSummary(%d, %v) = %q, want %q", tc.linked, tc.unlinked, got, tc.want)
		}
	}
}

// shopFiles writes a small shop's files: sessions of two visitors, three
// customers, four orders of which one links, and a status mapping.
func shopFiles(t *testing.T) map[string]string {
	t.Helper()
	dir := t.TempDir()
	files := map[string]string{
		"sessions.csv": "client_id,start,referrer\n5,2026-02-01 10:00:00,https://vk.com/\n6,2026-02-02 11:00:00,\n",
		"contacts.csv": "uniq_id,name,client_ids\nC1,Anna,5\nC2,Boris,6\nC3,Vera,\n",
		"orders.csv": "id,client_uniq_id,create_date_time,order_status,revenue\n" +
			"O1,C1,2026-02-01 10:30,done,100.50\n" + // linked to client 5's session
			"O2,C2,2026-01-01 10:00,done,20\n" + // before client 6's first session
			"O3,C3,2026-02-01 12:00,new,5\n" + // a customer without identifiers
			"O4,C2,2026-01-15 10:00,done,7\n",
		"statuses.json": `{"order_statuses":[{"id":"new","type":"IN_PROGRESS"},{"id":"done","humanized":"Done","type":"PAID"}]}`,
	}
	for name, body := range files {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, []byte(body), 0o600); err != nil {
			t.Fatal(err)
		}
		files[name] = p
	}
	return files
}

// shopOrdersLinked is what uploading shopFiles' orders prints about links.
const shopOrdersLinked = "1 order linked to a session; 3 not linked: 2 no session before the order, 1 no identifier of the customer\n"

// TestUploadLinkFigures: an orders upload tells how many orders linked and
// why the others did not, from the store and through a server alike.
func TestUploadLinkFigures(t *testing.T) {
	c := newCLI(t)
	f := shopFiles(t)
	c.must("counter", "create", "--name", "Shop", "--site", "shop.example")
	c.must("import", "sessions", f["sessions.csv"], "--counter", "1")
	c.must("upload", "contacts", f["contacts.csv"], "--counter", "1")
	c.must("statuses", "set", "--counter", "1", f["statuses.json"])
	out := c.must("upload", "orders", f["orders.csv"], "--counter", "1")
	if !strings.Contains(out, "PASSED, 4 rows, 4 accepted, 0 rejected\n") || !strings.HasSuffix(out, shopOrdersLinked) {
		t.Errorf("upload orders printed %q, want the link figures %q", out, shopOrdersLinked)
	}
	tok := strings.TrimSpace(c.must("token", "create", "--counter", "1", "--scope", "write"))

	t.Setenv("CRMLINK_TEST_MAIN", "1")
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	srv := c.start(ctx, "serve", "--addr", "127.0.0.1:0", "--log-level", "warn")
	c.vars = map[string]string{"CRMLINK_SERVER": "http://" + srv.addr, "CRMLINK_TOKEN": tok}
	out = c.must("upload", "orders", f["orders.csv"], "--counter", "1", "--merge-mode", "UPDATE")
	if !strings.Contains(out, "PASSED, 4 rows, 4 accepted, 0 rejected\n") || !strings.HasSuffix(out, shopOrdersLinked) {
		t.Errorf("upload orders through the server printed %q, want the link figures %q", out, shopOrdersLinked)
	}
	// Without waiting, the figures are not known yet: the command says
	// where to find them.
	out = c.must("upload", "orders", f["orders.csv"], "--counter", "1", "--no-wait")
	if !strings.Contains(out, "PASSED, 4 rows") || (!strings.HasSuffix(out, shopOrdersLinked) && !strings.Contains(out, "/cdp/api/v1/counter/1/uploading/")) {
		t.Errorf("upload --no-wait printed %q", out)
	}
	cancel()
	<-srv.done
}

// TestClientCommandsThroughServer runs every client command against a
// running server named by CRMLINK_SERVER: none of them opens a store.
func TestClientCommandsThroughServer(t *testing.T) {
	c := newCLI(t)
	f := shopFiles(t)
	admin := strings.TrimSpace(c.must("token", "create", "--counter", "all", "--scope", "admin"))

	t.Setenv("CRMLINK_TEST_MAIN", "1")
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	srv := c.start(ctx, "serve", "--addr", "127.0.0.1:0", "--log-level", "warn")
	// The commands' own store would be a new file: any command that
	// opened it instead of asking the server would create it.
	unused := filepath.Join(t.TempDir(), "unused.db")
	server := c.store
	c.store = "duckdb://" + unused
	c.vars = map[string]string{"CRMLINK_SERVER": "http://" + srv.addr, "CRMLINK_TOKEN": admin}

	runIn := func(stdin string, args ...string) string {
		t.Helper()
		e, out, errb := c.env(stdin)
		if code := run(ctx, args, e); code != 0 || errb.Len() != 0 {
			t.Fatalf("crmlink %s: exit %d, stderr %q", strings.Join(args, " "), code, errb.String())
		}
		return out.String()
	}
	if out := runIn("", "counter", "create", "--name", "Shop", "--site", "shop.example"); out != "1\n" {
		t.Errorf("counter create printed %q", out)
	}
	if out := runIn("", "counter", "create", "--name", "Blog", "--site", "blog.example", "--json"); !strings.Contains(out, `"id": 2`) {
		t.Errorf("counter create --json printed %q", out)
	}
	if out := runIn("", "counter", "list"); !strings.Contains(out, "shop.example") || !strings.Contains(out, "blog.example") {
		t.Errorf("counter list printed %q", out)
	}
	write := strings.TrimSpace(runIn("", "token", "create", "--counter", "1", "--scope", "write", "--name", "crm"))
	if !strings.HasPrefix(write, "crm_") {
		t.Fatalf("token create printed %q", write)
	}
	out := runIn("", "token", "list", "--counter", "1")
	if !strings.Contains(out, "write") || !strings.Contains(out, "crm") || strings.Contains(out, write) {
		t.Errorf("token list printed %q", out)
	}
	hash := strings.Fields(strings.Split(out, "\n")[1])[0]
	if out := runIn("", "token", "list", "--counter", "all"); !strings.Contains(out, "admin") {
		t.Errorf("token list --counter all printed %q", out)
	}
	if out := runIn("a long password\n", "user", "add", "anna", "--counter", "1", "--scope", "write"); !strings.Contains(out, "anna can sign in") {
		t.Errorf("user add printed %q", out)
	}
	if out := runIn("another long one\n", "user", "passwd", "anna"); !strings.Contains(out, "password of anna changed") {
		t.Errorf("user passwd printed %q", out)
	}
	if out := runIn("", "import", "sessions", f["sessions.csv"], "--counter", "1"); !strings.Contains(out, "PASSED, 2 rows, 2 accepted") {
		t.Errorf("import printed %q", out)
	}
	runIn("", "upload", "contacts", f["contacts.csv"], "--counter", "1")
	if out := runIn("", "statuses", "set", "--counter", "1", f["statuses.json"]); !strings.Contains(out, "Done") {
		t.Errorf("statuses set printed %q", out)
	}
	if out := runIn("", "statuses", "list", "--counter", "1"); !strings.Contains(out, "IN_PROGRESS") {
		t.Errorf("statuses list printed %q", out)
	}
	if out := runIn("", "upload", "orders", f["orders.csv"], "--counter", "1"); !strings.HasSuffix(out, shopOrdersLinked) {
		t.Errorf("upload orders printed %q", out)
	}
	if out := runIn("", "relink", "--counter", "1"); out != shopOrdersLinked {
		t.Errorf("relink printed %q, want %q", out, shopOrdersLinked)
	}
	if out := runIn("", "report", "--counter", "1", "--date1", "2026-02-01", "--date2", "2026-02-28", "--preset", "orders_sources"); !strings.Contains(out, "Social network traffic") {
		t.Errorf("report printed %q", out)
	}
	if out := runIn("", "counter", "list", "--token", write); !strings.Contains(out, "shop.example") || strings.Contains(out, "blog.example") {
		t.Errorf("counter list with counter 1's token printed %q", out)
	}
	if out := runIn("", "token", "revoke", hash); !strings.Contains(out, "revoked") {
		t.Errorf("token revoke printed %q", out)
	}
	// The server's refusals reach the user as the store's would.
	e, _, errb := c.env("")
	if code := run(ctx, []string{"token", "create", "--counter", "7", "--scope", "read"}, e); code != 1 || errb.String() != "crmlink: counter 7 not found\n" {
		t.Errorf("token for a counter that does not exist: exit %d, %q", code, errb.String())
	}
	e, _, errb = c.env("")
	if code := run(ctx, []string{"token", "list", "--counter", "1", "--token", "crm_nope"}, e); code != 1 || !strings.Contains(errb.String(), "invalid or revoked token") {
		t.Errorf("a wrong token: exit %d, %q", code, errb.String())
	}
	if _, err := os.Stat(unused); !os.IsNotExist(err) {
		t.Errorf("a command opened a store of its own (%v)", err)
	}
	// --store on the command line wins over CRMLINK_SERVER; and naming
	// both is a mistake.
	e, _, errb = c.env("")
	if code := run(ctx, []string{"counter", "list", "--store", c.store}, e); code != 0 || !strings.Contains(errb.String(), "creating a new empty store") {
		t.Errorf("--store with CRMLINK_SERVER set: exit %d, %q", code, errb.String())
	}
	e, _, errb = c.env("")
	if code := run(ctx, []string{"counter", "list", "--store", server, "--server", "http://" + srv.addr}, e); code != 2 || !strings.Contains(errb.String(), "give one") {
		t.Errorf("--store and --server: exit %d, %q", code, errb.String())
	}
	cancel()
	if code := <-srv.done; code != 0 {
		t.Errorf("serve exited %d: %s", code, srv.errb.String())
	}
}

// TestEmptyStoreMessage: a command that would create a new store says so,
// and points to --server; once the store exists it says nothing.
func TestEmptyStoreMessage(t *testing.T) {
	c := newCLI(t)
	path := strings.TrimPrefix(c.store, "duckdb://")
	want := "crmlink: creating a new empty store at " + path + "; to talk to a running server use --server or CRMLINK_SERVER\n"
	code, _, errs := c.run("report", "--counter", "1")
	if code != 1 || errs != want+"crmlink: counter 1 not found\n" {
		t.Errorf("report on no store: exit %d, stderr %q", code, errs)
	}
	if code, _, errs := c.run("counter", "list"); code != 0 || errs != "" {
		t.Errorf("counter list on the store made before: exit %d, stderr %q", code, errs)
	}
	// A --server without a token is a mistake in the command line.
	c.vars = map[string]string{"CRMLINK_SERVER": "http://127.0.0.1:1"}
	if code, _, errs := c.run("counter", "list"); code != 2 || !strings.Contains(errs, "--server needs --token") {
		t.Errorf("no token: exit %d, %q", code, errs)
	}
	c.vars["CRMLINK_TOKEN"] = "crm_x"
	if code, _, errs := c.run("counter", "list"); code != 1 || !strings.Contains(errs, "no answer from http://127.0.0.1:1") {
		t.Errorf("no server there: exit %d, %q", code, errs)
	}
}

// TestStoreHeldByServer: while a server (another process) holds the store,
// a command on the store file says to send it to the server instead, and
// does so once CRMLINK_SERVER names it: token create works while the
// server runs.
func TestStoreHeldByServer(t *testing.T) {
	t.Setenv("CRMLINK_TEST_MAIN", "1") // the child `serve` is this test binary
	c := newCLI(t)
	c.must("counter", "create", "--name", "Shop", "--site", "shop.example")
	admin := strings.TrimSpace(c.must("token", "create", "--counter", "all", "--scope", "admin"))
	child, base := startServe(t, c.store, nil)
	defer func() {
		child.Process.Signal(syscall.SIGTERM)
		child.Wait()
	}()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	if err := cli.WaitHealthy(ctx, base); err != nil {
		t.Fatal(err)
	}
	code, _, errs := c.run("token", "create", "--counter", "1", "--scope", "write")
	if code != 1 || !strings.Contains(errs, "in use by a running crmlink") || !strings.Contains(errs, "--server URL or CRMLINK_SERVER") {
		t.Errorf("token create on a held store: exit %d, %q", code, errs)
	}
	c.vars = map[string]string{"CRMLINK_SERVER": base, "CRMLINK_TOKEN": admin}
	tok := strings.TrimSpace(c.must("token", "create", "--counter", "1", "--scope", "write"))
	req, _ := http.NewRequest("GET", base+"/management/v1/counter/1", nil)
	req.Header.Set("Authorization", "OAuth "+tok)
	resp, err := http.DefaultClient.Do(req)
	if err != nil || resp.StatusCode != 200 {
		t.Fatalf("the token made through the server: %v %v", resp, err)
	}
	resp.Body.Close()
}
