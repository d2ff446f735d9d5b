package main

import (
	"encoding/json"
	"strings"
	"testing"
)

func TestLogStats(t *testing.T) {
	t.Parallel()
	f := newLogFixture(t)
	var s logStats
	if err := json.Unmarshal([]byte(mustRunLog(t, f.dir, "stats", "--json")), &s); err != nil {
		t.Fatal(err)
	}
	if s.Events != f.last || s.FirstOffset != 1 || s.LastOffset != f.last || s.LowWatermark != 1 ||
		s.Jobs != 4 || s.JobsWithView != 3 || s.DiskUsage == 0 || s.DataDir != f.dir {
		t.Fatalf("stats: %+v", s)
	}
	wantTypes := map[string]int{"job.submitted": 4, "job.started": 3, "job.attempt_failed": 1, "job.succeeded": 1,
		"job.failed": 1, "artifact.stored": 1, "job.expired": 1, "webhook.attempted": 1, "webhook.delivered": 1,
		"job.future_thing": 1, "job.cancelled": 0}
	for typ, n := range wantTypes {
		if got, ok := s.ByType[typ]; !ok || got != n {
			t.Errorf("by_type[%s] = %d (present %v), want %d", typ, got, ok, n)
		}
	}
	wantStates := map[string]int{"queued": 1, "working": 0, "done": 1, "failed": 1, "cancelled": 0}
	for st, n := range wantStates {
		if s.ByState[st] != n {
			t.Errorf("by_state[%s] = %d, want %d", st, s.ByState[st], n)
		}
	}

	out := mustRunLog(t, f.dir, "stats")
	for _, want := range []string{"events:", "(offsets 1..15)", "jobs:", "4 (3 with a view)", "size on disk:",
		"job.future_thing", "done", "low watermark:"} {
		if !strings.Contains(out, want) {
			t.Errorf("stats lacks %q:\n%s", want, out)
		}
	}
	if strings.Contains(out, "job.cancelled") {
		t.Errorf("stats lists a type with no events:\n%s", out)
	}
}

func TestLogStatsEmptyLog(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	l := openLogForTest(t, dir)
	l.Close()
	var s logStats
	if err := json.Unmarshal([]byte(mustRunLog(t, dir, "stats", "--json")), &s); err != nil {
		t.Fatal(err)
	}
	if s.Events != 0 || s.FirstOffset != 0 || s.Jobs != 0 {
		t.Fatalf("empty stats: %+v", s)
	}
}
