package main

import (
	"context"
	"fmt"
	"strings"
	"time"
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
	q, err := r.client().Queue(ctx)
	if err != nil {
		return r.explain(err)
	}
	if r.json {
		return r.printJSON(q)
	}
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
