package worker

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/oklog/ulid/v2"

	"github.com/foreman-dev/foreman/eventlog"
	"github.com/foreman-dev/foreman/projections"
)

// RetentionLog is the part of the event log retention uses.
type RetentionLog interface {
	Appender
	Get(off uint64) (eventlog.Event, error)
	Scan(ctx context.Context, from, to uint64, fn func(eventlog.Event) error) error
	Truncate(ctx context.Context, below uint64) (int, error)
	LowWatermark() uint64
	LastOffset() uint64
	Cursor(name string) (uint64, error)
}

// RetentionJobs is the part of the projections retention reads.
type RetentionJobs interface {
	List(f projections.Filter) ([]projections.Job, ulid.ULID, error)
	Job(id ulid.ULID) (projections.Job, error)
	// Exists reports a job, batch or file that still exists: the log is
	// kept from its first event.
	Exists(id ulid.ULID) (bool, error)
	// Batch is a batch's view: a batch line's job stays until its batch
	// has assembled its output.
	Batch(id ulid.ULID) (projections.Batch, error)
	Applied() uint64
	WaitFor(ctx context.Context, off uint64) error
}

// DefaultJobTTL is FOREMAN_JOB_TTL's default.
const DefaultJobTTL = 24 * time.Hour

// RetentionConfig shapes a Retention.
type RetentionConfig struct {
	// TTL is how long a finished job is kept (FOREMAN_JOB_TTL).
	TTL time.Duration
	// Every is the sweep period; 0: TTL/4, between a minute and an hour.
	Every time.Duration
	// Cursors name the log consumers whose unsettled events must stay
	// (the webhook dispatcher's "webhooks").
	Cursors []string
	Logger  *slog.Logger
	Now     func() time.Time
}

// Retention expires finished jobs older than the TTL and deletes the
// prefix of the log that holds only expired history. Expiry is an appended
// job.expired event, in the same batch as the deletion of the job's blobs,
// so a replay agrees with what is stored; the log prefix goes afterwards,
// up to the first event of a job that still exists (ADR-0022).
type Retention struct {
	log  RetentionLog
	jobs RetentionJobs
	cfg  RetentionConfig
}

// Sweep is what one pass did.
type Sweep struct {
	Expired   int
	Truncated int    // events deleted
	Low       uint64 // the low watermark after the pass
}

