package main

import (
	"context"
	"io"
	"strings"
	"testing"

	"github.com/crmlink/crmlink"
	"github.com/crmlink/crmlink/internal/cli"
)

// TestBenchDashboard runs `crmlink-bench dashboard` on a small data set:
// every page answers, and the figures are printed.
func TestBenchDashboard(t *testing.T) {
	runBench(t, []string{"Overview, 30 days", "Customer (top by orders)", "Settings", "pages over 200 ms"},
		"dashboard", "--sessions", "3000", "--contacts", "200", "--orders", "300", "--days", "30", "--runs", "1", "--dir", t.TempDir())
}

// BenchmarkDashboardPages times each page of the dashboard on the demo's
// data set (200k sessions, 8k contacts, 12k orders over 90 days), served
// over loopback to a signed-in client: the bar is 200 ms a page.
func BenchmarkDashboardPages(b *testing.B) {
	ctx := context.Background()
	e := &cli.Env{Stdin: strings.NewReader(""), Stdout: io.Discard, Stderr: io.Discard, Getenv: func(string) string { return "" },
		Clock: crmlink.SystemClock{}}
	g := &cli.GenFlags{Seed: 1, Sessions: 200000, Contacts: 8000, Orders: 12000, SimpleOrders: -1, Days: 90, Site: "shop.example", TimeZone: "Europe/Moscow"}
	d, err := newDashBench(ctx, g, b.TempDir(), e)
	if err != nil {
		b.Fatal(err)
	}
	defer d.Close()
	pages, err := d.pages()
	if err != nil {
		b.Fatal(err)
	}
	for _, p := range pages {
		b.Run(strings.NewReplacer(" ", "_", ",", "").Replace(p[0]), func(b *testing.B) {
			for b.Loop() {
				if _, _, err := d.get(p[1]); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
