package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"mime/multipart"
	"net/http"
	"net/url"
	"path/filepath"
	"strings"
	"time"

	"github.com/crmlink/crmlink"
	"github.com/crmlink/crmlink/crm"
)

// uploadKinds maps the CLI's entity names to the API's.
var uploadKinds = map[string]string{"contacts": "contacts", "orders": "orders", "simple-orders": "simple_orders",
	"offline-conversions": "offline_conversions"}

func cmdUpload(ctx context.Context, args []string, e *env) error {
	if len(args) == 0 || uploadKinds[args[0]] == "" {
		return usagef("upload: want contacts, orders, simple-orders or offline-conversions")
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
	pos, err := parse(fs, args[1:])
	if err != nil {
		return err
	}
	if len(pos) != 1 {
		return usagef("upload %s takes one FILE (or - for standard input)", args[0])
	}
	if *counter == "" {
		return usagef("--counter is required")
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
		return usagef("--delimiter %q: want comma or semicolon", *delim)
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
		return usagef("--on-error %q: want fail or skip", *onError)
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
		up, err = uploadRemote(ctx, api, id, entity, q, filepath.Base(pos[0]), in)
		if err == nil && up.Queued && !*noWait {
			// The server applies an accepted orders upload in the
			// background: the command waits until it is in the store,
			// so that it can tell how many orders linked.
			up, err = waitApplied(ctx, api, id, up, *waitFor)
		}
	} else {
		st, err2 := tgt.open(ctx)
		if err2 != nil {
			return err2
		}
		defer st.Close()
		up = &crmlink.Upload{CounterID: id, Format: "CSV", Source: "CLI", MergeMode: mode, SkipInvalid: skip}
		err = uploadCSV(ctx, st, up, entity, in, crm.Options{Delimiter: delimiter, ColumnsMapping: cmap, SkipInvalid: skip}, e.clock)
	}
	if up != nil && up.ID != "" {
		printUpload(e.stdout, up)
		if entity == "orders" || entity == "simple_orders" {
			printLinks(e.stdout, up, api)
		}
	}
	return err
}

// printLinks tells how many orders of an upload linked to a session and
// why the others did not, or why that is not known yet.
func printLinks(w io.Writer, up *crmlink.Upload, api *apiClient) {
	switch {
	case up.Status != crmlink.UploadPassed:
	case up.Queued && api != nil:
		fmt.Fprintf(w, "the server applies it in the background; its linked orders: %s/cdp/api/v1/counter/%d/uploading/%s\n",
			api.base, up.CounterID, url.PathEscape(up.ID))
	case up.Queued:
		fmt.Fprintln(w, "it is applied when the store is next opened")
	default:
		fmt.Fprintln(w, linkSummary(up.Linked, up.Unlinked))
	}
}

// uploadCSV reads a CRM CSV into the store: the path the CLI and the demo
// share with the HTTP endpoints.
func uploadCSV(ctx context.Context, st crmlink.Store, up *crmlink.Upload, entity string, in io.Reader, opt crm.Options, clock crmlink.Clock) error {
	c, err := st.Counter(ctx, up.CounterID)
	if err != nil {
		return err
	}
	if opt.Location, err = c.Location(); err != nil {
		return err
	}
	opt.Now = clock.Now()
	if entity == "offline_conversions" {
		rd, err := crm.NewOfflineCSV(in, opt)
		if err != nil {
			return err
		}
		return st.UploadOfflineConversions(ctx, up, rd)
	}
	if entity == "contacts" {
		rd, err := crm.NewContactCSV(in, opt)
		if err != nil {
			return err
		}
		return st.UploadContacts(ctx, up, rd)
	}
	ms, err := st.StatusMappings(ctx, c.ID)
	if err != nil {
		return err
	}
	opt.Statuses = crmlink.NewStatusResolver(ms)
	opt.Partial = up.MergeMode == crmlink.MergeUpdate || up.MergeMode == crmlink.MergeAppend
	var rd *crm.OrderReader
	if entity == "simple_orders" {
		up.Entity = crmlink.EntitySimpleOrders
		rd, err = crm.NewSimpleOrderCSV(in, opt)
	} else {
		rd, err = crm.NewOrderCSV(in, opt)
	}
	if err != nil {
		return err
	}
	return st.UploadOrders(ctx, up, rd)
}

// uploadRemote streams the file as a multipart part "file" to a running
// server's CSV upload endpoint.
func uploadRemote(ctx context.Context, api *apiClient, id crmlink.CounterID, entity string, q url.Values, name string, in io.Reader) (*crmlink.Upload, error) {
	u, err := url.Parse(api.base)
	if err != nil {
		return nil, err
	}
	path := fmt.Sprintf("/cdp/api/v1/counter/%d/data/%s", id, entity)
	switch entity {
	case "contacts", "orders":
		path += "/csv"
	case "offline_conversions":
		path = fmt.Sprintf("/management/v1/counter/%d/offline_conversions/upload", id)
	}
	u.Path += path
	u.RawQuery = q.Encode()
	pr, pw := io.Pipe()
	mw := multipart.NewWriter(pw)
	go func() {
		part, err := mw.CreateFormFile("file", name)
		if err == nil {
			_, err = io.Copy(part, in)
		}
		if err == nil {
			err = mw.Close()
		}
		pw.CloseWithError(err)
	}()
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, u.String(), pr)
	if err != nil {
		return nil, err
	}
	req.Header.Set("Authorization", "OAuth "+api.token)
	req.Header.Set("Content-Type", mw.FormDataContentType())
	up, err := sendUpload(req, api.base)
	if up != nil {
		up.CounterID = id
	}
	return up, err
}

