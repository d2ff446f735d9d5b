package api

import (
	"cmp"
	"slices"
	"strings"
	"time"

	"github.com/oklog/ulid/v2"

	"github.com/foreman-dev/foreman/projections"
)

// The queue forecast: an approximation of when each queued job will start
// and finish, for GET /jobs/{id} (position, eta) and for Retry-After. It
// walks the queue in the order the scheduler would pick (Scheduler.Peek,
// asked again after each simulated run with that run's model loaded and the
// clock moved on), starting when the running job is expected to end: its
// estimated run time minus what it has already run (never below zero). Each
// job then takes its model's learned run time (runtimes.go), plus SwapCost
// when the model differs from the one before. Without a Scheduler the order
// is priority, then age. Jobs waiting out a retry delay join when it ends.
// Skip counts and jobs submitted later are not foreseen: it is an estimate.

// maxSimulated bounds the Peek-driven walk (quadratic); past it, the rest
// of a long queue follows in priority-then-age order.
const maxSimulated = 1000

// slot is one queued job's forecast.
type slot struct {
	id         ulid.ULID
	start, end time.Time
}

// forecast is the walk's outcome.
type forecast struct {
	running  int       // jobs working now
	runEnd   time.Time // when the running job should end (now if none)
	rt       RunTimes
	slots    []slot // queued jobs, in the order they should start
	position map[ulid.ULID]int
}

// forecast walks the queue of active jobs as of now, until the job until
// has its slot or need slots are known (zero values: the whole queue).
func (s *Server) forecast(active []projections.Job, now time.Time, until ulid.ULID, need int) forecast {
	fc := forecast{rt: s.runTimes(), runEnd: now, position: map[ulid.ULID]int{}}
	var loaded []string
	var queued []projections.Job
	for _, j := range active {
		switch {
		case j.State == projections.Working:
			fc.running++
			fc.runEnd = fc.runEnd.Add(remaining(fc.rt.Of(j.Model), now.Sub(projections.Time(j.StartedAt))))
			loaded = []string{j.Model}
		case j.State == projections.Queued && !j.CancelRequested:
			queued = append(queued, j)
		}
	}
	if fc.running == 0 && s.cfg.Inventory != nil {
		for _, m := range s.cfg.Inventory.Running() {
			loaded = append(loaded, m.Name)
		}
	}
	t := fc.runEnd
	for len(queued) > 0 {
		i := s.nextPick(queued, loaded, t, len(fc.slots) < maxSimulated)
		if i < 0 { // all wait out a retry delay: move on to the first
			t = projections.Time(slices.MinFunc(queued, byRetryAt).RetryAt)
			continue
		}
		j := queued[i]
		queued = slices.Delete(queued, i, i+1)
		start, end := t, t.Add(fc.rt.Of(j.Model))
		if s.cfg.SwapCost > 0 && !isLoaded(loaded, j.Model) {
			end = end.Add(s.cfg.SwapCost)
		}
		fc.slots = append(fc.slots, slot{id: j.ID, start: start, end: end})
		fc.position[j.ID] = fc.running + len(fc.slots)
		t, loaded = end, []string{j.Model}
		if j.ID == until || len(fc.slots) == need {
			break
		}
	}
	return fc
}

// remaining is what is left of an estimated run after elapsed.
func remaining(est, elapsed time.Duration) time.Duration {
	return max(est-elapsed, 0)
}

// nextPick returns the index in queued of the job that would start at t,
// or -1 when every job waits for a later retry time.
func (s *Server) nextPick(queued []projections.Job, loaded []string, t time.Time, simulate bool) int {
	if s.cfg.Scheduler != nil && simulate {
		if p, ok := s.cfg.Scheduler.Peek(queued, loaded, t); ok {
			if i := slices.IndexFunc(queued, func(j projections.Job) bool { return j.ID == p.ID }); i >= 0 {
				return i
			}
		}
	}
	best := -1
	for i, j := range queued {
		if projections.Time(j.RetryAt).After(t) {
			continue
		}
		if best < 0 || j.Priority > queued[best].Priority ||
			(j.Priority == queued[best].Priority && j.QueueOffset < queued[best].QueueOffset) {
			best = i
		}
	}
	return best
}

func byRetryAt(a, b projections.Job) int { return cmp.Compare(a.RetryAt, b.RetryAt) }

// isLoaded matches a job's model against the loaded names, which the
// target reports with a tag ("m" is "m:latest").
func isLoaded(loaded []string, model string) bool {
	norm := func(m string) string {
		if !strings.Contains(m, ":") {
			return m + ":latest"
		}
		return m
	}
	return slices.ContainsFunc(loaded, func(m string) bool { return norm(m) == norm(model) })
}

// of returns a queued job's slot.
func (fc forecast) of(id ulid.ULID) (slot, int, bool) {
	pos, ok := fc.position[id]
	if !ok {
		return slot{}, 0, false
	}
	return fc.slots[pos-fc.running-1], pos, true
}

// untilStarted is how long until n more queued jobs have started (left
// the queue); 0 for n ≤ 0.
func (fc forecast) untilStarted(n int, now time.Time) time.Duration {
	if n <= 0 || len(fc.slots) == 0 {
		return 0
	}
	return max(fc.slots[min(n, len(fc.slots))-1].start.Sub(now), 0)
}
