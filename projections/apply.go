package projections

import (
	"bytes"

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
	var pl payload
	pl.decode(e)
	return applyDecoded(j, e, &pl)
}

// payload holds an event's payload decoded ahead of apply (a full rebuild
// decodes on the scanning goroutine); only the field of the event's type
// is set. A decoding error is kept and returned where apply needs the
// payload, so that an event apply ignores stays harmless.
type payload struct {
	err           error
	submitted     eventlog.Submitted
	started       eventlog.Started
	attemptFailed eventlog.AttemptFailure
	succeeded     eventlog.Succeeded
	failed        eventlog.Failure
	cancelled     eventlog.Cancellation
	artifact      eventlog.Artifact
	interrupted   eventlog.Interruption
}

// decode fills in the field for e's type (zeroing it first: payloads are
// reused).
func (pl *payload) decode(e eventlog.Event) {
	pl.err = nil
	switch e.Type {
	case eventlog.JobSubmitted:
		pl.submitted = eventlog.Submitted{}
		pl.err = e.Decode(&pl.submitted)
	case eventlog.JobStarted:
		pl.started = eventlog.Started{}
		pl.err = e.Decode(&pl.started)
	case eventlog.AttemptFailed:
		pl.attemptFailed = eventlog.AttemptFailure{}
		pl.err = e.Decode(&pl.attemptFailed)
	case eventlog.JobSucceeded:
		pl.succeeded = eventlog.Succeeded{}
		pl.err = e.Decode(&pl.succeeded)
	case eventlog.JobFailed:
		pl.failed = eventlog.Failure{}
		pl.err = e.Decode(&pl.failed)
	case eventlog.JobCancelled:
		pl.cancelled = eventlog.Cancellation{}
		pl.err = e.Decode(&pl.cancelled)
	case eventlog.ArtifactStored:
		pl.artifact = eventlog.Artifact{}
		pl.err = e.Decode(&pl.artifact)
	case eventlog.JobInterrupted:
		pl.interrupted = eventlog.Interruption{}
		pl.err = e.Decode(&pl.interrupted)
	}
}

// affectsViews reports whether apply may change a view on an event of
// type t; for any other type (webhook records, types added later) apply
// returns the view as it is, so the applier need not even look it up.
func affectsViews(t eventlog.Type) bool {
	switch t {
	case eventlog.JobSubmitted, eventlog.JobStarted, eventlog.AttemptFailed, eventlog.JobSucceeded,
		eventlog.JobFailed, eventlog.CancelRequested, eventlog.JobCancelled, eventlog.ArtifactStored,
		eventlog.JobInterrupted, eventlog.JobRequeued, eventlog.JobExpired:
		return true
	}
	return false
}

// applyDecoded is apply with the payload decoded into pl.
func applyDecoded(j *Job, e eventlog.Event, pl *payload) (*Job, error) {
	if e.Type == eventlog.JobSubmitted {
		if j != nil {
			return j, nil // a job id is submitted once
		}
		if pl.err != nil {
			return nil, pl.err
		}
		p := &pl.submitted
		return &Job{
			ID: e.Job, Model: p.Model, Kind: p.Kind, State: Queued,
			Priority: p.Priority, Sync: p.Sync, Submitter: p.Submitter,
			WebhookURL: p.WebhookURL, IdempotencyKey: p.IdempotencyKey,
			// Copies: the payload's byte slices share the event's memory.
			RequestSHA256: bytes.Clone(p.RequestSHA256), BodySHA256: bytes.Clone(p.BodySHA256),
			SubmitOffset: e.Offset,
			SubmittedAt:  e.Time.UnixNano(), UpdatedAt: e.Time.UnixNano(),
			QueueOffset: e.Offset, QueuedAt: e.Time.UnixNano(),
			MaxAttempts: p.MaxAttempts, LastOffset: e.Offset,
			Batch: p.Batch, CustomID: p.CustomID,
		}, nil
	}
	if j == nil {
		return nil, nil // history of an expired job, or webhook records
	}
	t := e.Time.UnixNano()
	touch := func() { j.UpdatedAt, j.LastOffset = t, e.Offset }
	switch e.Type {
	case eventlog.JobStarted:
		if pl.err != nil {
			return nil, pl.err
		}
		p := &pl.started
		if j.State != Queued {
			return j, nil
		}
		j.State, j.Attempts, j.StartedAt, j.RetryAt = Working, p.Attempt, t, 0
		j.Used++
		touch()
	case eventlog.AttemptFailed:
		if pl.err != nil {
			return nil, pl.err
		}
		p := &pl.attemptFailed
		if j.State != Working {
			return j, nil
		}
		j.State, j.LastError, j.LastStatus, j.RetryAt = Queued, p.Error, p.Status, p.RetryAt
		touch()
	case eventlog.JobSucceeded:
		if pl.err != nil {
			return nil, pl.err
		}
		p := &pl.succeeded
		if j.State != Working {
			return j, nil
		}
		j.State, j.Result, j.FinishedAt, j.CancelRequested = Done, p.Result, t, false
		j.LastError, j.LastStatus = "", p.Status
		touch()
	case eventlog.JobFailed:
		if pl.err != nil {
			return nil, pl.err
		}
		p := &pl.failed
		if j.State.Terminal() {
			return j, nil
		}
		j.State, j.LastError, j.LastStatus, j.FinishedAt, j.CancelRequested = Failed, p.Error, p.Status, t, false
		if p.Result != "" {
			j.Result = p.Result
		}
		touch()
	case eventlog.CancelRequested:
		if j.State.Terminal() {
			return j, nil
		}
		j.CancelRequested = true
		touch()
	case eventlog.JobCancelled:
		if pl.err != nil {
			return nil, pl.err
		}
		p := &pl.cancelled
		if j.State.Terminal() {
			return j, nil
		}
		j.State, j.FinishedAt, j.CancelRequested, j.RetryAt = Cancelled, t, false, 0
		if p.Reason != "" {
			j.LastError = p.Reason
		}
		touch()
	case eventlog.ArtifactStored:
		if pl.err != nil {
			return nil, pl.err
		}
		p := &pl.artifact
		a := Artifact{Name: p.Name, ContentType: p.ContentType, Size: p.Size, SHA256: bytes.Clone(p.SHA256), Blob: p.Blob, Offset: e.Offset}
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
		if pl.err != nil {
			return nil, pl.err
		}
		p := &pl.interrupted
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
		j.Result = "" // a failed OpenAI job's error body is not the next run's answer
		touch()
	case eventlog.JobExpired:
		return nil, nil
	}
	return j, nil
}
