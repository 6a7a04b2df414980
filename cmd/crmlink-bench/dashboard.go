package main

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"path/filepath"
	"regexp"
	"slices"
	"time"

	"github.com/crmlink/crmlink"
	crmhttp "github.com/crmlink/crmlink/http"
	"github.com/crmlink/crmlink/internal/cli"
)

// dashBench is a server on demo data and a signed-in client, to time the
// dashboard's pages as a browser gets them (the HTML, server side).
type dashBench struct {
	st      crmlink.Store
	srv     *http.Server
	base    string
	client  *http.Client
	counter *crmlink.Counter
	clock   crmlink.Clock
}

// newDashBench loads a demo data set into a store in dir and serves it on
// loopback, signed in with an admin token.
func newDashBench(ctx context.Context, g *cli.GenFlags, dir string, e *cli.Env) (*dashBench, error) {
	st, err := cli.OpenStore(ctx, "duckdb://"+filepath.Join(dir, "dashboard.db"), e.Clock)
	if err != nil {
		return nil, err
	}
	quiet := *e
	quiet.Stderr = io.Discard
	c, err := cli.LoadDemo(ctx, st, g, filepath.Join(dir, "data"), &quiet)
	if err != nil {
		st.Close()
		return nil, err
	}
	secret, err := cli.CreateToken(ctx, st, 0, crmlink.ScopeAdmin, "bench")
	if err != nil {
		st.Close()
		return nil, err
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		st.Close()
		return nil, err
	}
	d := &dashBench{st: st, counter: c, clock: e.Clock, base: "http://" + ln.Addr().String(),
		srv: &http.Server{Handler: crmhttp.NewServer(crmhttp.Config{Store: st, Clock: e.Clock,
			Logger: slog.New(slog.DiscardHandler)}), ReadHeaderTimeout: 10 * time.Second}}
	go d.srv.Serve(ln)
	jar, _ := cookiejar.New(nil)
	d.client = &http.Client{Jar: jar, Timeout: time.Minute}
	if err := d.signIn(secret); err != nil {
		d.Close()
		return nil, err
	}
	return d, nil
}

var benchCSRF = regexp.MustCompile(`name="csrf" value="([0-9a-f]+)"`)

func (d *dashBench) signIn(token string) error {
	body, _, err := d.get("/signin")
	if err != nil {
		return err
	}
	m := benchCSRF.FindStringSubmatch(body)
	if m == nil {
		return fmt.Errorf("sign-in page without a CSRF field")
	}
	resp, err := d.client.PostForm(d.base+"/signin", url.Values{"csrf": {m[1]}, "token": {token}, "next": {"/"}})
	if err != nil {
		return err
	}
	resp.Body.Close()
	if resp.StatusCode != 200 {
		return fmt.Errorf("sign-in: %s", resp.Status)
	}
	return nil
}

// get fetches a page and times it until the last byte.
func (d *dashBench) get(path string) (string, time.Duration, error) {
	start := time.Now()
	resp, err := d.client.Get(d.base + path)
	if err != nil {
		return "", 0, err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	el := time.Since(start)
	if err != nil {
		return "", 0, err
	}
	if resp.StatusCode != 200 {
		return "", 0, fmt.Errorf("GET %s: %s", path, resp.Status)
	}
	return string(b), el, nil
}

// pages lists the pages to time: every page of the dashboard as it opens,
// and the heavier choices a marketer makes on them.
func (d *dashBench) pages() ([][2]string, error) {
	base := "/c/" + d.counter.ID.String()
	today := d.clock.Now().In(time.UTC).Format(time.DateOnly)
	first := d.clock.Now().In(time.UTC).AddDate(0, 0, -89).Format(time.DateOnly)
	clients, _, err := d.get(base + "/clients")
	if err != nil {
		return nil, err
	}
	top := regexp.MustCompile(`href="` + regexp.QuoteMeta(base) + `/clients/([^"]+)"`).FindStringSubmatch(clients)
	uploads, _, err := d.get(base + "/uploads")
	if err != nil {
		return nil, err
	}
	up := regexp.MustCompile(`href="uploads/([0-9]+)"`).FindStringSubmatch(uploads)
	if top == nil || up == nil {
		return nil, fmt.Errorf("the demo has no customer or upload to open")
	}
	return [][2]string{
		{"Overview, 30 days", base + "/"},
		{"Overview, 90 days", base + "/?date1=" + first + "&date2=" + today},
		{"Order sources", base + "/sources"},
		{"Order sources, first, 3 dimensions", base + "/sources?attribution=first&dim=source&dim=utm_campaign&dim=device"},
		{"Order sources, drill-down", base + "/sources?source=ad&dim=engine&dim=utm_campaign"},
		{"Order sources, cross-device", base + "/sources?attribution=cross_device_last_significant"},
		{"Clients", base + "/clients"},
		{"Clients, search", base + "/clients?search=%D0%98%D0%B2%D0%B0%D0%BD"},
		{"Customer (top by orders)", base + "/clients/" + top[1]},
		{"Uploads", base + "/uploads"},
		{"Upload", base + "/uploads/" + up[1]},
		{"Goals", base + "/goals"},
		{"Settings", base + "/settings"},
	}, nil
}

func (d *dashBench) Close() {
	d.srv.Close()
	d.st.Close()
}

// benchDashboard times every page on the demo data set: the median and the
// slowest of several loads each, against the 200 ms bar.
func benchDashboard(ctx context.Context, g *cli.GenFlags, dir string, runs int, e *cli.Env) error {
	start := time.Now()
	d, err := newDashBench(ctx, g, dir, e)
	if err != nil {
		return err
	}
	defer d.Close()
	fmt.Fprintf(e.Stdout, "demo data: %d sessions, %d contacts, %d orders over %d days, loaded in %s\n",
		g.Sessions, g.Contacts, g.Orders, g.Days, time.Since(start).Round(time.Millisecond))
	pages, err := d.pages()
	if err != nil {
		return err
	}
	fmt.Fprintf(e.Stdout, "%-36s %10s %10s\n", "page", "median", "slowest")
	slow := 0
	for _, p := range pages {
		var times []time.Duration
		for range runs {
			_, el, err := d.get(p[1])
			if err != nil {
				return err
			}
			times = append(times, el)
		}
		slices.Sort(times)
		med := times[len(times)/2]
		mark := ""
		if med > 200*time.Millisecond {
			mark, slow = "  over 200 ms", slow+1
		}
		fmt.Fprintf(e.Stdout, "%-36s %10s %10s%s\n", p[0], med.Round(100*time.Microsecond), times[len(times)-1].Round(100*time.Microsecond), mark)
	}
	fmt.Fprintf(e.Stdout, "%d of %d pages over 200 ms (median of %d loads)\n", slow, len(pages), runs)
	return nil
}
