package api

import (
	"context"
	"time"
)

// queueFull reports whether MaxQueue jobs are waiting, and a Retry-After
// in seconds: the forecast time until enough queued jobs have started for
// the queue to be below the cap again (forecast.go), at least a second.
// It costs O(1) in the queued jobs: a count, and the shared forecast. The
// count includes every job acknowledged so far (readLatest).
func (s *Server) queueFull(ctx context.Context) (retryAfter int, full bool) {
	if s.cfg.MaxQueue <= 0 {
		return 0, false
	}
	q := s.cfg.Jobs.Queue()
	// Each event the projections have not applied yet adds at most one
	// waiting job: only near the cap is it worth waiting for them to count
	// every acknowledged job, so the common submission does not wait. The
	// applied offset is read before the count: read after, it could
	// include an event the count missed, and a job past the cap got in.
	applied := s.cfg.Jobs.Applied()
	waiting := q.Len()
	if waiting+s.unappliedSince(applied) >= s.cfg.MaxQueue {
		_ = s.readLatest(ctx) // a caller that left is refused by what follows anyway
		waiting = q.Len()
	}
	if waiting < s.cfg.MaxQueue {
		return 0, false
	}
	n := waiting - s.cfg.MaxQueue + 1 // starts needed to free a place
	now := s.cfg.Now()
	run := s.runningLeft(q, s.runTimes(), now)
	fc := s.forecast()
	var d time.Duration
	if len(fc.slots) > 0 {
		d = run.left + fc.slots[min(n, len(fc.slots))-1].start
	}
	return seconds(d), true
}

// unappliedSince is how many durable events come after applied.
func (s *Server) unappliedSince(applied uint64) int {
	if s.cfg.Log == nil {
		return 0
	}
	last := s.cfg.Log.LastOffset()
	return int(last - min(applied, last))
}
