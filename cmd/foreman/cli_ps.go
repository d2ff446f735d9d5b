package main

import (
	"context"
	"fmt"
	"strings"
	"sync"
	"time"

	"github.com/foreman-dev/foreman/client"
)

// PsCommand shows what the scheduler sees (GET /queue): the loaded models,
// the running job and the queue depth per model.
type PsCommand struct{ m *Main }

// Run prints the queue.
func (c *PsCommand) Run(ctx context.Context, args []string) error {
	r := c.m.newRemote("ps", "ps [--json]\n\nShows the loaded models, the running job and the queue per model.")
	if _, err := r.parse(args, 0); err != nil {
		return err
	}
	if r.isFleet() {
		return c.fleet(ctx, r)
	}
	q, err := r.client().Queue(ctx)
	if err != nil {
		return r.explain(err)
	}
	if r.json {
		return r.printJSON(q)
	}
	return c.print(q)
}

// daemonQueue is one daemon's part of foreman ps --json with a fleet.
type daemonQueue struct {
	Daemon string        `json:"daemon"`
	Queue  *client.Queue `json:"queue,omitempty"`
	Error  string        `json:"error,omitempty"`
}

// fleet prints each daemon's queue under its address; a daemon down is
// reported, not fatal.
func (c *PsCommand) fleet(ctx context.Context, r *remote) error {
	f := r.fleet()
	out := make([]daemonQueue, len(f.Members()))
	var wg sync.WaitGroup
	for i, cl := range f.Members() {
		wg.Go(func() {
			q, err := cl.Queue(ctx)
			out[i] = daemonQueue{Daemon: cl.BaseURL(), Queue: q}
			if err != nil {
				out[i].Error = r.explain(err).Error()
			}
		})
	}
	wg.Wait()
	if r.json {
		return r.printJSON(out)
	}
	for i, d := range out {
		if i > 0 {
			fmt.Fprintln(c.m.Stdout)
		}
		fmt.Fprintf(c.m.Stdout, "daemon:  %s\n", d.Daemon)
		if d.Error != "" {
			fmt.Fprintf(c.m.Stdout, "down:    %s\n", d.Error)
			fmt.Fprintf(c.m.Stderr, "foreman: %s did not answer\n", d.Daemon)
			continue
		}
		if err := c.print(d.Queue); err != nil {
			return err
		}
	}
	return nil
}

// print writes one daemon's queue.
func (c *PsCommand) print(q *client.Queue) error {
	w, now := c.m.Stdout, time.Now()
	loaded := strings.Join(q.Loaded, ", ")
	if loaded == "" {
		loaded = "(none)"
	}
	fmt.Fprintf(w, "loaded:  %s\n", loaded)
	switch {
	case q.Running != nil:
		fmt.Fprintf(w, "running: %s %s (attempt %d, submitted %s ago)\n", q.Running.JobID, q.Running.Model, q.Running.Attempts, age(now, q.Running.CreatedAt))
	default:
		fmt.Fprintln(w, "running: (idle)")
	}
	if q.Next != nil {
		fmt.Fprintf(w, "next:    %s %s\n", q.Next.JobID, q.Next.Model)
	}
	fmt.Fprintf(w, "waiting: %d\n", q.Waiting)
	if len(q.Depth) == 0 {
		return nil
	}
	fmt.Fprintln(w)
	tw := table(w, "MODEL", "PRIORITY", "QUEUED")
	for _, d := range q.Depth {
		fmt.Fprintf(tw, "%s\t%d\t%d\n", d.Model, d.Priority, d.Queued)
	}
	return tw.Flush()
}
