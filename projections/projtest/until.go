package projtest

import (
	"context"

	"github.com/foreman-dev/foreman/eventlog"
)

// Until is a log seen as if it ended at offset At. Opening projections on
// it stores a checkpoint at At, so that a restart on the whole log replays
// only the events after At: the tail a crash leaves behind.
type Until struct {
	Log *eventlog.Log
	At  uint64
}

// Scan scans the log, stopping at At.
func (u Until) Scan(ctx context.Context, from, to uint64, fn func(eventlog.Event) error) error {
	end := u.LastOffset()
	if end == 0 {
		return nil
	}
	if to == 0 || to > end {
		to = end
	}
	if from > to {
		return nil
	}
	return u.Log.Scan(ctx, from, to, fn)
}

// LowWatermark is the log's.
func (u Until) LowWatermark() uint64 { return u.Log.LowWatermark() }

// LastOffset is At, or the log's end if that comes first.
func (u Until) LastOffset() uint64 { return min(u.At, u.Log.LastOffset()) }

// Wait waits for an offset above after, which never comes past At.
func (u Until) Wait(ctx context.Context, after uint64) error {
	if after >= u.At {
		<-ctx.Done()
		return ctx.Err()
	}
	return u.Log.Wait(ctx, after)
}
