package main

import (
	"context"
	"encoding/json"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/crmlink/crmlink"
	"github.com/crmlink/crmlink/gen"
	"github.com/crmlink/crmlink/internal/cli"
)

// TestMain lets a test run the binary's run() in a child process: the test
// binary re-executes itself with CRMLINK_TEST_MAIN set, and then runs as
// main does.
func TestMain(m *testing.M) {
	if os.Getenv("CRMLINK_TEST_MAIN") == "1" {
		cli.Main(run)
	}
	os.Exit(m.Run())
}

// startServe starts `crmlink serve` on store in a child process, on a free
// loopback port, logging errors to stderr; the caller waits for it to
// answer, and kills it.
func startServe(t *testing.T, store string, stderr io.Writer) (*exec.Cmd, string) {
	t.Helper()
	return startServeLogging(t, store, stderr, "error")
}

// startServeLogging is startServe logging at level.
func startServeLogging(t *testing.T, store string, stderr io.Writer, level string) (*exec.Cmd, string) {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	child := exec.Command(os.Args[0], "serve", "--addr", addr, "--store", store, "--log-level", level)
	child.Env = append(os.Environ(), "CRMLINK_TEST_MAIN=1")
	child.Stderr = stderr
	if err := child.Start(); err != nil {
		t.Fatal(err)
	}
	return child, "http://" + addr
}

// crmStore makes a store in a temporary directory with a counter (1), the
// generated status mapping and contacts, and the generated files beside
// it; it returns the directory, the store's URL, the files' directory and
// a CLI on the store.
func crmStore(t *testing.T, seed uint64, contacts, orders int) (dir, store, data string, c *cmdline) {
	t.Helper()
	dir = t.TempDir()
	store = "duckdb://" + filepath.Join(dir, "crmlink.db")
	data = filepath.Join(dir, "data")
	loc, _ := time.LoadLocation("Europe/Moscow")
	if _, err := gen.Generate(context.Background(), gen.Config{Out: data, Seed: seed, Sessions: 10000, Contacts: contacts,
		Orders: orders, Days: 30, End: time.Now(), Site: "shop.example", Location: loc}); err != nil {
		t.Fatal(err)
	}
	c = &cmdline{t: t, store: store, clock: &crmlink.FixedClock{T: time.Now()}}
	c.must("counter", "create", "--name", "Shop", "--site", "shop.example")
	c.must("statuses", "set", "--counter", "1", filepath.Join(data, gen.OrderStatusesFile))
	c.must("upload", "contacts", filepath.Join(data, gen.ContactsFile), "--counter", "1")
	return dir, store, data, c
}

// TestCrashDuringUpload kills a process with SIGKILL in the middle of a
// large orders upload: the store must come back as it was before it.
func TestCrashDuringUpload(t *testing.T) {
	if testing.Short() {
		t.Skip("generates 300k orders")
	}
	dir, store, data, c := crmStore(t, 3, 20000, 300000)

	child := exec.Command(os.Args[0], "upload", "orders", filepath.Join(data, gen.OrdersFile), "--counter", "1", "--store", store)
	child.Env = append(os.Environ(), "CRMLINK_TEST_MAIN=1")
	if err := child.Start(); err != nil {
		t.Fatal(err)
	}
	// Kill it once it is loading: its spool files appear beside the store.
	deadline := time.Now().Add(30 * time.Second)
	for {
		spools, _ := filepath.Glob(filepath.Join(dir, "crmlink-orders-*"))
		if len(spools) > 0 || time.Now().After(deadline) {
			break
		}
		time.Sleep(20 * time.Millisecond)
	}
	time.Sleep(300 * time.Millisecond)
	child.Process.Signal(syscall.SIGKILL)
	child.Wait()

	st, err := cli.OpenStore(context.Background(), store, c.clock)
	if err != nil {
		t.Fatalf("the store does not open after the crash: %v", err)
	}
	defer st.Close()
	if left, _ := filepath.Glob(filepath.Join(dir, "crmlink-*.tsv")); len(left) > 0 {
		t.Errorf("spool files left after reopening: %v", left)
	}
	if _, _, err := st.Order(context.Background(), 1, "10001"); crmlink.KindOf(err) != crmlink.KindNotFound {
		t.Errorf("an order of the killed upload is in the store: %v", err)
	}
	ups, err := st.Uploads(context.Background(), 1, time.Time{}, 10)
	if err != nil || len(ups) != 1 || ups[0].Entity != crmlink.EntityContacts {
		t.Errorf("uploads after the crash: %+v, %v", ups, err)
	}
	if ct, err := st.Contact(context.Background(), 1, "100001"); err != nil || ct.UniqID != "100001" {
		t.Errorf("contacts after the crash: %+v, %v", ct, err)
	}
	st.Close()
	// And the same upload then goes through.
	out := c.must("upload", "orders", filepath.Join(data, gen.OrdersFile), "--counter", "1")
	if !strings.Contains(out, "PASSED, 300000 rows, 300000 accepted") {
		t.Errorf("upload after the crash: %q", out)
	}
}

