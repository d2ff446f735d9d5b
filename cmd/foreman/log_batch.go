package main

import (
	"context"
	"fmt"
	"text/tabwriter"
	"time"

	"github.com/foreman-dev/foreman/eventlog"
)

// batchReport is `foreman log batch ID --json`: the batch's own events and
// what they say of it; its lines are jobs (`foreman log job`).
type batchReport struct {
	Batch   string         `json:"batch"`
	Status  string         `json:"status"`
	Total   int            `json:"total"`
	Lines   int            `json:"lines_submitted"` // job.submitted events of its lines
	Settled int            `json:"lines_settled"`   // lines whose job ended (done, failed, cancelled)
	Output  string         `json:"output_file,omitempty"`
	Errors  string         `json:"error_file,omitempty"`
	Events  []exportRecord `json:"events"`
}

// batch serves `foreman log batch ID`: a batch's timeline, and its lines
// counted from the log.
func (c *LogCommand) batch(ctx context.Context, args []string) error {
	f := c.newLogFlags("batch", "batch [--data-dir DIR] [--json] ID")
	pos, err := f.parse(args)
	if err != nil {
		return err
	}
	if len(pos) != 1 {
		f.fs.Usage()
		return &usageError{"log batch takes one batch id"}
	}
	id, err := eventlog.ParseBatchID(pos[0])
	if err != nil {
		return &usageError{fmt.Sprintf("%q is not a batch id (batch_<ULID>): %v", pos[0], err)}
	}
	l, err := c.openLog(*f.dataDir)
	if err != nil {
		return err
	}
	defer l.Close()
	rep := batchReport{Batch: eventlog.BatchID(id), Status: "(unknown)", Events: []exportRecord{}}
	var evs []eventlog.Event
	var details []string
	err = scanJob(ctx, l, id, 0, 0, func(e eventlog.Event) error {
		payload, err := renderPayload(e)
		if err != nil {
			return err
		}
		evs = append(evs, e)
		rep.Events = append(rep.Events, newExportRecord(e, payload))
		details = append(details, payload.human())
		rep.fold(e)
		return nil
	})
	if err != nil {
		return fmt.Errorf("batch %s: %w", rep.Batch, err)
	}
	if len(evs) == 0 {
		return fmt.Errorf("batch %s is not in the log in %s: %w", rep.Batch, *f.dataDir, eventlog.ErrNotFound)
	}
	// The lines: one scan of the log from the batch's first event.
	lines := map[[16]byte]bool{}
	err = l.Scan(ctx, evs[0].Offset, 0, func(e eventlog.Event) error {
		switch e.Type {
		case eventlog.JobSubmitted:
			var s eventlog.Submitted
			if e.Decode(&s) == nil && s.Batch == id.String() {
				lines[e.Job] = false
			}
		case eventlog.JobSucceeded, eventlog.JobFailed, eventlog.JobCancelled:
			if _, ok := lines[e.Job]; ok {
				lines[e.Job] = true
			}
		case eventlog.JobRequeued:
			if _, ok := lines[e.Job]; ok {
				lines[e.Job] = false
			}
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("batch %s: %w", rep.Batch, err)
	}
	rep.Lines = len(lines)
	for _, done := range lines {
		if done {
			rep.Settled++
		}
	}
	if *f.json {
		return writeJSON(c.m.Stdout, rep)
	}
	out := newOutput(c.m.Stdout)
	fmt.Fprintf(out, "batch %s: %s; %d lines, %d submitted as jobs, %d settled\n", rep.Batch, rep.Status, rep.Total, rep.Lines, rep.Settled)
	if rep.Output != "" || rep.Errors != "" {
		fmt.Fprintf(out, "output %s, errors %s\n", orDash(rep.Output), orDash(rep.Errors))
	}
	tw := tabwriter.NewWriter(out, 0, 4, 2, ' ', 0)
	for i, e := range evs {
		fmt.Fprintf(tw, "  %d\t%s\t+%s\t%s\t%s\n", e.Offset, e.Time.UTC().Format(time.RFC3339Nano), elapsed(e.Time.Sub(evs[0].Time)), e.Type, details[i])
	}
	if err := tw.Flush(); err != nil {
		return fmt.Errorf("write output: %w", err)
	}
	return out.flush()
}

// fold follows the batch's status through its own events.
func (r *batchReport) fold(e eventlog.Event) {
	switch e.Type {
	case eventlog.BatchCreated:
		r.Status = "validating"
	case eventlog.BatchInProgress:
		var p eventlog.BatchStart
		if e.Decode(&p) == nil {
			r.Total = p.Total
		}
		if r.Status == "validating" {
			r.Status = "in_progress"
		}
	case eventlog.BatchFailed:
		r.Status = "failed"
	case eventlog.BatchCancelRequested:
		r.Status = "cancelling"
	case eventlog.BatchFinalizing:
		if r.Status != "cancelling" {
			r.Status = "finalizing"
		}
	case eventlog.BatchEnded:
		var p eventlog.BatchEnd
		if e.Decode(&p) == nil {
			r.Status, r.Output, r.Errors = p.Status, p.OutputFile, p.ErrorFile
		}
	case eventlog.BatchDeleted:
		r.Status += " (deleted)"
	}
}

func orDash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}
