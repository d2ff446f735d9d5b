package api

import (
	"encoding/json"
	"fmt"
	"testing"
	"time"

	"github.com/oklog/ulid/v2"

	"github.com/foreman-dev/foreman/eventlog"
	"github.com/foreman-dev/foreman/projections"
)

func queueFor(t *testing.T, srv *Server, model string) ModelForecast {
	t.Helper()
	w := do(t, srv, "GET", "/queue?model="+model, "", "")
	var v QueueView
	if w.Code != 200 || json.Unmarshal(w.Body.Bytes(), &v) != nil || v.Forecast == nil {
		t.Fatalf("GET /queue?model=%s: %d %s", model, w.Code, w.Body.String())
	}
	return *v.Forecast
}

func checkNewcomer(t *testing.T, mf ModelForecast, now time.Time, pos int, secs int64, swap bool) {
	t.Helper()
	if !mf.Available || mf.Position != pos || mf.Swap != swap || mf.ETASeconds == nil || *mf.ETASeconds != secs ||
		!mf.ETA.Equal(now.Add(time.Duration(secs)*time.Second)) || mf.ETAConfidence != ConfidenceNormal {
		t.Errorf("%s: %+v (eta %v s), want position %d, %ds, swap %v", mf.Model, mf, mf.ETASeconds, pos, secs, swap)
	}
}

// TestQueueForecastPerModel: a job submitted now at the default priority
// goes behind the higher priorities and the older jobs of its model, and
// before a lower priority; its model's queue drains while loaded; a model
// neither queued nor loaded waits for the priority to drain, plus a load.
func TestQueueForecastPerModel(t *testing.T) {
	b := setupETA(t, func(c *Config) {
		c.Scheduler, c.SwapCost = headPicker{}, 5*time.Second
		c.Inventory = &fakeInventory{models: map[string]bool{"a": true, "b": true, "c": true, "d": true}}
	})
	low := projections.Job{ID: ulid.Make(), Model: "c", State: projections.Queued, Priority: -1, QueueOffset: 13}
	b.jobs.active = append(b.jobs.active, low)
	b.jobs.done = append(b.jobs.done, ran("c", 2*time.Second, 30*time.Second), ran("d", 3*time.Second, 40*time.Second))
	// Running a ends in 6s. The walk: q2 (b, priority 5) 20+5s to 25s;
	// then priority 0 with b loaded: a newcomer of b would go now; q1 and
	// q3 (a) 15s and 10s to 50s; then a newcomer of a (loaded) or of any
	// other model, before the priority -1 job.
	checkNewcomer(t, queueFor(t, b.srv, "b"), b.now, 3, 6+25+20, false)
	checkNewcomer(t, queueFor(t, b.srv, "a:latest"), b.now, 5, 6+50+10, false)
	checkNewcomer(t, queueFor(t, b.srv, "c"), b.now, 5, 6+50+30+5, true)
	checkNewcomer(t, queueFor(t, b.srv, "d"), b.now, 5, 6+50+40+5, true)
	if mf := queueFor(t, b.srv, "nope"); mf.Available || mf.ETA != nil || mf.Position != 0 {
		t.Errorf("a model the target lacks: %+v", mf)
	}
	// Without the query the view is as before.
	var v map[string]any
	json.Unmarshal(do(t, b.srv, "GET", "/queue", "", "").Body.Bytes(), &v)
	if _, ok := v["forecast"]; ok {
		t.Errorf("GET /queue without a model: %v", v)
	}
}

// TestQueueForecastIdleTarget: nothing queued, the loaded model starts now.
func TestQueueForecastIdleTarget(t *testing.T) {
	b := setupETA(t, func(c *Config) {
		c.Scheduler, c.SwapCost = headPicker{}, 5*time.Second
		c.Inventory = &fakeInventory{models: map[string]bool{"a": true, "b": true}}
	})
	b.jobs.active = []projections.Job{b.working}
	checkNewcomer(t, queueFor(t, b.srv, "a"), b.now, 2, 6+10, false)
	checkNewcomer(t, queueFor(t, b.srv, "b"), b.now, 2, 6+20+5, true)
}

// TestQueueForecastCountsJobsSinceTheWalk: jobs submitted after the
// forecast was made count as ahead of a newcomer until the next walk
// places them, so a burst of fleet submissions sees each daemon fill up.
func TestQueueForecastCountsJobsSinceTheWalk(t *testing.T) {
	b := setupJobs(t, nil)
	for range 2 {
		b.submit(t, chatBody)
	}
	if mf := queueFor(t, b.srv, "tiny-b"); mf.Position != 3 {
		t.Fatalf("behind 2 queued: %+v", mf)
	}
	for range 3 {
		b.submit(t, chatBody)
	}
	// The forecast asked now is the one made before these three.
	if mf := queueFor(t, b.srv, "tiny-b"); mf.Position != 6 || *mf.ETASeconds < 5*int64(DefaultDefaultRunTime/time.Second) {
		t.Fatalf("behind 5 queued: %+v (eta %d s)", mf, *mf.ETASeconds)
	}
}

// BenchmarkQueueForModel is GET /queue?model= behind a deep queue: the
// answer comes from the shared forecast, whatever the depth.
func BenchmarkQueueForModel(b *testing.B) {
	for _, depth := range []int{1000, 100000} {
		b.Run(fmt.Sprintf("depth=%d", depth), func(b *testing.B) {
			jobs := fixedQueue{&fakeJobs{active: deepJobs(depth)}}
			jobs.q = projections.NewQueue(jobs.active...)
			s := New(Config{Jobs: jobs, Scheduler: headPicker{}, Inventory: &fakeInventory{models: map[string]bool{"b": true}}})
			do(b, s, "GET", "/queue?model=b", "", "") // the first walk
			b.ReportAllocs()
			b.ResetTimer()
			for range b.N {
				if w := do(b, s, "GET", "/queue?model=b", "", ""); w.Code != 200 {
					b.Fatal(w.Code)
				}
			}
		})
	}
}

// TestQueueForecastForgetsJobsThatLeft: jobs that left the queue since the
// walk are no longer ahead of a newcomer.
func TestQueueForecastForgetsJobsThatLeft(t *testing.T) {
	b := setupJobs(t, nil)
	var ids []string
	for range 3 {
		ids = append(ids, b.submit(t, chatBody))
	}
	if mf := queueFor(t, b.srv, "tiny-b"); mf.Position != 4 {
		t.Fatalf("behind 3 queued: %+v", mf)
	}
	for _, id := range ids[:2] {
		b.append(t, eventlog.Record{Job: ulid.MustParse(id), Type: eventlog.JobStarted, Payload: &eventlog.Started{Attempt: 1}},
			eventlog.Record{Job: ulid.MustParse(id), Type: eventlog.JobSucceeded, Payload: &eventlog.Succeeded{Attempt: 1}})
	}
	if mf := queueFor(t, b.srv, "tiny-b"); mf.Position != 2 || *mf.ETASeconds > 2*int64(DefaultDefaultRunTime/time.Second)+1 {
		t.Fatalf("behind 1 queued: %+v (eta %d s)", mf, *mf.ETASeconds)
	}
}

// fixedQueue is fakeJobs whose queue never changes: its Queue costs
// nothing, so that a benchmark measures the server.
type fixedQueue struct{ *fakeJobs }

func (f fixedQueue) Queue() *projections.Queue { return f.q }
