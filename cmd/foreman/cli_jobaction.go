package main

import (
	"context"
	"fmt"

	"github.com/foreman-dev/foreman/client"
)

// JobActionCommand acts on one job by id: cancel (DELETE /jobs/{id}) or
// retry (POST /jobs/{id}/retry). With --json it prints the job after it.
type JobActionCommand struct {
	m     *Main
	name  string
	usage string
	act   func(ctx context.Context, cl *client.Client, id string) error
	done  string // printed with the id
}

// CancelCommand asks for a job to be cancelled.
func CancelCommand(m *Main) *JobActionCommand {
	return &JobActionCommand{m: m, name: "cancel", done: "cancel requested for job %s\n",
		usage: "cancel [--json] ID\n\nCancels a queued job at once; aborts a running one (it may still finish first).",
		act:   func(ctx context.Context, cl *client.Client, id string) error { return cl.Cancel(ctx, id) }}
}

// RetryCommand puts a failed or cancelled job back in the queue.
func RetryCommand(m *Main) *JobActionCommand {
	return &JobActionCommand{m: m, name: "retry", done: "job %s is queued again\n",
		usage: "retry [--json] ID\n\nRequeues a failed or cancelled job with a fresh attempt budget.",
		act:   func(ctx context.Context, cl *client.Client, id string) error { return cl.Retry(ctx, id) }}
}

// Run sends the request.
func (c *JobActionCommand) Run(ctx context.Context, args []string) error {
	r := c.m.newRemote(c.name, c.usage)
	pos, err := r.parse(args, 1)
	if err != nil {
		return err
	}
	cl, err := r.clientFor(ctx, pos[0])
	if err != nil {
		return r.explain(err)
	}
	if err := c.act(ctx, cl, pos[0]); err != nil {
		return r.explain(err)
	}
	if r.json {
		j, err := cl.Get(ctx, pos[0])
		if err != nil {
			return r.explain(err)
		}
		return r.printJSON(j)
	}
	fmt.Fprintf(c.m.Stdout, c.done, pos[0])
	return nil
}
