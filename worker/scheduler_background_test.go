package worker

import (
	"testing"
	"time"

	"github.com/foreman-dev/foreman/projections"
)

// Background jobs (batch lines) waiting past MaxWait neither jump ahead of
// interactive work nor turn their own drain into FIFO model swaps.
func TestBackgroundJobsNeverStarveAhead(t *testing.T) {
	s := NewScheduler(Policy{MaxSkips: 2, MaxWait: time.Minute})
	late := t0.Add(time.Hour)
	lineA, lineB, lineA2 := queued(1, "b", -10), queued(2, "a", -10), queued(3, "b", -10)
	chat := queued(10, "c", 0)
	chat.QueuedAt = late.UnixNano()
	if j, _, _ := s.Pick(projections.NewQueue(lineA, lineB, lineA2, chat), []string{"b"}, late); j.ID != chat.ID {
		t.Fatalf("picked %s (priority %d), want the interactive job", j.Model, j.Priority)
	}
	for range 5 { // lineB waited an hour and is passed over again and again
		if j, _, _ := s.Pick(projections.NewQueue(lineB, lineA2), []string{"b"}, late); j.ID != lineA2.ID {
			t.Fatalf("picked %s, want the loaded model's line", j.Model)
		}
	}
	// An interactive job that starves still runs first.
	old := queued(5, "x", 0)
	if j, _, _ := s.Pick(projections.NewQueue(lineB, old, queued(20, "b", 3)), []string{"b"}, late); j.ID != old.ID {
		t.Fatalf("picked %s, want the starving interactive job", j.Model)
	}
}
