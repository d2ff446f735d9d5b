// Package batch drives OpenAI batches through their lifecycle on the event
// log (ADR-0031): it validates a batch's input file, submits each line as
// a job of its own, follows the line jobs through the projections, cancels
// and expires them, and assembles the output and error files once every
// line has settled. It reads only projections and appends only events, so
// a restart anywhere resumes where the log says the batch is.
package batch

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

// Log is the part of the event log the driver uses (eventlog.Log).
type Log interface {
	Append(ctx context.Context, recs ...eventlog.Record) ([]eventlog.Event, error)
	Blob(key string) ([]byte, error)
	NewFileWriter(id ulid.ULID) *eventlog.FileWriter
	NewFileReader(id ulid.ULID, parts int) *eventlog.FileReader
}

// Views is the part of the projections the driver reads.
type Views interface {
	Batches() []projections.Batch
	Batch(id ulid.ULID) (projections.Batch, error)
	File(id ulid.ULID) (projections.File, error)
	Files() []projections.File
	Job(id ulid.ULID) (projections.Job, error)
	BatchLines(id ulid.ULID, fn func(line int, job ulid.ULID) error) error
	Applied() uint64
	WaitFor(ctx context.Context, off uint64) error
	Changed() <-chan struct{}
}

// Models tells whether the target has a model (worker/target.Inventory),
// re-polling once before saying no.
type Models interface {
	HasOrRefresh(ctx context.Context, model string) (bool, error)
}

// Defaults for Config.
const (
	DefaultMaxLines   = 50_000
	DefaultRetryEvery = 5 * time.Second
	// enqueueGroup is how many line jobs one append submits: one fsync
	// for thousands of lines.
	enqueueGroup = 2048
)

// Config wires a Driver.
type Config struct {
	Log    Log
	Views  Views
	Models Models
	// MaxLines bounds a batch's input lines (FOREMAN_BATCH_MAX_LINES).
	MaxLines int
	// RetryEvery is how soon a batch whose models could not be checked
	// (target unreachable) is validated again.
	RetryEvery time.Duration
	// FileTTL is how long an ended batch and its files, and an uploaded
	// file no open batch reads, are kept (FOREMAN_BATCH_FILE_TTL); 0:
	// forever.
	FileTTL time.Duration
	Logger  *slog.Logger
	Now     func() time.Time
}

// Validate names the first missing dependency.
func (c *Config) Validate() error {
	switch {
	case c.Log == nil:
		return errors.New("batch: Config.Log is required")
	case c.Views == nil:
		return errors.New("batch: Config.Views is required")
	case c.Models == nil:
		return errors.New("batch: Config.Models is required")
	case c.MaxLines < 0:
		return errors.New("batch: Config.MaxLines must not be negative")
	}
	return nil
}

// Driver advances every open batch. Run it once per daemon.
type Driver struct {
	cfg     Config
	lastOff uint64 // the driver acts on views that include its own appends
	// cancelSent remembers batches whose lines were asked to cancel since
	// start (asking again after a restart is harmless).
	cancelSent map[ulid.ULID]bool
	// retryAt holds batches back after a failed step, until then.
	retryAt   map[ulid.ULID]time.Time
	lastSweep time.Time
}

// New returns a driver; call Run.
func New(cfg Config) (*Driver, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	cfg.MaxLines = cmp.Or(cfg.MaxLines, DefaultMaxLines)
	cfg.RetryEvery = cmp.Or(cfg.RetryEvery, DefaultRetryEvery)
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	return &Driver{cfg: cfg, cancelSent: map[ulid.ULID]bool{}, retryAt: map[ulid.ULID]time.Time{}}, nil
}

// Run advances batches until ctx ends: at every change of the projections,
// at the next expiry, and after a failed step's retry delay. A step that
// fails (the target down during validation) is logged and retried; a
// failed append ends Run, as the log is then fail-stop.
func (d *Driver) Run(ctx context.Context) error {
	for {
		changed := d.cfg.Views.Changed()
		if err := d.cfg.Views.WaitFor(ctx, d.lastOff); err != nil {
			return nilOnDone(ctx, err)
		}
		wake, err := d.Pass(ctx)
		if err != nil {
			return nilOnDone(ctx, err)
		}
		var timer <-chan time.Time
		if !wake.IsZero() {
			t := time.NewTimer(max(wake.Sub(d.cfg.Now()), 0))
			defer t.Stop()
			timer = t.C
		}
		select {
		case <-ctx.Done():
			return nil
		case <-changed:
		case <-timer:
		}
	}
}

