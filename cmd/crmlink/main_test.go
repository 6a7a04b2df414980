package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/crmlink/crmlink"
	crmhttp "github.com/crmlink/crmlink/http"
	"github.com/crmlink/crmlink/internal/cli"
)

// cmdline runs crmlink commands in process against one store in a temp dir.
type cmdline struct {
	t     *testing.T
	store string
	clock *crmlink.FixedClock
	// vars are more environment variables for the commands run from now
	// on (CRMLINK_SERVER, CRMLINK_TOKEN, ...); CRMLINK_STORE is store.
	vars map[string]string
}

func newCLI(t *testing.T) *cmdline {
	return &cmdline{t: t, store: "duckdb://" + filepath.Join(t.TempDir(), "crmlink.db"),
		clock: &crmlink.FixedClock{T: time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)}}
}

func (c *cmdline) env(stdin string) (*cli.Env, *bytes.Buffer, *bytes.Buffer) {
	var out, errb bytes.Buffer
	vars := map[string]string{"CRMLINK_STORE": c.store}
	for k, v := range c.vars {
		vars[k] = v
	}
	return &cli.Env{Stdin: strings.NewReader(stdin), Stdout: &out, Stderr: &errb, Clock: c.clock,
		Getenv: func(k string) string { return vars[k] }}, &out, &errb
}

// run runs one command and returns its exit code, stdout and stderr.
func (c *cmdline) run(args ...string) (int, string, string) {
	c.t.Helper()
	e, out, errb := c.env("")
	code := run(context.Background(), args, e)
	return code, out.String(), errb.String()
}

// serving is a command that serves (serve, demo) running in this process.
type serving struct {
	addr      string
	out, errb *bytes.Buffer
	done      chan int // its exit code, once ctx ends
}

// start runs a serving command in process until ctx ends, and returns once
// it listens.
func (c *cmdline) start(ctx context.Context, args ...string) *serving {
	c.t.Helper()
	e, out, errb := c.env("")
	addrc := make(chan string, 1)
	e.Ready = func(addr string) { addrc <- addr }
	s := &serving{out: out, errb: errb, done: make(chan int, 1)}
	go func() { s.done <- run(ctx, args, e) }()
	select {
	case s.addr = <-addrc:
	case code := <-s.done:
		c.t.Fatalf("%s exited %d: %s", args[0], code, errb.String())
	}
	return s
}

func (c *cmdline) must(args ...string) string {
	c.t.Helper()
	code, out, errs := c.run(args...)
	if code != 0 {
		c.t.Fatalf("crmlink %s: exit %d: %s", strings.Join(args, " "), code, errs)
	}
	return out
}

func TestCounterAndToken(t *testing.T) {
	c := newCLI(t)
	id := strings.TrimSpace(c.must("counter", "create", "--name", "Shop", "--site", "shop.example", "--timezone", "Europe/Moscow", "--currency", "RUB"))
	if id != "1" {
		t.Errorf("counter create printed %q, want the id alone", id)
	}
	out := c.must("counter", "create", "--name", "Blog", "--site", "blog.example", "--json")
	var js map[string]any
	if err := json.Unmarshal([]byte(out), &js); err != nil || js["id"] != 2.0 || js["time_zone_name"] != "Europe/Moscow" {
		t.Errorf("--json printed %q (%v)", out, err)
	}
	if out := c.must("counter", "list"); !strings.Contains(out, "shop.example") || !strings.Contains(out, "blog.example") {
		t.Errorf("list = %q", out)
	}
	tok := strings.TrimSpace(c.must("token", "create", "--counter", id, "--scope", "write"))
	if !strings.HasPrefix(tok, "crm_") || strings.ContainsAny(tok, " \n") {
		t.Errorf("token create printed %q", tok)
	}
	adm := strings.TrimSpace(c.must("token", "create", "--counter", "all", "--scope", "admin"))
	if adm == tok {
		t.Error("two tokens are equal")
	}
	if out := c.must("token", "list", "--counter", id); strings.Count(out, "write") != 1 || strings.Contains(out, tok) {
		t.Errorf("token list = %q: want one write token, by hash, never the secret", out)
	}
}

