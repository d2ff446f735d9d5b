package batch

import (
	"context"
	"fmt"
	"time"

	"github.com/foreman-dev/foreman/eventlog"
	"github.com/foreman-dev/foreman/projections"
)

// sweepEvery bounds how often the driver looks for expired batches and
// files: it passes on every projections change.
const sweepEvery = time.Minute

// sweep deletes, FileTTL after they ended, ended batches with their
// output and error files, and, FileTTL after upload, input files no open
// batch reads.
func (d *Driver) sweep(ctx context.Context, now time.Time) error {
	if d.cfg.FileTTL <= 0 || now.Sub(d.lastSweep) < sweepEvery {
		return nil
	}
	d.lastSweep = now
	cutoff := now.Add(-d.cfg.FileTTL).UnixNano()
	inUse := map[string]bool{}
	var recs []eventlog.Record
	for _, b := range d.cfg.Views.Batches() {
		if !b.Status.Terminal() {
			inUse[b.InputFile] = true
			continue
		}
		if b.EndedAt == 0 || b.EndedAt > cutoff {
			continue
		}
		recs = append(recs, eventlog.Record{Job: b.ID, Type: eventlog.BatchDeleted,
			Payload: &eventlog.BatchDeletion{Reason: fmt.Sprintf("ended more than FOREMAN_BATCH_FILE_TTL=%s ago", d.cfg.FileTTL)}})
		for _, fid := range []string{b.OutputFile, b.ErrorFile} {
			if id, err := eventlog.ParseFileID(fid); err == nil {
				if f, err := d.cfg.Views.File(id); err == nil {
					recs = append(recs, deletion(f, "its batch expired"))
				}
			}
		}
	}
	for _, f := range d.cfg.Views.Files() {
		if f.Purpose == "batch" && f.CreatedAt <= cutoff && !inUse[eventlog.FileID(f.ID)] {
			recs = append(recs, deletion(f, fmt.Sprintf("uploaded more than FOREMAN_BATCH_FILE_TTL=%s ago", d.cfg.FileTTL)))
		}
	}
	for len(recs) > 0 {
		n := min(len(recs), 256)
		if err := d.append(ctx, recs[:n]...); err != nil {
			return err
		}
		recs = recs[n:]
	}
	return nil
}

// deletion is a file's file.deleted, deleting its parts.
func deletion(f projections.File, reason string) eventlog.Record {
	keys := make([]string, f.Parts)
	for i := range keys {
		keys[i] = eventlog.FilePartBlob(f.ID, i)
	}
	return eventlog.Record{Job: f.ID, Type: eventlog.FileDeleted, DeleteBlobs: keys,
		Payload: &eventlog.FileDeletion{Reason: reason, By: "retention"}}
}
