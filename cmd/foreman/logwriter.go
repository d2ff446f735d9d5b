package main

import (
	"context"
	"io"
	"log/slog"
	"sync"
	"time"
)

// Log lines wait at most logFlushEvery, or until logFlushBytes are waiting.
const (
	logFlushEvery = 50 * time.Millisecond
	logFlushBytes = 64 << 10
)

// logWriter batches the daemon's log lines into few writes. The access log
// writes a line per request, and one write(2) per line cost a fifth of
// POST /jobs's throughput from 64 clients at the default level. A line at
// Warn or above is written at once with all before it (flushingHandler),
// so what leads up to a failure is never held back; Close writes the rest.
type logWriter struct {
	mu      sync.Mutex
	w       io.Writer
	buf     []byte
	pending bool // a flush is scheduled
	closed  bool
}

func newLogWriter(w io.Writer) *logWriter { return &logWriter{w: w} }

// Write keeps p (one log line) for the next flush.
func (l *logWriter) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.closed {
		return l.w.Write(p)
	}
	l.buf = append(l.buf, p...)
	switch {
	case len(l.buf) >= logFlushBytes:
		l.flushLocked()
	case !l.pending:
		l.pending = true
		time.AfterFunc(logFlushEvery, l.Flush)
	}
	return len(p), nil
}

// Flush writes what waits.
func (l *logWriter) Flush() {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.pending = false
	l.flushLocked()
}

func (l *logWriter) flushLocked() {
	if len(l.buf) == 0 {
		return
	}
	l.w.Write(l.buf) // a log that cannot be written has nowhere to say so
	if cap(l.buf) > 4*logFlushBytes {
		l.buf = nil // after a burst, do not keep a large buffer
	} else {
		l.buf = l.buf[:0]
	}
}

// Close writes what waits; later lines are written at once.
func (l *logWriter) Close() error {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.flushLocked()
	l.closed = true
	return nil
}

// flushingHandler flushes the logWriter after each record at Warn or above.
type flushingHandler struct {
	slog.Handler
	w *logWriter
}

func (h flushingHandler) Handle(ctx context.Context, r slog.Record) error {
	err := h.Handler.Handle(ctx, r)
	if r.Level >= slog.LevelWarn {
		h.w.Flush()
	}
	return err
}

func (h flushingHandler) WithAttrs(attrs []slog.Attr) slog.Handler {
	return flushingHandler{h.Handler.WithAttrs(attrs), h.w}
}

func (h flushingHandler) WithGroup(name string) slog.Handler {
	return flushingHandler{h.Handler.WithGroup(name), h.w}
}

// newDaemonLogger is the daemon's text logger on w, batched by a logWriter
// that the caller closes when the daemon has stopped.
func newDaemonLogger(w io.Writer, level slog.Leveler) (*slog.Logger, *logWriter) {
	lw := newLogWriter(w)
	return slog.New(flushingHandler{slog.NewTextHandler(lw, &slog.HandlerOptions{Level: level}), lw}), lw
}
