package cli

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"mime/multipart"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/crmlink/crmlink"
)

// APIClient calls a running crmlink server's API with a token.
type APIClient struct {
	Base  string // scheme://host[:port][/prefix], without a trailing slash
	Token string
}

// NewAPIClient checks a server's URL (--server) and token (--token): a
// wrong one is a usage error.
func NewAPIClient(server, token string) (*APIClient, error) {
	u, err := url.Parse(strings.TrimRight(server, "/"))
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return nil, Usagef("--server %q: want http://host:port", server)
	}
	if token == "" {
		return nil, Usagef("--server needs --token (or CRMLINK_TOKEN)")
	}
	return &APIClient{Base: u.String(), Token: token}, nil
}

// Call sends in (nil: no body) as JSON and decodes the answer into out
// (nil: the answer is dropped). An error answer becomes an error of the
// kind its status says, with the server's message.
func (c *APIClient) Call(ctx context.Context, method, path string, in, out any) error {
	var body io.Reader
	if in != nil {
		raw, err := json.Marshal(in)
		if err != nil {
			return err
		}
		body = bytes.NewReader(raw)
	}
	req, err := http.NewRequestWithContext(ctx, method, c.Base+path, body)
	if err != nil {
		return err
	}
	if in != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	raw, err := c.do(req, 64<<20)
	if err != nil || out == nil {
		return err
	}
	if err := json.Unmarshal(raw, out); err != nil {
		return fmt.Errorf("the answer of %s %s: %w", method, path, err)
	}
	return nil
}

// Get asks path (with its query) and returns the answer's body, of at
// most 256 MiB. An error answer becomes an error as Call's does.
func (c *APIClient) Get(ctx context.Context, path string) ([]byte, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, c.Base+path, nil)
	if err != nil {
		return nil, err
	}
	return c.do(req, 256<<20)
}

// Download asks path (with its query) and copies a 200 answer's body to
// w as it comes, returning the answer's headers. An error answer becomes
// an error as Call's does.
func (c *APIClient) Download(ctx context.Context, path string, w io.Writer) (http.Header, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, c.Base+path, nil)
	if err != nil {
		return nil, err
	}
	req.Header.Set("Authorization", "OAuth "+c.Token)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return nil, unreachable(c.Base, err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		raw, _ := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
		return nil, answerError(resp, raw)
	}
	if _, err := io.Copy(w, resp.Body); err != nil {
		return nil, crmlink.Errorf(crmlink.KindUnavailable, "read the answer of %s: %v", c.Base, err)
	}
	return resp.Header, nil
}

// do sends req with the token and returns the body of a 200 answer, read
// up to limit bytes.
func (c *APIClient) do(req *http.Request, limit int64) ([]byte, error) {
	req.Header.Set("Authorization", "OAuth "+c.Token)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return nil, unreachable(c.Base, err)
	}
	defer resp.Body.Close()
	raw, err := io.ReadAll(io.LimitReader(resp.Body, limit))
	if err != nil {
		return nil, crmlink.Errorf(crmlink.KindUnavailable, "read the answer of %s: %v", c.Base, err)
	}
	if resp.StatusCode != http.StatusOK {
		return nil, answerError(resp, raw)
	}
	return raw, nil
}

// unreachable is the error of a server that did not answer.
func unreachable(server string, err error) error {
	return crmlink.Errorf(crmlink.KindUnavailable, "no answer from %s (is crmlink running there? --server or CRMLINK_SERVER names it): %v", server, err)
}

// answerError turns an error answer into an error of the kind its status
// says, with the server's message (Metrica's error body).
func answerError(resp *http.Response, raw []byte) error {
	kind := crmlink.KindInternal
	switch resp.StatusCode {
	case http.StatusBadRequest, http.StatusMethodNotAllowed:
		kind = crmlink.KindInvalid
	case http.StatusUnauthorized:
		kind = crmlink.KindUnauthorized
	case http.StatusForbidden:
		kind = crmlink.KindForbidden
	case http.StatusNotFound:
		kind = crmlink.KindNotFound
	case http.StatusConflict:
		kind = crmlink.KindConflict
	case http.StatusRequestEntityTooLarge:
		kind = crmlink.KindTooLarge
	case http.StatusServiceUnavailable, http.StatusTooManyRequests:
		kind = crmlink.KindUnavailable
	case http.StatusBadGateway:
		kind = crmlink.KindUpstream
	}
	var body struct {
		Message string `json:"message"`
	}
	if json.Unmarshal(raw, &body) == nil && body.Message != "" {
		return crmlink.Errorf(kind, "%s", body.Message)
	}
	return crmlink.Errorf(kind, "server answered %s", resp.Status)
}

// UploadRemote streams a CRM file, named name, as a multipart part "file"
// to a running server's upload endpoint of entity (the API's name), with
// the query q (merge_mode, delimiter_type, ...).
func UploadRemote(ctx context.Context, api *APIClient, id crmlink.CounterID, entity string, q url.Values, name string, in io.Reader) (*crmlink.Upload, error) {
	u, err := url.Parse(api.Base)
	if err != nil {
		return nil, err
	}
	path := fmt.Sprintf("/cdp/api/v1/counter/%d/data/%s", id, entity)
	switch entity {
	case "contacts", "orders":
		path += "/csv"
	case "offline_conversions":
		path = fmt.Sprintf("/management/v1/counter/%d/offline_conversions/upload", id)
	case "expenses":
		path = fmt.Sprintf("/management/v1/counter/%d/expense/upload", id)
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
	req.Header.Set("Authorization", "OAuth "+api.Token)
	req.Header.Set("Content-Type", mw.FormDataContentType())
	up, err := SendUpload(req, api.Base)
	if up != nil {
		up.CounterID = id
	}
	return up, err
}

// SendUpload sends a request that answers with an uploading (an upload,
// an import, or a question about one), authorized by the caller, to the
// server at server, and reads the uploading or the error.
func SendUpload(req *http.Request, server string) (*crmlink.Upload, error) {
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

// WaitApplied asks the server about an accepted upload until it is
// applied, for at most limit, and returns it as the server then tells it.
// Past the limit it returns the upload as it was, still queued.
func WaitApplied(ctx context.Context, api *APIClient, counter crmlink.CounterID, up *crmlink.Upload, limit time.Duration) (*crmlink.Upload, error) {
	u := api.Base + fmt.Sprintf("/cdp/api/v1/counter/%d/uploading/%s", counter, url.PathEscape(up.ID))
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
		req.Header.Set("Authorization", "OAuth "+api.Token)
		got, err := SendUpload(req, api.Base)
		if err != nil {
			return up, err
		}
		if !got.Queued {
			got.CounterID = counter
			return got, nil
		}
	}
}

// WaitHealthy waits up to 10 s for a server at base (http://host:port) to
// answer /healthz with 200, asking every 100 ms.
func WaitHealthy(ctx context.Context, base string) error {
	return WaitHealthyEvery(ctx, base, 100*time.Millisecond, 10*time.Second)
}

// WaitHealthyEvery asks a server's /healthz every so often until it
// answers 200, for at most within: how long the server took is then known
// to every.
func WaitHealthyEvery(ctx context.Context, base string, every, within time.Duration) error {
	ctx, cancel := context.WithTimeout(ctx, within)
	defer cancel()
	for {
		req, _ := http.NewRequestWithContext(ctx, "GET", base+"/healthz", nil)
		resp, err := http.DefaultClient.Do(req)
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return nil
			}
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("the server did not answer /healthz within %s: %v", within, err)
		case <-time.After(every):
		}
	}
}
