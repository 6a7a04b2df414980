package main

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/crmlink/crmlink"
	crmhttp "github.com/crmlink/crmlink/http"
	"github.com/crmlink/crmlink/internal/cli"
)

func cmdCounter(ctx context.Context, args []string, e *cli.Env) error {
	if len(args) == 0 {
		return cli.Usagef("counter: want create or list")
	}
	switch args[0] {
	case "create":
		return counterCreate(ctx, args[1:], e)
	case "list":
		return counterList(ctx, args[1:], e)
	}
	return cli.Usagef("counter: unknown subcommand %q (want create or list)", args[0])
}

func counterCreate(ctx context.Context, args []string, e *cli.Env) error {
	fs := flags("counter create", e)
	tgt := targetFlags(fs, e, crmlink.ScopeAdmin)
	c := &crmlink.Counter{}
	fs.StringVar(&c.Name, "name", "", "counter name (required)")
	fs.StringVar(&c.Site, "site", "", "the site's host, like shop.example (required)")
	fs.StringVar(&c.TimeZone, "timezone", "Europe/Moscow", "IANA time zone of the CRM's dates and the reports")
	fs.StringVar(&c.Currency, "currency", "RUB", "ISO 4217 currency of revenue")
	fs.DurationVar(&c.SessionTimeout, "session-timeout", crmlink.DefaultSessionTimeout, "idle time that ends a session")
	linkDays := fs.Int("link-window", 21, "days before an order in which its session may lie")
	updateDays := fs.Int("update-window", 90, "days after an order's creation in which updates change reports")
	fs.BoolVar(&c.KeepPII, "keep-pii", false, "keep plain emails and phones for the Clients page (hashes are always kept)")
	asJSON := fs.Bool("json", false, "print the counter as JSON instead of its id")
	pos, err := cli.Parse(fs, args)
	if err != nil {
		return err
	}
	if len(pos) > 0 {
		return cli.Usagef("counter create takes no arguments, got %q", pos)
	}
	c.LinkWindow = time.Duration(*linkDays) * 24 * time.Hour
	c.UpdateWindow = time.Duration(*updateDays) * 24 * time.Hour
	if err := c.Normalize(); err != nil {
		return err
	}
	api, err := tgt.client()
	if err != nil {
		return err
	}
	var out crmhttp.CounterJSON
	if api != nil {
		// The body of POST /management/v1/counters: the settings a
		// counter is created with.
		type counterIn struct {
			Name             string `json:"name"`
			Site             string `json:"site"`
			TimeZoneName     string `json:"time_zone_name"`
			Currency         string `json:"currency"`
			VisitThreshold   int    `json:"visit_threshold"`
			LinkWindowDays   int    `json:"link_window_days"`
			UpdateWindowDays int    `json:"update_window_days"`
			KeepPII          bool   `json:"keep_pii"`
		}
		in := map[string]counterIn{"counter": {Name: c.Name, Site: c.Site, TimeZoneName: c.TimeZone, Currency: c.Currency,
			VisitThreshold: int(c.SessionTimeout / time.Second), LinkWindowDays: *linkDays, UpdateWindowDays: *updateDays,
			KeepPII: c.KeepPII}}
		var answer struct {
			Counter crmhttp.CounterJSON `json:"counter"`
		}
		if err := api.Call(ctx, http.MethodPost, "/management/v1/counters", in, &answer); err != nil {
			return err
		}
		out = answer.Counter
	} else {
		st, err := tgt.open(ctx)
		if err != nil {
			return err
		}
		defer st.Close()
		if err := st.CreateCounter(ctx, c); err != nil {
			return err
		}
		out = crmhttp.NewCounterJSON(c, e.Clock.Now())
	}
	if *asJSON {
		return printJSON(e, out)
	}
	fmt.Fprintln(e.Stdout, out.ID)
	return nil
}

// printJSON writes v as indented JSON.
func printJSON(e *cli.Env, v any) error {
	enc := json.NewEncoder(e.Stdout)
	enc.SetIndent("", "  ")
	return enc.Encode(v)
}

func counterList(ctx context.Context, args []string, e *cli.Env) error {
	fs := flags("counter list", e)
	tgt := targetFlags(fs, e, crmlink.ScopeRead)
	asJSON := fs.Bool("json", false, "print JSON")
	pos, err := cli.Parse(fs, args)
	if err != nil {
		return err
	}
	if len(pos) > 0 {
		return cli.Usagef("counter list takes no arguments, got %q", pos)
	}
	api, err := tgt.client()
	if err != nil {
		return err
	}
	out := []crmhttp.CounterJSON{}
	if api != nil {
		var answer struct {
			Counters []crmhttp.CounterJSON `json:"counters"`
		}
		if err := api.Call(ctx, http.MethodGet, "/management/v1/counters", nil, &answer); err != nil {
			return err
		}
		out = append(out, answer.Counters...)
	} else {
		st, err := tgt.open(ctx)
		if err != nil {
			return err
		}
		defer st.Close()
		all, err := st.Counters(ctx)
		if err != nil {
			return err
		}
		for _, c := range all {
			out = append(out, crmhttp.NewCounterJSON(c, e.Clock.Now()))
		}
	}
	if *asJSON {
		return printJSON(e, out)
	}
	tw := tabwriter.NewWriter(e.Stdout, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "ID\tNAME\tSITE\tTIME ZONE\tCURRENCY")
	for _, c := range out {
		fmt.Fprintf(tw, "%d\t%s\t%s\t%s\t%s\n", c.ID, c.Name, c.Site, c.TimeZoneName, c.Currency)
	}
	return tw.Flush()
}