// TestCrashAfterAccept kills the server with SIGKILL as soon as it has
// answered an orders upload, which it applies after answering: the
// accepted upload must be whole in the store once it opens again.
func TestCrashAfterAccept(t *testing.T) {
	if testing.Short() {
		t.Skip("runs a server")
	}
	ctx := context.Background()
	dir, store, data, c := crmStore(t, 4, 5000, 60000)
	token := strings.TrimSpace(c.must("token", "create", "--counter", "1", "--scope", "write"))
	up, err := acceptThenKill(t, store, data, token)
	if err != nil || up.Status != crmlink.UploadPassed || up.Accepted != 60000 {
		t.Fatalf("upload: %+v, %v", up, err)
	}
	t.Logf("killed with the upload queued: %v", up.Queued)

	st, err := cli.OpenStore(ctx, store, c.clock)
	if err != nil {
		t.Fatalf("the store does not open after the crash: %v", err)
	}
	defer st.Close()
	got, err := st.Upload(ctx, 1, up.ID)
	if err != nil || got.Queued || got.Status != crmlink.UploadPassed || got.Accepted != 60000 {
		t.Fatalf("the accepted upload after the crash: %+v, %v", got, err)
	}
	var orders int
	if err := engineDB(st).QueryRow(`SELECT count(*) FROM orders WHERE counter_id = 1`).Scan(&orders); err != nil || orders != 60000 {
		t.Errorf("%d orders in the store, %v; want 60000", orders, err)
	}
	if left, _ := os.ReadDir(filepath.Join(dir, "crmlink.db.d", "uploads")); len(left) != 0 {
		t.Errorf("spools left: %v", left)
	}
}

// acceptThenKill starts a server on store, sends it the generated orders
// in data, and kills it with SIGKILL as soon as it has answered: the
// upload is then accepted, and queued unless it was applied already.
func acceptThenKill(t *testing.T, store, data, token string) (*crmlink.Upload, error) {
	t.Helper()
	ctx := context.Background()
	child, base := startServe(t, store, nil)
	defer child.Process.Kill()
	if err := cli.WaitHealthy(ctx, base); err != nil {
		t.Fatal(err)
	}
	f, err := os.Open(filepath.Join(data, gen.OrdersFile))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	up, err := cli.UploadRemote(ctx, &cli.APIClient{Base: base, Token: token}, 1, "orders", nil, gen.OrdersFile, f)
	child.Process.Signal(syscall.SIGKILL)
	child.Wait()
	return up, err
}