func TestBadCommandLines(t *testing.T) {
	c := newCLI(t)
	for _, tc := range []struct {
		args []string
		code int
		msg  string
	}{
		{[]string{"frobnicate"}, 2, `unknown command "frobnicate"`},
		{[]string{"counter", "create", "--name", "X", "--site", "x.example", "--colour", "red"}, 2, "flag provided but not defined: -colour"},
		{[]string{"counter", "create", "--name", "X", "--site", "x.example", "--timezone", "Mars/Olympus"}, 1, `time zone "Mars/Olympus" does not exist`},
		{[]string{"counter", "create", "--name", "X", "--site", "x.example", "--currency", "RUR"}, 1, `currency "RUR" is not an ISO 4217 code`},
		{[]string{"counter", "create", "--name", "X", "--site", "x.example", "--store", "postgres://db"}, 1, `unknown store "postgres"`},
		{[]string{"counter", "create", "--name", "X", "--site", "x.example", "--store", "duckdb://"}, 1, `has no path`},
		{[]string{"counter", "list", "--store", "nonsense"}, 1, `want scheme://`},
		{[]string{"token", "create", "--counter", "7", "--scope", "write"}, 1, "counter 7 not found"},
		{[]string{"token", "create", "--counter", "all", "--scope", "root"}, 1, `invalid scope "root"`},
		{[]string{"import", "sessions", "--counter", "1"}, 2, "takes one FILE"},
		{[]string{"import", "sessions", "--counter", "1", "--format", "xml", "f.csv"}, 1, `unknown session file format "xml"`},
		{[]string{"import", "sessions", "--counter", "1", "/does/not/exist.csv"}, 1, "open /does/not/exist.csv"},
		{[]string{"gen", "--out", t.TempDir(), "--days", "0"}, 2, "--days 0"},
	} {
		code, _, errs := c.run(tc.args...)
		if code != tc.code || !strings.Contains(errs, tc.msg) {
			t.Errorf("crmlink %s: exit %d, stderr %q; want exit %d naming %q", strings.Join(tc.args, " "), code, errs, tc.code, tc.msg)
		}
	}
	// None of that created a counter.
	if out := c.must("counter", "list", "--json"); strings.TrimSpace(out) != "[]" {
		t.Errorf("after bad commands: %s", out)
	}
}

func TestImportSessionsCLI(t *testing.T) {
	c := newCLI(t)
	c.must("counter", "create", "--name", "Shop", "--site", "shop.example")
	dir := t.TempDir()
	good := filepath.Join(dir, "good.csv")
	os.WriteFile(good, []byte("client_id,start,referrer\n5,2026-02-01 10:00:00,https://vk.com/\n6,2026-02-01 11:00:00,\n"), 0o600)
	out := c.must("import", "sessions", good, "--counter", "1")
	if !strings.Contains(out, "PASSED, 2 rows, 2 accepted") {
		t.Errorf("import printed %q", out)
	}
	bad := filepath.Join(dir, "bad.tsv")
	os.WriteFile(bad, []byte("ym:s:visitID\tym:s:clientID\tym:s:dateTime\n1\t5\t2026-02-01 10:00:00\n2\tfive\t2026-02-01 10:00:00\n"), 0o600)
	code, out, errs := c.run("import", "sessions", "--counter", "1", "--format", "metrica-logs", bad)
	if code != 1 || !strings.Contains(out, "FAILED") || !strings.Contains(out, "line 3, column ym:s:clientID") || !strings.Contains(errs, "line 3") {
		t.Errorf("bad import: exit %d, out %q, err %q", code, out, errs)
	}
	st, err := cli.OpenStore(context.Background(), c.store, c.clock)
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	stats, _ := st.SessionStats(context.Background(), 1)
	if stats.Sessions != 2 {
		t.Errorf("%d sessions stored, want the good file's 2", stats.Sessions)
	}
}

