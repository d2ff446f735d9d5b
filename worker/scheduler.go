package worker

import (
	"sync"
	"time"

	"github.com/oklog/ulid/v2"

	"github.com/foreman-dev/foreman/projections"
	"github.com/foreman-dev/foreman/worker/target"
)

// Policy is the drain-by-model scheduling policy (docs/adr: drain-by-model
// and its starvation bound).
type Policy struct {
	// MaxSkips is how many times a job may be passed over by a job
	// submitted after it before it must run next.
	MaxSkips int
	// MaxWait is how long a job may wait in the queue before it must run
	// next, whatever its priority or model.
	MaxWait time.Duration
	// FIFO ignores models and priorities: Ollama's own order, for
	// comparison in benchmarks.
	FIFO bool
}

// pickMemory is how many past picks the scheduler remembers to count
// skips. Only the oldest ready job is ever checked for starvation (it has
// been passed over at least as often as any job behind it), and counting
// stops at MaxSkips, so a short memory suffices; a job whose skips fall
// out of it is still bounded by MaxWait.
const pickMemory = 256

// pick is one remembered pick.
type pick struct {
	id  ulid.ULID
	off uint64 // its QueueOffset
}

// Scheduler picks the next job from the queue projection, in O(log n) of
// the queued jobs. It remembers its last picks to count how often the
// oldest job was passed over; that memory is lost on restart, where
// MaxWait still holds.
type Scheduler struct {
	Policy Policy
	mu     sync.Mutex // Peek comes from the API's goroutines
	picks  []pick     // ring of the last picks
	next   int
}

// NewScheduler returns a scheduler with the policy.
func NewScheduler(p Policy) *Scheduler { return &Scheduler{Policy: p} }

// Fork returns a copy that remembers its own picks: the queue forecast
// simulates the worker's next picks on it.
func (s *Scheduler) Fork() *Scheduler {
	s.mu.Lock()
	defer s.mu.Unlock()
	return &Scheduler{Policy: s.Policy, picks: append([]pick(nil), s.picks...), next: s.next}
}

// Pick chooses the next job to run given the models loaded now, and
// remembers the pick. It returns false when nothing is ready now, and the
// earliest time a delayed retry becomes ready (zero if none).
//
// Order: the oldest ready job of priority 0 or above runs first when it is
// starving (passed over MaxSkips times, or waiting MaxWait); background
// jobs (negative priority) never starve ahead. Otherwise the highest priority
// wins; within it a job for a loaded model, oldest first; otherwise the
// oldest job.
func (s *Scheduler) Pick(q *projections.Queue, loaded []string, now time.Time) (projections.Entry, bool, time.Time) {
	var e projections.Entry
	var ok bool
	var wake time.Time
	q.Ready(now, func(r projections.Ready) {
		e, ok = s.Choose(r, loaded, now)
		wake = r.NextRetry()
	})
	return e, ok, wake
}

// Choose is Pick on a view of the ready jobs: it remembers the pick.
func (s *Scheduler) Choose(r projections.Ready, loaded []string, now time.Time) (projections.Entry, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	e, ok := s.choose(r, loaded, now)
	if ok {
		s.remember(e)
	}
	return e, ok
}

// Peek tells what Pick would choose now, without remembering it (GET /queue).
func (s *Scheduler) Peek(r projections.Ready, loaded []string, now time.Time) (projections.Entry, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.choose(r, loaded, now)
}

func (s *Scheduler) choose(r projections.Ready, loaded []string, now time.Time) (projections.Entry, bool) {
	head, ok := r.Oldest()
	if !ok {
		return projections.Entry{}, false
	}
	if s.Policy.FIFO {
		return head, true
	}
	// Background work (negative priority: batch lines by default) never
	// jumps ahead through the starvation bound: a 20,000-line batch would
	// otherwise turn into FIFO order once its lines had waited MaxWait,
	// swapping models on every line and holding interactive callers.
	if head.Priority < 0 {
		head, ok = r.OldestAtLeast(0)
	}
	if ok && s.starving(head, now) {
		return head, true
	}
	top, _ := r.TopPriority()
	if e, ok := r.OldestIn(top, func(m string) bool { return isLoaded(m, loaded) }); ok {
		return e, true
	}
	return r.OldestIn(top, nil)
}

func (s *Scheduler) starving(e projections.Entry, now time.Time) bool {
	if s.Policy.MaxWait > 0 && now.Sub(projections.Time(e.QueuedAt)) >= s.Policy.MaxWait {
		return true
	}
	return s.skips(e, s.Policy.MaxSkips) >= s.Policy.MaxSkips
}

// skips counts, newest first up to limit, the remembered picks of jobs
// submitted after e since e itself was last picked.
func (s *Scheduler) skips(e projections.Entry, limit int) int {
	n := 0
	for i := range len(s.picks) {
		p := s.picks[(s.next-1-i+2*len(s.picks))%len(s.picks)]
		if p.id == e.ID || n >= limit {
			break
		}
		if p.off > e.QueueOffset {
			n++
		}
	}
	return n
}

func (s *Scheduler) remember(e projections.Entry) {
	p := pick{id: e.ID, off: e.QueueOffset}
	if len(s.picks) < pickMemory {
		s.picks = append(s.picks, p)
		s.next = len(s.picks) % pickMemory
		return
	}
	s.picks[s.next] = p
	s.next = (s.next + 1) % pickMemory
}

// Skips returns how often a queued job was passed over, as far as the
// scheduler remembers (for tests and GET /queue).
func (s *Scheduler) Skips(e projections.Entry) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.skips(e, pickMemory)
}

// isLoaded matches Ollama's names: "m" is "m:latest".
func isLoaded(model string, loaded []string) bool {
	m := normalize(model)
	for _, l := range loaded {
		if normalize(l) == m {
			return true
		}
	}
	return false
}

func normalize(model string) string { return target.Normalize(model) }
