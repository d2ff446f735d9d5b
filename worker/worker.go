// Package worker runs jobs against the Ollama target, one at a time, in
// the order the scheduler picks, and records every transition as an event.
// It is the only writer of a job's execution events (started, attempt
// failed, succeeded, failed, cancelled, interrupted), so no two writers
// ever race on one job: the API only appends submissions, cancel requests
// and manual retries.
package worker

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/oklog/ulid/v2"

	"github.com/foreman-dev/foreman/eventlog"
	"github.com/foreman-dev/foreman/projections"
)

// Log is the part of the event log the worker uses.
type Log interface {
	Appender
	Get(off uint64) (eventlog.Event, error)
	Blob(key string) ([]byte, error)
	LastOffset() uint64 // the last durable event
}

// Jobs is the part of the projections the worker reads.
type Jobs interface {
	Queue() *projections.Queue
	Job(id ulid.ULID) (projections.Job, error)
	Applied() uint64
	WaitFor(ctx context.Context, off uint64) error
	Changed() <-chan struct{}
}

// Target runs one request against Ollama (worker/target.Client), calling
// onChunk for each line of the answer as it arrives.
type Target interface {
	Run(ctx context.Context, path string, body []byte, onChunk func(line []byte) error) ([]byte, error)
}

// Residency tells which models the target has loaded
// (worker/target.Inventory). It is re-read after each job: an embed call
// or a keep_alive 0 may have evicted a model behind the worker's back.
type Residency interface {
	Loaded() []string
	RefreshPs(ctx context.Context) error
}

// Sink receives a running job's live output (api.Hub). Chunks never go to
// the log; only the final result does.
type Sink interface {
	Begin(job ulid.ULID, status int, contentType string)
	Chunk(job ulid.ULID, line []byte)
	End(job ulid.ULID, off uint64, errMsg string)
}

// Defaults for Config.
const (
	DefaultRetryBase     = time.Second
	DefaultRetryMax      = time.Minute
	DefaultMaxSkips      = 8
	DefaultMaxWait       = 10 * time.Minute
	DefaultShutdownGrace = 30 * time.Second
)

// Config wires a Worker.
type Config struct {
	Log       Log
	Jobs      Jobs
	Target    Target
	Residency Residency
	Sink      Sink // nil: output is not streamed anywhere
	Policy    Policy
	// JobTimeout bounds one attempt (FOREMAN_JOB_TIMEOUT); 0: no bound.
	JobTimeout time.Duration
	// RetryBase and RetryMax shape the backoff after a connection error.
	RetryBase, RetryMax time.Duration
	// ShutdownGrace is how long the running job may finish after Run's ctx
	// ends (FOREMAN_SHUTDOWN_GRACE).
	ShutdownGrace time.Duration
	// EmbedModel is warmed with keep_alive -1 at start (two-slot residency).
	EmbedModel string
	Logger     *slog.Logger
	Now        func() time.Time // test seam
}

// Validate names the first missing dependency.
func (c *Config) Validate() error {
	switch {
	case c.Log == nil:
		return errors.New("worker: Config.Log is required")
	case c.Jobs == nil:
		return errors.New("worker: Config.Jobs is required")
	case c.Target == nil:
		return errors.New("worker: Config.Target is required")
	case c.Residency == nil:
		return errors.New("worker: Config.Residency is required")
	case c.JobTimeout < 0:
		return errors.New("worker: Config.JobTimeout must not be negative")
	}
	return nil
}

// Worker is the single job runner.
type Worker struct {
	cfg   Config
	sched *Scheduler
	// lastOff is the last offset the worker appended: it acts only on
	// projections that include it, so it never re-runs a job whose start
	// the projections have not yet applied.
	lastOff uint64
	// cancelled remembers queued jobs whose cancellation it appended.
	cancelled map[ulid.ULID]bool
}

// New returns a worker; call Run.
func New(cfg Config) (*Worker, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	cfg.RetryBase = cmp.Or(cfg.RetryBase, DefaultRetryBase)
	cfg.RetryMax = cmp.Or(cfg.RetryMax, DefaultRetryMax)
	cfg.Policy.MaxSkips = cmp.Or(cfg.Policy.MaxSkips, DefaultMaxSkips)
	if cfg.Policy.MaxWait == 0 {
		cfg.Policy.MaxWait = DefaultMaxWait
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.Sink == nil {
		cfg.Sink = nopSink{}
	}
	return &Worker{cfg: cfg, sched: NewScheduler(cfg.Policy), cancelled: map[ulid.ULID]bool{}}, nil
}

// Scheduler exposes the scheduler (for GET /queue).
func (w *Worker) Scheduler() *Scheduler { return w.sched }

type nopSink struct{}

func (nopSink) Begin(ulid.ULID, int, string)  {}
func (nopSink) Chunk(ulid.ULID, []byte)       {}
func (nopSink) End(ulid.ULID, uint64, string) {}

func (w *Worker) append(ctx context.Context, recs ...eventlog.Record) ([]eventlog.Event, error) {
	evs, err := w.cfg.Log.Append(context.WithoutCancel(ctx), recs...)
	if err != nil {
		return nil, fmt.Errorf("worker: %w", err)
	}
	w.lastOff = evs[len(evs)-1].Offset
	return evs, nil
}

func (w *Worker) warm(ctx context.Context) {
	if w.cfg.EmbedModel == "" {
		return
	}
	body := fmt.Appendf(nil, `{"model":%q,"keep_alive":-1}`, w.cfg.EmbedModel)
	if _, err := w.cfg.Target.Run(ctx, "/api/generate", body, func([]byte) error { return nil }); err != nil {
		w.cfg.Logger.Warn("could not warm the embed model", "model", w.cfg.EmbedModel, "err", err)
	}
}
