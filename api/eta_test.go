package api

import (
	"context"
	"encoding/json"
	"reflect"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/oklog/ulid/v2"

	"github.com/foreman-dev/foreman/eventlog"
	"github.com/foreman-dev/foreman/projections"
)

// fakeJobs is a fixed read side, so that job times, and so estimates, are
// exact (the log stamps events with the wall clock).
type fakeJobs struct {
	mu     sync.Mutex // the forecast walks on a goroutine of its own
	active []projections.Job
	done   []projections.Run
	lists  int // reads of the runs
	q      *projections.Queue
	qOf    []projections.Job // the active jobs q was made of
}

func (f *fakeJobs) Job(id ulid.ULID) (projections.Job, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	for _, j := range f.active {
		if j.ID == id {
			return j, nil
		}
	}
	return projections.Job{}, projections.ErrNotFound
}

// Queue indexes the active jobs, anew when a test changed them.
func (f *fakeJobs) Queue() *projections.Queue {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.q == nil || !slices.EqualFunc(f.qOf, f.active, func(a, b projections.Job) bool { return reflect.DeepEqual(a, b) }) {
		f.q, f.qOf = projections.NewQueue(f.active...), slices.Clone(f.active)
	}
	return f.q
}
func (f *fakeJobs) Runs() []projections.Run {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.lists++
	return slices.Clone(f.done)
}

func (f *fakeJobs) reads() int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.lists
}
func (f *fakeJobs) WaitFor(context.Context, uint64) error { return nil }
func (f *fakeJobs) Applied() uint64                       { return 0 }
func (f *fakeJobs) Idempotent(string, string) (ulid.ULID, bool, error) {
	return ulid.ULID{}, false, nil
}
func (f *fakeJobs) List(projections.Filter) ([]projections.Job, ulid.ULID, error) {
	return nil, ulid.ULID{}, nil
}

// preferLoaded picks a job of a loaded model first, else the oldest: the
// shape of the worker's scheduler.
type preferLoaded struct{ calls []string }

func (p *preferLoaded) Fork() Picker { return p }
func (p *preferLoaded) Peek(r projections.Ready, loaded []string, now time.Time) (projections.Entry, bool) {
	return p.Choose(r, loaded, now)
}
func (p *preferLoaded) Choose(r projections.Ready, loaded []string, now time.Time) (projections.Entry, bool) {
	p.calls = append(p.calls, strings.Join(loaded, ",")+"@"+now.Format("15:04:05"))
	var pick projections.Entry
	found := false
	r.Walk(func(e projections.Entry) bool {
		if slices.Contains(loaded, e.Model) {
			pick, found = e, true
			return false
		}
		return true
	})
	if found {
		return pick, true
	}
	return r.Oldest()
}

type etaBundle struct {
	jobs       *fakeJobs
	srv        *Server
	now        time.Time
	working    projections.Job
	q1, q2, q3 projections.Job
}

// setupETA: a job of model a has run 4s; history says a takes 10s and b
// 20s; queued: q1 (a), q2 (b, priority 5), q3 (a), oldest first.
func setupETA(t *testing.T, mod func(*Config)) *etaBundle {
	t.Helper()
	b := &etaBundle{now: t0.Add(time.Hour)}
	b.working = projections.Job{ID: ulid.Make(), Model: "a", State: projections.Working, StartedAt: b.now.Add(-4 * time.Second).UnixNano()}
	q := func(model string, prio int, off uint64) projections.Job {
		return projections.Job{ID: ulid.Make(), Model: model, State: projections.Queued, Priority: prio, QueueOffset: off, SubmittedAt: t0.UnixNano()}
	}
	b.q1, b.q2, b.q3 = q("a", 0, 10), q("b", 5, 11), q("a", 0, 12)
	b.jobs = &fakeJobs{
		active: []projections.Job{b.working, b.q1, b.q2, b.q3},
		done:   []projections.Run{ran("a", 0, 10*time.Second), ran("b", time.Second, 20*time.Second)},
	}
	cfg := Config{Jobs: b.jobs, Now: func() time.Time { return b.now },
		Inventory: &fakeInventory{models: map[string]bool{"tiny-a": true}}}
	if mod != nil {
		mod(&cfg)
	}
	b.srv = New(cfg)
	return b
}

func (b *etaBundle) view(t *testing.T, j projections.Job) JobView {
	t.Helper()
	w := do(t, b.srv, "GET", "/jobs/"+j.ID.String(), "", "")
	var v JobView
	if w.Code != 200 || json.Unmarshal(w.Body.Bytes(), &v) != nil {
		t.Fatalf("GET: %d %s", w.Code, w.Body.String())
	}
	return v
}

func checkETA(t *testing.T, name string, v JobView, pos int, now time.Time, secs int64) {
	t.Helper()
	gotPos := 0
	if v.Position != nil {
		gotPos = *v.Position
	}
	if gotPos != pos || v.ETA == nil || v.ETASeconds == nil || *v.ETASeconds != secs || !v.ETA.Equal(now.Add(time.Duration(secs)*time.Second)) {
		t.Errorf("%s: position %d eta %v (%v s), want %d and %ds", name, gotPos, v.ETA, v.ETASeconds, pos, secs)
	}
}

