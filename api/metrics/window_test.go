package metrics

import (
	"testing"
	"time"

	"github.com/oklog/ulid/v2"

	"github.com/foreman-dev/foreman/eventlog"
)

// TestWindowCountsTheLastHour: finishes, failures, swaps and waits of the
// last hour, folded in the replay too (count=false), and nothing older.
func TestWindowCountsTheLastHour(t *testing.T) {
	now := t0.Add(2 * time.Hour)
	c := newFold(t, fakeJobs{}, now)
	a, b, old := ulid.Make(), ulid.Make(), ulid.Make()
	at := func(ago time.Duration) float64 { return (2*time.Hour - ago).Seconds() }
	// A job of model a finished two hours ago: outside.
	for _, e := range []eventlog.Event{
		ev(t, old, eventlog.JobSubmitted, at(2*time.Hour), eventlog.Submitted{Model: "m1"}),
		ev(t, old, eventlog.JobStarted, at(2*time.Hour-time.Second), eventlog.Started{Attempt: 1}),
		ev(t, old, eventlog.JobSucceeded, at(2*time.Hour-2*time.Second), eventlog.Succeeded{Attempt: 1}),
	} {
		c.fold(e, false)
	}
	// Within the hour: a waits 10 s and succeeds, then b of another model
	// (a swap) waits 30 s and fails. The first two are folded as a replay.
	evs := []eventlog.Event{
		ev(t, a, eventlog.JobSubmitted, at(50*time.Minute), eventlog.Submitted{Model: "m1"}),
		ev(t, a, eventlog.JobStarted, at(50*time.Minute-10*time.Second), eventlog.Started{Attempt: 1}),
		ev(t, b, eventlog.JobSubmitted, at(40*time.Minute), eventlog.Submitted{Model: "m2"}),
		ev(t, a, eventlog.JobSucceeded, at(40*time.Minute-5*time.Second), eventlog.Succeeded{Attempt: 1}),
		ev(t, b, eventlog.JobStarted, at(40*time.Minute-30*time.Second), eventlog.Started{Attempt: 1}),
		ev(t, b, eventlog.JobFailed, at(39*time.Minute), eventlog.Failure{Attempt: 1, Error: "x"}),
	}
	for i, e := range evs {
		c.fold(e, i >= 2)
	}
	w := c.Window()
	want := Window{Since: now.Add(-time.Hour + time.Minute).Truncate(time.Minute), Finished: 2, Failed: 1, Swaps: 1, Waits: 2, WaitSum: 40 * time.Second}
	if w != want {
		t.Fatalf("window\n got %+v\nwant %+v", w, want)
	}
}

// TestWindowStartsAtWhatTheDaemonSaw: with less than an hour of the log
// seen, Since is the first event folded, not an hour ago.
func TestWindowStartsAtWhatTheDaemonSaw(t *testing.T) {
	now := t0.Add(10 * time.Minute)
	c := newFold(t, fakeJobs{}, now)
	c.fold(ev(t, ulid.Make(), eventlog.JobSubmitted, 60, eventlog.Submitted{Model: "m"}), false)
	if w := c.Window(); !w.Since.Equal(t0.Add(time.Minute)) || w.Finished != 0 {
		t.Fatalf("window %+v", w)
	}
}

// TestWindowBucketsAreReused: a minute's bucket an hour later holds the
// new minute only.
func TestWindowBucketsAreReused(t *testing.T) {
	var w window
	now := t0
	w.finish(now, now, false)
	later := now.Add(61 * time.Minute)
	w.finish(later, later, true)
	if got := w.sum(later); got.Finished != 1 || got.Failed != 1 {
		t.Fatalf("after 61 minutes: %+v", got)
	}
	if w.bucket(later.Add(time.Minute), later) != nil || w.bucket(later.Add(-2*time.Hour), later) != nil {
		t.Fatal("a bucket for a minute outside the window")
	}
}
