package main

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"time"

	"github.com/crmlink/crmlink"
	"github.com/crmlink/crmlink/internal/cli"
	"github.com/crmlink/crmlink/sessionfile"
	"github.com/schollz/progressbar/v3"
)

func cmdImport(ctx context.Context, args []string, e *cli.Env) error {
	if len(args) == 0 || args[0] != "sessions" {
		return cli.Usagef("import: want \"import sessions\"")
	}
	fs := flags("import sessions", e)
	tgt := targetFlags(fs, e, crmlink.ScopeWrite)
	counter := fs.String("counter", "", "counter id (required)")
	formatName := fs.String("format", "csv", "csv (our columns, see README) or metrica-logs (Logs API visits TSV)")
	pos, err := cli.Parse(fs, args[1:])
	if err != nil {
		return err
	}
	if len(pos) != 1 {
		return cli.Usagef("import sessions takes one FILE (or - for standard input)")
	}
	id, err := crmlink.ParseCounterID(*counter)
	if *counter == "" {
		return cli.Usagef("--counter is required")
	}
	if err != nil {
		return err
	}
	format, err := sessionfile.ParseFormat(*formatName)
	if err != nil {
		return err
	}
	api, err := tgt.client()
	if err != nil {
		return err
	}
	in, size, closeIn, err := openInput(pos[0], e)
	if err != nil {
		return err
	}
	defer closeIn()
	in = withProgress(in, size, "importing", e)
	var up *crmlink.Upload
	if api != nil {
		up, err = importRemote(ctx, api, id, format, in, size)
	} else {
		up, err = importLocal(ctx, tgt, id, format, in, e)
	}
	if up != nil && up.ID != "" {
		printUpload(e.Stdout, up)
	}
	return err
}

// openInput opens FILE, or standard input for "-", and tells its size when
// known (for the progress bar).
func openInput(name string, e *cli.Env) (io.Reader, int64, func(), error) {
	if name == "-" {
		return e.Stdin, 0, func() {}, nil
	}
	f, err := os.Open(name)
	if err != nil {
		return nil, 0, nil, crmlink.Errorf(crmlink.KindInvalid, "open %s: %v", name, err)
	}
	var size int64
	if fi, err := f.Stat(); err == nil {
		size = fi.Size()
	}
	return f, size, func() { f.Close() }, nil
}

func importLocal(ctx context.Context, tgt *target, id crmlink.CounterID, format sessionfile.Format, in io.Reader, e *cli.Env) (*crmlink.Upload, error) {
	st, err := tgt.open(ctx)
	if err != nil {
		return nil, err
	}
	defer st.Close()
	return cli.ImportSessions(ctx, st, id, format, in, e.Clock, "CLI")
}

func printUpload(w io.Writer, up *crmlink.Upload) {
	fmt.Fprintf(w, "uploading %s: %s, %s, %d accepted, %d rejected\n", up.ID, up.Status, cli.Plural(up.Rows, "row", ""), up.Accepted, up.Rejected)
	for i, e := range up.Errors {
		if i == 10 {
			fmt.Fprintf(w, "  ... %s\n", cli.Plural(up.ErrorsTotal-10, "more error", "more errors"))
			break
		}
		fmt.Fprintf(w, "  %s\n", e.Error())
	}
}

// importRemote streams the file to a running server's import endpoint.
func importRemote(ctx context.Context, api *cli.APIClient, id crmlink.CounterID, format sessionfile.Format, in io.Reader, size int64) (*crmlink.Upload, error) {
	u := api.Base + fmt.Sprintf("/cdp/api/v1/counter/%d/data/sessions?", id) + url.Values{"format": {string(format)}}.Encode()
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, u, in)
	if err != nil {
		return nil, err
	}
	if size > 0 {
		req.ContentLength = size
	}
	req.Header.Set("Authorization", "OAuth "+api.Token)
	req.Header.Set("Content-Type", "text/csv")
	return cli.SendUpload(req, api.Base)
}

// withProgress shows a progress bar on a terminal while in is read.
func withProgress(in io.Reader, size int64, desc string, e *cli.Env) io.Reader {
	if !e.IsTerminal || size <= 0 {
		return in
	}
	bar := progressbar.NewOptions64(size, progressbar.OptionSetWriter(e.Stderr), progressbar.OptionShowBytes(true),
		progressbar.OptionSetDescription(desc), progressbar.OptionClearOnFinish(), progressbar.OptionThrottle(100*time.Millisecond))
	r := progressbar.NewReader(in, bar)
	return &r
}
