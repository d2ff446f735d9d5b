package main

import (
	"context"
	"fmt"

	"github.com/foreman-dev/foreman/client"
)

// WebhooksCommand manages webhook deliveries; its one subcommand, replay,
// asks the daemon to deliver a range of job events again.
type WebhooksCommand struct{ m *Main }

// Run dispatches the subcommand.
func (c *WebhooksCommand) Run(ctx context.Context, args []string) error {
	if len(args) == 0 || args[0] != "replay" {
		fmt.Fprintln(c.m.Stderr, "Usage: foreman webhooks replay --from OFFSET [--to OFFSET] [--job ID] [--json]")
		if len(args) == 0 {
			return &usageError{"foreman webhooks: no command given"}
		}
		return &usageError{fmt.Sprintf("foreman webhooks: unknown command %q", args[0])}
	}
	r := c.m.newRemote("webhooks replay", "webhooks replay --from OFFSET [--to OFFSET] [--job ID] [--json]\n\n"+
		"Delivers the job events from OFFSET (to OFFSET, or the end) again, with their original webhook-id.")
	var req client.ReplayRequest
	r.fs.Uint64Var(&req.From, "from", 0, "first event offset (required, ≥ 1)")
	r.fs.Uint64Var(&req.To, "to", 0, "last event offset (default: the end of the log)")
	r.fs.StringVar(&req.JobID, "job", "", "only this job's events")
	if _, err := r.parse(args[1:], 0); err != nil {
		return err
	}
	if req.From == 0 {
		r.fs.Usage()
		return &usageError{"--from is required (an event offset ≥ 1)"}
	}
	if req.To != 0 && req.To < req.From {
		return &usageError{fmt.Sprintf("--to %d is below --from %d", req.To, req.From)}
	}
	if r.isFleet() {
		return &usageError{"webhook offsets are one daemon's: give one daemon (--url) to replay"}
	}
	rep, err := r.client().ReplayWebhooks(ctx, req)
	if err != nil {
		return r.explain(err)
	}
	if r.json {
		return r.printJSON(rep)
	}
	to := "the end"
	if rep.To != 0 {
		to = fmt.Sprint(rep.To)
	}
	fmt.Fprintf(c.m.Stdout, "replay of offsets %d to %s requested (request recorded at offset %d)\n", rep.From, to, rep.RequestOffset)
	return nil
}
