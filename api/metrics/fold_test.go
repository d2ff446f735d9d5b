package metrics

import (
	"testing"
	"time"

	"github.com/oklog/ulid/v2"
	"github.com/prometheus/client_golang/prometheus"
	dto "github.com/prometheus/client_model/go"
	"github.com/vmihailenco/msgpack/v5"

	"github.com/foreman-dev/foreman/eventlog"
	"github.com/foreman-dev/foreman/projections"
)

// fakeJobs answers lookups of jobs the fold did not see submitted.
type fakeJobs map[ulid.ULID]projections.Job

func (f fakeJobs) Applied() uint64                   { return 0 }
func (f fakeJobs) EachActive(func(*projections.Job)) {}
func (f fakeJobs) Queue() *projections.Queue         { return projections.NewQueue() }
func (f fakeJobs) Counts() map[projections.State]int { return nil }
func (f fakeJobs) Job(id ulid.ULID) (projections.Job, error) {
	if j, ok := f[id]; ok {
		return j, nil
	}
	return projections.Job{}, projections.ErrNotFound
}

var t0 = time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)

// ev builds an event at t0+sec with an encoded payload.
func ev(t *testing.T, id ulid.ULID, typ eventlog.Type, sec float64, payload any) eventlog.Event {
	t.Helper()
	p, err := msgpack.Marshal(payload)
	if err != nil {
		t.Fatal(err)
	}
	return eventlog.Event{Job: id, Type: typ, Time: t0.Add(time.Duration(sec * float64(time.Second))), Payload: p}
}

func histogram(t *testing.T, o prometheus.Observer) (count uint64, sum float64) {
	t.Helper()
	var m dto.Metric
	if err := o.(prometheus.Metric).Write(&m); err != nil {
		t.Fatal(err)
	}
	return m.Histogram.GetSampleCount(), m.Histogram.GetSampleSum()
}

func counterValue(t *testing.T, c prometheus.Counter) float64 {
	t.Helper()
	var m dto.Metric
	if err := c.Write(&m); err != nil {
		t.Fatal(err)
	}
	return m.Counter.GetValue()
}

// series counts the series a collector exports.
func series(c prometheus.Collector) int {
	ch := make(chan prometheus.Metric)
	go func() { c.Collect(ch); close(ch) }()
	n := 0
	for range ch {
		n++
	}
	return n
}

