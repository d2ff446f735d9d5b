package eventlog

import "sync"

// Tail bounds: the ring holds the last tailEvents events, fewer when their
// payloads pass tailBytes.
const (
	tailEvents = 8192
	tailBytes  = 16 << 20
)

// tail keeps the most recently committed events, decoded, so that the
// readers that follow the log (projections, metrics, webhooks, live
// streams) get each new event from memory: before, every commit made each
// of them open a Pebble iterator and decode and copy the same values
// again, a tenth of the allocations of a POST /jobs. A reader that falls
// further behind than the ring reads the store, as before.
type tail struct {
	mu    sync.RWMutex
	ring  []Event // ring[i%len] holds offset first+i
	first uint64  // offset of the oldest event held; 0 while empty
	n     int
	bytes int
}

func newTail() *tail { return &tail{ring: make([]Event, tailEvents)} }

// add appends events, which follow the newest held, evicting the oldest.
func (t *tail) add(evs []Event) {
	t.mu.Lock()
	defer t.mu.Unlock()
	for _, e := range evs {
		if t.n > 0 && e.Offset != t.first+uint64(t.n) {
			t.reset() // not contiguous (cannot happen with one sequencer): start over
		}
		for t.n > 0 && (t.n == len(t.ring) || t.bytes+len(e.Payload) > tailBytes) {
			t.evict()
		}
		if t.n == 0 {
			t.first = e.Offset
		}
		t.ring[(t.first+uint64(t.n))%uint64(len(t.ring))] = e
		t.n++
		t.bytes += len(e.Payload)
	}
}

func (t *tail) evict() {
	i := t.first % uint64(len(t.ring))
	t.bytes -= len(t.ring[i].Payload)
	t.ring[i] = Event{}
	t.first++
	t.n--
}

func (t *tail) reset() {
	clear(t.ring)
	t.first, t.n, t.bytes = 0, 0, 0
}

// read appends to dst the held events from offset from on, at most max and
// none past to, and returns it; it returns dst unchanged when from is not
// held (evicted, or not committed yet).
func (t *tail) read(dst []Event, from, to uint64, max int) []Event {
	t.mu.RLock()
	defer t.mu.RUnlock()
	if t.n == 0 || from < t.first || from >= t.first+uint64(t.n) {
		return dst
	}
	for off := from; off <= to && off < t.first+uint64(t.n) && len(dst) < max; off++ {
		dst = append(dst, t.ring[off%uint64(len(t.ring))])
	}
	return dst
}
