package batch

import (
	"bytes"
	"context"
	"crypto/sha256"
	"errors"
	"fmt"
	"time"

	"github.com/oklog/ulid/v2"

	"github.com/foreman-dev/foreman/eventlog"
	"github.com/foreman-dev/foreman/projections"
)

// enqueue submits the batch's lines not yet submitted (lines 1..Enqueued
// are, in order, in groups that commit whole) as jobs, enqueueGroup per
// append. Between groups it looks at the batch again, and stops when it
// was cancelled or its window passed.
func (d *Driver) enqueue(ctx context.Context, b projections.Batch) error {
	fid, err := eventlog.ParseFileID(b.InputFile)
	if err != nil {
		return err
	}
	f, err := d.cfg.Views.File(fid)
	if err != nil {
		return fmt.Errorf("input file: %w", err)
	}
	kind, ok := eventlog.BatchEndpoints[b.Endpoint]
	if !ok {
		return fmt.Errorf("endpoint %q has no job kind", b.Endpoint)
	}
	s := newLineScanner(d.cfg.Log.NewFileReader(fid, f.Parts))
	recs := make([]eventlog.Record, 0, enqueueGroup)
	payloads := make([]eventlog.Submitted, enqueueGroup)
	from := b.Enqueued
	flush := func() error {
		if len(recs) == 0 {
			return nil
		}
		if err := d.append(ctx, recs...); err != nil {
			return err
		}
		recs = recs[:0]
		return nil
	}
	for s.next() {
		if s.ord <= from {
			continue
		}
		l, ok := parseLine(s.line, s.n, b.Endpoint, func(eventlog.BatchError) {})
		if !ok {
			// Validated before: the file changed under us (it cannot), or
			// this foreman reads lines differently than the one that
			// validated. Stop rather than skip a line.
			return fmt.Errorf("line %d no longer validates", s.n)
		}
		p := &payloads[len(recs)]
		*p = eventlog.Submitted{Model: l.model, Kind: kind, Priority: b.Priority, Submitter: b.Submitter,
			MaxAttempts: b.MaxAttempts, Batch: b.ID.String(), CustomID: l.CustomID, Line: s.ord}
		recs = append(recs, eventlog.SubmittedRecord(lineJob(b.ID, s.ord), p, bytes.Clone(l.Body))) // the scanner reuses its buffer
		if len(recs) == enqueueGroup {
			if err := flush(); err != nil {
				return err
			}
			if stop, err := d.stopped(ctx, b.ID); stop || err != nil {
				return err
			}
		}
	}
	if err := s.Err(); err != nil {
		return fmt.Errorf("read input file: %w", err)
	}
	if err := flush(); err != nil {
		return err
	}
	d.cfg.Logger.Info("batch lines submitted", "batch", eventlog.BatchID(b.ID), "lines", s.ord-from)
	return nil
}

// stopped reports a batch that was cancelled or expired meanwhile.
func (d *Driver) stopped(ctx context.Context, id ulid.ULID) (bool, error) {
	if err := d.cfg.Views.WaitFor(ctx, d.lastOff); err != nil {
		return false, err
	}
	b, err := d.cfg.Views.Batch(id)
	if errors.Is(err, projections.ErrBatchNotFound) {
		return true, nil
	}
	return err == nil && (b.Status != projections.BatchInProgress || !d.cfg.Now().Before(time.Unix(0, b.ExpiresAt))), err
}

// lineJob is the job id of a batch's line n, derived from the batch: a
// line submitted twice (a group appended again after a crash that the
// projections had not shown yet) is one job, counted once.
func lineJob(batch ulid.ULID, n int) ulid.ULID {
	sum := sha256.Sum256(fmt.Appendf(batch[:], "/line/%d", n))
	var id ulid.ULID
	copy(id[:6], batch[:6]) // the batch's time
	copy(id[6:], sum[:10])
	return id
}