// NewRetention returns a retention sweeper; call Run.
func NewRetention(log RetentionLog, jobs RetentionJobs, cfg RetentionConfig) *Retention {
	if cfg.TTL <= 0 {
		cfg.TTL = DefaultJobTTL
	}
	if cfg.Every <= 0 {
		cfg.Every = min(max(cfg.TTL/4, time.Minute), time.Hour)
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	return &Retention{log: log, jobs: jobs, cfg: cfg}
}

// Run sweeps every period until ctx ends. A failed pass is logged and
// retried at the next period: retention is housekeeping.
func (r *Retention) Run(ctx context.Context) error {
	t := time.NewTicker(r.cfg.Every)
	defer t.Stop()
	for {
		s, err := r.Sweep(ctx)
		switch {
		case ctx.Err() != nil:
			return nil
		case err != nil:
			r.cfg.Logger.Warn("retention pass failed", "err", err)
		case s.Expired > 0 || s.Truncated > 0:
			r.cfg.Logger.Info("retention", "expired", s.Expired, "events_deleted", s.Truncated, "low_watermark", s.Low)
		}
		select {
		case <-ctx.Done():
			return nil
		case <-t.C:
		}
	}
}

// expireBatch bounds the jobs expired per appended batch.
const expireBatch = 256

// Sweep runs one pass.
func (r *Retention) Sweep(ctx context.Context) (Sweep, error) {
	var s Sweep
	cutoff := r.cfg.Now().Add(-r.cfg.TTL)
	var recs []eventlog.Record
	flush := func() error {
		if len(recs) == 0 {
			return nil
		}
		evs, err := r.log.Append(ctx, recs...)
		if err != nil {
			return fmt.Errorf("retention: %w", err)
		}
		s.Expired += len(recs)
		recs = recs[:0]
		return r.jobs.WaitFor(ctx, evs[len(evs)-1].Offset)
	}
	for _, st := range []projections.State{projections.Done, projections.Failed, projections.Cancelled} {
		err := r.finishedBefore(st, cutoff, func(j projections.Job) error {
			recs = append(recs, r.expiry(j))
			if len(recs) == expireBatch {
				return flush()
			}
			return nil
		})
		if err != nil {
			return s, err
		}
	}
	if err := flush(); err != nil {
		return s, err
	}
	below, err := r.truncatable(ctx)
	if err != nil {
		return s, err
	}
	if s.Truncated, err = r.log.Truncate(ctx, below); err != nil {
		return s, fmt.Errorf("retention: %w", err)
	}
	s.Low = r.log.LowWatermark()
	return s, nil
}

// finishedBefore calls fn for each job in state st that finished before
// cutoff. Only jobs submitted before cutoff can qualify, and job ids sort by
// submission time, so the listing starts there.
func (r *Retention) finishedBefore(st projections.State, cutoff time.Time, fn func(projections.Job) error) error {
	var before ulid.ULID
	if err := before.SetTime(ulid.Timestamp(cutoff) + 1); err != nil {
		return fmt.Errorf("retention: %w", err)
	}
	for {
		page, next, err := r.jobs.List(projections.Filter{State: st, Before: before, Limit: 500})
		if err != nil {
			return fmt.Errorf("retention: list %s jobs: %w", st, err)
		}
		for _, j := range page {
			if j.FinishedAt != 0 && projections.Time(j.FinishedAt).Before(cutoff) && !r.lineOfRunningBatch(j) {
				if err := fn(j); err != nil {
					return err
				}
			}
		}
		if next == (ulid.ULID{}) {
			return nil
		}
		before = next
	}
}

// expiry is the job.expired record of j, deleting its blobs.
func (r *Retention) expiry(j projections.Job) eventlog.Record {
	var blobs []string
	for _, a := range j.Artifacts {
		if a.Blob != "" {
			blobs = append(blobs, a.Blob)
		}
	}
	if ev, err := r.log.Get(j.SubmitOffset); err == nil {
		var sub eventlog.Submitted
		if ev.Decode(&sub) == nil && sub.RequestBlob != "" {
			blobs = append(blobs, sub.RequestBlob)
		}
	}
	return eventlog.Record{Job: j.ID, Type: eventlog.JobExpired, DeleteBlobs: blobs,
		Payload: &eventlog.Expiry{Reason: fmt.Sprintf("finished more than FOREMAN_JOB_TTL=%s ago", r.cfg.TTL)}}
}

var errStop = errors.New("stop")

// truncatable is the offset the log may be truncated below: the first
// event of a job that still exists, and never past what the projections
// have applied or a consumer has settled.
func (r *Retention) truncatable(ctx context.Context) (uint64, error) {
	limit := min(r.jobs.Applied(), r.log.LastOffset()) + 1
	for _, name := range r.cfg.Cursors {
		c, err := r.log.Cursor(name)
		if err != nil {
			return 0, fmt.Errorf("retention: cursor %s: %w", name, err)
		}
		limit = min(limit, c+1)
	}
	below := r.log.LowWatermark()
	if limit <= below {
		return below, nil
	}
	live := map[ulid.ULID]bool{}
	err := r.log.Scan(ctx, below, limit-1, func(e eventlog.Event) error {
		if e.Job != (ulid.ULID{}) {
			alive, seen := live[e.Job]
			if !seen {
				var err error
				if alive, err = r.jobs.Exists(e.Job); err != nil {
					return err
				}
				live[e.Job] = alive
			}
			if alive {
				return errStop
			}
		}
		below = e.Offset + 1
		return nil
	})
	if err != nil && !errors.Is(err, errStop) {
		return 0, fmt.Errorf("retention: %w", err)
	}
	return below, nil
}

// lineOfRunningBatch reports a batch line whose batch has not ended: its
// result goes into the batch's output file first.
func (r *Retention) lineOfRunningBatch(j projections.Job) bool {
	if j.Batch == "" {
		return false
	}
	id, err := ulid.ParseStrict(j.Batch)
	if err != nil {
		return false
	}
	b, err := r.jobs.Batch(id)
	return err == nil && !b.Status.Terminal()
}
