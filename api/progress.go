package api

import (
	"github.com/oklog/ulid/v2"
)

// progress counts the output lines of each running attempt, so that
// GET /jobs/{id} can say how far a working job has got. Ollama streams
// about one token per line (the worker always streams from the target), so
// the count is the tokens so far. It lives in the hub, which sees every
// line whether or not anyone is watching; nothing of it is logged.
type progress map[ulid.ULID]int

// Tokens returns the lines the target has streamed for the job's current
// attempt, and whether an attempt is running.
func (h *Hub) Tokens(job ulid.ULID) (int, bool) {
	h.mu.Lock()
	defer h.mu.Unlock()
	n, ok := h.progress[job]
	return n, ok
}

// count notes a message of the job's run: Begin starts a count (a retry
// starts it again), a line adds one, End drops it.
// Called with h.mu held.
func (h *Hub) count(job ulid.ULID, m Message) {
	if h.progress == nil {
		h.progress = progress{}
	}
	switch {
	case m.Begin:
		h.progress[job] = 0
	case m.End:
		delete(h.progress, job)
	default:
		if n, ok := h.progress[job]; ok {
			h.progress[job] = n + 1
		}
	}
}
