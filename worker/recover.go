package worker

import (
	"cmp"
	"context"
	"fmt"
	"slices"

	"github.com/foreman-dev/foreman/eventlog"
	"github.com/foreman-dev/foreman/projections"
)

// Appender is the part of the event log the worker writes to.
type Appender interface {
	Append(ctx context.Context, recs ...eventlog.Record) ([]eventlog.Event, error)
}

// ActiveJobs goes over the non-terminal jobs (projections.Projections).
type ActiveJobs interface {
	EachActive(fn func(*projections.Job))
}

// Recovery counts what Recover did.
type Recovery struct {
	Cancelled, Requeued, Failed int
}

// Reasons recorded by recovery.
const (
	ReasonCallerGone  = "caller gone: foreman restarted while the synchronous request waited"
	ReasonInterrupted = "interrupted: foreman restarted while the job was running"
)

// Recover runs once at start, after the projections reach the end of the
// log and before the listener and the worker start. A synchronous job still
// queued or working is cancelled, because its caller is gone; an async job
// found working is requeued with the attempt counted, or failed when it has
// no attempts left. Every decision is an appended event, so the history
// shows the crash; all of them are appended in one atomic batch.
func Recover(ctx context.Context, log Appender, jobs ActiveJobs) (Recovery, error) {
	var r Recovery
	var recs []eventlog.Record
	var found []projections.Job // the few it acts on, not every queued job
	jobs.EachActive(func(j *projections.Job) {
		if j.Sync || j.State == projections.Working {
			found = append(found, *j)
		}
	})
	slices.SortFunc(found, func(a, b projections.Job) int { return cmp.Compare(a.QueueOffset, b.QueueOffset) })
	for _, j := range found {
		switch {
		case j.Sync:
			recs = append(recs, eventlog.Record{Job: j.ID, Type: eventlog.JobCancelled,
				Payload: &eventlog.Cancellation{Reason: ReasonCallerGone}})
			r.Cancelled++
		case j.State != projections.Working:
		case j.AttemptsLeft() > 0:
			recs = append(recs, eventlog.Record{Job: j.ID, Type: eventlog.JobInterrupted,
				Payload: &eventlog.Interruption{Attempt: j.Attempts, Reason: ReasonInterrupted, Requeued: true, CountsAttempt: true}})
			r.Requeued++
		default:
			recs = append(recs,
				eventlog.Record{Job: j.ID, Type: eventlog.JobInterrupted,
					Payload: &eventlog.Interruption{Attempt: j.Attempts, Reason: ReasonInterrupted, CountsAttempt: true}},
				eventlog.Record{Job: j.ID, Type: eventlog.JobFailed,
					Payload: &eventlog.Failure{Attempt: j.Attempts, Error: ReasonInterrupted + "; no attempts left"}})
			r.Failed++
		}
	}
	if len(recs) == 0 {
		return r, nil
	}
	if _, err := log.Append(ctx, recs...); err != nil {
		return Recovery{}, fmt.Errorf("recover: %w", err)
	}
	return r, nil
}
