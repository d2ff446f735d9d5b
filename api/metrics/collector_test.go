package metrics

import (
	"context"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/oklog/ulid/v2"
	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"

	"github.com/foreman-dev/foreman/eventlog"
	"github.com/foreman-dev/foreman/projections"
)

type testBundle struct {
	log  *eventlog.Log
	proj *projections.Projections
	col  *Collector
	ctx  context.Context
}

// setup opens a real log in a temp dir with its projections; the collector
// is built but not run, so that a test can write history first.
func setup(t *testing.T, health Health) *testBundle {
	t.Helper()
	l, err := eventlog.Open(eventlog.Config{Dir: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { l.Close() })
	p, err := projections.Open(t.Context(), l, l)
	if err != nil {
		t.Fatal(err)
	}
	c, err := New(Config{Log: l, Jobs: p, Health: health})
	if err != nil {
		t.Fatal(err)
	}
	return &testBundle{log: l, proj: p, col: c, ctx: t.Context()}
}

// run starts the collector and stops it when the test ends.
func (b *testBundle) run(t *testing.T) {
	t.Helper()
	ctx, cancel := context.WithCancel(b.ctx)
	done := make(chan error, 1)
	go func() { done <- b.col.Run(ctx) }()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("Run: %v", err)
		}
	})
	select {
	case <-b.col.Ready():
	case err := <-done:
		t.Fatalf("Run ended before it was ready: %v", err)
	}
}

// append writes records, brings the projections up to date, and waits for
// the collector when it runs.
func (b *testBundle) append(t *testing.T, recs ...eventlog.Record) uint64 {
	t.Helper()
	evs, err := b.log.Append(b.ctx, recs...)
	if err != nil {
		t.Fatal(err)
	}
	if err := b.proj.CatchUp(b.ctx, 0); err != nil {
		t.Fatal(err)
	}
	return evs[len(evs)-1].Offset
}

func (b *testBundle) sync(t *testing.T) {
	t.Helper()
	ctx, cancel := context.WithTimeout(b.ctx, 10*time.Second)
	defer cancel()
	if err := b.col.WaitFor(ctx, b.log.LastOffset()); err != nil {
		t.Fatalf("collector stuck at %d of %d: %v", b.col.Seen(), b.log.LastOffset(), err)
	}
}

func rec(job ulid.ULID, typ eventlog.Type, payload any) eventlog.Record {
	return eventlog.Record{Job: job, Type: typ, Payload: payload}
}

func submitted(id ulid.ULID, model string, priority int) eventlog.Record {
	return rec(id, eventlog.JobSubmitted, eventlog.Submitted{Model: model, Kind: eventlog.KindChat, Priority: priority, MaxAttempts: 3})
}

// scraped is one scrape of the handler, parsed.
type scraped map[string]*dto.MetricFamily

func scrapeHandler(t *testing.T, c *Collector) scraped {
	t.Helper()
	w := httptest.NewRecorder()
	c.Handler().ServeHTTP(w, httptest.NewRequest("GET", "/metrics", nil))
	if w.Code != 200 || !strings.HasPrefix(w.Header().Get("Content-Type"), "text/plain") {
		t.Fatalf("scrape: %d %s", w.Code, w.Header().Get("Content-Type"))
	}
	var p expfmt.TextParser
	fams, err := p.TextToMetricFamilies(w.Body)
	if err != nil {
		t.Fatalf("parse scrape: %v", err)
	}
	return fams
}

// value is the sample of name with exactly these labels (pairs): a
// counter's or gauge's value, a histogram's sample count; -1 when absent.
func (s scraped) value(name string, labels ...string) float64 {
	f, ok := s[name]
	if !ok {
		return -1
	}
next:
	for _, m := range f.GetMetric() {
		if len(m.GetLabel()) != len(labels)/2 {
			continue
		}
		for i, lp := range m.GetLabel() {
			if lp.GetName() != labels[2*i] || lp.GetValue() != labels[2*i+1] {
				continue next
			}
		}
		switch {
		case m.Counter != nil:
			return m.Counter.GetValue()
		case m.Gauge != nil:
			return m.Gauge.GetValue()
		case m.Histogram != nil:
			return float64(m.Histogram.GetSampleCount())
		}
	}
	return -1
}

func (s scraped) expect(t *testing.T, want float64, name string, labels ...string) {
	t.Helper()
	if got := s.value(name, labels...); got != want {
		t.Errorf("%s%v = %v, want %v", name, labels, got, want)
	}
}

