package main

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"syscall"
	"time"

	"github.com/crmlink/crmlink"
	"github.com/crmlink/crmlink/gen"
	"github.com/crmlink/crmlink/internal/cli"
)

// benchRestart measures a restart after a crash with a large accepted
// upload still queued, the case where a server that applies its queue
// before it listens loses the tag's hits for as long: it sends the
// generated orders to a server, kills it with SIGKILL as soon as it has
// answered, starts a server again and times how long until it answers
// /healthz; stops it with SIGTERM while it applies the upload, timing the
// stop; and starts one more, timing until the upload is applied. bin is
// the crmlink binary whose server is measured, every time.
func benchRestart(ctx context.Context, g *cli.GenFlags, dir, storeOpts, bin string, e *cli.Env) error {
	b, err := generatedBench(ctx, g, dir, storeOpts, e)
	if err != nil {
		return err
	}
	cfg, storeURL, c, secret := b.cfg, b.storeURL, b.counter, b.secret

	srv, err := startBenchServer(ctx, bin, storeURL, e, nil)
	if err != nil {
		return err
	}
	f, err := os.Open(filepath.Join(cfg.Out, gen.OrdersFile))
	if err != nil {
		srv.stop()
		return err
	}
	up, err := cli.UploadRemote(ctx, &cli.APIClient{Base: srv.base, Token: secret}, c.ID, "orders", url.Values{"merge_mode": {"SAVE"}}, gen.OrdersFile, f)
	f.Close()
	srv.cmd.Process.Signal(syscall.SIGKILL)
	srv.cmd.Wait()
	srv.stopped = true
	if err != nil {
		return err
	}
	if !up.Queued {
		return fmt.Errorf("the upload of %d orders was applied before its answer: nothing is queued to restart with", up.Accepted)
	}
	fmt.Fprintf(e.Stdout, "accepted %d orders, then killed the server (SIGKILL) with them queued\n", up.Accepted)

	// The restart after the crash.
	srv, listened, err := relaunch(ctx, bin, storeURL, e)
	if err != nil {
		return err
	}
	defer srv.stop()
	lag, queued, err := restartState(ctx, srv.base, secret, c.ID, up.ID)
	if err != nil {
		return err
	}
	fmt.Fprintf(e.Stdout, "restart: answering /healthz %s after the start; then the upload applied: %v, a report's data_lag: %d s\n",
		listened.Round(time.Millisecond), !queued, lag)

	// SIGTERM while the upload is applied.
	time.Sleep(time.Second)
	took, stopErr := srv.stop()
	fmt.Fprintf(e.Stdout, "SIGTERM 1 s later: stopped in %s (exit: %v)\n", took.Round(time.Millisecond), stopErr)

	start := time.Now()
	srv, listened, err = relaunch(ctx, bin, storeURL, e)
	if err != nil {
		return err
	}
	defer srv.stop()
	if _, err := cli.WaitApplied(ctx, &cli.APIClient{Base: srv.base, Token: secret}, c.ID, up, time.Hour); err != nil {
		return err
	}
	fmt.Fprintf(e.Stdout, "started again: answering /healthz after %s, the upload applied %s after the start\n",
		listened.Round(time.Millisecond), time.Since(start).Round(time.Millisecond))
	return nil
}

// waitListening waits until a restarted server answers /healthz, asking
// every 5 ms, for as long as a build that applies its queue before it
// listens may take.
func waitListening(ctx context.Context, base string) error {
	return cli.WaitHealthyEvery(ctx, base, 5*time.Millisecond, 5*time.Minute)
}

// relaunch starts bin's server on storeURL and returns it once it answers
// /healthz, with the time that took.
func relaunch(ctx context.Context, bin, storeURL string, e *cli.Env) (*benchServer, time.Duration, error) {
	start := time.Now()
	srv, err := launchBenchServer(ctx, bin, storeURL, e, nil)
	if err != nil {
		return nil, 0, err
	}
	if err := waitListening(ctx, srv.base); err != nil {
		srv.stop()
		return nil, 0, err
	}
	return srv, time.Since(start), nil
}

// restartState asks a report's data_lag, then whether the upload is
// still queued: in this order, a queued upload was queued at the report.
func restartState(ctx context.Context, base, token string, counter crmlink.CounterID, uploadID string) (lag int, queued bool, err error) {
	req, _ := http.NewRequestWithContext(ctx, "GET", fmt.Sprintf("%s/stat/v1/data?ids=%d&metrics=ym:s:visits&date1=7daysAgo&date2=today", base, counter), nil)
	req.Header.Set("Authorization", "OAuth "+token)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return 0, false, err
	}
	var answer struct {
		DataLag int `json:"data_lag"`
	}
	err = json.NewDecoder(resp.Body).Decode(&answer)
	resp.Body.Close()
	if err != nil {
		return 0, false, fmt.Errorf("report: %w", err)
	}
	req, _ = http.NewRequestWithContext(ctx, "GET", fmt.Sprintf("%s/cdp/api/v1/counter/%d/uploading/%s", base, counter, uploadID), nil)
	req.Header.Set("Authorization", "OAuth "+token)
	up, err := cli.SendUpload(req, base)
	if err != nil {
		return 0, false, err
	}
	return answer.DataLag, up.Queued, nil
}
