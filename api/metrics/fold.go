package metrics

import (
	"time"

	"github.com/oklog/ulid/v2"

	"github.com/foreman-dev/foreman/eventlog"
	"github.com/foreman-dev/foreman/projections"
)

// unknownModel labels a job whose view is gone (expired) before its events
// were folded.
const unknownModel = "unknown"

// jobState is what the fold keeps of an active job to time its waits and
// runs. Terminal jobs are dropped, so memory follows the active set.
type jobState struct {
	model     string
	runnable  time.Time // when it last became runnable in the queue
	started   time.Time
	isWorking bool
}

// seed rebuilds a jobState from a view, for a job whose events the fold
// has not seen (active at start, or requeued long after it finished).
func seed(j projections.Job) *jobState {
	s := &jobState{model: j.Model, runnable: projections.Time(j.QueuedAt)}
	if j.Attempts > 0 { // back in the queue after an attempt: runnable since then
		s.runnable = projections.Time(max(j.UpdatedAt, j.RetryAt))
	}
	if j.State == projections.Working {
		s.isWorking, s.started = true, projections.Time(j.StartedAt)
	}
	return s
}

// job returns the fold state of id, seeding it from the projections when
// the fold has not seen the job's submission.
func (c *Collector) job(id ulid.ULID) *jobState {
	if s, ok := c.jobs[id]; ok {
		return s
	}
	s := &jobState{model: unknownModel}
	if v, err := c.cfg.Jobs.Job(id); err == nil {
		s = seed(v)
	}
	c.jobs[id] = s
	return s
}

// fold applies one event to the fold state and, when count is set, to the
// metrics. Without count (the replay at start) it only rebuilds state.
// Like the projections it never fails: an event that does not fit is
// skipped, because the log is the authority.
func (c *Collector) fold(e eventlog.Event, count bool) {
	m := c.m
	now := c.cfg.Now()
	if count {
		if lat := now.Sub(e.Time); lat >= 0 {
			m.appendLatency.Observe(lat.Seconds())
		}
	}
	// The window (GET /stats) is folded in the replay too: the last hour
	// is what it was, not what the daemon saw since it started.
	c.win.seen(e.Time)
	switch e.Type {
	case eventlog.JobSubmitted:
		var p eventlog.Submitted
		if _, ok := c.jobs[e.Job]; ok || e.Decode(&p) != nil {
			return
		}
		c.jobs[e.Job] = &jobState{model: p.Model, runnable: e.Time}
		if count {
			m.submitted.WithLabelValues(p.Model).Inc()
		}
	case eventlog.JobStarted:
		s := c.job(e.Job)
		if !s.isWorking && !s.runnable.IsZero() {
			wait := e.Time.Sub(s.runnable)
			c.win.wait(e.Time, now, wait)
			if count {
				m.wait.WithLabelValues(s.model).Observe(nonNegative(wait))
			}
		}
		if c.lastModel != "" && c.lastModel != s.model {
			c.win.swap(e.Time, now)
			if count {
				m.swaps.Inc()
			}
		}
		s.isWorking, s.started, c.lastModel = true, e.Time, s.model
	case eventlog.AttemptFailed:
		var p eventlog.AttemptFailure
		_ = e.Decode(&p) // a bad payload only loses retry_at
		s := c.job(e.Job)
		if count {
			m.retries.WithLabelValues(s.model).Inc()
		}
		c.endAttempt(s, e, "attempt_failed", count)
		s.runnable = e.Time
		if at := time.Unix(0, p.RetryAt); p.RetryAt != 0 && at.After(e.Time) {
			s.runnable = at
		}
	case eventlog.JobInterrupted:
		var p eventlog.Interruption
		if e.Decode(&p) != nil {
			return
		}
		s := c.job(e.Job)
		if count {
			m.interruptions.WithLabelValues(s.model).Inc()
		}
		c.endAttempt(s, e, "interrupted", count)
		if p.Requeued {
			s.runnable = e.Time
		}
	case eventlog.JobSucceeded, eventlog.JobFailed, eventlog.JobCancelled:
		s := c.job(e.Job)
		outcome := terminalOutcome[e.Type]
		c.win.finish(e.Time, now, e.Type == eventlog.JobFailed)
		if count {
			m.finished.WithLabelValues(s.model, outcome).Inc()
		}
		c.endAttempt(s, e, outcome, count)
		delete(c.jobs, e.Job)
	case eventlog.JobRequeued:
		s := c.job(e.Job)
		if count {
			m.requeues.WithLabelValues(s.model).Inc()
		}
		s.isWorking, s.runnable = false, e.Time
	case eventlog.JobExpired:
		delete(c.jobs, e.Job)
	case eventlog.WebhookDelivered, eventlog.WebhookAttempted, eventlog.WebhookGaveUp:
		var p eventlog.WebhookAttempt
		if !count || e.Decode(&p) != nil {
			return
		}
		switch e.Type {
		case eventlog.WebhookDelivered:
			m.whDelivered.Inc()
		case eventlog.WebhookAttempted:
			m.whFailed.Inc()
		case eventlog.WebhookGaveUp:
			m.whGaveUp.Inc()
		}
		if p.Attempt > 1 {
			m.whRetries.Inc()
		}
	}
}

var terminalOutcome = map[eventlog.Type]string{
	eventlog.JobSucceeded: "succeeded",
	eventlog.JobFailed:    "failed",
	eventlog.JobCancelled: "cancelled",
}

// endAttempt observes the run time of a working job's attempt.
func (c *Collector) endAttempt(s *jobState, e eventlog.Event, outcome string, count bool) {
	if !s.isWorking {
		return
	}
	if count && !s.started.IsZero() {
		c.m.run.WithLabelValues(s.model, outcome).Observe(nonNegative(e.Time.Sub(s.started)))
	}
	s.isWorking = false
}

func nonNegative(d time.Duration) float64 { return max(d, 0).Seconds() }