func TestCollectorCountsAJobHistory(t *testing.T) {
	t.Parallel()
	b := setup(t, fakeHealth(false))
	b.run(t)
	a, q := ulid.Make(), ulid.Make()
	b.append(t, submitted(a, "llama3", 0), submitted(q, "qwen", 5))
	b.append(t, rec(a, eventlog.JobStarted, eventlog.Started{Attempt: 1}))
	b.append(t, rec(a, eventlog.AttemptFailed, eventlog.AttemptFailure{Attempt: 1, Retryable: true, Error: "runner died"}))
	b.append(t, rec(a, eventlog.JobStarted, eventlog.Started{Attempt: 2}))
	b.append(t,
		rec(a, eventlog.ArtifactStored, eventlog.Artifact{Name: "result.json", Blob: "a/x"}),
		rec(a, eventlog.JobSucceeded, eventlog.Succeeded{Attempt: 2, Result: "result.json"}))
	succ := b.log.LastOffset()
	b.append(t,
		rec(a, eventlog.WebhookAttempted, eventlog.WebhookAttempt{Event: succ, Attempt: 1, Status: 500}),
		rec(a, eventlog.WebhookDelivered, eventlog.WebhookAttempt{Event: succ, Attempt: 2, Status: 200}),
		rec(a, eventlog.WebhookGaveUp, eventlog.WebhookAttempt{Event: 1, Attempt: 1, Status: 410}))
	b.sync(t)

	s := scrapeHandler(t, b.col)
	s.expect(t, 1, "foreman_jobs_submitted_total", "model", "llama3")
	s.expect(t, 1, "foreman_jobs_submitted_total", "model", "qwen")
	s.expect(t, 2, "foreman_job_wait_seconds", "model", "llama3")
	s.expect(t, 1, "foreman_job_run_seconds", "model", "llama3", "outcome", "attempt_failed")
	s.expect(t, 1, "foreman_job_run_seconds", "model", "llama3", "outcome", "succeeded")
	s.expect(t, 1, "foreman_job_retries_total", "model", "llama3")
	s.expect(t, 1, "foreman_jobs_finished_total", "model", "llama3", "outcome", "succeeded")
	s.expect(t, 0, "foreman_model_swaps_total")
	s.expect(t, 1, "foreman_webhook_deliveries_total")
	s.expect(t, 1, "foreman_webhook_failures_total")
	s.expect(t, 1, "foreman_webhook_gave_up_total")
	s.expect(t, 1, "foreman_webhook_retries_total")
	s.expect(t, 10, "foreman_eventlog_append_latency_seconds")
	s.expect(t, 10, "foreman_eventlog_last_offset")
	s.expect(t, 10, "foreman_metrics_offset")
	s.expect(t, 1, "foreman_eventlog_low_watermark")
	s.expect(t, 10, "foreman_eventlog_events_appended_total")
	s.expect(t, 1, "foreman_queue_depth", "model", "qwen", "priority", "5")
	s.expect(t, -1, "foreman_queue_depth", "model", "llama3", "priority", "0")
	s.expect(t, 1, "foreman_jobs", "state", "queued")
	s.expect(t, 1, "foreman_jobs", "state", "done")
	s.expect(t, 0, "foreman_jobs", "state", "working")
	s.expect(t, 0, "foreman_target_degraded")
	for _, name := range []string{"go_goroutines", "process_cpu_seconds_total"} {
		if _, ok := s[name]; !ok {
			t.Errorf("%s missing: the Go and process collectors are not registered", name)
		}
	}

	// The other model starts: foreman's view of a swap.
	b.append(t, rec(q, eventlog.JobStarted, eventlog.Started{Attempt: 1}))
	b.append(t, rec(q, eventlog.JobCancelled, eventlog.Cancellation{Reason: "cancelled"}))
	b.sync(t)
	s = scrapeHandler(t, b.col)
	s.expect(t, 1, "foreman_model_swaps_total")
	s.expect(t, 1, "foreman_job_run_seconds", "model", "qwen", "outcome", "cancelled")
	s.expect(t, 1, "foreman_jobs_finished_total", "model", "qwen", "outcome", "cancelled")
	s.expect(t, -1, "foreman_queue_depth", "model", "qwen", "priority", "5")
}

// A job running across a restart is still timed, and nothing before the
// start is counted again.
func TestCollectorReplaysWhatActiveJobsNeed(t *testing.T) {
	t.Parallel()
	b := setup(t, nil)
	old, run := ulid.Make(), ulid.Make()
	b.append(t, submitted(old, "llama3", 0))
	b.append(t, rec(old, eventlog.JobStarted, eventlog.Started{Attempt: 1}))
	b.append(t, rec(old, eventlog.JobFailed, eventlog.Failure{Attempt: 1, Error: "boom", Status: 500}))
	b.append(t, submitted(run, "qwen", 0))
	b.append(t, rec(run, eventlog.JobStarted, eventlog.Started{Attempt: 1}))
	b.run(t)
	b.sync(t)
	s := scrapeHandler(t, b.col)
	s.expect(t, -1, "foreman_jobs_submitted_total", "model", "qwen")
	s.expect(t, -1, "foreman_job_wait_seconds", "model", "qwen")
	s.expect(t, -1, "foreman_target_degraded")

	b.append(t, rec(run, eventlog.JobSucceeded, eventlog.Succeeded{Attempt: 1, Result: "result.json"}))
	b.append(t, rec(old, eventlog.JobRequeued, eventlog.Requeue{Reason: "POST /jobs/{id}/retry"}))
	b.append(t, rec(old, eventlog.JobStarted, eventlog.Started{Attempt: 2}))
	b.sync(t)
	s = scrapeHandler(t, b.col)
	s.expect(t, 1, "foreman_job_run_seconds", "model", "qwen", "outcome", "succeeded")
	s.expect(t, 1, "foreman_jobs_finished_total", "model", "qwen", "outcome", "succeeded")
	s.expect(t, 1, "foreman_job_requeues_total", "model", "llama3")
	s.expect(t, 1, "foreman_job_wait_seconds", "model", "llama3")
	s.expect(t, 1, "foreman_model_swaps_total") // qwen ran last before the start
	s.expect(t, -1, "foreman_queue_depth", "model", "llama3", "priority", "0")
	s.expect(t, 1, "foreman_jobs", "state", "working")
	s.expect(t, 1, "foreman_jobs", "state", "done")
}

type fakeHealth bool

func (f fakeHealth) Degraded() bool { return bool(f) }
