package main

import (
	"context"
	"fmt"
	"strconv"
	"time"

	"github.com/foreman-dev/foreman/client"
)

// JobsCommand lists jobs, newest first (GET /jobs).
type JobsCommand struct{ m *Main }

// Run prints one page of jobs as a table, or JSON with --json.
func (c *JobsCommand) Run(ctx context.Context, args []string) error {
	r := c.m.newRemote("jobs", "jobs [--state S] [--model M] [--limit N] [--cursor C] [--json]\n\nLists jobs, newest first.")
	var o client.ListOptions
	r.fs.StringVar(&o.State, "state", "", "only jobs in this state: queued, working, done, failed, cancelled")
	r.fs.StringVar(&o.Model, "model", "", "only jobs for this model")
	r.fs.IntVar(&o.Limit, "limit", 50, "at most this many jobs (1 to 500)")
	r.fs.StringVar(&o.Cursor, "cursor", "", "continue after a previous page (its next cursor)")
	if _, err := r.parse(args, 0); err != nil {
		return err
	}
	var l *client.JobList
	var err error
	if r.isFleet() {
		// Each daemon's page, merged newest first; a daemon down is
		// reported, not fatal.
		l, err = r.fleet().List(ctx, o)
		if l != nil {
			err = r.partial(err)
		}
	} else {
		l, err = r.client().List(ctx, o)
	}
	if err != nil {
		return r.explain(err)
	}
	if r.json {
		return r.printJSON(l)
	}
	now := time.Now()
	header := []string{"ID", "STATE", "MODEL", "AGE", "ATTEMPTS", "ERROR"}
	if r.isFleet() {
		header = append(header[:1:1], append([]string{"DAEMON"}, header[1:]...)...)
	}
	tw := table(c.m.Stdout, header...)
	for _, j := range l.Jobs {
		id := j.JobID
		if r.isFleet() {
			id += "\t" + j.Daemon
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\n", id, j.State, j.Model, age(now, j.CreatedAt), strconv.Itoa(j.Attempts), short(j.Error, 50))
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	if l.NextCursor != "" {
		fmt.Fprintf(c.m.Stderr, "more: foreman jobs --cursor %s\n", l.NextCursor)
	}
	return nil
}
