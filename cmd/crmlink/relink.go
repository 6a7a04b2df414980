package main

import (
	"context"
	"fmt"
	"net/http"

	"github.com/crmlink/crmlink"
	crmhttp "github.com/crmlink/crmlink/http"
	"github.com/crmlink/crmlink/internal/cli"
)

// cmdRelink links every order of a counter to its session again.
func cmdRelink(ctx context.Context, args []string, e *cli.Env) error {
	fs := flags("relink", e)
	tgt := targetFlags(fs, e, crmlink.ScopeAdmin)
	counter := fs.String("counter", "", "counter id (required)")
	pos, err := cli.Parse(fs, args)
	if err != nil {
		return err
	}
	if len(pos) > 0 {
		return cli.Usagef("relink takes no arguments, got %q", pos)
	}
	if *counter == "" {
		return cli.Usagef("--counter is required")
	}
	id, err := crmlink.ParseCounterID(*counter)
	if err != nil {
		return err
	}
	api, err := tgt.client()
	if err != nil {
		return err
	}
	var ls crmlink.LinkStats
	if api != nil {
		var answer struct {
			Relink crmhttp.LinkStatsJSON `json:"relink"`
		}
		if err := api.Call(ctx, http.MethodPost, fmt.Sprintf("/management/v1/counter/%d/relink", id), nil, &answer); err != nil {
			return err
		}
		ls = crmlink.LinkStats{Linked: answer.Relink.Linked, Unlinked: answer.Relink.Unlinked}
	} else {
		st, err := tgt.open(ctx)
		if err != nil {
			return err
		}
		defer st.Close()
		if ls, err = st.Relink(ctx, id); err != nil {
			return err
		}
	}
	fmt.Fprintln(e.Stdout, linkSummary(ls.Linked, ls.Unlinked))
	return nil
}
