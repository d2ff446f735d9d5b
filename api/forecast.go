package api

import (
	"sync"
	"sync/atomic"
	"time"

	"github.com/oklog/ulid/v2"

	"github.com/foreman-dev/foreman/projections"
)

// The queue forecast: an approximation of when each queued job will start
// and finish, for GET /jobs/{id} (position, eta) and for Retry-After. It
// simulates the scheduler's next picks (Scheduler.Fork, asked after each
// simulated run with that run's model loaded and the clock moved on) on a
// copy of the queue projection; past maxSimulated picks the rest of a long
// queue follows in priority-then-age order. Each job takes its model's
// learned run time (runtimes.go), plus SwapCost when the model differs from
// the one before. Jobs waiting out a retry delay join when it ends. Jobs
// submitted later are not foreseen: it is an estimate.
//
// Times in the forecast are relative to when the running job ends, which
// readers work out at read time (eta.go), so a running job that overruns
// moves everything behind it without a new walk. A walk costs O(n log n)
// in the queued jobs; it is shared by every reader and redone, off the
// request path, when the queue has changed (at most one walk at a time,
// and no more often than refreshGap), so no request ever walks the queue
// except the very first.

// maxSimulated bounds the scheduler-driven part of a walk.
const maxSimulated = 2000

// refreshGap is the least time between two walks' starts, so that a
// queue changing with every submission does not keep a core walking; a
// walk that took longer widens it (four times its duration: a walk of
// 100,000 jobs takes ~0.2 s, so walks use at most a fifth of a core).
const refreshGap = time.Second

// slot is one queued job's forecast, in time after the running job ends.
type slot struct {
	id         ulid.ULID
	start, end time.Duration
}

// forecast is one walk's outcome.
type forecast struct {
	queue   *projections.Queue // the queue it was made from
	version uint64             // and its version
	at      time.Time          // when it was made
	took    time.Duration
	slots   []slot // queued jobs, in the order they should start
	index   map[ulid.ULID]int32
	// newcomers is where a job submitted now would run, per model, and
	// depths the queue it was worked out from (queued per model and
	// priority, Queued of the key 0), to count what came since.
	newcomers *newcomers
	depths    map[projections.Depth]int
}

// of returns a queued job's slot and its 0-based place among the queued.
func (fc *forecast) of(id ulid.ULID) (slot, int, bool) {
	i, ok := fc.index[id]
	if !ok {
		return slot{}, 0, false
	}
	return fc.slots[i], int(i), true
}

// tail is when the last known queued job should end.
func (fc *forecast) tail() time.Duration {
	if len(fc.slots) == 0 {
		return 0
	}
	return fc.slots[len(fc.slots)-1].end
}

// forecaster keeps the latest forecast.
type forecaster struct {
	cur     atomic.Pointer[forecast]
	mu      sync.Mutex // held by the walk that makes the first forecast
	walking atomic.Bool
	started atomic.Int64 // unix ns of the last walk's start
}

// forecast returns the latest forecast, starting a new walk in the
// background when the queue changed since (or the estimates may have).
func (s *Server) forecast() *forecast {
	q := s.cfg.Jobs.Queue()
	f := s.fc.cur.Load()
	if f == nil || f.queue != q {
		s.fc.mu.Lock()
		defer s.fc.mu.Unlock()
		if f = s.fc.cur.Load(); f == nil || f.queue != q {
			f = s.walk(q)
			s.fc.cur.Store(f)
		}
		return f
	}
	now := s.cfg.Now()
	if f.version == q.Version() && now.Sub(f.at) < runTimeTTL && !now.Before(f.at) {
		return f
	}
	gap := max(refreshGap, 4*f.took)
	if last := s.fc.started.Load(); now.UnixNano()-last < int64(gap) && now.UnixNano() >= last {
		return f
	}
	if s.fc.walking.CompareAndSwap(false, true) {
		s.fc.started.Store(now.UnixNano())
		go func() {
			defer s.fc.walking.Store(false)
			s.fc.cur.Store(s.walk(q))
		}()
	}
	return f
}

// walk makes a forecast of q.
func (s *Server) walk(q *projections.Queue) *forecast {
	t0 := time.Now()
	now := s.cfg.Now()
	c := q.Clone()
	fc := &forecast{queue: q, version: c.Version(), at: now}
	rt := s.runTimes()
	var loaded []string
	if w := c.Working(); len(w) > 0 {
		loaded = []string{w[len(w)-1].Model}
	} else if s.cfg.Inventory != nil {
		for _, m := range s.cfg.Inventory.Running() {
			loaded = append(loaded, m.Name)
		}
	}
	// The simulated clock: the walk starts when the running job should end.
	base := now.Add(s.runningLeft(c, rt, now).left)
	var picker Picker
	if s.cfg.Scheduler != nil {
		picker = s.cfg.Scheduler.Fork()
	}
	fc.depths = map[projections.Depth]int{}
	for _, d := range c.Depths() {
		fc.depths[projections.Depth{Model: d.Model, Priority: d.Priority}] = d.Queued
	}
	nc := newNewcomers(DefaultPriority, c, loaded)
	fc.newcomers = nc
	n := c.Len() - len(c.CancelRequested())
	fc.slots = make([]slot, 0, n)
	fc.index = make(map[ulid.ULID]int32, n)
	var t time.Duration
	add := func(e projections.Entry) {
		d := rt.Of(e.Model)
		if s.cfg.SwapCost > 0 && !isLoaded(loaded, e.Model) {
			d += s.cfg.SwapCost
		}
		fc.index[e.ID] = int32(len(fc.slots))
		fc.slots = append(fc.slots, slot{id: e.ID, start: t, end: t + d})
		t += d
		if len(loaded) != 1 || loaded[0] != e.Model {
			loaded = []string{e.Model}
		}
	}
	for len(fc.slots) < maxSimulated {
		var e projections.Entry
		var ok bool
		var wake time.Time
		at := base.Add(t)
		c.Ready(at, func(r projections.Ready) {
			nc.step(r, loaded, len(fc.slots), t)
			if picker != nil {
				e, ok = picker.Choose(r, loaded, at)
			} else {
				e, ok = byPriority(r)
			}
			wake = r.NextRetry()
		})
		if !ok {
			if wake.IsZero() {
				break
			}
			t = wake.Sub(base) // every job waits out a retry delay: move on to the first
			continue
		}
		c.Remove(e.ID)
		add(e)
	}
	// The rest in priority-then-age order, delayed jobs at their time; a
	// newcomer goes before the first job of a lower priority.
	c.Ready(base.Add(t), func(r projections.Ready) {
		r.WalkByPriority(func(e projections.Entry) {
			if e.Priority < nc.prio {
				nc.rest(loaded, len(fc.slots), t)
			}
			add(e)
		})
	})
	nc.rest(loaded, len(fc.slots), t)
	fc.took = time.Since(t0)
	return fc
}

// byPriority is the order without a scheduler: priority, then age.
func byPriority(r projections.Ready) (projections.Entry, bool) {
	top, ok := r.TopPriority()
	if !ok {
		return projections.Entry{}, false
	}
	return r.OldestIn(top, nil)
}
