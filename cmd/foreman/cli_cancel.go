package main

import (
	"context"
	"fmt"
)

// CancelCommand asks for a job to be cancelled (DELETE /jobs/{id}).
type CancelCommand struct{ m *Main }

// Run sends the request; with --json it prints the job after it.
func (c *CancelCommand) Run(ctx context.Context, args []string) error {
	r := c.m.newRemote("cancel", "cancel [--json] ID\n\nCancels a queued job at once; aborts a running one (it may still finish first).")
	pos, err := r.parse(args, 1)
	if err != nil {
		return err
	}
	cl := r.client()
	if err := cl.Cancel(ctx, pos[0]); err != nil {
		return r.explain(err)
	}
	if r.json {
		j, err := cl.Get(ctx, pos[0])
		if err != nil {
			return r.explain(err)
		}
		return r.printJSON(j)
	}
	fmt.Fprintf(c.m.Stdout, "cancel requested for job %s\n", pos[0])
	return nil
}
