package metrics

import (
	"sync"
	"time"
)

// WindowSpan is how far back Window looks: the last hour, what a person
// glancing at the dashboard asks about ("how many swaps lately?").
const WindowSpan = time.Hour

// Window is what the last hour looked like, folded from the same events
// as the counters (GET /stats).
type Window struct {
	// Since is when the window starts: an hour ago, or later when the
	// daemon has not seen that much of the log (it replays at start only
	// what the active jobs need, docs/metrics.md).
	Since    time.Time
	Finished int // jobs that reached a terminal state
	Failed   int // of which failed
	Swaps    int // job.started with another model than the one before
	Waits    int // attempts started (each one a wait sample)
	// WaitSum is the total of those waits; WaitSum/Waits is the mean.
	WaitSum time.Duration
}

// minute is one minute's share of the window.
type minute struct {
	at       int64 // unix minute this bucket holds; stale when older
	finished int
	failed   int
	swaps    int
	waits    int
	waitSum  time.Duration
}

// window keeps the last hour in per-minute buckets, so its memory is
// fixed whatever the rate of jobs. The fold writes it; GET /stats reads.
type window struct {
	mu      sync.Mutex
	buckets [61]minute // the current minute and the 60 before it
	first   time.Time  // time of the first event folded
}

// bucket returns the bucket of t's minute, cleared when it held an older
// minute; nil for a minute outside what the buckets hold relative to now.
func (w *window) bucket(t, now time.Time) *minute {
	m := t.Unix() / 60
	if cur := now.Unix() / 60; m > cur || cur-m >= int64(len(w.buckets)) {
		return nil
	}
	b := &w.buckets[m%int64(len(w.buckets))]
	if b.at != m {
		*b = minute{at: m}
	}
	return b
}

func (w *window) seen(t time.Time) {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.first.IsZero() {
		w.first = t
	}
}

func (w *window) finish(t, now time.Time, failed bool) {
	w.mu.Lock()
	defer w.mu.Unlock()
	if b := w.bucket(t, now); b != nil {
		b.finished++
		if failed {
			b.failed++
		}
	}
}

func (w *window) swap(t, now time.Time) {
	w.mu.Lock()
	defer w.mu.Unlock()
	if b := w.bucket(t, now); b != nil {
		b.swaps++
	}
}

func (w *window) wait(t, now time.Time, d time.Duration) {
	w.mu.Lock()
	defer w.mu.Unlock()
	if b := w.bucket(t, now); b != nil {
		b.waits++
		b.waitSum += max(d, 0)
	}
}

// sum adds up the minutes within WindowSpan of now. A bucket counts
// whole: the window's edge falls on a minute boundary.
func (w *window) sum(now time.Time) Window {
	w.mu.Lock()
	defer w.mu.Unlock()
	cur := now.Unix() / 60
	oldest := cur - int64(WindowSpan/time.Minute) + 1
	out := Window{Since: time.Unix(oldest*60, 0).UTC()}
	if w.first.After(out.Since) {
		out.Since = w.first.UTC()
	}
	for _, b := range w.buckets {
		if b.at < oldest || b.at > cur {
			continue
		}
		out.Finished += b.finished
		out.Failed += b.failed
		out.Swaps += b.swaps
		out.Waits += b.waits
		out.WaitSum += b.waitSum
	}
	return out
}
