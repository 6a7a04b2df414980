package main

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
	"sync"
	"time"

	"github.com/crmlink/crmlink"
	"github.com/crmlink/crmlink/internal/cli"
)

// benchHostile measures a server's memory under two hostile requests, each
// on a server of its own so that each peak is its own: one JSON upload
// whose single string field is jsonMB megabytes, and slow hits, whose
// senders hold back the rest of their bodies. bin is the crmlink binary
// whose server is measured.
func benchHostile(ctx context.Context, dir, bin string, jsonMB, slow int, e *cli.Env) error {
	storeURL := benchStoreURL(dir, "")
	g := cli.GenFlags{Site: "shop.example", TimeZone: "UTC"}
	c, secret, err := prepareBenchStore(ctx, storeURL, g.CreateCounter, "", e)
	if err != nil {
		return err
	}

	if jsonMB > 0 {
		srv, _, err := relaunch(ctx, bin, storeURL, e)
		if err != nil {
			return err
		}
		code, msg, took, err := sendHugeField(ctx, srv.base, secret, c.ID, jsonMB)
		rss := srv.peakRSS()
		srv.stop()
		if err != nil {
			return err
		}
		fmt.Fprintf(e.Stdout, "a JSON upload with one %d MB string field: answered %d in %s (%s); server peak RSS %s\n",
			jsonMB, code, took.Round(time.Millisecond), msg, rss)
	}
	if slow > 0 {
		srv, _, err := relaunch(ctx, bin, storeURL, e)
		if err != nil {
			return err
		}
		held, cut, waited, err := holdSlowHits(ctx, srv, c.ID, slow)
		rss := srv.peakRSS()
		srv.stop()
		if err != nil {
			return err
		}
		fmt.Fprintf(e.Stdout, "%d hits holding back their bodies: %d held open, %d answered and let go within %s; server peak RSS %s\n",
			slow, held, cut, waited.Round(time.Millisecond), rss)
	}
	return nil
}

// sendHugeField uploads {"contacts":[{"uniq_id":"1","name":"aaa…"}]} with
// a name of mb megabytes, generated as it is sent, and returns the answer.
func sendHugeField(ctx context.Context, base, token string, counter crmlink.CounterID, mb int) (code int, msg string, took time.Duration, err error) {
	pr, pw := io.Pipe()
	go func() {
		chunk := []byte(strings.Repeat("a", 1<<20))
		_, err := io.WriteString(pw, `{"contacts":[{"uniq_id":"1","name":"`)
		for i := 0; i < mb && err == nil; i++ {
			_, err = pw.Write(chunk)
		}
		if err == nil {
			_, err = io.WriteString(pw, `"}]}`)
		}
		pw.CloseWithError(err)
	}()
	req, _ := http.NewRequestWithContext(ctx, "POST", fmt.Sprintf("%s/cdp/api/v1/counter/%d/data/contacts/json", base, counter), pr)
	req.Header.Set("Authorization", "OAuth "+token)
	req.Header.Set("Content-Type", "application/json")
	start := time.Now()
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return 0, "", 0, err
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(io.LimitReader(resp.Body, 4096))
	pr.CloseWithError(io.ErrClosedPipe) // the server may answer before it has read it all
	return resp.StatusCode, strings.TrimSpace(string(body)), time.Since(start), nil
}

// holdSlowHits opens n connections to /collect, each sending a hit's
// headers and the start of its body and holding back the rest, waits
// until the server has them all, and then counts how many the server
// answers and lets go within a minute.
func holdSlowHits(ctx context.Context, srv *benchServer, counter crmlink.CounterID, n int) (held, cut int, waited time.Duration, err error) {
	addr := strings.TrimPrefix(srv.base, "http://")
	conns := make([]net.Conn, 0, n)
	defer func() {
		for _, c := range conns {
			c.Close()
		}
	}()
	for range n {
		c, err := net.Dial("tcp", addr)
		if err != nil {
			return len(conns), 0, 0, fmt.Errorf("connection %d: %w", len(conns)+1, err)
		}
		conns = append(conns, c)
		fmt.Fprintf(c, "POST /collect/%d HTTP/1.1\r\nHost: bench\r\nContent-Type: text/plain\r\nContent-Length: 4000\r\n\r\n{\"cid\":\"5\",\"t\":\"pv\",", counter)
	}
	held = len(conns)
	start := time.Now()
	var mu sync.Mutex
	var wg sync.WaitGroup
	for _, c := range conns {
		wg.Go(func() {
			c.SetReadDeadline(start.Add(time.Minute))
			if _, err := bufio.NewReader(c).ReadString('\n'); err == nil {
				mu.Lock()
				cut++
				mu.Unlock()
			}
		})
	}
	wg.Wait()
	return held, cut, time.Since(start), ctx.Err()
}