func TestETAWalksThePriorityOrder(t *testing.T) {
	b := setupETA(t, nil)
	// running a: 6s left; then q2 (b, 20s) to 26s, q1 (a, 10s) to 36s, q3 to 46s.
	checkETA(t, "q2", b.view(t, b.q2), 2, b.now, 26)
	checkETA(t, "q1", b.view(t, b.q1), 3, b.now, 36)
	checkETA(t, "q3", b.view(t, b.q3), 4, b.now, 46)
	checkETA(t, "working", b.view(t, b.working), 0, b.now, 6)
	if b.jobs.reads() != 1 {
		t.Fatalf("estimates re-read %d times within %v", b.jobs.reads(), runTimeTTL)
	}
	if v := b.view(t, b.q2); v.ETAConfidence != ConfidenceNormal {
		t.Fatalf("within its estimate: confidence %q", v.ETAConfidence)
	}
	// Overdue: the running job (10s estimated) has run 34s. It is taken to
	// go on as long again, so q2 moves to 34+20s, and the ETA says it is a
	// guess.
	b.now = b.now.Add(30 * time.Second)
	v := b.view(t, b.q2)
	checkETA(t, "q2 later", v, 2, b.now, 54)
	if v.ETAConfidence != ConfidenceLow {
		t.Fatalf("overrun: confidence %q", v.ETAConfidence)
	}
	if b.jobs.reads() < 2 {
		t.Fatalf("estimates not re-read after %v: %d reads", runTimeTTL, b.jobs.reads())
	}
}

// TestETAOverrunEndsByTheTimeout: an overrunning job ends by the job
// timeout at the latest, so what is behind it starts by then.
func TestETAOverrunEndsByTheTimeout(t *testing.T) {
	b := setupETA(t, func(c *Config) { c.JobTimeout = 40 * time.Second })
	b.now = b.now.Add(30 * time.Second) // 34s into a 10s estimate: 6s until the cut
	v := b.view(t, b.q2)
	checkETA(t, "q2", v, 2, b.now, 26)
	if v.ETAConfidence != ConfidenceLow {
		t.Fatalf("confidence %q", v.ETAConfidence)
	}
	checkETA(t, "working", b.view(t, b.working), 0, b.now, 6)
}

func TestETAFollowsTheScheduler(t *testing.T) {
	sched := &preferLoaded{}
	b := setupETA(t, func(c *Config) { c.Scheduler = sched; c.SwapCost = 5 * time.Second })
	// a stays loaded: q1 to 16s, q3 to 26s, then the swap to b: 26+20+5.
	checkETA(t, "q1", b.view(t, b.q1), 2, b.now, 16)
	checkETA(t, "q3", b.view(t, b.q3), 3, b.now, 26)
	checkETA(t, "q2", b.view(t, b.q2), 4, b.now, 51)
	// One walk, shared by the three reads: a pick at each simulated end.
	if want := []string{"a@13:00:06", "a@13:00:16", "a@13:00:26", "b@13:00:51"}; !slices.Equal(sched.calls, want) {
		t.Fatalf("picks %v, want %v", sched.calls, want)
	}
}

func TestETAWaitsOutARetryDelay(t *testing.T) {
	b := setupETA(t, nil)
	b.q2.RetryAt = b.now.Add(time.Minute).UnixNano()
	b.jobs.active = []projections.Job{b.working, b.q1, b.q2, b.q3}
	checkETA(t, "q1", b.view(t, b.q1), 2, b.now, 16)
	checkETA(t, "q3", b.view(t, b.q3), 3, b.now, 26)
	checkETA(t, "q2", b.view(t, b.q2), 4, b.now, 80) // starts at its retry time
}

func TestRetryAfterIsTheForecastDrainTime(t *testing.T) {
	for limit, want := range map[int]string{
		3: "6",  // one start frees a slot: the running job ends in 6s
		2: "26", // two: q2 then q1 starts at 26s
		1: "36",
	} {
		b := setupETA(t, func(c *Config) { c.MaxQueue = limit })
		w := do(t, b.srv, "POST", "/jobs", "", `{"model":"tiny-a","messages":[]}`)
		if w.Code != 429 || w.Header().Get("Retry-After") != want {
			t.Errorf("cap %d: %d Retry-After %q, want %s", limit, w.Code, w.Header().Get("Retry-After"), want)
		}
	}
	b := setupETA(t, func(c *Config) { c.MaxQueue = 3 })
	b.jobs.active = b.jobs.active[1:] // nothing running: the next job starts now
	if w := do(t, b.srv, "POST", "/jobs", "", `{"model":"tiny-a","messages":[]}`); w.Header().Get("Retry-After") != "1" {
		t.Errorf("idle worker: Retry-After %q, want the 1s floor", w.Header().Get("Retry-After"))
	}
}

// TestETAOnARealLog learns from a job that ran through the real store.
func TestETAOnARealLog(t *testing.T) {
	b := setupDisk(t, nil)
	first := ulid.MustParse(b.submit(t, chatBody))
	queued := b.submit(t, chatBody)
	b.append(t, eventlog.Record{Job: first, Type: eventlog.JobStarted, Payload: &eventlog.Started{Attempt: 1}},
		eventlog.Record{Job: first, Type: eventlog.JobSucceeded, Payload: &eventlog.Succeeded{Attempt: 1}})
	v := b.get(t, queued)
	if v.Position == nil || *v.Position != 1 || v.ETA == nil || v.ETASeconds == nil || *v.ETASeconds > 1 {
		t.Fatalf("queued behind nothing, after a run of microseconds: %+v", v)
	}
	if v := b.get(t, first.String()); v.Position != nil || v.ETA != nil {
		t.Fatalf("done job has an estimate: %+v", v)
	}
}
