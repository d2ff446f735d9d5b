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

// Scheduler picks the next job. It remembers how often each job was passed
// over; that memory is lost on restart, where MaxWait still holds.
type Scheduler struct {
	Policy Policy
	mu     sync.Mutex // Peek and Skips come from the API's goroutines
	skips  map[ulid.ULID]int
}

// NewScheduler returns a scheduler with the policy.
func NewScheduler(p Policy) *Scheduler {
	return &Scheduler{Policy: p, skips: map[ulid.ULID]int{}}
}

// Pick chooses among the queued jobs (in queue order, as
// projections.Active returns them) given the models loaded now. It returns
// false when nothing is runnable now, and the earliest time a waiting
// retry becomes runnable (zero if none).
//
// Order: a starving job (passed over MaxSkips times, or waiting MaxWait)
// runs first, oldest first. Otherwise the highest priority wins; within it
// a job for a loaded model, oldest first; otherwise the oldest job.
func (s *Scheduler) Pick(active []projections.Job, loaded []string, now time.Time) (projections.Job, bool, time.Time) {
	s.mu.Lock()
	defer s.mu.Unlock()
	pick, ok, wake, runnable := s.pick(active, loaded, now)
	if ok {
		s.passOver(runnable, pick)
	}
	return pick, ok, wake
}

// Peek tells what Pick would choose now, without counting skips (GET /queue).
func (s *Scheduler) Peek(active []projections.Job, loaded []string, now time.Time) (projections.Job, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	pick, ok, _, _ := s.pick(active, loaded, now)
	return pick, ok
}

func (s *Scheduler) pick(active []projections.Job, loaded []string, now time.Time) (projections.Job, bool, time.Time, []projections.Job) {
	var runnable []projections.Job
	var wake time.Time
	for _, j := range active {
		if j.State != projections.Queued || j.CancelRequested {
			continue
		}
		if at := projections.Time(j.RetryAt); at.After(now) {
			if wake.IsZero() || at.Before(wake) {
				wake = at
			}
			continue
		}
		runnable = append(runnable, j)
	}
	if len(runnable) == 0 {
		return projections.Job{}, false, wake, nil
	}
	return s.choose(runnable, loaded, now), true, wake, runnable
}

func (s *Scheduler) choose(runnable []projections.Job, loaded []string, now time.Time) projections.Job {
	if s.Policy.FIFO {
		return runnable[0]
	}
	for _, j := range runnable { // oldest starving job first
		if s.skips[j.ID] >= s.Policy.MaxSkips || (s.Policy.MaxWait > 0 && now.Sub(projections.Time(j.QueuedAt)) >= s.Policy.MaxWait) {
			return j
		}
	}
	top := runnable[0].Priority
	for _, j := range runnable {
		top = max(top, j.Priority)
	}
	var oldest *projections.Job
	for i, j := range runnable {
		if j.Priority != top {
			continue
		}
		if oldest == nil {
			oldest = &runnable[i]
		}
		if isLoaded(j.Model, loaded) {
			return j
		}
	}
	return *oldest
}

// passOver counts a skip for every job older than the pick.
func (s *Scheduler) passOver(runnable []projections.Job, pick projections.Job) {
	delete(s.skips, pick.ID)
	for _, j := range runnable {
		if j.QueueOffset < pick.QueueOffset {
			s.skips[j.ID]++
		}
	}
	// Forget jobs no longer queued.
	if len(s.skips) > 2*len(runnable) {
		keep := make(map[ulid.ULID]int, len(runnable))
		for _, j := range runnable {
			if n, ok := s.skips[j.ID]; ok {
				keep[j.ID] = n
			}
		}
		s.skips = keep
	}
}

// Skips returns how often a job was passed over (for GET /queue).
func (s *Scheduler) Skips(id ulid.ULID) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.skips[id]
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
