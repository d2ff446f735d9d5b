package api

import (
	"encoding/json"
	"runtime"
	"slices"
	"sync/atomic"
	"testing"
	"time"

	"github.com/foreman-dev/foreman/projections"
)

// TestUpcomingIsTheForecastOrder: ?upcoming=N lists the next queued jobs
// in the order the scheduler should start them (here the loaded model's
// first, then the swap), not by submission or priority.
func TestUpcomingIsTheForecastOrder(t *testing.T) {
	b := setupETA(t, func(c *Config) { c.Scheduler = &preferLoaded{}; c.SwapCost = 5 * time.Second })
	for n, want := range map[string][]string{
		"2":  {b.q1.ID.String(), b.q3.ID.String()},
		"50": {b.q1.ID.String(), b.q3.ID.String(), b.q2.ID.String()},
	} {
		w := do(t, b.srv, "GET", "/queue?upcoming="+n, "", "")
		var v QueueView
		if w.Code != 200 || json.Unmarshal(w.Body.Bytes(), &v) != nil {
			t.Fatalf("upcoming=%s: %d %s", n, w.Code, w.Body.String())
		}
		var got []string
		for i, sm := range v.Upcoming {
			got = append(got, sm.JobID)
			if sm.Position == nil || *sm.Position != i+2 || sm.ETASeconds == nil {
				t.Fatalf("upcoming=%s: row %d position %v eta %v", n, i, sm.Position, sm.ETASeconds)
			}
		}
		if !slices.Equal(got, want) {
			t.Fatalf("upcoming=%s: %v, want %v", n, got, want)
		}
	}
	// A job that left the queue since the walk is skipped.
	b.q1.State = projections.Done
	b.jobs.active = []projections.Job{b.working, b.q1, b.q2, b.q3}
	var v QueueView
	json.Unmarshal(do(t, b.srv, "GET", "/queue?upcoming=1", "", "").Body.Bytes(), &v)
	if len(v.Upcoming) != 1 || v.Upcoming[0].JobID != b.q3.ID.String() {
		t.Fatalf("after q1 left: %+v", v.Upcoming)
	}
	for _, bad := range []string{"0", "51", "x", "-1"} {
		if w := do(t, b.srv, "GET", "/queue?upcoming="+bad, "", ""); w.Code != 400 {
			t.Errorf("upcoming=%s: %d, want 400", bad, w.Code)
		}
	}
	var plain QueueView
	if w := do(t, b.srv, "GET", "/queue", "", ""); json.Unmarshal(w.Body.Bytes(), &plain) != nil || plain.Upcoming != nil {
		t.Fatalf("without ?upcoming: %s", w.Body.String())
	}
}

// TestUpcomingSaysWhenEstimatesArePending: right after a change the
// forecast is the previous one, and the answer says so until a walk that
// includes the change is done.
func TestUpcomingSaysWhenEstimatesArePending(t *testing.T) {
	var clock atomic.Int64 // the forecast's refresh gap runs on Config.Now
	clock.Store(time.Now().UnixNano())
	b := setupJobs(t, func(c *Config) { c.Now = func() time.Time { return time.Unix(0, clock.Load()) } })
	b.submit(t, chatBody)
	read := func() QueueView {
		var v QueueView
		if w := b.do(t, "GET", "/queue?upcoming=5", ""); w.Code != 200 || json.Unmarshal(w.Body.Bytes(), &v) != nil {
			t.Fatalf("%d %s", w.Code, w.Body.String())
		}
		return v
	}
	if v := read(); v.EstimatesPending || len(v.Upcoming) != 1 {
		t.Fatalf("first read (the first forecast is made on it): %+v", v)
	}
	third := b.submit(t, chatBody)
	if v := read(); !v.EstimatesPending || len(v.Upcoming) != 1 {
		t.Fatalf("just after a submission: pending %v, %d upcoming", v.EstimatesPending, len(v.Upcoming))
	}
	// The walk runs off the request path, at most once a second: ask
	// again a (simulated) second later, as the dashboard does, until the
	// walk a read started has caught up.
	for deadline := time.Now().Add(10 * time.Second); ; {
		clock.Add(int64(2 * refreshGap))
		v := read()
		if !v.EstimatesPending {
			if len(v.Upcoming) != 2 || v.Upcoming[1].JobID != third {
				t.Fatalf("settled: %+v", v.Upcoming)
			}
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("estimates still pending after 10s")
		}
		runtime.Gosched() // let the walk run
	}
}
