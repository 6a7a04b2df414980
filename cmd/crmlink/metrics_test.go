package main

import (
	"context"
	"io"
	"net"
	"net/http"
	"strings"
	"testing"
)

// TestServeMetricsApart: serve --metrics-addr serves /metrics there only,
// with --metrics-token required, and stops it at shutdown.
func TestServeMetricsApart(t *testing.T) {
	c := newCLI(t)
	c.must("counter", "create", "--name", "Shop", "--site", "shop.example")
	// A free port for the metrics listener.
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	metricsAddr := l.Addr().String()
	l.Close()

	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	srv := c.start(ctx, "serve", "--addr", "127.0.0.1:0", "--log-level", "warn",
		"--metrics-addr", metricsAddr, "--metrics-token", "scrape-me")
	addr := srv.addr
	get := func(url, auth string) (int, string) {
		req, _ := http.NewRequest("GET", url, nil)
		if auth != "" {
			req.Header.Set("Authorization", auth)
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		raw, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(raw)
	}
	if code, _ := get("http://"+addr+"/healthz", ""); code != 200 {
		t.Errorf("main listener /healthz: %d", code)
	}
	if code, body := get("http://"+addr+"/metrics", "Bearer scrape-me"); code != 404 || strings.Contains(body, "go_goroutines") {
		t.Errorf("main listener /metrics: %d", code)
	}
	if code, _ := get("http://"+metricsAddr+"/metrics", ""); code != http.StatusUnauthorized {
		t.Errorf("metrics listener without the token: %d", code)
	}
	code, body := get("http://"+metricsAddr+"/metrics", "Bearer scrape-me")
	if code != 200 || !strings.Contains(body, `crmlink_http_requests_total{code="200",route="/healthz"} 1`) {
		t.Errorf("metrics listener: %d\n%.500s", code, body)
	}
	if code, _ := get("http://"+metricsAddr+"/healthz", ""); code != 404 {
		t.Errorf("metrics listener /healthz: %d", code)
	}
	cancel()
	if code := <-srv.done; code != 0 {
		t.Errorf("serve exited %d: %s", code, srv.errb.String())
	}
	if _, err := http.Get("http://" + metricsAddr + "/metrics"); err == nil {
		t.Error("the metrics listener still answers after shutdown")
	}
}
