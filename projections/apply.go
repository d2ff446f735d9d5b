package projections

import (
	"github.com/foreman-dev/foreman/eventlog"
)

// apply folds one event into a job view and returns the new view; nil means
// the job no longer exists (expired, or never submitted). j may be nil and
// is modified in place. It uses nothing but the event, so replays agree.
//
// The log is the authority: an event that makes no sense for the view (a
// start on a done job) is ignored rather than failing the whole replay,
// because nothing may leave done and a rebuild must always finish.
func apply(j *Job, e eventlog.Event) (*Job, error) {
	if e.Type == eventlog.JobSubmitted {
		if j != nil {
			return j, nil // a job id is submitted once
		}
		var p eventlog.Submitted
		if err := e.Decode(&p); err != nil {
			return nil, err
		}
		return &Job{
			ID: e.Job, Model: p.Model, Kind: p.Kind, State: Queued,
			Priority: p.Priority, Sync: p.Sync, Submitter: p.Submitter,
			WebhookURL: p.WebhookURL, IdempotencyKey: p.IdempotencyKey,
			RequestSHA256: p.RequestSHA256, BodySHA256: p.BodySHA256, SubmitOffset: e.Offset,
			SubmittedAt: e.Time.UnixNano(), UpdatedAt: e.Time.UnixNano(),
			QueueOffset: e.Offset, QueuedAt: e.Time.UnixNano(),
			MaxAttempts: p.MaxAttempts, LastOffset: e.Offset,
		}, nil
	}
	if j == nil {
		return nil, nil // history of an expired job, or webhook records
	}
	t := e.Time.UnixNano()
	touch := func() { j.UpdatedAt, j.LastOffset = t, e.Offset }
	switch e.Type {
	case eventlog.JobStarted:
		var p eventlog.Started
		if err := e.Decode(&p); err != nil {
			return nil, err
		}
		if j.State != Queued {
			return j, nil
		}
		j.State, j.Attempts, j.StartedAt, j.RetryAt = Working, p.Attempt, t, 0
		j.Used++
		touch()
	case eventlog.AttemptFailed:
		var p eventlog.AttemptFailure
		if err := e.Decode(&p); err != nil {
			return nil, err
		}
		if j.State != Working {
			return j, nil
		}
		j.State, j.LastError, j.LastStatus, j.RetryAt = Queued, p.Error, p.Status, p.RetryAt
		touch()
	case eventlog.JobSucceeded:
		var p eventlog.Succeeded
		if err := e.Decode(&p); err != nil {
			return nil, err
		}
		if j.State != Working {
			return j, nil
		}
		j.State, j.Result, j.FinishedAt, j.CancelRequested = Done, p.Result, t, false
		j.LastError, j.LastStatus = "", 0
		touch()
	case eventlog.JobFailed:
		var p eventlog.Failure
		if err := e.Decode(&p); err != nil {
			return nil, err
		}
		if j.State.Terminal() {
			return j, nil
		}
		j.State, j.LastError, j.LastStatus, j.FinishedAt, j.CancelRequested = Failed, p.Error, p.Status, t, false
		touch()
	case eventlog.CancelRequested:
		if j.State.Terminal() {
			return j, nil
		}
		j.CancelRequested = true
		touch()
	case eventlog.JobCancelled:
		var p eventlog.Cancellation
		if err := e.Decode(&p); err != nil {
			return nil, err
		}
		if j.State.Terminal() {
			return j, nil
		}
		j.State, j.FinishedAt, j.CancelRequested, j.RetryAt = Cancelled, t, false, 0
		if p.Reason != "" {
			j.LastError = p.Reason
		}
		touch()
	case eventlog.ArtifactStored:
		var p eventlog.Artifact
		if err := e.Decode(&p); err != nil {
			return nil, err
		}
		a := Artifact{Name: p.Name, ContentType: p.ContentType, Size: p.Size, SHA256: p.SHA256, Blob: p.Blob, Offset: e.Offset}
		replaced := false
		for i := range j.Artifacts {
			if j.Artifacts[i].Name == p.Name {
				j.Artifacts[i], replaced = a, true
			}
		}
		if !replaced {
			j.Artifacts = append(j.Artifacts, a)
		}
		touch()
	case eventlog.JobInterrupted:
		var p eventlog.Interruption
		if err := e.Decode(&p); err != nil {
			return nil, err
		}
		if j.State != Working {
			return j, nil
		}
		if !p.CountsAttempt {
			j.Used--
		}
		if p.Requeued {
			j.State = Queued
		}
		j.LastError = p.Reason
		touch()
	case eventlog.JobRequeued:
		if j.State != Failed && j.State != Cancelled {
			return j, nil
		}
		j.State, j.Used, j.RetryAt, j.FinishedAt, j.CancelRequested = Queued, 0, 0, 0, false
		j.QueueOffset, j.QueuedAt = e.Offset, t
		touch()
	case eventlog.JobExpired:
		return nil, nil
	}
	return j, nil
}