func cmdToken(ctx context.Context, args []string, e *cli.Env) error {
	if len(args) == 0 {
		return cli.Usagef("token: want create, list or revoke")
	}
	switch args[0] {
	case "create":
		return tokenCreate(ctx, args[1:], e)
	case "list":
		return tokenList(ctx, args[1:], e)
	case "revoke":
		return tokenRevoke(ctx, args[1:], e)
	}
	return cli.Usagef("token: unknown subcommand %q (want create, list or revoke)", args[0])
}

// parseCounterArg parses --counter: an id, or "all" (0).
func parseCounterArg(s string) (crmlink.CounterID, error) {
	if strings.EqualFold(s, "all") {
		return 0, nil
	}
	if s == "" {
		return 0, cli.Usagef("--counter is required (an id, or all)")
	}
	return crmlink.ParseCounterID(s)
}

func tokenCreate(ctx context.Context, args []string, e *cli.Env) error {
	fs := flags("token create", e)
	tgt := targetFlags(fs, e, crmlink.ScopeAdmin)
	counter := fs.String("counter", "", "counter id, or all (required)")
	scope := fs.String("scope", "", "read, write or admin (required)")
	name := fs.String("name", "", "a note saying what the token is for")
	if _, err := cli.Parse(fs, args); err != nil {
		return err
	}
	id, err := parseCounterArg(*counter)
	if err != nil {
		return err
	}
	sc, err := crmlink.ParseScope(*scope)
	if err != nil {
		return err
	}
	api, err := tgt.client()
	if err != nil {
		return err
	}
	var secret string
	if api != nil {
		var in crmhttp.TokenIn
		in.Token.CounterID, in.Token.Scope, in.Token.Name = id, sc.String(), *name
		var answer struct {
			Token crmhttp.TokenJSON `json:"token"`
		}
		if err := api.Call(ctx, http.MethodPost, "/management/v1/tokens", in, &answer); err != nil {
			return err
		}
		secret = answer.Token.Secret
	} else {
		st, err := tgt.open(ctx)
		if err != nil {
			return err
		}
		defer st.Close()
		if secret, err = cli.CreateToken(ctx, st, id, sc, *name); err != nil {
			return err
		}
	}
	fmt.Fprintln(e.Stdout, secret)
	return nil
}

func tokenList(ctx context.Context, args []string, e *cli.Env) error {
	fs := flags("token list", e)
	tgt := targetFlags(fs, e, crmlink.ScopeAdmin)
	counter := fs.String("counter", "", "counter id, or all (required)")
	if _, err := cli.Parse(fs, args); err != nil {
		return err
	}
	id, err := parseCounterArg(*counter)
	if err != nil {
		return err
	}
	api, err := tgt.client()
	if err != nil {
		return err
	}
	var toks []crmhttp.TokenJSON
	if api != nil {
		var answer struct {
			Tokens []crmhttp.TokenJSON `json:"tokens"`
		}
		q := url.Values{"counter": {"all"}}
		if id != 0 {
			q.Set("counter", id.String())
		}
		if err := api.Call(ctx, http.MethodGet, "/management/v1/tokens?"+q.Encode(), nil, &answer); err != nil {
			return err
		}
		toks = answer.Tokens
	} else {
		st, err := tgt.open(ctx)
		if err != nil {
			return err
		}
		defer st.Close()
		if id != 0 {
			if _, err := st.Counter(ctx, id); err != nil {
				return err
			}
		}
		all, err := st.Tokens(ctx, id)
		if err != nil {
			return err
		}
		for _, t := range all {
			toks = append(toks, crmhttp.NewTokenJSON(t))
		}
	}
	tw := tabwriter.NewWriter(e.Stdout, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "HASH\tSCOPE\tCREATED\tNAME")
	for _, t := range toks {
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\n", t.Hash, t.Scope, t.Created, t.Name)
	}
	return tw.Flush()
}

func tokenRevoke(ctx context.Context, args []string, e *cli.Env) error {
	fs := flags("token revoke", e)
	tgt := targetFlags(fs, e, crmlink.ScopeAdmin)
	pos, err := cli.Parse(fs, args)
	if err != nil {
		return err
	}
	if len(pos) != 1 {
		return cli.Usagef("token revoke takes one token hash (from token list)")
	}
	api, err := tgt.client()
	if err != nil {
		return err
	}
	if api != nil {
		err = api.Call(ctx, http.MethodDelete, "/management/v1/token/"+url.PathEscape(pos[0]), nil, nil)
	} else {
		st, err2 := tgt.open(ctx)
		if err2 != nil {
			return err2
		}
		defer st.Close()
		err = st.RevokeToken(ctx, pos[0])
	}
	if err != nil {
		return err
	}
	fmt.Fprintf(e.Stdout, "token %s revoked\n", pos[0])
	return nil
}
