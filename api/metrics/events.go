package metrics

import (
	"github.com/prometheus/client_golang/prometheus"
)

// Bucket bounds, in seconds. Waits and runs of LLM jobs range from well
// under a second (a warm model, a short prompt) to an hour (a long queue
// behind a slow model); appends are an fsync, milliseconds.
var (
	waitBuckets   = []float64{.1, .25, .5, 1, 2.5, 5, 10, 30, 60, 120, 300, 600, 1800, 3600}
	runBuckets    = []float64{.25, .5, 1, 2.5, 5, 10, 20, 30, 60, 120, 300, 600, 1800, 3600}
	appendBuckets = []float64{.0005, .001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 2.5}
)

// eventMetrics are the counters and histograms folded from events;
// docs/metrics.md describes each one.
type eventMetrics struct {
	submitted     *prometheus.CounterVec
	finished      *prometheus.CounterVec
	retries       *prometheus.CounterVec
	requeues      *prometheus.CounterVec
	interruptions *prometheus.CounterVec
	wait          *prometheus.HistogramVec
	run           *prometheus.HistogramVec
	swaps         prometheus.Counter

	whDelivered prometheus.Counter
	whFailed    prometheus.Counter
	whGaveUp    prometheus.Counter
	whRetries   prometheus.Counter

	appendLatency prometheus.Histogram
}

func newEventMetrics() *eventMetrics {
	counter := func(name, help string, labels ...string) *prometheus.CounterVec {
		return prometheus.NewCounterVec(prometheus.CounterOpts{Name: name, Help: help}, labels)
	}
	return &eventMetrics{
		submitted: counter("foreman_jobs_submitted_total",
			"Jobs submitted (job.submitted), sync and async.", "model"),
		finished: counter("foreman_jobs_finished_total",
			"Jobs that reached a terminal state, by the terminal event (succeeded, failed, cancelled).", "model", "outcome"),
		retries: counter("foreman_job_retries_total",
			"Attempts that failed with a retryable error and sent the job back to the queue (job.attempt_failed).", "model"),
		requeues: counter("foreman_job_requeues_total",
			"Manual retries of failed or cancelled jobs (job.requeued).", "model"),
		interruptions: counter("foreman_job_interruptions_total",
			"Attempts cut short by a foreman restart or shutdown (job.interrupted).", "model"),
		wait: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:    "foreman_job_wait_seconds",
			Help:    "Time a job was runnable in the queue before an attempt started: from job.submitted, job.requeued, or the end of a failed attempt (after its retry_at), to job.started.",
			Buckets: waitBuckets,
		}, []string{"model"}),
		run: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:    "foreman_job_run_seconds",
			Help:    "Duration of an attempt, from job.started to the event that ended it (succeeded, failed, cancelled, attempt_failed, interrupted).",
			Buckets: runBuckets,
		}, []string{"model", "outcome"}),
		swaps: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "foreman_model_swaps_total",
			Help: "job.started events whose model differs from the previous job.started's model. This is foreman's view: Ollama may keep several models loaded, or unload one on its own.",
		}),
		whDelivered: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "foreman_webhook_deliveries_total",
			Help: "Webhook deliveries the receiver answered with a 2xx (webhook.delivered).",
		}),
		whFailed: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "foreman_webhook_failures_total",
			Help: "Webhook attempts that got a non-2xx status or a transport error and will be retried (webhook.attempted).",
		}),
		whGaveUp: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "foreman_webhook_gave_up_total",
			Help: "Webhook deliveries abandoned: retries exhausted, 410 Gone, or an unbuildable payload (webhook.gave_up).",
		}),
		whRetries: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "foreman_webhook_retries_total",
			Help: "Webhook attempts after the first one for the same delivery, whatever their result.",
		}),
		appendLatency: prometheus.NewHistogram(prometheus.HistogramOpts{
			Name:    "foreman_eventlog_append_latency_seconds",
			Help:    "Time from an event's commit timestamp (taken before the fsync) to when the metrics collector sees it durable: the fsync plus the wake-up of log readers. Foreman's view of append latency, measured by a reader.",
			Buckets: appendBuckets,
		}),
	}
}

func (m *eventMetrics) collectors() []prometheus.Collector {
	return []prometheus.Collector{
		m.submitted, m.finished, m.retries, m.requeues, m.interruptions, m.wait, m.run, m.swaps,
		m.whDelivered, m.whFailed, m.whGaveUp, m.whRetries, m.appendLatency,
	}
}
