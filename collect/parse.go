package collect

import (
	"encoding/json"
	"fmt"
	"net/url"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/crmlink/crmlink"
	"github.com/shopspring/decimal"
)

// Limits of one hit.
const (
	MaxBody     = 16 << 10 // bytes of a POSTed hit
	maxURL      = 4096
	maxText     = 1024
	maxParams   = 64
	maxParamLen = 512
)

// Wire is a hit as the tag sends it: query parameters of a GET (the GIF
// fallback) or a JSON object POSTed by sendBeacon or fetch. Short names
// keep beacons small.
type Wire struct {
	ClientID  string         `json:"cid"`   // the ClientID cookie
	Kind      string         `json:"t"`     // pv, goal, params, purchase, hb
	URL       string         `json:"url"`   // the page
	Referrer  string         `json:"ref"`   // document.referrer, or the previous page in a single-page app
	Title     string         `json:"title"` // document.title
	Goal      string         `json:"goal"`
	Params    map[string]any `json:"params"` // params/userParams, nested objects allowed
	UserID    string         `json:"uid"`
	Purchase  *WirePurchase  `json:"purchase"`
	Webdriver bool           `json:"wd"` // navigator.webdriver
}

// WirePurchase is an e-commerce purchase read from dataLayer.
type WirePurchase struct {
	ID       string `json:"id"`
	Revenue  any    `json:"revenue"` // number or string
	Currency string `json:"currency"`
}

var kinds = map[string]crmlink.HitKind{
	"pv": crmlink.HitPageview, "goal": crmlink.HitGoal, "params": crmlink.HitParams,
	"purchase": crmlink.HitPurchase, "hb": crmlink.HitHeartbeat,
}

// ParseQuery reads a hit from a GET's query.
func ParseQuery(q url.Values) (*Wire, error) {
	w := &Wire{ClientID: q.Get("cid"), Kind: q.Get("t"), URL: q.Get("url"), Referrer: q.Get("ref"),
		Title: q.Get("title"), Goal: q.Get("goal"), UserID: q.Get("uid"), Webdriver: q.Get("wd") == "1"}
	if p := q.Get("params"); p != "" {
		if err := json.Unmarshal([]byte(p), &w.Params); err != nil {
			return nil, crmlink.Errorf(crmlink.KindInvalid, "params: not a JSON object: %v", err)
		}
	}
	if p := q.Get("purchase"); p != "" {
		w.Purchase = &WirePurchase{}
		if err := json.Unmarshal([]byte(p), w.Purchase); err != nil {
			return nil, crmlink.Errorf(crmlink.KindInvalid, "purchase: not a JSON object: %v", err)
		}
	}
	return w, nil
}

// ParseJSON reads a hit from a POSTed body.
func ParseJSON(body []byte) (*Wire, error) {
	if w, ok := parseWireFast(body); ok {
		return w, nil
	}
	var w Wire
	if err := json.Unmarshal(body, &w); err != nil {
		return nil, crmlink.Errorf(crmlink.KindInvalid, "hit: not a JSON object: %v", err)
	}
	return &w, nil
}

// Validate turns a wire hit into a hit, or says what is wrong with it.
func (w *Wire) Validate(counter crmlink.CounterID) (*crmlink.Hit, error) {
	bad := func(format string, args ...any) error {
		return crmlink.Errorf(crmlink.KindInvalid, "hit: "+format, args...)
	}
	cid, err := strconv.ParseUint(w.ClientID, 10, 64)
	if err != nil || cid == 0 {
		return nil, bad("cid %q: want the ClientID, a positive 64-bit decimal number", clip(w.ClientID))
	}
	kind, ok := kinds[w.Kind]
	if !ok {
		return nil, bad("t %q: want pv, goal, params, purchase or hb", clip(w.Kind))
	}
	h := &crmlink.Hit{CounterID: counter, ClientID: cid, Kind: kind}
	for _, f := range []struct {
		name, v string
		max     int
		dst     *string
	}{
		{"url", w.URL, maxURL, &h.URL}, {"ref", w.Referrer, maxURL, &h.Referrer},
		{"title", w.Title, maxText, &h.Title}, {"goal", w.Goal, maxText, &h.Goal}, {"uid", w.UserID, maxText, &h.UserID},
	} {
		if len(f.v) > f.max {
			return nil, bad("%s: longer than %d bytes", f.name, f.max)
		}
		if !utf8.ValidString(f.v) {
			return nil, bad("%s: not valid UTF-8", f.name)
		}
		*f.dst = strings.TrimSpace(f.v)
	}
	if h.URL != "" {
		u, err := url.Parse(h.URL)
		if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
			return nil, bad("url %q: want the page's absolute http(s) URL", clip(h.URL))
		}
	}
	switch kind {
	case crmlink.HitPageview:
		if h.URL == "" {
			return nil, bad("a page view needs url")
		}
	case crmlink.HitGoal:
		if h.Goal == "" {
			return nil, bad("a goal hit needs goal")
		}
	case crmlink.HitPurchase:
		if w.Purchase == nil || strings.TrimSpace(w.Purchase.ID) == "" {
			return nil, bad("a purchase hit needs purchase.id")
		}
	}
	if len(w.Params) > 0 {
		h.Params = map[string]string{}
		if err := flatten("", w.Params, h.Params, 0); err != nil {
			return nil, bad("params: %v", err)
		}
	}
	if w.Purchase != nil {
		p := &crmlink.Purchase{ID: strings.TrimSpace(w.Purchase.ID), Currency: strings.ToUpper(strings.TrimSpace(w.Purchase.Currency))}
		if len(p.ID) > maxText || !utf8.ValidString(p.ID) {
			return nil, bad("purchase.id: too long or not UTF-8")
		}
		if w.Purchase.Revenue != nil {
			d, err := decimal.NewFromString(strings.TrimSpace(fmt.Sprint(w.Purchase.Revenue)))
			if err != nil || d.IsNegative() {
				return nil, bad("purchase.revenue %v: want a non-negative number", w.Purchase.Revenue)
			}
			p.Revenue = d
		}
		if p.Currency != "" && !crmlink.IsCurrency(p.Currency) {
			return nil, bad("purchase.currency %q: want an ISO 4217 code", clip(p.Currency))
		}
		h.Purchase = p
	}
	return h, nil
}

// flatten writes nested parameters as dotted keys: {"a":{"b":1}} -> a.b=1.
func flatten(prefix string, in map[string]any, out map[string]string, depth int) error {
	if depth > 4 {
		return fmt.Errorf("nested deeper than 4 levels")
	}
	for k, v := range in {
		key := k
		if prefix != "" {
			key = prefix + "." + k
		}
		switch x := v.(type) {
		case map[string]any:
			if err := flatten(key, x, out, depth+1); err != nil {
				return err
			}
			continue
		case nil:
			continue
		case string:
			out[key] = x
		default:
			b, _ := json.Marshal(x)
			out[key] = string(b)
		}
		if len(out) > maxParams {
			return fmt.Errorf("more than %d parameters", maxParams)
		}
		if len(key) > maxParamLen || len(out[key]) > maxParamLen {
			return fmt.Errorf("%q: name or value longer than %d bytes", clip(key), maxParamLen)
		}
	}
	return nil
}

func clip(s string) string {
	if len(s) > 64 {
		return s[:64] + "..."
	}
	return s
}
