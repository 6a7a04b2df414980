package main

import (
	"context"
	"fmt"
	"net/url"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/crmlink/crmlink"
	"github.com/crmlink/crmlink/crm"
	"github.com/crmlink/crmlink/gen"
	"github.com/crmlink/crmlink/internal/cli"
)

// benchUpload measures an orders upload over HTTP, end to end: it starts
// `bin serve` as a child process on a fresh store, sends the generated
// orders.csv to it as a multipart upload, and reports rows/s and the
// server's peak resident memory.
func benchUpload(ctx context.Context, g *cli.GenFlags, dir, storeOpts, bin string, e *cli.Env) error {
	b, err := generatedBench(ctx, g, dir, storeOpts, e)
	if err != nil {
		return err
	}
	cfg, storeURL, c, secret := b.cfg, b.storeURL, b.counter, b.secret
	var steps uploadSteps
	srv, err := startBenchServer(ctx, bin, storeURL, e, &steps)
	if err != nil {
		return err
	}
	defer srv.stop()
	base := srv.base
	path := filepath.Join(cfg.Out, gen.OrdersFile)
	fi, err := os.Stat(path)
	if err != nil {
		return err
	}
	f, err := os.Open(path)
	if err != nil {
		return err
	}
	defer f.Close()
	start := time.Now()
	up, err := cli.UploadRemote(ctx, &cli.APIClient{Base: base, Token: secret}, c.ID, "orders", url.Values{"merge_mode": {"SAVE"}}, gen.OrdersFile, f)
	if err != nil {
		return err
	}
	el := time.Since(start)
	answerRSS := srv.peakRSS()
	applied := el
	if up.Queued {
		// The answer came once the upload was validated and queued; the
		// reports show it once applied.
		if up, err = cli.WaitApplied(ctx, &cli.APIClient{Base: base, Token: secret}, c.ID, up, time.Hour); err != nil {
			return err
		}
		applied = time.Since(start)
	}
	rss := srv.peakRSS()
	// DuckDB writes committed data into its file at a checkpoint, which may
	// come at a later commit; the server's shutdown does it, so its time is
	// the rest of the upload's cost.
	took, _ := srv.stop()
	fmt.Fprintf(e.Stdout, "upload orders over HTTP: %d rows (%.0f MiB) answered in %s: %.0f rows/s, server peak RSS %s until then\n",
		up.Accepted, float64(fi.Size())/(1<<20), el.Round(time.Millisecond), float64(up.Accepted)/el.Seconds(), answerRSS)
	fmt.Fprintf(e.Stdout, "applied (%d linked) %s after sending: %.0f rows/s; server peak RSS %s; shutdown with checkpoint %s\n",
		up.Linked, applied.Round(time.Millisecond), float64(up.Accepted)/applied.Seconds(), rss, took.Round(time.Millisecond))
	fmt.Fprintf(e.Stdout, "server's upload steps: %s\n", &steps)
	return nil
}

// benchSetup is a benchmark's generated data set and the store prepared
// with it.
type benchSetup struct {
	cfg      gen.Config
	storeURL string
	counter  *crmlink.Counter
	secret   string // a write token's
}

// generatedBench generates g's data set into dir and prepares a store
// beside it with its counter, status mapping and contacts.
func generatedBench(ctx context.Context, g *cli.GenFlags, dir, storeOpts string, e *cli.Env) (*benchSetup, error) {
	cfg, err := g.Config(filepath.Join(dir, "data"), e.Clock.Now())
	if err != nil {
		return nil, err
	}
	if err := benchGenerate(ctx, cfg, e); err != nil {
		return nil, err
	}
	b := &benchSetup{cfg: cfg, storeURL: benchStoreURL(dir, storeOpts)}
	b.counter, b.secret, err = prepareBenchStore(ctx, b.storeURL, g.CreateCounter, cfg.Out, e)
	return b, err
}

// prepareBenchStore prepares a benchmark's store in process: a counter
// made by create, the generated status mapping and contacts of dataDir
// (unless it is ""), and a write token, whose secret it returns.
func prepareBenchStore(ctx context.Context, storeURL string, create func(context.Context, crmlink.Store, string) (*crmlink.Counter, error),
	dataDir string, e *cli.Env) (*crmlink.Counter, string, error) {
	st, err := cli.OpenStore(ctx, storeURL, e.Clock)
	if err != nil {
		return nil, "", err
	}
	c, err := create(ctx, st, "Bench")
	if err == nil && dataDir != "" {
		err = demoCRMPrepare(ctx, st, c, dataDir, e)
	}
	var secret string
	if err == nil {
		secret, err = cli.CreateToken(ctx, st, c.ID, crmlink.ScopeWrite, "bench")
	}
	if cerr := st.Close(); err == nil {
		err = cerr
	}
	return c, secret, err
}

// demoCRMPrepare sets the generated status mapping and uploads the contacts.
func demoCRMPrepare(ctx context.Context, st crmlink.Store, c *crmlink.Counter, dir string, e *cli.Env) error {
	if err := cli.SetGeneratedStatuses(ctx, st, c, dir); err != nil {
		return err
	}
	in, err := os.Open(filepath.Join(dir, gen.ContactsFile))
	if err != nil {
		return err
	}
	defer in.Close()
	up := &crmlink.Upload{CounterID: c.ID, Format: "CSV", Source: "CLI", MergeMode: crmlink.MergeSave}
	return cli.UploadCSV(ctx, st, up, "contacts", in, crm.Options{}, e.Clock)
}

// procCPU is the CPU time, user and system, that a process has used so
// far, from /proc: ok is false where there is none.
func procCPU(pid int) (time.Duration, bool) {
	raw, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat")
	if err != nil {
		return 0, false
	}
	return parseProcCPU(string(raw))
}

// parseProcCPU reads utime and stime, the 14th and 15th fields of
// /proc/PID/stat, in the kernel's user clock ticks: 100 a second on Linux
// whatever its internal rate. The second field, the command, is in
// parentheses and may hold spaces.
func parseProcCPU(stat string) (time.Duration, bool) {
	i := strings.LastIndexByte(stat, ')')
	if i < 0 {
		return 0, false
	}
	f := strings.Fields(stat[i+1:]) // from the 3rd field on
	if len(f) < 13 {
		return 0, false
	}
	utime, err1 := strconv.ParseInt(f[11], 10, 64)
	stime, err2 := strconv.ParseInt(f[12], 10, 64)
	if err1 != nil || err2 != nil {
		return 0, false
	}
	return time.Duration(utime+stime) * (time.Second / 100), true
}

// procPeakRSS reads another process's VmHWM (Linux).
func procPeakRSS(pid int) string {
	raw, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/status")
	if err != nil {
		return "n/a"
	}
	for _, line := range strings.Split(string(raw), "\n") {
		if v, ok := strings.CutPrefix(line, "VmHWM:"); ok {
			kb, _ := strconv.ParseInt(strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(v), "kB")), 10, 64)
			return fmt.Sprintf("%.0f MiB", float64(kb)/1024)
		}
	}
	return "n/a"
}
