package main

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/foreman-dev/foreman/client"
)

// JobCommand shows one job and its history, or with --follow (foreman
// watch) attaches to its output.
type JobCommand struct {
	m      *Main
	follow bool // the default of --follow: true for foreman watch
}

// jobDetail is the --json output of foreman job.
type jobDetail struct {
	Job    *client.Job    `json:"job"`
	Events []client.Event `json:"events"`
}

// Run prints the job (GET /jobs/{id}) and its events
// (GET /jobs/{id}/events, when the daemon serves them).
func (c *JobCommand) Run(ctx context.Context, args []string) error {
	r := c.m.newRemote("job", "job [--json] [--follow] ID\n\nShows a job and its history: for a running job, how long it has run, its tokens so far\n"+
		"and its ETA. With --follow (or foreman watch ID), prints its output as it is produced instead.")
	followFlag := r.fs.Bool("follow", c.follow, "print the job's output as it is produced, then wait for its end (foreman watch)")
	pos, err := r.parse(args, 1)
	if err != nil {
		return err
	}
	cl, err := r.clientFor(ctx, pos[0], client.WithPollInterval(200*time.Millisecond))
	if err != nil {
		return r.explain(err)
	}
	j, err := cl.Get(ctx, pos[0])
	if err != nil {
		return r.explain(err)
	}
	if *followFlag {
		return follow(ctx, r, cl, j.JobID) // a running answer is replayed from its start
	}
	evs, err := cl.Events(ctx, j.JobID)
	var ae *client.APIError
	noHistory := errors.As(err, &ae) && (ae.Status == 404 || ae.Status == 405)
	if err != nil && !noHistory {
		return r.explain(err)
	}
	if r.json {
		if evs == nil {
			evs = []client.Event{}
		}
		return r.printJSON(jobDetail{Job: j, Events: evs})
	}
	w := c.m.Stdout
	tw := table(w, "FIELD", "VALUE")
	row := func(k, v string) {
		if v != "" {
			fmt.Fprintf(tw, "%s\t%s\n", k, v)
		}
	}
	ts := func(t *time.Time) string {
		if t == nil {
			return ""
		}
		return t.Local().Format(time.DateTime)
	}
	row("id", j.JobID)
	row("state", j.State)
	row("model", j.Model)
	row("kind", j.Kind)
	row("priority", fmt.Sprint(j.Priority))
	row("submitter", j.Submitter)
	row("created", ts(&j.CreatedAt))
	row("started", ts(j.StartedAt))
	row("finished", ts(j.FinishedAt))
	row("attempts", fmt.Sprintf("%d of %d", j.Attempts, j.MaxAttempts))
	for _, p := range progressRows(time.Now(), j) {
		row(p[0], p[1])
	}
	if j.Position != nil {
		row("position", fmt.Sprint(*j.Position))
	}
	row("error", j.Error)
	if j.Status != 0 {
		row("status", fmt.Sprint(j.Status))
	}
	for _, a := range j.Artifacts {
		row("artifact", fmt.Sprintf("%s (%s, %d bytes)", a.Name, a.ContentType, a.Size))
	}
	if res := (&client.Result{Job: *j}).Text(); res != "" {
		row("answer", short(res, 200))
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	if noHistory {
		fmt.Fprintln(c.m.Stderr, "(this daemon does not serve job histories; read them offline with `foreman log job ID`)")
		return nil
	}
	fmt.Fprintln(w)
	tw = table(w, "OFFSET", "TIME", "EVENT")
	for _, e := range evs {
		fmt.Fprintf(tw, "%d\t%s\t%s\n", e.Offset, e.Time.Local().Format("2006-01-02 15:04:05.000"), e.Type)
	}
	return tw.Flush()
}

// progressRows are how far the job has got, from what GET /jobs/{id}
// says: how long it has run (or ran), its tokens so far, and its ETA.
func progressRows(now time.Time, j *client.Job) [][2]string {
	var rows [][2]string
	if j.StartedAt != nil {
		end := now
		if j.FinishedAt != nil {
			end = *j.FinishedAt
		}
		rows = append(rows, [2]string{"elapsed", end.Sub(*j.StartedAt).Round(time.Second).String()})
	}
	if j.Tokens != nil {
		rows = append(rows, [2]string{"tokens", fmt.Sprintf("%d so far", *j.Tokens)})
	}
	if j.ETA != nil {
		eta := fmt.Sprintf("in %s (%s)", max(0, j.ETA.Sub(now)).Round(time.Second), j.ETA.Local().Format(time.TimeOnly))
		if j.ETAConfidence == "low" {
			eta += ", uncertain: the running job has overrun its estimate"
		}
		rows = append(rows, [2]string{"eta", eta})
	}
	return rows
}
