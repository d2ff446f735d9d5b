package main

import (
	"context"
	"fmt"
)

// RetryCommand puts a failed or cancelled job back in the queue
// (POST /jobs/{id}/retry).
type RetryCommand struct{ m *Main }

// Run sends the request; with --json it prints the job after it.
func (c *RetryCommand) Run(ctx context.Context, args []string) error {
	r := c.m.newRemote("retry", "retry [--json] ID\n\nRequeues a failed or cancelled job with a fresh attempt budget.")
	pos, err := r.parse(args, 1)
	if err != nil {
		return err
	}
	cl := r.client()
	if err := cl.Retry(ctx, pos[0]); err != nil {
		return r.explain(err)
	}
	if r.json {
		j, err := cl.Get(ctx, pos[0])
		if err != nil {
			return r.explain(err)
		}
		return r.printJSON(j)
	}
	fmt.Fprintf(c.m.Stdout, "job %s is queued again\n", pos[0])
	return nil
}
