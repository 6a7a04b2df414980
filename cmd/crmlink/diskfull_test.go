package main

import (
	"bytes"
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/crmlink/crmlink"
	"github.com/crmlink/crmlink/duckdb"
	crmhttp "github.com/crmlink/crmlink/http"
	"github.com/crmlink/crmlink/internal/tmpfs"
	"github.com/crmlink/crmlink/store"
)

// lockedBuffer is a bytes.Buffer that a server's logger and a test share.
type lockedBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (b *lockedBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.b.Write(p)
}

func (b *lockedBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.b.String()
}

// diskFullClient sends what a site and a CRM send, and records every
// answer: the sequence the issue asked to report.
type diskFullClient struct {
	t       *testing.T
	base    string
	token   string
	day     string
	nextCID int
	acked   int // hits answered 204: each opened a session of its own
	answers []string
}

func (c *diskFullClient) do(req *http.Request) (int, string) {
	c.t.Helper()
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		c.t.Fatalf("%s %s: %v", req.Method, req.URL.Path, err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	if resp.StatusCode == http.StatusInternalServerError {
		c.t.Errorf("%s %s answered 500: %s", req.Method, req.URL.Path, body)
	}
	if resp.StatusCode == http.StatusServiceUnavailable && resp.Header.Get("Retry-After") == "" {
		c.t.Errorf("%s %s answered 503 without Retry-After", req.Method, req.URL.Path)
	}
	return resp.StatusCode, string(body)
}

// message is the error message of an answer, or its status for /healthz.
func message(body string) string {
	var v struct {
		Message string `json:"message"`
		Status  string `json:"status"`
		Reason  string `json:"reason"`
	}
	json.Unmarshal([]byte(body), &v)
	switch {
	case v.Reason != "":
		return v.Reason
	case v.Message != "":
		return v.Message
	}
	return v.Status
}

func (c *diskFullClient) note(phase, what string, code int, body string) {
	c.answers = append(c.answers, fmt.Sprintf("%-9s %-22s %d %s", phase, what, code, message(body)))
}

func (c *diskFullClient) health(phase string) (int, string) {
	req, _ := http.NewRequest("GET", c.base+"/healthz", nil)
	code, body := c.do(req)
	c.note(phase, "GET /healthz", code, body)
	return code, body
}

// hits sends n page views of new visitors and returns how many were
// acknowledged.
func (c *diskFullClient) hits(phase string, n int) (acked int, codes map[int]int) {
	codes = map[int]int{}
	var last string
	for range n {
		c.nextCID++
		body := fmt.Sprintf(`{"cid":"%d","t":"pv","url":"https://shop.example/p?utm_source=s%d"}`, 1000000+c.nextCID, c.nextCID)
		req, _ := http.NewRequest("POST", c.base+"/collect/1", strings.NewReader(body))
		req.Header.Set("Content-Type", "application/json")
		req.Header.Set("User-Agent", "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120.0 Safari/537.36")
		code, answer := c.do(req)
		codes[code]++
		if code == http.StatusNoContent {
			acked++
		} else {
			last = answer
		}
	}
	c.acked += acked
	c.answers = append(c.answers, fmt.Sprintf("%-9s %-22s %v %s", phase, fmt.Sprintf("POST /collect ×%d", n), codes, message(last)))
	return acked, codes
}

// upload sends a contacts CSV of n contacts starting at from.
func (c *diskFullClient) upload(phase string, from, n int) (int, string) {
	var csv strings.Builder
	csv.WriteString("uniq_id,name,emails\n")
	for i := from; i < from+n; i++ {
		fmt.Fprintf(&csv, "C-%d,Customer %d,c%d@mail.example\n", i, i, i)
	}
	req, _ := http.NewRequest("POST", c.base+"/cdp/api/v1/counter/1/data/contacts/csv", strings.NewReader(csv.String()))
	req.Header.Set("Authorization", "OAuth "+c.token)
	code, body := c.do(req)
	c.note(phase, "POST contacts (CSV)", code, body)
	return code, body
}

func (c *diskFullClient) importSessions(phase string, n int) (int, string) {
	var csv strings.Builder
	csv.WriteString("client_id,start,landing_url,referrer\n")
	for i := range n {
		fmt.Fprintf(&csv, "%d,%s 0%d:%02d:00,https://shop.example/?utm_source=imp%d&utm_campaign=c%d,https://www.google.com/\n",
			i+1, c.day, i%10, i%60, i, i%97)
	}
	req, _ := http.NewRequest("POST", c.base+"/cdp/api/v1/counter/1/data/sessions?format=csv", strings.NewReader(csv.String()))
	req.Header.Set("Authorization", "OAuth "+c.token)
	code, body := c.do(req)
	c.note(phase, fmt.Sprintf("POST sessions ×%d", n), code, body)
	return code, body
}

func (c *diskFullClient) report(phase string) (int, string) {
	req, _ := http.NewRequest("GET", c.base+"/stat/v1/data?ids=1&metrics=ym:s:visits&date1="+c.day+"&date2="+c.day, nil)
	req.Header.Set("Authorization", "OAuth "+c.token)
	code, body := c.do(req)
	c.note(phase, "GET /stat/v1/data", code, body)
	return code, body
}

// TestDiskFull runs a server on a small file system that fills up: the
// health check says so, uploads and hits are refused with 503 and a
// message to retry (never 500), a checkpoint that fails for lack of space
// breaks DuckDB's database, and once space is freed the server opens the
// store again by itself and serves, with every acknowledged hit and
// upload stored.
func TestDiskFull(t *testing.T) {
	if testing.Short() {
		t.Skip("runs a server on a tmpfs")
	}
	root := tmpfs.Mount(t, 48<<20)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	now := time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
	c := &cmdline{t: t, store: "duckdb://" + filepath.Join(root, "crmlink.db"), clock: &crmlink.FixedClock{T: now}}
	c.must("counter", "create", "--name", "Shop", "--site", "shop.example", "--timezone", "UTC")
	token := strings.TrimSpace(c.must("token", "create", "--counter", "1", "--scope", "write"))

	var logs lockedBuffer
	log := slog.New(slog.NewJSONHandler(&logs, &slog.HandlerOptions{Level: slog.LevelInfo}))
	st, err := openServing(ctx, c.store, c.clock, log)
	if err != nil {
		t.Fatal(err)
	}
	e, _, _ := c.env("")
	addrc := make(chan string, 1)
	served := make(chan error, 1)
	go func() {
		served <- serve(ctx, st, serveConfig{addr: "127.0.0.1:0", maxBody: crmhttp.DefaultMaxBodyBytes}, log, e,
			func(addr string) { addrc <- addr })
	}()
	cl := &diskFullClient{t: t, base: "http://" + <-addrc, token: token, day: now.Format(time.DateOnly)}
	defer func() { t.Logf("the answers, in order:\n%s", strings.Join(cl.answers, "\n")) }()

	// Healthy: hits, an import (whose rows wait in DuckDB's write-ahead
	// log for a checkpoint), a contacts upload.
	const imported = 20000
	if code, body := cl.health("healthy"); code != http.StatusOK {
		t.Fatalf("healthz before the disk filled: %d %s", code, body)
	}
	if acked, _ := cl.hits("healthy", 20); acked != 20 {
		t.Fatalf("%d of 20 hits acknowledged on a healthy store", acked)
	}
	if code, body := cl.importSessions("healthy", imported); code != http.StatusOK {
		t.Fatalf("import: %d %s", code, body)
	}
	contacts := 0
	if code, body := cl.upload("healthy", contacts, 100); code != http.StatusOK {
		t.Fatalf("contacts upload: %d %s", code, body)
	}
	contacts += 100

	// The disk fills up: the store still reads, and refuses writes.
	free := tmpfs.Fill(t, root, 0)
	if code, body := cl.health("disk full"); code != http.StatusServiceUnavailable || !strings.Contains(body, "no space") {
		t.Errorf("healthz on a full disk: %d %s, want 503 naming the lack of space", code, body)
	}
	if _, codes := cl.hits("disk full", 50); codes[http.StatusServiceUnavailable] == 0 {
		t.Errorf("hits on a full disk: %v, want 503s", codes)
	}
	code, body := cl.upload("disk full", contacts, 100)
	if code == http.StatusOK {
		contacts += 100
	}
	if code != http.StatusServiceUnavailable || !strings.Contains(body, "again") {
		t.Errorf("upload on a full disk: %d %s, want 503 saying to send it again", code, body)
	}
	if code, body := cl.report("disk full"); code != http.StatusOK {
		t.Errorf("a report on a full disk: %d %s, want it read", code, body)
	}

	// A checkpoint on the full disk breaks DuckDB's database: every
	// statement fails from then on, until it is opened again.
	if err := st.Current().(*store.Store).Engine.(*duckdb.Store).Checkpoint(ctx); err == nil {
		t.Fatal("a checkpoint of the import succeeded on a full disk")
	}
	cl.answers = append(cl.answers, "broken    (a checkpoint failed for lack of space)")
	if code, body := cl.health("broken"); code != http.StatusServiceUnavailable {
		t.Errorf("healthz after the store failed: %d %s", code, body)
	}
	cl.hits("broken", 20)
	cl.report("broken")
	if code, _ := cl.upload("broken", contacts, 100); code == http.StatusOK {
		contacts += 100
	}
	cl.health("broken")

	// Space is freed: the server opens the store again by itself.
	free()
	freed := time.Now()
	for {
		code, _ := cl.health("freed")
		if code == http.StatusOK {
			break
		}
		if time.Since(freed) > 60*time.Second {
			t.Fatalf("the server did not serve again within 60 s of freeing space; log:\n%s", logs.String())
		}
		time.Sleep(500 * time.Millisecond)
	}
	cl.answers = append(cl.answers, fmt.Sprintf("freed     serving again %.1f s after space was freed", time.Since(freed).Seconds()))
	if acked, _ := cl.hits("recovered", 20); acked != 20 {
		t.Errorf("%d of 20 hits acknowledged after recovery", acked)
	}
	if code, body := cl.upload("recovered", contacts, 100); code != http.StatusOK {
		t.Errorf("an upload after recovery: %d %s", code, body)
	} else {
		contacts += 100
	}
	if code, body := cl.report("recovered"); code != http.StatusOK {
		t.Errorf("a report after recovery: %d %s", code, body)
	}

	// Nothing acknowledged was lost: every hit answered 204 opened one
	// session, beside the imported ones, and every contact upload that
	// passed is stored.
	if err := st.SyncHits(ctx); err != nil {
		t.Fatal(err)
	}
	stats, err := st.SessionStats(ctx, 1)
	if err != nil {
		t.Fatal(err)
	}
	if want := int64(imported + cl.acked); stats.Sessions != want {
		t.Errorf("%d sessions stored, want %d: %d imported and %d hits acknowledged", stats.Sessions, want, imported, cl.acked)
	}
	for _, id := range []int{0, 99, 100, 199, 200, 299} {
		_, err := st.Contact(ctx, 1, fmt.Sprint("C-", id))
		switch {
		case id < contacts && err != nil:
			t.Errorf("contact C-%d of an upload that passed: %v", id, err)
		case id >= contacts && crmlink.KindOf(err) != crmlink.KindNotFound:
			t.Errorf("contact C-%d of an upload that was refused: %v", id, err)
		}
	}
	if files, _ := os.ReadDir(filepath.Join(root, "crmlink.db.hits")); len(files) > 4 {
		t.Errorf("%d files in the hit log's directory, want at most 4", len(files))
	}

	cancel()
	if err := <-served; err != nil {
		t.Errorf("serve: %v", err)
	}
	if !strings.Contains(logs.String(), `"msg":"the store is open again"`) {
		t.Errorf("the log does not say the store was opened again:\n%s", logs.String())
	}
	if lines := strings.Split(strings.TrimSpace(logs.String()), "\n"); !strings.Contains(lines[len(lines)-1], `"msg":"stopped"`) {
		t.Errorf("the log's last line is not \"stopped\": %s", lines[len(lines)-1])
	}
}

// engineDB is the database of the DuckDB engine behind a store that
// openStore or openServing opened.
func engineDB(st crmlink.Store) *sql.DB { return st.(*store.Store).Engine.(*duckdb.Store).DB() }