// TestServe starts the server, imports through it with the CLI's --server
// mode, and shuts it down while a request is in flight: the request must
// finish.
func TestServe(t *testing.T) {
	c := newCLI(t)
	c.must("counter", "create", "--name", "Shop", "--site", "shop.example")
	tok := strings.TrimSpace(c.must("token", "create", "--counter", "1", "--scope", "write"))

	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	srv := c.start(ctx, "serve", "--addr", "127.0.0.1:0", "--log-level", "warn")
	base := "http://" + srv.addr

	resp, err := http.Get(base + "/healthz")
	if err != nil || resp.StatusCode != 200 {
		t.Fatalf("healthz: %v %v", resp, err)
	}
	resp.Body.Close()

	dir := t.TempDir()
	file := filepath.Join(dir, "s.csv")
	os.WriteFile(file, []byte("client_id,start\n5,2026-02-01 10:00:00\n"), 0o600)
	e2, out, errs := c.env("")
	if code := run(ctx, []string{"import", "sessions", "--counter", "1", "--server", base, "--token", tok, file}, e2); code != 0 {
		t.Fatalf("remote import: exit %d: %s", code, errs.String())
	}
	if !strings.Contains(out.String(), "PASSED, 1 row, 1 accepted") {
		t.Errorf("remote import printed %q", out.String())
	}

	// A request in flight when the signal comes still gets its answer.
	pr, pw := io.Pipe()
	req, _ := http.NewRequest("POST", base+"/cdp/api/v1/counter/1/data/sessions", pr)
	req.Header.Set("Authorization", "OAuth "+tok)
	respc := make(chan *http.Response, 1)
	go func() {
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Errorf("in-flight request: %v", err)
		}
		respc <- resp
	}()
	fmt.Fprint(pw, "client_id,start\n6,2026-02-01 10:00:00\n")
	time.Sleep(300 * time.Millisecond) // let the server accept the request and start reading the body
	cancel()
	time.Sleep(100 * time.Millisecond)
	fmt.Fprint(pw, "7,2026-02-01 11:00:00\n")
	pw.Close()
	resp = <-respc
	if resp == nil || resp.StatusCode != 200 {
		t.Fatalf("in-flight request answered %v", resp)
	}
	resp.Body.Close()
	if code := <-srv.done; code != 0 {
		t.Errorf("serve exited %d after SIGTERM-like cancel: %s", code, srv.errb.String())
	}
	if _, err := http.Get(base + "/healthz"); err == nil {
		t.Error("server still answers after shutdown")
	}
}

