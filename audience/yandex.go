package audience

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"mime/multipart"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/crmlink/crmlink"
)

// DefaultYandexURL is Yandex Audience's API.
const DefaultYandexURL = "https://api-audience.yandex.ru"

// Yandex is a client of Yandex Audience's management API (its
// documentation: yandex.ru/dev/audience): a segment is made from a file
// (upload, then confirm) and its data later replaced (modify_data).
// Requests carry "Authorization: OAuth <token>".
type Yandex struct {
	BaseURL string // DefaultYandexURL, or a stand-in's
	Token   string
	Client  *http.Client
}

// yandexSegment is the segment object Audience answers with.
type yandexSegment struct {
	ID     int64  `json:"id"`
	Name   string `json:"name"`
	Status string `json:"status"`
}

// yandexFile says how a format's file is uploaded and confirmed.
type yandexFile struct {
	upload  string // the path that makes a segment of the file
	confirm func(id int64) string
	// body is the confirm request's segment object.
	body func(id int64, name string, counter crmlink.CounterID) map[string]any
}

var yandexFiles = map[string]yandexFile{
	"yandex_crm": {
		upload:  "/v1/management/segments/upload_csv_file",
		confirm: func(id int64) string { return "/v1/management/segment/" + strconv.FormatInt(id, 10) + "/confirm" },
		body: func(id int64, name string, _ crmlink.CounterID) map[string]any {
			return map[string]any{"id": id, "name": name, "hashed": true, "hashing_alg": "SHA256", "content_type": "crm"}
		},
	},
	"yandex_clientid": {
		upload: "/v1/management/segments/upload_file",
		confirm: func(id int64) string {
			return "/v1/management/segment/client_id/" + strconv.FormatInt(id, 10) + "/confirm"
		},
		body: func(_ int64, name string, counter crmlink.CounterID) map[string]any {
			return map[string]any{"name": name, "counter_id": int64(counter)}
		},
	},
}

// YandexFormat tells whether a format can be pushed to Yandex Audience.
func YandexFormat(name string) bool { _, ok := yandexFiles[name]; return ok }

// Push makes a segment of a file at Yandex Audience (target 0), or
// replaces the data of segment target, and returns the segment's id
// there. The file must be hashed (SHA-256) for yandex_crm; name names a
// new segment; counter is the Metrica counter a ClientID segment belongs
// to.
func (y *Yandex) Push(ctx context.Context, format string, file io.Reader, target int64, name string, counter crmlink.CounterID) (int64, error) {
	f, ok := yandexFiles[format]
	if !ok {
		return 0, crmlink.Errorf(crmlink.KindInvalid, "format: %s cannot be pushed to Yandex Audience", format)
	}
	if target != 0 {
		var out struct {
			Segment yandexSegment `json:"segment"`
		}
		path := "/v1/management/segment/" + strconv.FormatInt(target, 10) + "/modify_data?modification_type=replace"
		if err := y.upload(ctx, path, file, &out); err != nil {
			return 0, err
		}
		return target, nil
	}
	var up struct {
		Segment yandexSegment `json:"segment"`
	}
	if err := y.upload(ctx, f.upload, file, &up); err != nil {
		return 0, err
	}
	if up.Segment.ID == 0 {
		return 0, crmlink.Errorf(crmlink.KindUpstream, "Yandex Audience answered the upload without a segment id")
	}
	body, _ := json.Marshal(map[string]any{"segment": f.body(up.Segment.ID, name, counter)})
	var conf struct {
		Segment yandexSegment `json:"segment"`
	}
	if err := y.do(ctx, http.MethodPost, f.confirm(up.Segment.ID), "application/json", bytes.NewReader(body), &conf); err != nil {
		return 0, err
	}
	return up.Segment.ID, nil
}

// upload posts file as the multipart field "file".
func (y *Yandex) upload(ctx context.Context, path string, file io.Reader, out any) error {
	pr, pw := io.Pipe()
	mw := multipart.NewWriter(pw)
	go func() {
		part, err := mw.CreateFormFile("file", "data.csv")
		if err == nil {
			_, err = io.Copy(part, file)
		}
		if err == nil {
			err = mw.Close()
		}
		pw.CloseWithError(err)
	}()
	err := y.do(ctx, http.MethodPost, path, mw.FormDataContentType(), pr, out)
	pr.Close()
	return err
}

// do sends one request and reads its JSON answer into out. Audience's
// errors come in Metrica's shape: {"errors":[...],"code":N,"message":...}.
func (y *Yandex) do(ctx context.Context, method, path, contentType string, body io.Reader, out any) error {
	base := strings.TrimRight(y.BaseURL, "/")
	if base == "" {
		base = DefaultYandexURL
	}
	if _, err := url.Parse(base + path); err != nil {
		return crmlink.Errorf(crmlink.KindInvalid, "Yandex Audience URL %q: %v", base, err)
	}
	req, err := http.NewRequestWithContext(ctx, method, base+path, body)
	if err != nil {
		return err
	}
	req.Header.Set("Authorization", "OAuth "+y.Token)
	req.Header.Set("Content-Type", contentType)
	req.Header.Set("Accept", "application/json")
	client := y.Client
	if client == nil {
		client = &http.Client{Timeout: 10 * time.Minute}
	}
	resp, err := client.Do(req)
	if err != nil {
		return crmlink.Errorf(crmlink.KindUpstream, "Yandex Audience: %v", err)
	}
	defer resp.Body.Close()
	raw, err := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	if err != nil {
		return crmlink.Errorf(crmlink.KindUpstream, "Yandex Audience: reading the answer: %v", err)
	}
	if resp.StatusCode != http.StatusOK {
		var e struct {
			Message string `json:"message"`
			Errors  []struct {
				Type    string `json:"error_type"`
				Message string `json:"message"`
			} `json:"errors"`
		}
		msg := strings.TrimSpace(string(raw))
		if json.Unmarshal(raw, &e) == nil {
			msg = e.Message
			if len(e.Errors) > 0 {
				msg = e.Errors[0].Type + ": " + e.Errors[0].Message
			}
		}
		if len(msg) > 300 {
			msg = msg[:300] + "..."
		}
		return crmlink.Errorf(crmlink.KindUpstream, "Yandex Audience answered %d to %s %s: %s", resp.StatusCode, method, strings.SplitN(path, "?", 2)[0], msg)
	}
	if err := json.Unmarshal(raw, out); err != nil {
		return crmlink.Errorf(crmlink.KindUpstream, "Yandex Audience answered %s %s with what is not its JSON: %v", method, path, err)
	}
	return nil
}

// String describes the client without its token.
func (y *Yandex) String() string { return fmt.Sprintf("Yandex Audience at %s", y.BaseURL) }
