package main

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/crmlink/crmlink"
	"github.com/crmlink/crmlink/internal/cli"
)

// TestCrashDuringCollect sends page views of new visitors to `crmlink
// serve` from many connections and kills the server with SIGKILL in the
// middle: every hit it acknowledged must have its session in the store.
func TestCrashDuringCollect(t *testing.T) {
	if testing.Short() {
		t.Skip("runs a server under load for seconds")
	}
	dir := t.TempDir()
	store := "duckdb://" + filepath.Join(dir, "crmlink.db")
	c := &cmdline{t: t, store: store, clock: &crmlink.FixedClock{T: time.Now()}}
	if id := strings.TrimSpace(c.must("counter", "create", "--name", "Shop", "--site", "shop.example")); id != "1" {
		t.Fatalf("counter create printed %q", id)
	}

	logPath := filepath.Join(dir, "serve.log")
	logFile, err := os.Create(logPath)
	if err != nil {
		t.Fatal(err)
	}
	defer logFile.Close()
	serverLog := func() string { b, _ := os.ReadFile(logPath); return string(b) }
	child, base := startServe(t, store, logFile)
	killed := false
	defer func() {
		if !killed {
			child.Process.Kill()
			child.Wait()
		}
	}()
	if err := cli.WaitHealthy(context.Background(), base); err != nil {
		t.Fatalf("%v; stderr: %s", err, serverLog())
	}

	// Each worker sends the first page view of one new visitor after
	// another: an acknowledged hit is a session with its ClientID.
	const workers = 32
	tr := &http.Transport{MaxIdleConnsPerHost: workers, MaxConnsPerHost: workers, DisableCompression: true}
	defer tr.CloseIdleConnections()
	client := &http.Client{Transport: tr, Timeout: 10 * time.Second}
	var stop atomic.Bool
	var wg sync.WaitGroup
	acked := make([][]uint64, workers)
	sent := make([]int, workers)
	failed := make([]int, workers)
	first := uint64(time.Now().Unix()) * 1_000_000_000
	for w := 0; w < workers; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for n := uint64(0); !stop.Load(); n++ {
				cid := first + uint64(w)*10_000_000 + n
				body := fmt.Sprintf(`{"cid":"%d","t":"pv","url":"https://shop.example/item/%d","ref":"https://www.google.com/","title":"Item"}`, cid, n)
				req, _ := http.NewRequestWithContext(context.Background(), "POST", base+"/collect/1", strings.NewReader(body))
				req.Header.Set("Content-Type", "text/plain;charset=UTF-8")
				req.Header.Set("User-Agent", "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/124.0.0.0 Safari/537.36")
				sent[w]++
				resp, err := client.Do(req)
				if err != nil {
					failed[w]++
					if stop.Load() {
						return
					}
					time.Sleep(10 * time.Millisecond)
					continue
				}
				io.Copy(io.Discard, resp.Body)
				resp.Body.Close()
				if resp.StatusCode/100 == 2 {
					acked[w] = append(acked[w], cid)
				} else {
					failed[w]++
				}
			}
		}()
	}
	// Two seconds of load, then the kill, with hits in flight and, most
	// likely, a batch being written.
	time.Sleep(2 * time.Second)
	if err := child.Process.Signal(syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	stop.Store(true)
	child.Wait()
	killed = true
	wg.Wait()
	var ackedAll []uint64
	nsent, nfailed := 0, 0
	for w := range acked {
		ackedAll = append(ackedAll, acked[w]...)
		nsent += sent[w]
		nfailed += failed[w]
	}
	if len(ackedAll) == 0 {
		t.Fatalf("no hit was acknowledged in 2 s (%d sent); server stderr: %s", nsent, serverLog())
	}

	st, err := cli.OpenStore(context.Background(), store, crmlink.SystemClock{})
	if err != nil {
		t.Fatalf("the store does not open after the crash: %v", err)
	}
	defer st.Close()
	rows, err := engineDB(st).Query(`SELECT client_id, page_views FROM sessions WHERE counter_id = 1`)
	if err != nil {
		t.Fatal(err)
	}
	stored := map[uint64]int{}
	sessions := 0
	for rows.Next() {
		var cid uint64
		var pv int
		if err := rows.Scan(&cid, &pv); err != nil {
			t.Fatal(err)
		}
		stored[cid] += pv
		sessions++
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	rows.Close()
	missing := 0
	for _, cid := range ackedAll {
		if stored[cid] == 0 {
			if missing < 10 {
				t.Errorf("ClientID %d: hit acknowledged, no session stored", cid)
			}
			missing++
		}
	}
	if missing > 0 {
		t.Errorf("%d of %d acknowledged hits lost", missing, len(ackedAll))
	}
	for cid, pv := range stored {
		if pv != 1 {
			t.Errorf("ClientID %d: %d page views stored, sent 1", cid, pv)
		}
	}
	if sessions != len(stored) {
		t.Errorf("%d sessions for %d ClientIDs, want one each", sessions, len(stored))
	}
	if left, _ := filepath.Glob(filepath.Join(dir, "crmlink-*.tsv")); len(left) > 0 {
		t.Errorf("spool files left after reopening: %v", left)
	}
	t.Logf("%d hits sent, %d acknowledged, %d failed or cut by the kill; %d sessions stored: %d acknowledged ones missing, %d stored unacknowledged (in flight at the kill)",
		nsent, len(ackedAll), nfailed, len(stored), missing, len(stored)-(len(ackedAll)-missing))
}
