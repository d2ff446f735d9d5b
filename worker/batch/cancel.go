package batch

import (
	"context"
	"errors"

	"github.com/oklog/ulid/v2"

	"github.com/foreman-dev/foreman/eventlog"
	"github.com/foreman-dev/foreman/projections"
)

// cancelLines asks every unsettled line job of b to cancel (the worker
// cancels queued ones and aborts a running one), enqueueGroup per append.
func (d *Driver) cancelLines(ctx context.Context, b projections.Batch, reason string) error {
	var recs []eventlog.Record
	code := lineCode(reason)
	err := d.cfg.Views.BatchLines(b.ID, func(_ int, job ulid.ULID) error {
		j, err := d.cfg.Views.Job(job)
		if errors.Is(err, projections.ErrNotFound) || (err == nil && (j.State.Terminal() || j.CancelRequested)) {
			return nil
		}
		if err != nil {
			return err
		}
		recs = append(recs, eventlog.Record{Job: job, Type: eventlog.CancelRequested,
			Payload: &eventlog.CancelRequest{Reason: code, By: "batch"}})
		if len(recs) == enqueueGroup {
			err = d.append(ctx, recs...)
			recs = recs[:0]
		}
		return err
	})
	if err != nil {
		return err
	}
	if len(recs) > 0 {
		return d.append(ctx, recs...)
	}
	return nil
}

// lineCode is the error code of a line that did not run because its batch
// ended early.
func lineCode(reason string) string {
	if reason == reasonExpired {
		return "batch_expired"
	}
	return "batch_cancelled"
}
