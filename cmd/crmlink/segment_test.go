package main

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestSegmentCLI: segments made, listed, shown, listed by member and
// exported on the store file, and the same through a running server,
// which prints the same.
func TestSegmentCLI(t *testing.T) {
	c := newCLI(t)
	c.must("counter", "create", "--name", "Shop", "--site", "shop.example", "--timezone", "UTC")
	var b strings.Builder
	b.WriteString("uniq_id,client_ids,emails,phones\n")
	for i := range 120 {
		fmt.Fprintf(&b, "C%03d,%d,c%d@example.com,+7 900 000-%04d\n", i, 1000+i, i, i)
	}
	file := filepath.Join(t.TempDir(), "contacts.csv")
	if err := os.WriteFile(file, []byte(b.String()), 0o600); err != nil {
		t.Fatal(err)
	}
	c.must("upload", "contacts", file, "--counter", "1")
	if out := c.must("segment", "create", "--counter", "1", "--name", "No orders yet", "cdp:c:orders==0 AND cdp:c:hasEmail=='yes'"); out != "1\n" {
		t.Errorf("create printed %q", out)
	}
	if code, _, errs := c.run("segment", "create", "--counter", "1", "--name", "Bad", "cdp:c:orders>='x'"); code != 1 ||
		!strings.Contains(errs, "expression: column 1: cdp:c:orders compares numbers") {
		t.Errorf("bad expression: exit %d: %s", code, errs)
	}
	list := c.must("segment", "list", "--counter", "1")
	show := c.must("segment", "show", "--counter", "1", "1")
	if !strings.Contains(list, "No orders yet") || !strings.Contains(show, "customers 120, visitors 0, ClientIDs 120, emails 120, phones 120") ||
		!strings.Contains(show, "google           120   120      0") {
		t.Errorf("list:\n%s\nshow:\n%s", list, show)
	}
	members := c.must("segment", "members", "--counter", "1", "1", "--limit", "2")
	sha := func(s string) string {
		sum := sha256.Sum256([]byte(s))
		return hex.EncodeToString(sum[:])
	}
	if lines := strings.Split(strings.TrimSpace(members), "\n"); len(lines) != 3 || !strings.Contains(lines[1], "C000") ||
		!strings.Contains(lines[1], sha("c0@example.com")) || strings.Contains(members, "example.com") {
		t.Errorf("members:\n%s", members)
	}
	out := filepath.Join(t.TempDir(), "google.csv")
	_, _, errs := c.run("segment", "export", "--counter", "1", "1", "--format", "google", "--out", out)
	got, _ := os.ReadFile(out)
	if !strings.HasPrefix(string(got), "Email,Phone\n"+sha("c0@example.com")+","+sha("+79000000000")+"\n") ||
		strings.Count(string(got), "\n") != 121 || !strings.Contains(errs, "google: 120 rows of 120 members; left out: {}") {
		t.Errorf("export: %s\n%.200s", errs, got)
	}
	yandex := c.must("segment", "export", "--counter", "1", "1", "--format", "yandex_crm")
	if !strings.HasPrefix(yandex, "email,phone,ext_id\n"+sha("c0@example.com")+","+sha("79000000000")+",C000\n") {
		t.Errorf("yandex export: %.200s", yandex)
	}

	// The same through a server.
	tok := strings.TrimSpace(c.must("token", "create", "--counter", "1", "--scope", "write"))
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	srv := c.start(ctx, "serve", "--addr", "127.0.0.1:0", "--log-level", "warn")
	remote := func(args ...string) (int, string, string) {
		e, out, errs := c.env("")
		code := run(ctx, append(args, "--server", "http://"+srv.addr, "--token", tok), e)
		return code, out.String(), errs.String()
	}
	for _, args := range [][]string{{"segment", "list", "--counter", "1"}, {"segment", "show", "--counter", "1", "1"},
		{"segment", "members", "--counter", "1", "1", "--limit", "2"}, {"segment", "export", "--counter", "1", "1", "--format", "yandex_crm"}} {
		want := map[string]string{"list": list, "show": show, "members": members, "export": yandex}[args[1]]
		if code, out, errs := remote(args...); code != 0 || out != want {
			t.Errorf("remote %s: exit %d, %s\n%.300s\nwant\n%.300s", args[1], code, errs, out, want)
		}
	}
	if code, out, _ := remote("segment", "create", "--counter", "1", "--name", "Everyone", "cdp:c:orders==0"); code != 0 || out != "2\n" {
		t.Errorf("remote create: exit %d, %q", code, out)
	}
	if code, _, errs := remote("segment", "push", "--counter", "1", "2", "--format", "yandex_crm"); code != 1 || !strings.Contains(errs, "Yandex Audience is not set up") {
		t.Errorf("remote push without a target: exit %d, %s", code, errs)
	}
	if code, _, _ := remote("segment", "delete", "--counter", "1", "2"); code != 0 {
		t.Errorf("remote delete: exit %d", code)
	}
	cancel()
	if code := <-srv.done; code != 0 {
		t.Errorf("serve exited %d: %s", code, srv.errb.String())
	}
}