// TestDemo runs the demo on a small data set and uses the token it prints.
func TestDemo(t *testing.T) {
	c := newCLI(t)
	dir := t.TempDir()
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	demo := c.start(ctx, "demo", "--addr", "127.0.0.1:0", "--log-level", "warn",
		"--store", "duckdb://"+filepath.Join(dir, "demo.db"), "--data", filepath.Join(dir, "data"),
		"--sessions", "3000", "--contacts", "200", "--orders", "300", "--days", "30")
	addr, out := demo.addr, demo.out
	var token string
	for _, line := range strings.Split(out.String(), "\n") {
		if v, ok := strings.CutPrefix(line, "token:"); ok {
			token = strings.TrimSpace(v)
		}
	}
	if token == "" || !strings.Contains(out.String(), "http://"+addr) {
		t.Fatalf("demo printed %q", out.String())
	}
	req, _ := http.NewRequest("GET", "http://"+addr+"/cdp/api/v1/counter/1/last_uploadings", nil)
	req.Header.Set("Authorization", "OAuth "+token)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	var body struct {
		Uploadings []struct {
			Status   string `json:"api_validation_status"`
			Accepted int    `json:"accepted"`
			Entity   string `json:"entity"`
		} `json:"uploadings"`
	}
	json.NewDecoder(resp.Body).Decode(&body)
	resp.Body.Close()
	// Newest first: the ad spend, simple orders, orders, contacts,
	// sessions; all passed.
	spend, err := os.ReadFile(filepath.Join(dir, "data", "expenses.csv"))
	if err != nil {
		t.Fatal(err)
	}
	want := []struct {
		entity   string
		accepted int
	}{{"expenses", bytes.Count(spend, []byte("\n")) - 1}, {"simple_orders", 15}, {"orders", 300}, {"contacts", 200}, {"sessions", 3000}}
	if len(body.Uploadings) != len(want) {
		t.Fatalf("demo's uploads: %+v", body)
	}
	for i, w := range want {
		u := body.Uploadings[i]
		if u.Entity != w.entity || u.Accepted != w.accepted || u.Status != "PASSED" {
			t.Errorf("upload %d = %+v, want %+v", i, u, w)
		}
	}
	// The printed export line is all the README's next commands need.
	var exports string
	for _, line := range strings.Split(out.String(), "\n") {
		if v, ok := strings.CutPrefix(strings.TrimSpace(line), "export "); ok {
			exports = v
		}
	}
	if exports != "CRMLINK_SERVER=http://"+addr+" CRMLINK_TOKEN="+token {
		t.Errorf("demo's export line = %q", exports)
	}
	client := newCLI(t)
	client.vars = map[string]string{}
	for _, kv := range strings.Fields(exports) {
		k, v, _ := strings.Cut(kv, "=")
		client.vars[k] = v
	}
	if code, rep, errs := client.run("report", "--counter", "1", "--preset", "orders_sources"); code != 0 || errs != "" || !strings.Contains(rep, "Total") {
		t.Errorf("report with the demo's exports: exit %d, %q\n%s", code, errs, rep)
	}
	// The dashboard opens with the printed user and password.
	var password string
	for _, line := range strings.Split(out.String(), "\n") {
		if v, ok := strings.CutPrefix(line, "sign in: user demo, password "); ok {
			password, _, _ = strings.Cut(v, " ")
		}
	}
	if password == "" {
		t.Fatalf("demo printed no password: %q", out.String())
	}
	jar, _ := cookiejar.New(nil)
	browser := &http.Client{Jar: jar}
	resp, err = browser.Get("http://" + addr + "/")
	if err != nil {
		t.Fatal(err)
	}
	page, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	m := regexp.MustCompile(`name="csrf" value="([0-9a-f]+)"`).FindSubmatch(page)
	if m == nil {
		t.Fatalf("home is not the sign-in page: %.300s", page)
	}
	resp, err = browser.PostForm("http://"+addr+"/signin", url.Values{"csrf": {string(m[1])}, "user": {"demo"}, "password": {password}, "next": {"/"}})
	if err != nil {
		t.Fatal(err)
	}
	page, _ = io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 200 || !strings.Contains(string(page), "<h1>Overview</h1>") {
		t.Errorf("signing in as demo: %d %.300s", resp.StatusCode, page)
	}
	for _, f := range []string{"sessions.csv", "contacts.csv", "orders.csv", "truth.csv"} {
		if _, err := os.Stat(filepath.Join(dir, "data", f)); err != nil {
			t.Errorf("demo data: %v", err)
		}
	}
	cancel()
	if code := <-demo.done; code != 0 {
		t.Errorf("demo exited %d: %s", code, demo.errb.String())
	}
}

