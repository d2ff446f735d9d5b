package webhook

import (
	"context"
	"net/url"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/foreman-dev/foreman/eventlog"
)

// delivery is one event to deliver, with the attempts already recorded.
type delivery struct {
	event    eventlog.Event
	url      string
	attempts int
	replay   uint64 // offset of the replay request that asked for it; 0: the original
	rcv      *receiver
	ready    bool        // may be attempted now (not in flight, not waiting for a retry)
	stop     func() bool // stops the retry timer, while waiting
}

type liveKey struct{ offset, replay uint64 }

// receiver is one destination (scheme, host and port): its queue, its
// requests in flight, and where in the log its backlog resumes.
type receiver struct {
	key      string
	queue    []*delivery
	ready    int // deliveries in queue that are ready
	inflight int
	// behind maps a replay tag (0: the deliveries the events themselves
	// cause) to the first offset whose delivery was left in the log
	// because the queue was full.
	behind map[uint64]uint64
	inRing bool
}

// receiverKey groups deliveries by where they connect to.
func receiverKey(raw string) string {
	u, err := url.Parse(raw)
	if err != nil {
		return raw
	}
	return strings.ToLower(u.Scheme + "://" + u.Host)
}

// receiverLocked returns the receiver of key, made and put in the ring if
// new.
func (d *Dispatcher) receiverLocked(key string) *receiver {
	r := d.receivers[key]
	if r == nil {
		r = &receiver{key: key, behind: map[uint64]uint64{}}
		d.receivers[key] = r
	}
	if !r.inRing {
		r.inRing = true
		d.ring = append(d.ring, r)
	}
	return r
}

// forgetLocked drops a receiver that holds nothing any more.
func (d *Dispatcher) forgetLocked(r *receiver) {
	if len(r.queue) > 0 || r.inflight > 0 || len(r.behind) > 0 {
		return
	}
	delete(d.receivers, r.key)
	if i := slices.Index(d.ring, r); i >= 0 {
		d.ring = slices.Delete(d.ring, i, i+1)
		if d.turn > i {
			d.turn--
		}
	}
	r.inRing = false
}

// addLocked queues t at its receiver.
func (d *Dispatcher) addLocked(t *delivery, r *receiver) {
	t.rcv, t.ready = r, true
	r.queue = append(r.queue, t)
	r.ready++
	d.held++
	d.live[liveKey{t.event.Offset, t.replay}] = true
	d.ready.Signal()
}

// work takes deliveries in turn and makes one attempt of each, until the
// dispatcher stops.
func (d *Dispatcher) work(ctx context.Context) {
	for ctx.Err() == nil {
		t := d.next()
		if t == nil {
			return
		}
		d.attempt(ctx, t)
	}
}

// next waits for a ready delivery, taking receivers in turn so that each
// gets its share of the workers; nil once the dispatcher stops.
func (d *Dispatcher) next() *delivery {
	d.mu.Lock()
	defer d.mu.Unlock()
	for {
		if d.stopping {
			return nil
		}
		for i := range d.ring {
			k := (d.turn + i) % len(d.ring)
			r := d.ring[k]
			if r.ready == 0 || r.inflight >= d.cfg.PerReceiver {
				continue
			}
			for _, t := range r.queue {
				if t.ready && !d.busy[t.event.Offset] { // a replay waits for the delivery in flight
					t.ready = false
					r.ready--
					r.inflight++
					d.busy[t.event.Offset] = true
					d.turn = (k + 1) % len(d.ring)
					return t
				}
			}
		}
		d.ready.Wait()
	}
}

// settle removes a delivery that needs no more attempts (or that the end
// of Run cut short), making room for the receiver's backlog.
func (d *Dispatcher) settle(t *delivery) {
	d.mu.Lock()
	r := t.rcv
	r.queue = slices.DeleteFunc(r.queue, func(x *delivery) bool { return x == t })
	r.inflight--
	d.held--
	delete(d.live, liveKey{t.event.Offset, t.replay})
	delete(d.busy, t.event.Offset)
	d.forgetLocked(r)
	d.ready.Broadcast()
	d.mu.Unlock()
	select {
	case d.kick <- struct{}{}:
	default:
	}
}

// retryLater keeps t in its receiver's queue and makes it ready again once
// wait has passed; it holds no goroutine meanwhile. AfterFunc is called
// with d.mu held, so f must run later, as time.AfterFunc does.
func (d *Dispatcher) retryLater(t *delivery, wait time.Duration) {
	d.mu.Lock()
	t.rcv.inflight--
	delete(d.busy, t.event.Offset)
	d.ready.Broadcast()
	if d.stopping {
		d.mu.Unlock()
		return
	}
	d.timers.Add(1)
	var once sync.Once
	t.stop = d.cfg.AfterFunc(wait, func() {
		once.Do(func() {
			defer d.timers.Done()
			d.mu.Lock()
			defer d.mu.Unlock()
			t.stop = nil
			if !d.stopping {
				t.ready = true
				t.rcv.ready++
				d.ready.Signal()
			}
		})
	})
	d.mu.Unlock()
}

// stopTimers stops the retry timers left once the workers are gone.
func (d *Dispatcher) stopTimers() {
	d.mu.Lock()
	for _, r := range d.receivers {
		for _, t := range r.queue {
			if t.stop != nil && t.stop() {
				t.stop = nil
				d.timers.Done()
			}
		}
	}
	d.mu.Unlock()
	d.timers.Wait()
}
