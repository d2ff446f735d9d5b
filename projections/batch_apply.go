package projections

import (
	"fmt"

	"github.com/oklog/ulid/v2"

	"github.com/foreman-dev/foreman/eventlog"
)

// batchBurst holds the batch and file views changed since the last flush.
type batchBurst struct {
	batches map[ulid.ULID]*Batch // nil value: deleted
	files   map[ulid.ULID]*File  // nil value: deleted
	lines   []lineEntry          // line index entries to add
	dropped []ulid.ULID          // batches whose line index goes
}

type lineEntry struct {
	batch ulid.ULID
	line  int
	job   ulid.ULID
}

func (bb *batchBurst) reset() {
	if bb.batches == nil {
		bb.batches, bb.files = map[ulid.ULID]*Batch{}, map[ulid.ULID]*File{}
	}
	clear(bb.batches)
	clear(bb.files)
	bb.lines, bb.dropped = bb.lines[:0], bb.dropped[:0]
}

func (bb *batchBurst) size() int { return len(bb.batches) + len(bb.files) + len(bb.lines) }

// isBatchType reports the Batch API's own event types.
func isBatchType(t eventlog.Type) bool {
	switch t {
	case eventlog.FileUploaded, eventlog.FileDeleted, eventlog.BatchCreated, eventlog.BatchInProgress,
		eventlog.BatchFailed, eventlog.BatchCancelRequested, eventlog.BatchFinalizing, eventlog.BatchEnded,
		eventlog.BatchDeleted:
		return true
	}
	return false
}

// batchFor is the latest view of a batch, for changing: this burst's, or
// a copy of the published one; nil when there is none.
func (p *Projections) batchFor(b *burst, id ulid.ULID) *Batch {
	if v, ok := b.bb.batches[id]; ok {
		return v
	}
	p.mu.RLock()
	v := p.batches[id]
	p.mu.RUnlock()
	if v == nil {
		return nil
	}
	v = v.clone()
	b.bb.batches[id] = v
	return v
}

// applyBatch folds a Batch API event in. Like apply, an event that makes
// no sense for the view is ignored, so a rebuild always finishes.
func (p *Projections) applyBatch(b *burst, e eventlog.Event) error {
	t := e.Time.UnixNano()
	switch e.Type {
	case eventlog.FileUploaded:
		var pl eventlog.FileUpload
		if err := e.Decode(&pl); err != nil {
			return err
		}
		p.mu.RLock()
		_, exists := p.files[e.Job]
		p.mu.RUnlock()
		if f, ok := b.bb.files[e.Job]; exists || (ok && f != nil) {
			return nil // a file is uploaded once
		}
		b.bb.files[e.Job] = &File{ID: e.Job, Filename: pl.Filename, Purpose: pl.Purpose, Bytes: pl.Bytes,
			Parts: pl.Parts, Lines: pl.Lines, SHA256: append([]byte(nil), pl.SHA256...), Batch: pl.Batch,
			Submitter: pl.Submitter, CreatedAt: t, Offset: e.Offset}
		return nil
	case eventlog.FileDeleted:
		b.bb.files[e.Job] = nil
		return nil
	case eventlog.BatchCreated:
		var pl eventlog.BatchCreate
		if err := e.Decode(&pl); err != nil {
			return err
		}
		if p.batchFor(b, e.Job) != nil {
			return nil
		}
		b.bb.batches[e.Job] = &Batch{ID: e.Job, Status: BatchValidating, Endpoint: pl.Endpoint, InputFile: pl.InputFile,
			CompletionWindow: pl.CompletionWindow, Metadata: pl.Metadata, Priority: pl.Priority, WebhookURL: pl.WebhookURL,
			Submitter: pl.Submitter, MaxAttempts: pl.MaxAttempts, CreatedAt: t, ExpiresAt: pl.ExpiresAt, LastOffset: e.Offset}
		return nil
	case eventlog.BatchDeleted:
		if p.batchFor(b, e.Job) == nil {
			return nil
		}
		b.bb.batches[e.Job] = nil
		b.bb.dropped = append(b.bb.dropped, e.Job)
		return nil
	}
	v := p.batchFor(b, e.Job)
	if v == nil || v.Status.Terminal() {
		return nil
	}
	switch e.Type {
	case eventlog.BatchInProgress:
		var pl eventlog.BatchStart
		if err := e.Decode(&pl); err != nil {
			return err
		}
		if v.InProgressAt != 0 {
			return nil
		}
		if v.Status == BatchValidating {
			v.Status = BatchInProgress
		}
		v.Total, v.Models, v.InProgressAt = pl.Total, pl.Models, t
	case eventlog.BatchFailed:
		var pl eventlog.BatchFailure
		if err := e.Decode(&pl); err != nil {
			return err
		}
		if v.InProgressAt != 0 {
			return nil // lines were submitted: it ends, it does not fail
		}
		v.Status, v.Errors, v.FailedAt, v.EndedAt = BatchFailed, pl.Errors, t, t
	case eventlog.BatchCancelRequested:
		if v.Status != BatchValidating && v.Status != BatchInProgress {
			return nil
		}
		v.Status, v.CancellingAt = BatchCancelling, t
	case eventlog.BatchFinalizing:
		var pl eventlog.BatchFinalize
		if err := e.Decode(&pl); err != nil {
			return err
		}
		if v.FinalizingAt != 0 {
			return nil
		}
		if v.Status != BatchCancelling {
			v.Status = BatchFinalizing
		}
		v.Reason, v.FinalizingAt = pl.Reason, t
	case eventlog.BatchEnded:
		var pl eventlog.BatchEnd
		if err := e.Decode(&pl); err != nil {
			return err
		}
		switch BatchStatus(pl.Status) {
		case BatchCompleted:
			v.CompletedAt = t
		case BatchCancelled:
			v.CancelledAt = t
		case BatchExpired:
			v.ExpiredAt = t
		default:
			return fmt.Errorf("batch.ended at %d: unknown status %q", e.Offset, pl.Status)
		}
		v.Status, v.EndedAt = BatchStatus(pl.Status), t
		v.OutputFile, v.ErrorFile, v.Completed, v.Failed = pl.OutputFile, pl.ErrorFile, pl.Completed, pl.Failed
	default:
		return nil
	}
	v.LastOffset = e.Offset
	return nil
}

