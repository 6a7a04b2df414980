package main

import (
	"context"
	"fmt"
	"io"
	"net/url"
	"path/filepath"
	"strings"
	"time"

	"github.com/crmlink/crmlink"
	"github.com/crmlink/crmlink/crm"
	"github.com/crmlink/crmlink/internal/cli"
)

// uploadKinds maps the CLI's entity names to the API's.
var uploadKinds = map[string]string{"contacts": "contacts", "orders": "orders", "simple-orders": "simple_orders",
	"offline-conversions": "offline_conversions", "expenses": "expenses"}

func cmdUpload(ctx context.Context, args []string, e *cli.Env) error {
	if len(args) == 0 || uploadKinds[args[0]] == "" {
		return cli.Usagef("upload: want contacts, orders, simple-orders, offline-conversions or expenses")
	}
	entity := uploadKinds[args[0]]
	fs := flags("upload "+args[0], e)
	tgt := targetFlags(fs, e, crmlink.ScopeWrite)
	counter := fs.String("counter", "", "counter id (required)")
	modeName := fs.String("merge-mode", "SAVE", "SAVE, UPDATE or APPEND")
	delim := fs.String("delimiter", "comma", "comma or semicolon")
	mapping := fs.String("columns-mapping", "", `our field names to the file's headers: "uniq_id":"ID","name":"Full name"`)
	onError := fs.String("on-error", "fail", "fail: any bad row fails the upload; skip: store the good rows")
	noWait := fs.Bool("no-wait", false, "with --server: end once the server has accepted the file, before it is applied (the linked orders are then not known)")
	waitFor := fs.Duration("wait", 10*time.Minute, "with --server: how long to wait for an accepted orders upload to be applied")
	pos, err := cli.Parse(fs, args[1:])
	if err != nil {
		return err
	}
	if len(pos) != 1 {
		return cli.Usagef("upload %s takes one FILE (or - for standard input)", args[0])
	}
	if *counter == "" {
		return cli.Usagef("--counter is required")
	}
	id, err := crmlink.ParseCounterID(*counter)
	if err != nil {
		return err
	}
	mode, err := crmlink.ParseMergeMode(*modeName)
	if err != nil {
		return err
	}
	var delimiter rune
	switch strings.ToLower(*delim) {
	case "comma", ",":
		delimiter = ','
	case "semicolon", ";":
		delimiter = ';'
	default:
		return cli.Usagef("--delimiter %q: want comma or semicolon", *delim)
	}
	var cmap map[string]string
	if *mapping != "" {
		if cmap, err = crm.ParseColumnsMapping(*mapping); err != nil {
			return err
		}
	}
	skip := false
	switch *onError {
	case "fail":
	case "skip":
		skip = true
	default:
		return cli.Usagef("--on-error %q: want fail or skip", *onError)
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
	in = withProgress(in, size, "uploading", e)
	var up *crmlink.Upload
	if api != nil {
		q := url.Values{"merge_mode": {string(mode)}, "delimiter_type": {map[rune]string{',': "COMMA", ';': "SEMICOLON"}[delimiter]}}
		if *mapping != "" {
			q.Set("columns_mapping", *mapping)
		}
		if skip {
			q.Set("on_error", "skip")
		}
		up, err = cli.UploadRemote(ctx, api, id, entity, q, filepath.Base(pos[0]), in)
		if err == nil && up.Queued && !*noWait {
			// The server applies an accepted orders upload in the
			// background: the command waits until it is in the store,
			// so that it can tell how many orders linked.
			up, err = cli.WaitApplied(ctx, api, id, up, *waitFor)
		}
	} else {
		st, err2 := tgt.open(ctx)
		if err2 != nil {
			return err2
		}
		defer st.Close()
		up = &crmlink.Upload{CounterID: id, Format: "CSV", Source: "CLI", MergeMode: mode, SkipInvalid: skip}
		err = cli.UploadCSV(ctx, st, up, entity, in, crm.Options{Delimiter: delimiter, ColumnsMapping: cmap, SkipInvalid: skip}, e.Clock)
	}
	if up != nil && up.ID != "" {
		printUpload(e.Stdout, up)
		if entity == "orders" || entity == "simple_orders" {
			printLinks(e.Stdout, up, api)
		}
	}
	return err
}

// printLinks tells how many orders of an upload linked to a session and
// why the others did not, or why that is not known yet.
func printLinks(w io.Writer, up *crmlink.Upload, api *cli.APIClient) {
	switch {
	case up.Status != crmlink.UploadPassed:
	case up.Queued && api != nil:
		fmt.Fprintf(w, "the server applies it in the background; its linked orders: %s/cdp/api/v1/counter/%d/uploading/%s\n",
			api.Base, up.CounterID, url.PathEscape(up.ID))
	case up.Queued:
		fmt.Fprintln(w, "it is applied when the store is next opened")
	default:
		fmt.Fprintln(w, linkSummary(up.Linked, up.Unlinked))
	}
}
