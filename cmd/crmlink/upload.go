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
	storeURL := storeFlag(fs, e)
	counter := fs.String("counter", "", "counter id (required)")
	modeName := fs.String("merge-mode", "SAVE", "SAVE, UPDATE or APPEND")
	delim := fs.String("delimiter", "comma", "comma or semicolon")
	mapping := fs.String("columns-mapping", "", `our field names to the file's headers: "uniq_id":"ID","name":"Full name"`)
	onError := fs.String("on-error", "fail", "fail: any bad row fails the upload; skip: store the good rows")
	server := fs.String("server", "", "send the file to a running crmlink at this URL instead of opening the store")
	token := fs.String("token", e.getenv("CRMLINK_TOKEN"), "token with write scope, for --server (env CRMLINK_TOKEN)")
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
	in, size, closeIn, err := openInput(pos[0], e)
	if err != nil {
		return err
	}
	defer closeIn()
	in = withProgress(in, size, "uploading", e)
	var up *crmlink.Upload
	if *server != "" {
		q := url.Values{"merge_mode": {string(mode)}, "delimiter_type": {map[rune]string{',': "COMMA", ';': "SEMICOLON"}[delimiter]}}
		if *mapping != "" {
			q.Set("columns_mapping", *mapping)
		}
		if skip {
			q.Set("on_error", "skip")
		}
		up, err = uploadRemote(ctx, *server, *token, id, entity, q, filepath.Base(pos[0]), in)
		if err == nil && up.Queued {
			// The server applies an accepted orders upload in the
			// background: the command ends when it is in the store.
			up, err = waitApplied(ctx, *server, *token, id, up)
		}
	} else {
		st, err2 := openStore(ctx, *storeURL, e.clock)
		if err2 != nil {
			return err2
		}
		defer st.Close()
		up = &crmlink.Upload{CounterID: id, Format: "CSV", Source: "CLI", MergeMode: mode, SkipInvalid: skip}
		err = uploadCSV(ctx, st, up, entity, in, crm.Options{Delimiter: delimiter, ColumnsMapping: cmap, SkipInvalid: skip}, e.clock)
	}
	if up != nil && up.ID != "" {
		printUpload(e.stdout, up)
	}
	return err
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
func uploadRemote(ctx context.Context, server, token string, id crmlink.CounterID, entity string, q url.Values, name string, in io.Reader) (*crmlink.Upload, error) {
	if token == "" {
		return nil, usagef("--server needs --token (or CRMLINK_TOKEN)")
	}
	u, err := url.Parse(strings.TrimRight(server, "/"))
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") {
		return nil, usagef("--server %q: want http://host:port", server)
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
	req.Header.Set("Authorization", "OAuth "+token)
	req.Header.Set("Content-Type", mw.FormDataContentType())
	return sendUpload(req, server)
}

// sendUpload sends an upload request and reads the uploading or the error.
func sendUpload(req *http.Request, server string) (*crmlink.Upload, error) {
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return nil, crmlink.Errorf(crmlink.KindUnavailable, "send to %s: %v", server, err)
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
		if json.Unmarshal(body, &apiErr) == nil && apiErr.Message != "" {
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
		return nil, crmlink.Errorf(crmlink.KindInvalid, "server answered %s", resp.Status)
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
		Linked: u2.Linked}, nil
}

// waitApplied asks the server about an accepted upload until it is
// applied, and returns it as the server then tells it.
func waitApplied(ctx context.Context, server, token string, counter crmlink.CounterID, up *crmlink.Upload) (*crmlink.Upload, error) {
	u := strings.TrimRight(server, "/") + fmt.Sprintf("/cdp/api/v1/counter/%d/uploading/%s", counter, url.PathEscape(up.ID))
	for {
		select {
		case <-ctx.Done():
			return up, ctx.Err()
		case <-time.After(100 * time.Millisecond):
		}
		req, err := http.NewRequestWithContext(ctx, http.MethodGet, u, nil)
		if err != nil {
			return up, err
		}
		req.Header.Set("Authorization", "OAuth "+token)
		got, err := sendUpload(req, server)
		if err != nil {
			return up, err
		}
		if !got.Queued {
			return got, nil
		}
	}
}
