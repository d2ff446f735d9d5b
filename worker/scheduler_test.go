package worker

import (
	"testing"
	"time"

	"github.com/oklog/ulid/v2"

	"github.com/foreman-dev/foreman/projections"
)

var t0 = time.Unix(1_700_000_000, 0)

func queued(off uint64, model string, prio int) projections.Job {
	return projections.Job{ID: ulid.Make(), Model: model, Priority: prio, State: projections.Queued, QueueOffset: off, QueuedAt: t0.UnixNano()}
}

func TestPickPrefersLoadedModel(t *testing.T) {
	s := NewScheduler(Policy{MaxSkips: 3})
	a, b := queued(1, "a", 0), queued(2, "b", 0)
	if j, ok, _ := s.Pick(projections.NewQueue(a, b), []string{"b:latest"}, t0); !ok || j.ID != b.ID {
		t.Fatalf("picked %s, want the loaded model's job", j.Model)
	}
	if s.Skips(entry(a)) != 1 {
		t.Fatalf("skips of the passed-over job: %d", s.Skips(entry(a)))
	}
	if j, _, _ := s.Pick(projections.NewQueue(a, b), nil, t0); j.ID != a.ID {
		t.Fatal("with nothing loaded the oldest job must run")
	}
}

func TestPickPriorityThenModel(t *testing.T) {
	s := NewScheduler(Policy{MaxSkips: 10})
	lowLoaded, high, highLoaded := queued(1, "a", 0), queued(2, "b", 5), queued(3, "a", 5)
	j, _, _ := s.Pick(projections.NewQueue(lowLoaded, high, highLoaded), []string{"a"}, t0)
	if j.ID != highLoaded.ID {
		t.Fatalf("picked %+v", j)
	}
}

// TestStarvationIsBounded keeps a loaded model's jobs flowing and checks
// that the other model's job runs after at most MaxSkips passes.
func TestStarvationIsBounded(t *testing.T) {
	const maxSkips = 4
	s := NewScheduler(Policy{MaxSkips: maxSkips})
	other := queued(1, "b", 0)
	off := uint64(2)
	for round := 0; ; round++ {
		if round > maxSkips {
			t.Fatalf("job passed over %d times", round)
		}
		fresh := queued(off, "a", 0)
		off++
		j, _, _ := s.Pick(projections.NewQueue(other, fresh), []string{"a"}, t0)
		if j.ID == other.ID {
			if round != maxSkips {
				t.Fatalf("ran after %d passes, want %d", round, maxSkips)
			}
			return
		}
	}
}

func TestStarvationBoundHoldsAcrossPriorities(t *testing.T) {
	s := NewScheduler(Policy{MaxSkips: 100, MaxWait: time.Minute})
	low := queued(1, "b", 0)
	high := queued(2, "a", 9)
	if j, _, _ := s.Pick(projections.NewQueue(low, high), nil, t0.Add(30*time.Second)); j.ID != high.ID {
		t.Fatal("priority ignored")
	}
	if j, _, _ := s.Pick(projections.NewQueue(low, high), nil, t0.Add(time.Minute)); j.ID != low.ID {
		t.Fatal("a job waiting MaxWait must run next whatever its priority")
	}
}

func TestPickSkipsRetryBackoffAndCancels(t *testing.T) {
	s := NewScheduler(Policy{MaxSkips: 3})
	later := queued(1, "a", 0)
	later.RetryAt = t0.Add(2 * time.Second).UnixNano()
	cancelled := queued(2, "a", 0)
	cancelled.CancelRequested = true
	_, ok, wake := s.Pick(projections.NewQueue(later, cancelled), nil, t0)
	if ok || !wake.Equal(t0.Add(2*time.Second)) {
		t.Fatalf("ok=%v wake=%v", ok, wake)
	}
	if j, ok, _ := s.Pick(projections.NewQueue(later, cancelled), nil, t0.Add(2*time.Second)); !ok || j.ID != later.ID {
		t.Fatal("retry not runnable after its backoff")
	}
}

func TestFIFOPolicy(t *testing.T) {
	s := NewScheduler(Policy{FIFO: true})
	a, b := queued(1, "a", 0), queued(2, "b", 9)
	if j, _, _ := s.Pick(projections.NewQueue(a, b), []string{"b"}, t0); j.ID != a.ID {
		t.Fatal("FIFO must take the oldest")
	}
}

func entry(j projections.Job) projections.Entry {
	return projections.Entry{ID: j.ID, Model: j.Model, Priority: j.Priority, QueueOffset: j.QueueOffset, QueuedAt: j.QueuedAt}
}
