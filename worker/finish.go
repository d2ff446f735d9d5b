package worker

import (
	"cmp"
	"context"
	"crypto/sha256"
	"encoding/json"
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
// models are loaded. When next is true and another job is ready, its start
// is recorded in the same durable batch (one fsync for both, and no wait
// for the projections in between) and its attempt returned, running: it
// starts while that batch is synced.
func (w *Worker) finish(ctx context.Context, r *running, out outcome, next bool) (*running, error) {
	refresh := func() {
		if err := w.cfg.Residency.RefreshPs(context.WithoutCancel(ctx)); err != nil {
			w.cfg.Logger.Debug("could not re-read /api/ps", "err", err)
		}
	}
	// With a job to pick next, re-learn what is loaded before the pick;
	// else after the end is recorded, so a waiting caller is not held up.
	next = next && w.cfg.Jobs.Queue().Len() > 0
	if next {
		refresh()
	}
	recs, endMsg := w.ending(r, out)
	ended := len(recs)
	var nr *running
	var body []byte
	if next {
		var rec eventlog.Record
		if nr, body, rec = w.following(ctx, r); rec.Type != "" {
			recs = append(recs, rec)
		}
	}
	if nr != nil {
		// The next attempt runs while its start is being synced: a crash
		// before the sync leaves that job queued in the log, so it runs
		// again after the restart, as any interrupted attempt does.
		w.launch(ctx, nr, body)
	}
	evs, err := w.append(ctx, recs...)
	if err != nil {
		if nr != nil {
			nr.cancel(err)
		}
		return nil, err
	}
	w.cfg.Logger.Info("attempt ended", "job", r.job.ID, "model", r.job.Model, "attempt", r.attempt,
		"outcome", recs[ended-1].Type, "took", w.cfg.Now().Sub(r.started).Round(time.Millisecond))
	if out.err == nil || endMsg != "" {
		w.cfg.Sink.End(r.job.ID, evs[ended-1].Offset, endMsg)
	}
	if !next {
		refresh()
	}
	return nr, nil
}

// following picks the job to start right after r ends, and returns its
// attempt and job.started (or, for an unreadable request, no attempt and
// a job.failed). It picks from projections that include every durable
// event (r's own start, where r is working and not ready, and every
// submission so far: the pick sees what the loop's would), waiting for
// them if need be (the projections apply within a commit or so). A zero
// record leaves the pick to the loop.
func (w *Worker) following(ctx context.Context, r *running) (*running, []byte, eventlog.Record) {
	if err := w.cfg.Jobs.WaitFor(ctx, max(w.lastOff, w.cfg.Log.LastOffset())); err != nil {
		return nil, nil, eventlog.Record{}
	}
	e, ok, _ := w.sched.Pick(w.cfg.Jobs.Queue(), w.cfg.Residency.Loaded(), w.cfg.Now())
	if !ok || e.ID == r.job.ID {
		return nil, nil, eventlog.Record{}
	}
	job, err := w.cfg.Jobs.Job(e.ID)
	if err != nil {
		return nil, nil, eventlog.Record{}
	}
	nr, body, rec, ok := w.prepare(job)
	if !ok {
		return nil, nil, rec
	}
	return nr, body, rec
}

// ending returns the records of how an attempt ended, and the message
// the sink's waiters get ("" for a success or a retry).
func (w *Worker) ending(r *running, out outcome) ([]eventlog.Record, string) {
	r.cancel(nil)
	id, cause := r.job.ID, context.Cause(r.ctx)
	rec := func(typ eventlog.Type, p any) eventlog.Record { return eventlog.Record{Job: id, Type: typ, Payload: p} }
	var recs []eventlog.Record
	endMsg := ""
	switch {
	case out.err == nil:
		ok := &eventlog.Succeeded{Attempt: r.attempt, Result: ResultArtifact}
		if OpenAI(r.sub.Kind) {
			ok.Status = http.StatusOK
		}
		recs = append(recs, resultArtifact(id, out.result), rec(eventlog.JobSucceeded, ok))
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
		if !out.begun { // a synchronous caller still waiting gets the same 504, in the route's error shape
			body, _ := json.Marshal(map[string]string{"error": endMsg})
			ct := contentType(body)
			if OpenAI(r.sub.Kind) {
				body, ct = openAIError(endMsg), "application/json"
			}
			w.cfg.Sink.Begin(id, http.StatusGatewayTimeout, ct)
			w.cfg.Sink.Chunk(id, body)
		}
	default:
		status, msg := describe(out.err)
		retry := retryable(out.err) && !(r.sub.Sync && out.begun) && r.job.Used+1 < r.job.MaxAttempts
		if retry {
			at := w.cfg.Now().Add(w.backoff(r.attempt))
			recs = append(recs, rec(eventlog.AttemptFailed, &eventlog.AttemptFailure{Attempt: r.attempt, Retryable: true, Error: msg, Status: status, RetryAt: at.UnixNano()}))
		} else {
			endMsg = msg
			fail := &eventlog.Failure{Attempt: r.attempt, Error: msg, Status: status}
			var he *target.HTTPError
			isHTTP := errors.As(out.err, &he)
			if isHTTP && OpenAI(r.sub.Kind) && json.Valid(he.Body) {
				// The target's own error body is the OpenAI job's answer
				// (a batch relays it with the status): keep it.
				fail.Result = ResultArtifact
				recs = append(recs, resultArtifact(id, he.Body))
			}
			recs = append(recs, rec(eventlog.JobFailed, fail))
			if isHTTP && !out.begun { // relay Ollama's own status and body
				w.cfg.Sink.Begin(id, he.Status, cmp.Or(he.ContentType, contentType(he.Body)))
				w.cfg.Sink.Chunk(id, he.Body)
			}
		}
		w.cfg.Logger.Warn("attempt failed", "job", id, "attempt", r.attempt, "retry", retry, "err", msg)
	}
	return recs, endMsg
}

// resultArtifact stores a job's answer (or an OpenAI job's error body)
// as its result artifact.
func resultArtifact(id ulid.ULID, data []byte) eventlog.Record {
	sum := sha256.Sum256(data)
	key := eventlog.ArtifactBlob(id, ResultArtifact)
	return eventlog.Record{Job: id, Type: eventlog.ArtifactStored, Blobs: []eventlog.Blob{{Key: key, Data: data}},
		Payload: &eventlog.Artifact{Name: ResultArtifact, ContentType: "application/json", Size: int64(len(data)), SHA256: sum[:], Blob: key}}
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
	if _, err := w.append(ctx, recs...); err != nil {
		return err
	}
	for _, r := range recs {
		w.cfg.Sink.End(r.Job, w.lastOff, "job cancelled")
	}
	return nil
}
