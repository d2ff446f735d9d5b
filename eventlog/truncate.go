package eventlog

import (
	"context"
	"encoding/binary"
	"fmt"

	"github.com/cockroachdb/pebble/v2"
)

// truncateChunk bounds the events deleted per batch, so that truncating
// a long prefix never builds one huge batch.
const truncateChunk = 16384

// Truncate deletes the events below offset `below` (a prefix of the log)
// with their per-job index entries, and raises the low watermark to below.
// Offsets are never reused: the next append still gets LastOffset()+1.
// Each chunk is one synced batch that also moves the watermark, so a crash
// leaves a consistent, shorter log. Readers asking below the watermark get
// ErrTruncated. It returns how many events were deleted.
//
// The caller (retention) decides what may go: only the history of expired
// jobs, and nothing a consumer has not settled yet.
func (l *Log) Truncate(ctx context.Context, below uint64) (int, error) {
	if l.cfg.ReadOnly {
		return 0, ErrReadOnly
	}
	l.trunc.Lock()
	defer l.trunc.Unlock()
	if last := l.durable.Load(); below > last+1 {
		return 0, fmt.Errorf("eventlog: truncate below %d: beyond the last offset %d", below, last)
	}
	deleted := 0
	for low := l.low.Load(); low < below; low = l.low.Load() {
		end := min(below, low+truncateChunk)
		n, err := l.truncateChunk(ctx, low, end)
		deleted += n
		if err != nil {
			return deleted, err
		}
	}
	return deleted, nil
}

// truncateChunk deletes [from, end) and sets the watermark to end.
func (l *Log) truncateChunk(ctx context.Context, from, end uint64) (int, error) {
	b := l.db.NewBatch()
	defer b.Close()
	n := 0
	err := l.Scan(ctx, from, end-1, func(e Event) error {
		n++
		return b.Delete(jobKey(e.Job, e.Offset), nil)
	})
	if err != nil {
		return 0, fmt.Errorf("eventlog: truncate: %w", err)
	}
	if err := b.DeleteRange(eventKey(from), eventKey(end), nil); err != nil {
		return 0, fmt.Errorf("eventlog: truncate: %w", err)
	}
	if err := b.Set(keyLow, binary.BigEndian.AppendUint64(nil, end), nil); err != nil {
		return 0, fmt.Errorf("eventlog: truncate: %w", err)
	}
	// Readers learn the new watermark before the keys go, so a scan that
	// races the delete reports ErrTruncated rather than a gap.
	l.low.Store(end)
	if err := l.guard(func() error { return b.Commit(pebble.Sync) }); err != nil {
		l.low.Store(from)
		return 0, fmt.Errorf("eventlog: truncate: %w", err)
	}
	return n, nil
}
