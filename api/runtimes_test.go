package api

import (
	"testing"
	"time"

	"github.com/foreman-dev/foreman/projections"
)

// ran is a run of model that took d, finishing at t0+finish.
func ran(model string, finish, d time.Duration) projections.Run {
	end := t0.Add(finish).UnixNano()
	return projections.Run{Model: model, StartedAt: end - int64(d), FinishedAt: end}
}

var t0 = time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)

func TestLearnRunTimesWeighsRecentRuns(t *testing.T) {
	t.Parallel()
	// Given newest first: the order does not matter.
	rt := LearnRunTimes([]projections.Run{
		ran("a", 3*time.Minute, 20*time.Second),
		ran("b", 2*time.Minute, 40*time.Second),
		ran("a", time.Minute, 10*time.Second),
		{Model: "a", FinishedAt: 5}, // never started: skipped
	}, time.Minute)
	if got := rt.Of("a"); got != 13*time.Second { // 10s, then 10 + 0.3·(20-10)
		t.Fatalf("a: %v", got)
	}
	if got := rt.Of("b"); got != 40*time.Second {
		t.Fatalf("b: %v", got)
	}
	// overall: 10s, 10+0.3·30 = 19s, 19+0.3·1 = 19.3s
	if got := rt.Of("never-seen"); got != 19300*time.Millisecond {
		t.Fatalf("unknown model: %v", got)
	}
	if got := LearnRunTimes(nil, time.Minute).Of("a"); got != time.Minute {
		t.Fatalf("no history: %v", got)
	}
}

// TestRunTimesOneModelTwoSpellings: "m" and "m:latest" share a history.
func TestRunTimesOneModelTwoSpellings(t *testing.T) {
	t.Parallel()
	rt := LearnRunTimes([]projections.Run{ran("m", 0, 10*time.Second), ran("x", time.Second, 50*time.Second)}, time.Minute)
	if rt.Of("m:latest") != 10*time.Second || rt.Of("m") != 10*time.Second {
		t.Fatalf("m:latest %v, m %v, want the 10s of m", rt.Of("m:latest"), rt.Of("m"))
	}
}
