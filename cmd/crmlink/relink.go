package main

import (
	"context"
	"fmt"
	"sort"
	"time"

	"github.com/crmlink/crmlink"
)

// cmdRelink links every order of a counter to its session again.
func cmdRelink(ctx context.Context, args []string, e *env) error {
	fs := flags("relink", e)
	storeURL := storeFlag(fs, e)
	counter := fs.String("counter", "", "counter id (required)")
	if _, err := parse(fs, args); err != nil {
		return err
	}
	if *counter == "" {
		return usagef("--counter is required")
	}
	id, err := crmlink.ParseCounterID(*counter)
	if err != nil {
		return err
	}
	st, err := openStore(ctx, *storeURL, e.clock)
	if err != nil {
		return err
	}
	defer st.Close()
	start := time.Now()
	ls, err := st.Relink(ctx, id)
	if err != nil {
		return err
	}
	fmt.Fprintf(e.stdout, "linked %d orders in %s\n", ls.Linked, time.Since(start).Round(time.Millisecond))
	reasons := make([]string, 0, len(ls.Unlinked))
	for r := range ls.Unlinked {
		reasons = append(reasons, r)
	}
	sort.Strings(reasons)
	for _, r := range reasons {
		fmt.Fprintf(e.stdout, "not linked, %s: %d\n", r, ls.Unlinked[r])
	}
	return nil
}