func TestUploadCLI(t *testing.T) {
	c := newCLI(t)
	c.must("counter", "create", "--name", "Shop", "--site", "shop.example")
	dir := t.TempDir()
	write := func(name, body string) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, []byte(body), 0o600); err != nil {
			t.Fatal(err)
		}
		return p
	}
	contacts := write("contacts.csv", "uniq_id;name;emails\nC1;Anna;anna@example.com\nC2;Boris;\n")
	out := c.must("upload", "contacts", contacts, "--counter", "1", "--delimiter", "semicolon")
	if !strings.Contains(out, "PASSED, 2 rows, 2 accepted") {
		t.Errorf("contacts: %q", out)
	}
	statuses := write("statuses.json", `{"order_statuses":[{"id":"new","type":"IN_PROGRESS"},{"id":"done","type":"PAID"}]}`)
	if out := c.must("statuses", "set", "--counter", "1", statuses); !strings.Contains(out, "done") {
		t.Errorf("statuses: %q", out)
	}
	orders := write("orders.csv", "ID,Customer,Created,Status,revenue\nO1,C1,2026-02-01 10:00,new,100\nO2,C9,2026-02-01 10:00,done,50\nO3,C2,2030-01-01 10:00,done,5\n")
	mapping := `"id":"ID","client_uniq_id":"Customer","create_date_time":"Created","order_status":"Status"`
	code, out, errs := c.run("upload", "orders", orders, "--counter", "1", "--columns-mapping", mapping)
	if code != 1 || !strings.Contains(out, "FAILED") || !strings.Contains(out, "line 4, column Created") {
		t.Errorf("bad orders: exit %d, %q, %q", code, out, errs)
	}
	out = c.must("upload", "orders", orders, "--counter", "1", "--columns-mapping", mapping, "--on-error", "skip")
	if !strings.Contains(out, "PASSED, 3 rows, 1 accepted, 2 rejected") || !strings.Contains(out, "column Customer") && !strings.Contains(out, "client_uniq_id") {
		t.Errorf("skip orders: %q", out)
	}
	if out := c.must("relink", "--counter", "1"); out != "0 orders linked to sessions; 1 not linked: 1 unknown customer\n" {
		t.Errorf("relink: %q", out)
	}
	conv := write("conv.csv", "UserId,Target,DateTime,Price\nu-1,call,1769940000,10\n")
	if out := c.must("upload", "offline-conversions", conv, "--counter", "1"); !strings.Contains(out, "PASSED, 1 row, 1 accepted") {
		t.Errorf("offline: %q", out)
	}
	code, _, errs = c.run("upload", "invoices", conv, "--counter", "1")
	if code != 2 || !strings.Contains(errs, "want contacts, orders") {
		t.Errorf("unknown entity: %d %q", code, errs)
	}
}

func TestUserCLI(t *testing.T) {
	c := newCLI(t)
	c.must("counter", "create", "--name", "Shop", "--site", "shop.example")
	runIn := func(stdin string, args ...string) (int, string, string) {
		e, out, errb := c.env(stdin)
		code := run(context.Background(), args, e)
		return code, out.String(), errb.String()
	}
	if code, out, errs := runIn("a long password\n", "user", "add", "anna", "--counter", "1", "--scope", "write"); code != 0 || !strings.Contains(out, "anna can sign in") {
		t.Fatalf("user add: %d %q %q", code, out, errs)
	}
	for _, tc := range []struct {
		stdin string
		args  []string
		code  int
		msg   string
	}{
		{"a long password\n", []string{"user", "add", "anna", "--counter", "1"}, 1, "already exists"},
		{"a long password\n", []string{"user", "add", "bad name", "--counter", "1"}, 1, "only letters"},
		{"short\n", []string{"user", "add", "bob", "--counter", "1"}, 1, "at least 8"},
		{"", []string{"user", "add", "bob", "--counter", "1"}, 2, "no password"},
		{"a long password\n", []string{"user", "add", "bob"}, 2, "--counter is required"},
		{"a long password\n", []string{"user", "add", "bob", "--counter", "9"}, 1, "counter 9"},
		{"a long password\n", []string{"user", "passwd", "nobody"}, 1, "not found"},
		{"", []string{"user"}, 2, "want add or passwd"},
	} {
		if code, _, errs := runIn(tc.stdin, tc.args...); code != tc.code || !strings.Contains(errs, tc.msg) {
			t.Errorf("crmlink %s: exit %d, %q; want %d naming %q", strings.Join(tc.args, " "), code, errs, tc.code, tc.msg)
		}
	}
	if code, _, errs := runIn("another long one\n", "user", "passwd", "anna"); code != 0 {
		t.Fatalf("user passwd: %d %q", code, errs)
	}
	st, err := cli.OpenStore(context.Background(), c.store, c.clock)
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	u, err := st.User(context.Background(), "anna")
	if err != nil || u.Scope != crmlink.ScopeWrite || u.CounterID != 1 || !crmhttp.CheckPassword(u.PasswordHash, "another long one") {
		t.Errorf("anna: %+v, %v", u, err)
	}
}