// sendUpload sends an upload request and reads the uploading or the error.
func sendUpload(req *http.Request, server string) (*crmlink.Upload, error) {
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return nil, unreachable(server, err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(io.LimitReader(resp.Body, 8<<20))
	if resp.StatusCode != http.StatusOK {
		var apiErr struct {
			Message     string `json:"message"`
			UploadingID string `json:"uploading_id"`
			Errors      []struct {
				Message string `json:"message"`
			} `json:"errors"`
		}
		if json.Unmarshal(body, &apiErr) == nil && apiErr.UploadingID != "" {
			var msgs []string
			for i, e := range apiErr.Errors {
				if i == 10 {
					break
				}
				msgs = append(msgs, "  "+e.Message)
			}
			return nil, crmlink.Errorf(crmlink.KindInvalid, "server answered %d: uploading %s failed:\n%s",
				resp.StatusCode, apiErr.UploadingID, strings.Join(msgs, "\n"))
		}
		return nil, answerError(resp, body)
	}
	var ok struct {
		Uploading struct {
			OfflineID json.Number        `json:"id"`
			ID        string             `json:"uploading_id"`
			Status    string             `json:"api_validation_status"`
			Rows      int                `json:"rows"`
			Accepted  int                `json:"accepted"`
			Rejected  int                `json:"rejected"`
			Errors    []crmlink.RowError `json:"errors"`
			Total     int                `json:"errors_total"`
			Applied   *bool              `json:"applied"`
			Linked    int                `json:"linked"`
			Unlinked  map[string]int     `json:"unlinked"`
		} `json:"uploading"`
	}
	if err := json.Unmarshal(body, &ok); err != nil {
		return nil, fmt.Errorf("server's answer: %w", err)
	}
	u2 := ok.Uploading
	if u2.ID == "" {
		u2.ID = u2.OfflineID.String()
		u2.Status = "PASSED"
	}
	return &crmlink.Upload{ID: u2.ID, Status: crmlink.UploadStatus(u2.Status), Rows: u2.Rows, Accepted: u2.Accepted,
		Rejected: u2.Rejected, Errors: u2.Errors, ErrorsTotal: u2.Total, Queued: u2.Applied != nil && !*u2.Applied,
		Linked: u2.Linked, Unlinked: u2.Unlinked}, nil
}

// waitApplied asks the server about an accepted upload until it is
// applied, for at most limit, and returns it as the server then tells it.
// Past the limit it returns the upload as it was, still queued.
func waitApplied(ctx context.Context, api *apiClient, counter crmlink.CounterID, up *crmlink.Upload, limit time.Duration) (*crmlink.Upload, error) {
	u := api.base + fmt.Sprintf("/cdp/api/v1/counter/%d/uploading/%s", counter, url.PathEscape(up.ID))
	deadline := time.NewTimer(limit)
	defer deadline.Stop()
	for {
		select {
		case <-ctx.Done():
			return up, ctx.Err()
		case <-deadline.C:
			return up, nil
		case <-time.After(100 * time.Millisecond):
		}
		req, err := http.NewRequestWithContext(ctx, http.MethodGet, u, nil)
		if err != nil {
			return up, err
		}
		req.Header.Set("Authorization", "OAuth "+api.token)
		got, err := sendUpload(req, api.base)
		if err != nil {
			return up, err
		}
		if !got.Queued {
			got.CounterID = counter
			return got, nil
		}
	}
}
