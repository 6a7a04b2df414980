package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"text/tabwriter"

	"github.com/crmlink/crmlink"
)

// cmdStatuses shows or sets a counter's order status mapping (SPEC.md §2).
func cmdStatuses(ctx context.Context, args []string, e *env) error {
	if len(args) == 0 || (args[0] != "set" && args[0] != "list") {
		return usagef("statuses: want set or list")
	}
	fs := flags("statuses "+args[0], e)
	storeURL := storeFlag(fs, e)
	counter := fs.String("counter", "", "counter id (required)")
	pos, err := parse(fs, args[1:])
	if err != nil {
		return err
	}
	if *counter == "" {
		return usagef("--counter is required")
	}
	id, err := crmlink.ParseCounterID(*counter)
	if err != nil {
		return err
	}
	var in []crmlink.StatusMapping
	if args[0] == "set" {
		if len(pos) != 1 {
			return usagef(`statuses set takes one FILE: {"order_statuses":[{"id":"new","humanized":"New","type":"IN_PROGRESS"}, ...]}`)
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
		var body struct {
			OrderStatuses []crmlink.StatusMapping `json:"order_statuses"`
		}
		if err := json.Unmarshal(raw, &body); err != nil {
			return crmlink.Errorf(crmlink.KindInvalid, "%s: %v", pos[0], err)
		}
		if err := crmlink.ValidateStatusMappings(body.OrderStatuses); err != nil {
			return err
		}
		in = body.OrderStatuses
	}
	st, err := openStore(ctx, *storeURL, e.clock)
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
	ms, err := st.StatusMappings(ctx, id)
	if err != nil {
		return err
	}
	tw := tabwriter.NewWriter(e.stdout, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "STATUS\tTYPE\tNAME\tGOALS")
	for _, m := range ms {
		fmt.Fprintf(tw, "%s\t%s\t%s\t%v\n", m.ID, m.Type, m.Humanized, m.GoalActionIDs)
	}
	return tw.Flush()
}