func nilOnDone(ctx context.Context, err error) error {
	if ctx.Err() != nil {
		return nil
	}
	return err
}

// Pass steps every open batch once, oldest first, and returns when the
// next one is due by the clock (zero: none).
func (d *Driver) Pass(ctx context.Context) (time.Time, error) {
	var wake time.Time
	soon := func(t time.Time) {
		if !t.IsZero() && (wake.IsZero() || t.Before(wake)) {
			wake = t
		}
	}
	now := d.cfg.Now()
	if err := d.sweep(ctx, now); err != nil {
		return wake, err
	}
	if d.cfg.FileTTL > 0 {
		soon(d.lastSweep.Add(sweepEvery))
	}
	all := d.cfg.Views.Batches()
	for i := len(all) - 1; i >= 0; i-- {
		b := all[i]
		if b.Status.Terminal() {
			continue
		}
		if at, ok := d.retryAt[b.ID]; ok && now.Before(at) {
			soon(at)
			continue
		}
		delete(d.retryAt, b.ID)
		err := d.step(ctx, b)
		var aerr *appendError
		switch {
		case errors.As(err, &aerr):
			return wake, fmt.Errorf("batch %s: %w", eventlog.BatchID(b.ID), err)
		case err != nil:
			d.cfg.Logger.Warn("batch step failed; retrying", "batch", eventlog.BatchID(b.ID), "err", err, "in", d.cfg.RetryEvery)
			d.retryAt[b.ID] = now.Add(d.cfg.RetryEvery)
			soon(d.retryAt[b.ID])
		}
		if b.Status == projections.BatchInProgress || b.Status == projections.BatchValidating {
			soon(time.Unix(0, b.ExpiresAt))
		}
	}
	return wake, nil
}

// appendError is a failed append: the log is fail-stop, so the driver
// stops. Any other failed step (the target unreachable during validation)
// is retried after RetryEvery while the driver goes on.
type appendError struct{ err error }

func (e *appendError) Error() string { return e.err.Error() }
func (e *appendError) Unwrap() error { return e.err }

// step does the next thing batch b needs, if anything.
func (d *Driver) step(ctx context.Context, b projections.Batch) error {
	expired := !d.cfg.Now().Before(time.Unix(0, b.ExpiresAt))
	switch {
	case b.Status == projections.BatchValidating && expired:
		return d.append(ctx, eventlog.Record{Job: b.ID, Type: eventlog.BatchFinalizing, Payload: &eventlog.BatchFinalize{Reason: reasonExpired}})
	case b.Status == projections.BatchValidating:
		return d.validate(ctx, b)
	case b.Status == projections.BatchInProgress && expired:
		return d.append(ctx, eventlog.Record{Job: b.ID, Type: eventlog.BatchFinalizing, Payload: &eventlog.BatchFinalize{Reason: reasonExpired}})
	case b.Status == projections.BatchInProgress && b.Enqueued < b.Total:
		return d.enqueue(ctx, b)
	case b.Status == projections.BatchInProgress && b.Settled() >= b.Total:
		return d.append(ctx, eventlog.Record{Job: b.ID, Type: eventlog.BatchFinalizing, Payload: &eventlog.BatchFinalize{}})
	case b.Status == projections.BatchInProgress:
		return nil // lines are running
	}
	// Finalizing or cancelling: settle what is left, then assemble.
	reason := b.Reason
	if b.Status == projections.BatchCancelling {
		reason = reasonCancelled
	}
	if reason != "" && b.Settled() < b.Enqueued && !d.cancelSent[b.ID] {
		if err := d.cancelLines(ctx, b, reason); err != nil {
			return err
		}
		d.cancelSent[b.ID] = true
	}
	if b.Settled() < b.Enqueued {
		return nil // wait for the lines to settle
	}
	if b.Status == projections.BatchCancelling && b.FinalizingAt == 0 {
		return d.append(ctx, eventlog.Record{Job: b.ID, Type: eventlog.BatchFinalizing, Payload: &eventlog.BatchFinalize{Reason: reasonCancelled}})
	}
	delete(d.cancelSent, b.ID)
	return d.assemble(ctx, b, reason)
}

// Reasons a batch ends before all its lines ran.
const (
	reasonCancelled = "cancelled"
	reasonExpired   = "expired"
)

func (d *Driver) append(ctx context.Context, recs ...eventlog.Record) error {
	evs, err := d.cfg.Log.Append(context.WithoutCancel(ctx), recs...)
	if err != nil {
		return &appendError{err}
	}
	d.lastOff = evs[len(evs)-1].Offset
	return nil
}
