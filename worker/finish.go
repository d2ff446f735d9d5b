package worker

import (
	"context"
	"crypto/sha256"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"time"

	"github.com/oklog/ulid/v2"

	"github.com/foreman-dev/foreman/eventlog"
	"github.com/foreman-dev/foreman/worker/target"
)

// ResultArtifact is the artifact every finished job stores its answer in.
const ResultArtifact = "result.json"

// Reasons recorded when the worker stops a job.
const (
	ReasonCancelled = "cancelled"
	ReasonShutdown  = "interrupted: foreman shut down while the job was running"
)

// finish records how an attempt ended, tells the sink, and re-learns which
// models are loaded.
func (w *Worker) finish(ctx context.Context, r *running, out outcome) error {
	r.cancel(nil)
	id, cause := r.job.ID, context.Cause(r.ctx)
	rec := func(typ eventlog.Type, p any) eventlog.Record { return eventlog.Record{Job: id, Type: typ, Payload: p} }
	var recs []eventlog.Record
	endMsg := ""
	switch {
	case out.err == nil:
		sum := sha256.Sum256(out.result)
		key := eventlog.ArtifactBlob(id, ResultArtifact)
		recs = append(recs,
			eventlog.Record{Job: id, Type: eventlog.ArtifactStored, Blobs: []eventlog.Blob{{Key: key, Data: out.result}},
				Payload: &eventlog.Artifact{Name: ResultArtifact, ContentType: "application/json", Size: int64(len(out.result)), SHA256: sum[:], Blob: key}},
			rec(eventlog.JobSucceeded, &eventlog.Succeeded{Attempt: r.attempt, Result: ResultArtifact}))
	case errors.Is(cause, errCancelRequested):
		endMsg = "job cancelled"
		recs = append(recs, rec(eventlog.JobCancelled, &eventlog.Cancellation{Reason: ReasonCancelled}))
	case errors.Is(cause, errShutdown) && r.sub.Sync:
		endMsg = ReasonShutdown
		recs = append(recs, rec(eventlog.JobCancelled, &eventlog.Cancellation{Reason: ReasonShutdown}))
	case errors.Is(cause, errShutdown):
		endMsg = ReasonShutdown
		recs = append(recs, rec(eventlog.JobInterrupted, &eventlog.Interruption{Attempt: r.attempt, Reason: ReasonShutdown, Requeued: true}))
	case errors.Is(cause, errTimeout):
		endMsg = r.timeoutMessage()
		recs = append(recs, rec(eventlog.JobFailed, &eventlog.Failure{Attempt: r.attempt, Error: endMsg, Status: http.StatusGatewayTimeout}))
	default:
		status, msg := describe(out.err)
		retry := retryable(out.err) && !(r.sub.Sync && out.begun) && r.job.Used+1 < r.job.MaxAttempts
		if retry {
			at := w.cfg.Now().Add(w.backoff(r.attempt))
			recs = append(recs, rec(eventlog.AttemptFailed, &eventlog.AttemptFailure{Attempt: r.attempt, Retryable: true, Error: msg, Status: status, RetryAt: at.UnixNano()}))
		} else {
			endMsg = msg
			recs = append(recs, rec(eventlog.JobFailed, &eventlog.Failure{Attempt: r.attempt, Error: msg, Status: status}))
			var he *target.HTTPError
			if errors.As(out.err, &he) && !out.begun { // relay Ollama's own status and body
				w.cfg.Sink.Begin(id, he.Status, contentType(he.Body))
				w.cfg.Sink.Chunk(id, he.Body)
			}
		}
		w.cfg.Logger.Warn("attempt failed", "job", id, "attempt", r.attempt, "retry", retry, "err", msg)
	}
	if err := w.append(ctx, recs...); err != nil {
		return err
	}
	w.cfg.Logger.Info("attempt ended", "job", id, "model", r.job.Model, "attempt", r.attempt,
		"outcome", recs[len(recs)-1].Type, "took", w.cfg.Now().Sub(r.started).Round(time.Millisecond))
	if out.err == nil || endMsg != "" {
		w.cfg.Sink.End(id, w.lastOff, endMsg)
	}
	if err := w.cfg.Residency.RefreshPs(context.WithoutCancel(ctx)); err != nil {
		w.cfg.Logger.Debug("could not re-read /api/ps", "err", err)
	}
	return nil
}

// timeoutMessage names the limit that cut the attempt, so that the job's
// error says which setting to change.
func (r *running) timeoutMessage() string {
	limit := "FOREMAN_JOB_TIMEOUT"
	if r.sub.Timeout > 0 {
		limit = `the job's "timeout"`
	}
	return fmt.Sprintf("attempt %d timed out after %s (%s); the job was stopped", r.attempt, r.timeout, limit)
}

// retryable: a connection error, or a runner that died mid-answer.
func retryable(err error) bool {
	var ce *target.ConnError
	var se *target.StreamError
	return errors.As(err, &ce) || errors.As(err, &se)
}

// describe returns the status and message recorded for a failed attempt.
func describe(err error) (int, string) {
	var he *target.HTTPError
	if errors.As(err, &he) {
		return he.Status, he.Message
	}
	var se *target.StreamError
	if errors.As(err, &se) {
		return 0, se.Message
	}
	return 0, err.Error()
}

func contentType(body []byte) string {
	if strings.HasPrefix(strings.TrimSpace(string(body)), "{") {
		return "application/json; charset=utf-8"
	}
	return "text/plain; charset=utf-8"
}

// backoff after attempt n: RetryBase·2^(n-1), at most RetryMax.
func (w *Worker) backoff(n int) time.Duration {
	d := w.cfg.RetryBase
	for i := 1; i < n && d < w.cfg.RetryMax; i++ {
		d *= 2
	}
	return min(d, w.cfg.RetryMax)
}

// cancelQueued cancels the queued jobs whose cancellation was requested
// (ids: those the queue projection lists).
func (w *Worker) cancelQueued(ctx context.Context, ids []ulid.ULID) error {
	var recs []eventlog.Record
	live := make(map[ulid.ULID]bool, len(ids))
	for _, id := range ids {
		live[id] = true
		if !w.cancelled[id] {
			w.cancelled[id] = true
			recs = append(recs, eventlog.Record{Job: id, Type: eventlog.JobCancelled, Payload: &eventlog.Cancellation{Reason: ReasonCancelled}})
		}
	}
	for id := range w.cancelled {
		if !live[id] {
			delete(w.cancelled, id)
		}
	}
	if len(recs) == 0 {
		return nil
	}
	if err := w.append(ctx, recs...); err != nil {
		return err
	}
	for _, r := range recs {
		w.cfg.Sink.End(r.Job, w.lastOff, "job cancelled")
	}
	return nil
}
