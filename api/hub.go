package api

import (
	"sync"
	"unsafe"

	"github.com/oklog/ulid/v2"
)

// Hub carries a running job's output from the worker to the HTTP callers
// watching it (the synchronous /api/chat caller, GET /jobs/{id}/stream).
// Chunks are never written to the log. The worker calls Begin, Chunk and
// End (its worker.Sink); each subscriber has a bounded buffer, and one that
// falls behind is cut off rather than allowed to stall the worker.
type Hub struct {
	mu   sync.Mutex
	subs map[ulid.ULID]map[*Subscription]struct{}
	// progress counts each running attempt's lines (progress.go).
	progress progress
	// sofar keeps each running attempt's messages, up to MaxBuffered
	// bytes, for a subscriber that joins mid-answer (GET
	// /jobs/{id}/stream after the job started): it gets them first, so
	// it sees the whole answer. One job runs at a time, so this is at
	// most MaxBuffered in all.
	sofar map[ulid.ULID]*sofar
	// MaxBuffered bounds the bytes queued for one subscriber, each
	// message counted with its bookkeeping (msgOverhead): a reader that
	// stops reading costs at most this much before it is cut. One message
	// larger than the bound is taken into an empty buffer (a whole
	// non-streamed answer is one message).
	MaxBuffered int
}

// DefaultMaxBuffered is the per-subscriber buffer of a new Hub: some
// seconds of tokens at any real rate, so only a reader that stopped
// reading reaches it.
const DefaultMaxBuffered = 1 << 20

// msgOverhead is what a queued Message costs besides its data: the
// struct in the queue's slice, which may be twice the length, and the
// data's allocation header. Chunks are small (a token each), so this is
// most of a slow reader's memory.
const msgOverhead = 2*int(unsafe.Sizeof(Message{})) + 16

// NewHub returns an empty hub.
func NewHub() *Hub {
	return &Hub{subs: map[ulid.ULID]map[*Subscription]struct{}{}, MaxBuffered: DefaultMaxBuffered}
}

// Message is one item of a job's live output.
type Message struct {
	// Begin: the target answered with Status and ContentType.
	Begin       bool
	Status      int
	ContentType string
	// Data is one raw line (an NDJSON chunk or a whole JSON body).
	Data []byte
	// End: the job's run is over; Err is its failure, if any, and Offset
	// the event that recorded the end (wait for it before reading views).
	End    bool
	Err    string
	Offset uint64
}

// Subscription receives a job's messages in order.
type Subscription struct {
	hub    *Hub
	job    ulid.ULID
	ch     chan struct{} // signalled when msgs grows
	mu     sync.Mutex
	msgs   []Message
	bytes  int
	lagged bool
	closed bool
}

// sofar is what a running attempt has output so far.
type sofar struct {
	msgs  []Message
	bytes int
	over  bool // past MaxBuffered: no longer kept
}

// Subscribe starts receiving the job's live output: first what its
// running attempt has output so far, then the rest as it comes.
func (h *Hub) Subscribe(job ulid.ULID) *Subscription {
	s := &Subscription{hub: h, job: job, ch: make(chan struct{}, 1)}
	h.mu.Lock()
	if so := h.sofar[job]; so != nil {
		s.msgs, s.bytes, s.lagged = append([]Message(nil), so.msgs...), so.bytes, so.over
		s.ch <- struct{}{}
	}
	if h.subs[job] == nil {
		h.subs[job] = map[*Subscription]struct{}{}
	}
	h.subs[job][s] = struct{}{}
	h.mu.Unlock()
	return s
}

// Close stops the subscription.
func (s *Subscription) Close() {
	h := s.hub
	h.mu.Lock()
	delete(h.subs[s.job], s)
	if len(h.subs[s.job]) == 0 {
		delete(h.subs, s.job)
	}
	h.mu.Unlock()
	s.mu.Lock()
	s.closed = true
	s.mu.Unlock()
}

// Ready is signalled when Next may have something.
func (s *Subscription) Ready() <-chan struct{} { return s.ch }

// Next takes the queued messages. lagged reports that the subscriber fell
// more than MaxBuffered behind and lost output.
func (s *Subscription) Next() (msgs []Message, lagged bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	msgs, s.msgs, s.bytes = s.msgs, nil, 0
	return msgs, s.lagged
}

func (h *Hub) publish(job ulid.ULID, m Message) {
	h.mu.Lock()
	h.count(job, m)
	h.keep(job, m)
	subs := make([]*Subscription, 0, len(h.subs[job]))
	for s := range h.subs[job] {
		subs = append(subs, s)
	}
	h.mu.Unlock()
	for _, s := range subs {
		s.mu.Lock()
		cost := len(m.Data) + msgOverhead
		switch {
		case s.closed || s.lagged:
		case s.bytes > 0 && s.bytes+cost > h.MaxBuffered:
			s.lagged, s.msgs, s.bytes = true, nil, 0
		default:
			s.msgs = append(s.msgs, m)
			s.bytes += cost
		}
		s.mu.Unlock()
		select {
		case s.ch <- struct{}{}:
		default:
		}
	}
}

// keep notes a message of the job's run for later subscribers: Begin
// starts anew (a retry's answer replaces the failed one's), End drops it.
// Called with h.mu held, with the same lock that lists the subscribers,
// so a subscriber gets each message once, from sofar or live.
func (h *Hub) keep(job ulid.ULID, m Message) {
	if h.sofar == nil {
		h.sofar = map[ulid.ULID]*sofar{}
	}
	so := h.sofar[job]
	switch {
	case m.End:
		delete(h.sofar, job)
		return
	case m.Begin:
		so = &sofar{}
		h.sofar[job] = so
	case so == nil || so.over:
		return
	}
	cost := len(m.Data) + msgOverhead
	if so.bytes > 0 && so.bytes+cost > h.MaxBuffered {
		so.msgs, so.bytes, so.over = nil, 0, true
		return
	}
	so.msgs = append(so.msgs, m)
	so.bytes += cost
}

// Begin records that the target answered an attempt of job.
func (h *Hub) Begin(job ulid.ULID, status int, contentType string) {
	h.publish(job, Message{Begin: true, Status: status, ContentType: contentType})
}

// Chunk passes one line of output.
func (h *Hub) Chunk(job ulid.ULID, line []byte) {
	h.publish(job, Message{Data: line})
}

// End closes the job's run; errMsg is empty on success; off is the offset
// of the event that recorded the outcome.
func (h *Hub) End(job ulid.ULID, off uint64, errMsg string) {
	h.publish(job, Message{End: true, Err: errMsg, Offset: off})
}
