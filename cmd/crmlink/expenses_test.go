package main

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// TestUploadExpensesCLI: crmlink upload expenses stores spend from a file,
// on the store and through a server, and a bad file is refused with its
// line and column.
func TestUploadExpensesCLI(t *testing.T) {
	c := newCLI(t)
	c.must("counter", "create", "--name", "Shop", "--site", "shop.example", "--timezone", "UTC")
	dir := t.TempDir()
	file := filepath.Join(dir, "expenses.csv")
	if err := os.WriteFile(file, []byte("Date,UTMSource,UTMCampaign,Expenses\n2026-02-01/2026-02-03,yandex,Sale,100\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	if out := c.must("upload", "expenses", file, "--counter", "1"); !strings.Contains(out, "PASSED, 1 row, 1 accepted") {
		t.Errorf("upload printed %q", out)
	}
	bad := filepath.Join(dir, "bad.csv")
	if err := os.WriteFile(bad, []byte("Date,UTMSource,Expenses\n2026-02-01,yandex,1,5\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	if code, _, errs := c.run("upload", "expenses", bad, "--counter", "1"); code != 1 || !strings.Contains(errs, "line 2") {
		t.Errorf("bad file: exit %d, %s", code, errs)
	}
	tok := strings.TrimSpace(c.must("token", "create", "--counter", "1", "--scope", "write"))
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	srv := c.start(ctx, "serve", "--addr", "127.0.0.1:0", "--log-level", "warn")
	e, out, errs := c.env("")
	if code := run(ctx, []string{"upload", "expenses", file, "--counter", "1", "--server", "http://" + srv.addr, "--token", tok}, e); code != 0 ||
		!strings.Contains(out.String(), "1 accepted") {
		t.Errorf("remote upload: exit %d, %s %s", code, out, errs)
	}
	cancel()
	select {
	case <-srv.done:
	case <-time.After(30 * time.Second):
		t.Fatal("serve did not stop")
	}
}
