package api

import (
	"fmt"
	"testing"
	"time"

	"github.com/oklog/ulid/v2"

	"github.com/foreman-dev/foreman/projections"
)

// headPicker is the shape of the worker's scheduler without its skip
// memory: the top priority's oldest job of a loaded model, else its oldest.
type headPicker struct{}

func (headPicker) Fork() Picker { return headPicker{} }
func (headPicker) Peek(r projections.Ready, loaded []string, now time.Time) (projections.Entry, bool) {
	return headPicker{}.Choose(r, loaded, now)
}
func (headPicker) Choose(r projections.Ready, loaded []string, _ time.Time) (projections.Entry, bool) {
	top, ok := r.TopPriority()
	if !ok {
		return projections.Entry{}, false
	}
	if e, ok := r.OldestIn(top, func(m string) bool { return isLoaded(loaded, m) }); ok {
		return e, true
	}
	return r.OldestIn(top, nil)
}

func deepJobs(n int) []projections.Job {
	jobs := make([]projections.Job, n)
	for i := range jobs {
		jobs[i] = projections.Job{ID: ulid.ULID{byte(i >> 24), byte(i >> 16), byte(i >> 8), byte(i)},
			Model: []string{"a", "b", "c"}[i%3], Priority: i % 2, State: projections.Queued, QueueOffset: uint64(i + 1)}
	}
	return jobs
}

// BenchmarkForecast measures one forecast walk of depth queued jobs: what
// a change of the queue costs, once, off the request path (readers share
// the result).
func BenchmarkForecast(b *testing.B) {
	for _, depth := range []int{1000, 20000, 100000} {
		b.Run(fmt.Sprintf("depth=%d", depth), func(b *testing.B) {
			jobs := &fakeJobs{active: deepJobs(depth)}
			s := New(Config{Jobs: jobs, Scheduler: headPicker{}, Inventory: &fakeInventory{}})
			q := jobs.Queue()
			b.ReportAllocs()
			b.ResetTimer()
			for range b.N {
				if fc := s.walk(q); len(fc.slots) != depth {
					b.Fatalf("%d slots", len(fc.slots))
				}
			}
		})
	}
}

// TestForecastOfADeepQueue: every queued job gets a place, the first
// maxSimulated by the scheduler's picks, the rest by priority then age,
// and each starts when the one before ends.
func TestForecastOfADeepQueue(t *testing.T) {
	t.Parallel()
	const depth = maxSimulated + 500
	jobs := &fakeJobs{active: deepJobs(depth)}
	s := New(Config{Jobs: jobs, Scheduler: headPicker{}, Inventory: &fakeInventory{}})
	fc := s.walk(jobs.Queue())
	if len(fc.slots) != depth || len(fc.index) != depth {
		t.Fatalf("%d slots, %d indexed, want %d", len(fc.slots), len(fc.index), depth)
	}
	for i, sl := range fc.slots {
		if i > 0 && sl.start != fc.slots[i-1].end {
			t.Fatalf("slot %d starts at %v, the one before ends at %v", i, sl.start, fc.slots[i-1].end)
		}
		if fc.index[sl.id] != int32(i) {
			t.Fatalf("slot %d indexed at %d", i, fc.index[sl.id])
		}
	}
	// Priority 1 first (the odd jobs), the oldest leading; then priority 0.
	if fc.slots[0].id != jobs.active[1].ID {
		t.Fatalf("first %v, want the oldest priority-1 job", fc.slots[0].id)
	}
	for i, sl := range fc.slots {
		odd := sl.id[3]%2 == 1
		if odd != (i < depth/2) {
			t.Fatalf("slot %d holds job %v of the other priority", i, sl.id)
		}
	}
}
