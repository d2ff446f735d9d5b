package api

import (
	"net/http"
	"time"
)

// writeGuard cuts a reader that takes no bytes for about WriteTimeout: the
// streaming handlers (sync chat and generate, /jobs/{id}/stream, /events)
// extend the connection's write deadline as they write, so a write to a
// client that stopped reading fails instead of holding the handler, its
// buffers and whatever it reads from (a log iterator, a hub subscription)
// for ever. The deadline is moved at most eight times per timeout, so the
// cut comes between 7/8 of it and all of it after the last progress.
type writeGuard struct {
	rc      *http.ResponseController
	timeout time.Duration
	last    time.Time
}

func (s *Server) guardWrites(w http.ResponseWriter) *writeGuard {
	return &writeGuard{rc: http.NewResponseController(w), timeout: s.cfg.WriteTimeout}
}

// extend moves the deadline before a write.
func (g *writeGuard) extend() {
	now := time.Now()
	if now.Sub(g.last) < g.timeout/8 {
		return
	}
	g.last = now
	g.rc.SetWriteDeadline(now.Add(g.timeout))
}

// flush sends what is buffered; an error means the reader is gone or cut.
func (g *writeGuard) flush() error {
	g.extend()
	return g.rc.Flush()
}

// cut ends the response of a reader that fell too far behind, after its
// last error line: the connection is closed and the client sees an
// interrupted stream, never one that looks complete, and does not keep
// the connection. This is net/http's own way to abort a handler
// (http.ErrAbortHandler); it unwinds the handler's defers.
func (g *writeGuard) cut() {
	g.flush()
	panic(http.ErrAbortHandler)
}
