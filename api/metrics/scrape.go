package metrics

import (
	"strconv"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/foreman-dev/foreman/projections"
)

// scrape reads the gauges at scrape time from the projections, the log and
// the target's health. They are states, not histories, so reading them
// when asked is exact, and a model whose queue empties stops being
// exported instead of staying at a stale value.
type scrape struct {
	cfg  Config
	seen func() uint64
}

var (
	descQueue = prometheus.NewDesc("foreman_queue_depth",
		"Jobs waiting in the queue (state queued, including those waiting for a retry), by model and priority.",
		[]string{"model", "priority"}, nil)
	descJobs = prometheus.NewDesc("foreman_jobs",
		"Jobs known to the projections, by state; terminal jobs count until they expire.",
		[]string{"state"}, nil)
	descDegraded = prometheus.NewDesc("foreman_target_degraded",
		"1 while the last poll of the Ollama target failed, else 0.", nil, nil)
	descLast = prometheus.NewDesc("foreman_eventlog_last_offset",
		"Highest durable offset of the event log (0 when empty).", nil, nil)
	descLow = prometheus.NewDesc("foreman_eventlog_low_watermark",
		"Lowest offset still stored; retention raises it.", nil, nil)
	descAppended = prometheus.NewDesc("foreman_eventlog_events_appended_total",
		"Events appended since the log was opened.", nil, nil)
	descCommits = prometheus.NewDesc("foreman_eventlog_commits_total",
		"Group commits (one fsync each) since the log was opened; events_appended / commits is the group size.", nil, nil)
	descDisk = prometheus.NewDesc("foreman_eventlog_disk_bytes",
		"Bytes the store (log, blobs, projections) uses on disk.", nil, nil)
	descFailed = prometheus.NewDesc("foreman_eventlog_failed",
		"1 once a commit failed: the log takes no more writes and the daemon is stopping (ADR-0019), else 0.", nil, nil)
	descFree = prometheus.NewDesc("foreman_disk_free_bytes",
		"Bytes free on the data dir's filesystem; below FOREMAN_MIN_FREE_DISK new jobs get 507.", nil, nil)
	descCompacting = prometheus.NewDesc("foreman_eventlog_compactions_running",
		"Pebble flushes and compactions running now (background work after a burst of writes).", nil, nil)
	descSeen = prometheus.NewDesc("foreman_metrics_offset",
		"Highest offset the metrics collector has folded; last_offset minus this is its lag.", nil, nil)
)

// Describe implements prometheus.Collector.
func (s *scrape) Describe(ch chan<- *prometheus.Desc) {
	for _, d := range []*prometheus.Desc{descQueue, descJobs, descDegraded, descLast, descLow, descAppended, descCommits, descDisk, descFailed, descFree, descCompacting, descSeen} {
		ch <- d
	}
}

// Collect implements prometheus.Collector.
func (s *scrape) Collect(ch chan<- prometheus.Metric) {
	for _, d := range s.cfg.Jobs.Queue().Depths() {
		ch <- prometheus.MustNewConstMetric(descQueue, prometheus.GaugeValue, float64(d.Queued), d.Model, strconv.Itoa(d.Priority))
	}
	counts := s.cfg.Jobs.Counts()
	for _, st := range projections.States {
		ch <- prometheus.MustNewConstMetric(descJobs, prometheus.GaugeValue, float64(counts[st]), string(st))
	}
	if s.cfg.Health != nil {
		v := 0.0
		if s.cfg.Health.Degraded() {
			v = 1
		}
		ch <- prometheus.MustNewConstMetric(descDegraded, prometheus.GaugeValue, v)
	}
	l := s.cfg.Log
	st := l.Stats()
	ch <- prometheus.MustNewConstMetric(descLast, prometheus.GaugeValue, float64(l.LastOffset()))
	ch <- prometheus.MustNewConstMetric(descLow, prometheus.GaugeValue, float64(l.LowWatermark()))
	ch <- prometheus.MustNewConstMetric(descAppended, prometheus.CounterValue, float64(st.Events))
	ch <- prometheus.MustNewConstMetric(descCommits, prometheus.CounterValue, float64(st.Commits))
	ch <- prometheus.MustNewConstMetric(descDisk, prometheus.GaugeValue, float64(l.DiskUsage()))
	ch <- prometheus.MustNewConstMetric(descCompacting, prometheus.GaugeValue, float64(l.Compacting()))
	failed := 0.0
	if l.Err() != nil {
		failed = 1
	}
	ch <- prometheus.MustNewConstMetric(descFailed, prometheus.GaugeValue, failed)
	if free, err := l.FreeDisk(); err == nil {
		ch <- prometheus.MustNewConstMetric(descFree, prometheus.GaugeValue, float64(free))
	}
	ch <- prometheus.MustNewConstMetric(descSeen, prometheus.GaugeValue, float64(s.seen()))
}