func newFold(t *testing.T, jobs fakeJobs, now time.Time) *Collector {
	t.Helper()
	c, err := New(Config{Log: (*eventlog.Log)(nil), Jobs: jobs, Now: func() time.Time { return now }})
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// Waits run from the moment the job could run: a failed attempt's backoff
// (retry_at) is not queueing.
func TestFoldTimesWaitsAndRuns(t *testing.T) {
	t.Parallel()
	c := newFold(t, nil, t0.Add(100*time.Second))
	id := ulid.Make()
	for _, e := range []eventlog.Event{
		ev(t, id, eventlog.JobSubmitted, 0, eventlog.Submitted{Model: "m"}),
		ev(t, id, eventlog.JobStarted, 2, eventlog.Started{Attempt: 1}),
		ev(t, id, eventlog.AttemptFailed, 5, eventlog.AttemptFailure{Attempt: 1, RetryAt: t0.Add(9 * time.Second).UnixNano()}),
		ev(t, id, eventlog.JobStarted, 10, eventlog.Started{Attempt: 2}),
		ev(t, id, eventlog.JobSucceeded, 14, eventlog.Succeeded{Attempt: 2}),
	} {
		c.fold(e, true)
	}
	if n, sum := histogram(t, c.m.wait.WithLabelValues("m")); n != 2 || sum != 2+1 {
		t.Errorf("wait: %d samples, sum %v; want 2, 3", n, sum)
	}
	if n, sum := histogram(t, c.m.run.WithLabelValues("m", "attempt_failed")); n != 1 || sum != 3 {
		t.Errorf("failed attempt: %d samples, sum %v; want 1, 3", n, sum)
	}
	if n, sum := histogram(t, c.m.run.WithLabelValues("m", "succeeded")); n != 1 || sum != 4 {
		t.Errorf("run: %d samples, sum %v; want 1, 4", n, sum)
	}
	if n, sum := histogram(t, c.m.appendLatency); n != 5 || sum != 100+98+95+90+86 {
		t.Errorf("append latency: %d samples, sum %v", n, sum)
	}
	if len(c.jobs) != 0 {
		t.Errorf("finished job still held: %v", c.jobs)
	}
}

// Swaps are counted between consecutive starts of different models, and
// a job the fold never saw is labelled from its view.
func TestFoldCountsSwapsAndLooksUpUnseenJobs(t *testing.T) {
	t.Parallel()
	seen, unseen, gone := ulid.Make(), ulid.Make(), ulid.Make()
	c := newFold(t, fakeJobs{unseen: {ID: unseen, Model: "b", State: projections.Working, StartedAt: t0.UnixNano()}}, t0)
	c.lastModel = "a" // replayed at start: not counted
	for _, e := range []eventlog.Event{
		ev(t, seen, eventlog.JobSubmitted, 0, eventlog.Submitted{Model: "a"}),
		ev(t, unseen, eventlog.JobInterrupted, 3, eventlog.Interruption{Attempt: 1, Requeued: true}),
		ev(t, seen, eventlog.JobStarted, 4, eventlog.Started{Attempt: 1}),
		ev(t, unseen, eventlog.JobStarted, 5, eventlog.Started{Attempt: 2}),
		ev(t, gone, eventlog.JobStarted, 6, eventlog.Started{Attempt: 1}),
		ev(t, gone, eventlog.JobFailed, 7, eventlog.Failure{Attempt: 1}),
	} {
		c.fold(e, true)
	}
	if got := counterValue(t, c.m.swaps); got != 2 { // a→b, b→unknown
		t.Errorf("swaps %v, want 2", got)
	}
	if n, sum := histogram(t, c.m.run.WithLabelValues("b", "interrupted")); n != 1 || sum != 3 {
		t.Errorf("interrupted run: %d samples, sum %v; want 1, 3", n, sum)
	}
	if got := counterValue(t, c.m.finished.WithLabelValues(unknownModel, "failed")); got != 1 {
		t.Errorf("failed job of an unknown model: %v", got)
	}
	if got := counterValue(t, c.m.interruptions.WithLabelValues("b")); got != 1 {
		t.Errorf("interruptions %v", got)
	}
}

// The replay at start rebuilds state and counts nothing.
func TestFoldReplayCountsNothing(t *testing.T) {
	t.Parallel()
	c := newFold(t, nil, t0)
	id := ulid.Make()
	c.fold(ev(t, id, eventlog.JobSubmitted, 0, eventlog.Submitted{Model: "m"}), false)
	c.fold(ev(t, id, eventlog.JobStarted, 1, eventlog.Started{Attempt: 1}), false)
	c.fold(ev(t, id, eventlog.WebhookDelivered, 1, eventlog.WebhookAttempt{Event: 1, Attempt: 2}), false)
	if n := series(c.m.submitted) + series(c.m.wait); n != 0 {
		t.Errorf("%d series after a replay", n)
	}
	if got := counterValue(t, c.m.whRetries) + counterValue(t, c.m.whDelivered); got != 0 {
		t.Errorf("webhooks counted in a replay: %v", got)
	}
	c.fold(ev(t, id, eventlog.JobSucceeded, 3, eventlog.Succeeded{Attempt: 1}), true)
	if n, sum := histogram(t, c.m.run.WithLabelValues("m", "succeeded")); n != 1 || sum != 2 {
		t.Errorf("run across the start: %d samples, sum %v; want 1, 2", n, sum)
	}
}