// TestListenFirst: after a crash with a large accepted upload still
// queued, the server listens at once and applies the queue in the
// background, saying meanwhile that the upload is not applied and that
// reports lag; SIGTERM while it applies stops the server within seconds,
// "stopped" last in its log, with the upload still queued; and a server
// started right after opens the store and applies the upload whole.
func TestListenFirst(t *testing.T) {
	if testing.Short() {
		t.Skip("generates 300k orders")
	}
	ctx := context.Background()
	_, store, data, c := crmStore(t, 5, 20000, 300000)
	token := strings.TrimSpace(c.must("token", "create", "--counter", "1", "--scope", "write"))
	up, err := acceptThenKill(t, store, data, token)
	if err != nil || !up.Queued {
		t.Fatalf("upload: %+v, %v; want it accepted and queued when the server was killed", up, err)
	}

	var logs lockedBuffer
	start := time.Now()
	child, base := startServeLogging(t, store, &logs, "info")
	defer child.Process.Kill()
	if err := cli.WaitHealthy(ctx, base); err != nil {
		t.Fatal(err)
	}
	listened := time.Since(start)
	// The report first, then the upload: an upload shown not applied
	// was queued when the report ran too, which must then lag.
	req, _ := http.NewRequest("GET", base+"/stat/v1/data?ids=1&metrics=ym:s:visits&date1=30daysAgo&date2=today", nil)
	req.Header.Set("Authorization", "OAuth "+token)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	var answer struct {
		DataLag int `json:"data_lag"`
	}
	json.NewDecoder(resp.Body).Decode(&answer)
	resp.Body.Close()
	req, _ = http.NewRequest("GET", base+"/cdp/api/v1/counter/1/uploading/"+up.ID, nil)
	req.Header.Set("Authorization", "OAuth "+token)
	got, err := cli.SendUpload(req, base)
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("listening %v after the start, with the upload applied: %v, data_lag %d s", listened.Round(time.Millisecond), !got.Queued, answer.DataLag)
	if !got.Queued {
		t.Fatalf("the queued upload was applied before the server answered: it did not listen first")
	}
	if answer.DataLag <= 0 {
		t.Errorf("a report with an upload queued has data_lag %d", answer.DataLag)
	}

	// SIGTERM while the upload is applied.
	stopping := time.Now()
	child.Process.Signal(syscall.SIGTERM)
	if err := child.Wait(); err != nil {
		t.Errorf("serve after SIGTERM: %v\n%s", err, logs.String())
	}
	if took := time.Since(stopping); took > 10*time.Second {
		t.Errorf("serve took %v to stop; log:\n%s", took, logs.String())
	}
	lines := strings.Split(strings.TrimSpace(logs.String()), "\n")
	if last := lines[len(lines)-1]; !strings.Contains(last, `"msg":"stopped"`) {
		t.Errorf("the log's last line is not \"stopped\": %s", last)
	}

	child, base = startServe(t, store, nil)
	defer child.Process.Kill()
	if err := cli.WaitHealthy(ctx, base); err != nil {
		t.Fatalf("a server started right after the stop: %v", err)
	}
	wctx, cancel := context.WithTimeout(ctx, 2*time.Minute)
	defer cancel()
	got, err = cli.WaitApplied(wctx, &cli.APIClient{Base: base, Token: token}, 1, up, 2*time.Minute)
	if err != nil || got.Status != crmlink.UploadPassed || got.Accepted != 300000 {
		t.Fatalf("the upload once applied: %+v, %v", got, err)
	}
	child.Process.Signal(syscall.SIGTERM)
	child.Wait()
	st, err := cli.OpenStore(ctx, store, c.clock)
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	var orders int
	if err := engineDB(st).QueryRow(`SELECT count(*) FROM orders WHERE counter_id = 1`).Scan(&orders); err != nil || orders != 300000 {
		t.Errorf("%d orders in the store, %v; want 300000", orders, err)
	}
}

// TestStoreInUse: a command on a store file a running server holds says
// so, and how to send the command to the server, rather than failing on
// DuckDB's lock.
func TestStoreInUse(t *testing.T) {
	c := newCLI(t)
	c.must("counter", "create", "--name", "Shop", "--site", "shop.example")
	child, base := startServe(t, c.store, nil)
	defer func() { child.Process.Kill(); child.Wait() }()
	deadline := time.Now().Add(20 * time.Second)
	for {
		resp, err := http.Get(base + "/healthz")
		if err == nil {
			resp.Body.Close()
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("the server did not answer: %v", err)
		}
		time.Sleep(50 * time.Millisecond)
	}
	code, _, stderr := c.run("counter", "list")
	if code == 0 || !strings.Contains(stderr, "is in use by a running crmlink") || !strings.Contains(stderr, "--server") {
		t.Errorf("counter list beside a server: exit %d, stderr %q", code, stderr)
	}
}
