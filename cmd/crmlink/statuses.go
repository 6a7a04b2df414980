package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"text/tabwriter"

	"github.com/crmlink/crmlink"
	"github.com/crmlink/crmlink/internal/cli"
)

// statusesJSON is the body of Metrica's schema/order_statuses, which
// statuses set reads from its file and sends to a server.
type statusesJSON struct {
	OrderStatuses []crmlink.StatusMapping `json:"order_statuses"`
}

// cmdStatuses shows or sets a counter's order status mapping (SPEC.md §2).
func cmdStatuses(ctx context.Context, args []string, e *cli.Env) error {
	if len(args) == 0 || (args[0] != "set" && args[0] != "list") {
		return cli.Usagef("statuses: want set or list")
	}
	fs := flags("statuses "+args[0], e)
	need := crmlink.ScopeRead
	if args[0] == "set" {
		need = crmlink.ScopeWrite
	}
	tgt := targetFlags(fs, e, need)
	counter := fs.String("counter", "", "counter id (required)")
	pos, err := cli.Parse(fs, args[1:])
	if err != nil {
		return err
	}
	if *counter == "" {
		return cli.Usagef("--counter is required")
	}
	id, err := crmlink.ParseCounterID(*counter)
	if err != nil {
		return err
	}
	var in []crmlink.StatusMapping
	if args[0] == "set" {
		if len(pos) != 1 {
			return cli.Usagef(`statuses set takes one FILE: {"order_statuses":[{"id":"new","humanized":"New","type":"IN_PROGRESS"}, ...]}`)
		}
		f, _, closeIn, err := openInput(pos[0], e)
		if err != nil {
			return err
		}
		raw, err := io.ReadAll(io.LimitReader(f, 16<<20))
		closeIn()
		if err != nil {
			return err
		}
		var body statusesJSON
		if err := json.Unmarshal(raw, &body); err != nil {
			return crmlink.Errorf(crmlink.KindInvalid, "%s: %v", pos[0], err)
		}
		if err := crmlink.ValidateStatusMappings(body.OrderStatuses); err != nil {
			return err
		}
		in = body.OrderStatuses
	} else if len(pos) > 0 {
		return cli.Usagef("statuses list takes no arguments, got %q", pos)
	}
	api, err := tgt.client()
	if err != nil {
		return err
	}
	var ms []crmlink.StatusMapping
	if api != nil {
		path := fmt.Sprintf("/cdp/api/v1/counter/%d/schema/order_statuses", id)
		if in != nil {
			if err := api.Call(ctx, http.MethodPost, path, statusesJSON{OrderStatuses: in}, nil); err != nil {
				return err
			}
		}
		var answer statusesJSON
		if err := api.Call(ctx, http.MethodGet, path, nil, &answer); err != nil {
			return err
		}
		ms = answer.OrderStatuses
	} else {
		st, err := tgt.open(ctx)
		if err != nil {
			return err
		}
		defer st.Close()
		if _, err := st.Counter(ctx, id); err != nil {
			return err
		}
		if in != nil {
			if err := st.SetStatusMappings(ctx, id, in); err != nil {
				return err
			}
		}
		if ms, err = st.StatusMappings(ctx, id); err != nil {
			return err
		}
	}
	tw := tabwriter.NewWriter(e.Stdout, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "STATUS\tTYPE\tNAME\tGOALS")
	for _, m := range ms {
		fmt.Fprintf(tw, "%s\t%s\t%s\t%v\n", m.ID, m.Type, m.Humanized, m.GoalActionIDs)
	}
	return tw.Flush()
}
