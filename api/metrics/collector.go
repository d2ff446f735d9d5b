// Package metrics serves GET /metrics in the Prometheus text format. Its
// numbers come from the event log, like every other view of foreman: gauges
// are read from the projections and the log at scrape time, and counters
// and histograms are folded from the events the Collector follows.
//
// Counters count from the daemon's start, as Prometheus expects of a
// process (a restart is a counter reset). At start the Collector replays,
// without counting, only the part of the log that the jobs still active
// depend on (from the oldest active job's submission), so that a wait or a
// run that spans the restart is still measured; its start is thus bounded
// by the live jobs, not by the length of the log. It imports no worker
// code: the target's health comes through the Health interface.
package metrics

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"sync"
	"sync/atomic"
	"time"

	"github.com/oklog/ulid/v2"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/foreman-dev/foreman/eventlog"
	"github.com/foreman-dev/foreman/projections"
)

// Log is the part of the event log the Collector reads (eventlog.Log).
type Log interface {
	Scan(ctx context.Context, from, to uint64, fn func(eventlog.Event) error) error
	Wait(ctx context.Context, after uint64) error
	LastOffset() uint64
	LowWatermark() uint64
	Stats() eventlog.Stats
	DiskUsage() uint64
	Compacting() int64
	Err() error                // nil until a commit fails
	FreeDisk() (uint64, error) // statfs of the data dir
}

// Jobs is the read side (projections.Projections).
type Jobs interface {
	Applied() uint64
	EachActive(fn func(*projections.Job)) // once, at start
	Queue() *projections.Queue
	Counts() map[projections.State]int
	Job(id ulid.ULID) (projections.Job, error)
}

// Health reports whether the Ollama target is unreachable
// (worker/target.Inventory).
type Health interface {
	Degraded() bool
}

var (
	_ Log  = (*eventlog.Log)(nil)
	_ Jobs = (*projections.Projections)(nil)
)

// Config wires a Collector.
type Config struct {
	Log    Log
	Jobs   Jobs
	Health Health // nil: foreman_target_degraded is not exported
	// Now is the clock of the append latency; nil: time.Now.
	Now func() time.Time
}

// Collector follows the log and owns the registry GET /metrics serves.
type Collector struct {
	cfg     Config
	reg     *prometheus.Registry
	m       *eventMetrics
	handler http.Handler

	// fold state, owned by the goroutine in Run
	jobs      map[ulid.ULID]*jobState
	lastModel string // model of the last job.started: foreman's view of what is loaded
	win       window // the last hour, for GET /stats

	seen      atomic.Uint64 // highest offset folded
	changed   atomic.Pointer[chan struct{}]
	ready     chan struct{}
	running   sync.Mutex // one Run at a time
	readyOnce sync.Once
}

// New builds the registry: the event metrics, the scrape-time gauges, and
// the Go and process collectors. It is private, not the global registry,
// so that tests and several daemons in one process do not collide.
func New(cfg Config) (*Collector, error) {
	if cfg.Log == nil || cfg.Jobs == nil {
		return nil, errors.New("metrics: Config.Log and Config.Jobs are required")
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	c := &Collector{cfg: cfg, reg: prometheus.NewRegistry(), m: newEventMetrics(), jobs: map[ulid.ULID]*jobState{}, ready: make(chan struct{})}
	ch := make(chan struct{})
	c.changed.Store(&ch)
	for _, col := range append(c.m.collectors(),
		&scrape{cfg: cfg, seen: c.Seen},
		collectors.NewGoCollector(),
		collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}),
	) {
		if err := c.reg.Register(col); err != nil {
			return nil, fmt.Errorf("metrics: register: %w", err)
		}
	}
	c.handler = promhttp.HandlerFor(c.reg, promhttp.HandlerOpts{})
	return c, nil
}

// Handler serves the registry in the Prometheus text format. It adds no
// auth: the API mounts it behind its own.
func (c *Collector) Handler() http.Handler { return c.handler }

// Registry is the private registry, for tests that gather directly.
func (c *Collector) Registry() *prometheus.Registry { return c.reg }

// Window is what the last hour looked like (GET /stats): jobs finished,
// swaps, waits. Unlike the counters it includes what the replay at start
// saw, so a restart does not empty it; Since says where it starts.
func (c *Collector) Window() Window { return c.win.sum(c.cfg.Now()) }

// Seen is the highest offset the Collector has folded.
func (c *Collector) Seen() uint64 { return c.seen.Load() }

// Ready is closed once Run has replayed the start of the log: every event
// appended after that is counted.
func (c *Collector) Ready() <-chan struct{} { return c.ready }

// WaitFor blocks until the Collector has folded offset off, so that a
// scrape after a write sees the write.
func (c *Collector) WaitFor(ctx context.Context, off uint64) error {
	for {
		ch := *c.changed.Load()
		if c.seen.Load() >= off {
			return nil
		}
		select {
		case <-ch:
		case <-ctx.Done():
			return ctx.Err()
		}
	}
}

// Run replays what the active jobs depend on, then counts every new event
// until ctx ends.
func (c *Collector) Run(ctx context.Context) error {
	c.running.Lock()
	defer c.running.Unlock()
	from, end := c.warmStart()
	if from <= end { // Scan reads "to 0" as the log's end: never pass it here
		if err := c.scan(ctx, from, end, false); err != nil {
			return nullIfDone(ctx, err)
		}
	}
	c.advance(end)
	c.win.seen(c.cfg.Now()) // nothing replayed: the window starts now
	c.readyOnce.Do(func() { close(c.ready) })
	for {
		if err := c.cfg.Log.Wait(ctx, c.seen.Load()); err != nil {
			return nullIfDone(ctx, err)
		}
		if err := c.scan(ctx, c.seen.Load()+1, 0, true); err != nil {
			return nullIfDone(ctx, err)
		}
	}
}

// warmStart seeds the fold from the active jobs and returns the range to
// replay without counting. The views are read after Applied, so a job
// active at Applied that is no longer in Active has finished, and its
// events past Applied are in the range; a job requeued later is looked up
// when its job.requeued is folded.
func (c *Collector) warmStart() (from, end uint64) {
	from = c.cfg.Jobs.Applied() + 1
	c.cfg.Jobs.EachActive(func(j *projections.Job) {
		c.jobs[j.ID] = seed(*j)
		from = min(from, j.SubmitOffset)
	})
	end = c.cfg.Log.LastOffset()
	return max(from, c.cfg.Log.LowWatermark()), end
}

// scan folds events in [from, to] (to 0: the log's end). A prefix
// truncated by retention meanwhile is skipped: the seeded views stand in
// for it.
func (c *Collector) scan(ctx context.Context, from, to uint64, count bool) error {
	fold := func(e eventlog.Event) error {
		c.fold(e, count)
		c.advance(e.Offset)
		return nil
	}
	err := c.cfg.Log.Scan(ctx, from, to, fold)
	if errors.Is(err, eventlog.ErrTruncated) {
		err = c.cfg.Log.Scan(ctx, max(c.seen.Load()+1, c.cfg.Log.LowWatermark()), to, fold)
	}
	if err != nil {
		return fmt.Errorf("metrics: follow the log: %w", err)
	}
	return nil
}

func (c *Collector) advance(off uint64) {
	if off <= c.seen.Load() {
		return
	}
	c.seen.Store(off)
	ch := make(chan struct{})
	close(*c.changed.Swap(&ch))
}

func nullIfDone(ctx context.Context, err error) error {
	if ctx.Err() != nil {
		return nil
	}
	return err
}