// countLine keeps a batch's counts and line index with its line jobs:
// old is the job's state before e (had: there was a view), j the view
// after it.
func (p *Projections) countLine(b *burst, e eventlog.Event, had bool, oldState State, j *Job, pl *payload) {
	if j == nil || j.Batch == "" {
		return // expiry of a line job changes no count
	}
	id, err := ulid.ParseStrict(j.Batch)
	if err != nil {
		return
	}
	v := p.batchFor(b, id)
	if v == nil || v.Status.Terminal() {
		return
	}
	delta := func(s State, n int) {
		switch s {
		case Done:
			v.Completed += n
		case Failed, Cancelled:
			v.Failed += n
		}
	}
	if !had {
		v.Enqueued++
		b.bb.lines = append(b.bb.lines, lineEntry{batch: id, line: pl.submitted.Line, job: j.ID})
	}
	wasTerm, isTerm := had && oldState.Terminal(), j.State.Terminal()
	switch {
	case !wasTerm && isTerm:
		delta(j.State, 1)
	case wasTerm && !isTerm:
		delta(oldState, -1)
	case wasTerm && isTerm && oldState != j.State:
		delta(oldState, -1)
		delta(j.State, 1)
	default:
		return
	}
	v.LastOffset = e.Offset
}

// stageBatches writes the burst's batch and file views and line index.
func stageBatches(batch *eventlog.StateBatch, bb *batchBurst) error {
	for id, v := range bb.batches {
		if v == nil {
			if err := batch.Delete(batchKey(id)); err != nil {
				return err
			}
			continue
		}
		buf, err := encodeSorted(v)
		if err != nil {
			return err
		}
		if err := batch.Set(batchKey(id), buf); err != nil {
			return err
		}
	}
	for id, f := range bb.files {
		if f == nil {
			if err := batch.Delete(fileKey(id)); err != nil {
				return err
			}
			continue
		}
		buf, err := encodeSorted(f)
		if err != nil {
			return err
		}
		if err := batch.Set(fileKey(id), buf); err != nil {
			return err
		}
	}
	for _, l := range bb.lines {
		if err := batch.Set(lineKey(l.batch, l.line), l.job[:]); err != nil {
			return err
		}
	}
	for _, id := range bb.dropped {
		lo := linePrefix(id)
		if err := batch.DeleteRange(lo, keyAfter(lo)); err != nil {
			return err
		}
	}
	return nil
}

// publishBatches makes the flushed views visible; p.mu is held.
func (p *Projections) publishBatches(bb *batchBurst) {
	for id, v := range bb.batches {
		if v == nil {
			delete(p.batches, id)
		} else {
			p.batches[id] = v
		}
	}
	for id, f := range bb.files {
		if f == nil {
			delete(p.files, id)
		} else {
			p.files[id] = f
		}
	}
}

// keyAfter is the smallest key above every key with prefix k.
func keyAfter(k []byte) []byte {
	end := append([]byte(nil), k...)
	for i := len(end) - 1; i >= 0; i-- {
		end[i]++
		if end[i] != 0 {
			return end[:i+1]
		}
	}
	return nil
}
