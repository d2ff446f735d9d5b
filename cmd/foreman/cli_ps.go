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

// fleet prints the daemons' queues in tables with a column naming each;
// a daemon down is reported, not fatal.
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
	w, now := c.m.Stdout, time.Now()
	tw := table(w, "DAEMON", "LOADED", "RUNNING", "WAITING")
	for _, d := range out {
		if d.Error != "" {
			fmt.Fprintf(tw, "%s\t%s\t%s\t%s\n", d.Daemon, "-", "(down)", "-")
			fmt.Fprintf(c.m.Stderr, "foreman: %s did not answer: %s\n", d.Daemon, d.Error)
			continue
		}
		loaded, running := strings.Join(d.Queue.Loaded, ", "), "(idle)"
		if loaded == "" {
			loaded = "(none)"
		}
		if q := d.Queue.Running; q != nil {
			running = fmt.Sprintf("%s %s (%s)", q.JobID, q.Model, age(now, q.CreatedAt))
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%d\n", d.Daemon, loaded, running, d.Queue.Waiting)
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	var depth []string
	for _, d := range out {
		if d.Queue == nil {
			continue
		}
		for _, q := range d.Queue.Depth {
			depth = append(depth, fmt.Sprintf("%s\t%s\t%d\t%d\n", d.Daemon, q.Model, q.Priority, q.Queued))
		}
	}
	if len(depth) == 0 {
		return nil
	}
	fmt.Fprintln(w)
	tw = table(w, "DAEMON", "MODEL", "PRIORITY", "QUEUED")
	for _, row := range depth {
		fmt.Fprint(tw, row)
	}
	return tw.Flush()
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
