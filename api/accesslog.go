package api

import (
	"context"
	"log/slog"
	"net/http"
	"time"
)

// The access log: one line per request, so that a refused token, a 501 or
// a slow stream leaves a trace. It holds the method, the path (never the
// query, where a webhook URL's token may sit), the status, the duration,
// the bytes written and the caller's token name: never a token or a body.
// Lines are at Info; /healthz and /metrics, which monitors poll, at Debug
// unless they fail. FOREMAN_LOG_LEVEL=warn turns it off.

// callerSlot carries the caller's name out of the auth check (which runs
// inside the router, on a derived request) to the access log around it.
type callerSlot struct{ name string }

type callerSlotKey struct{}

// noteCaller records the authenticated caller for the access log.
func noteCaller(ctx context.Context, name string) {
	if s, ok := ctx.Value(callerSlotKey{}).(*callerSlot); ok {
		s.name = name
	}
}

// serveLogged serves r with h and logs it.
func (s *Server) serveLogged(w http.ResponseWriter, r *http.Request, h http.Handler) {
	start := time.Now()
	slot := &callerSlot{}
	sw := &statusWriter{ResponseWriter: w}
	cut := true
	defer func() {
		// A slow reader's response is cut with http.ErrAbortHandler
		// (writeguard.go): log it, marked, and let the server abort.
		if !cut {
			return
		}
		v := recover()
		s.logRequest(r, sw, slot, start, v == http.ErrAbortHandler)
		if v != nil {
			panic(v)
		}
	}()
	h.ServeHTTP(sw, r.WithContext(context.WithValue(r.Context(), callerSlotKey{}, slot)))
	cut = false
	s.logRequest(r, sw, slot, start, false)
}

// logRequest writes the request's line; cut marks a reader cut off.
func (s *Server) logRequest(r *http.Request, sw *statusWriter, slot *callerSlot, start time.Time, cut bool) {
	status := sw.status
	if status == 0 {
		status = http.StatusOK
	}
	level := slog.LevelInfo
	if (r.URL.Path == "/healthz" || r.URL.Path == "/metrics") && status < 400 {
		level = slog.LevelDebug
	}
	attrs := []slog.Attr{slog.String("method", r.Method), slog.String("path", r.URL.Path), slog.Int("status", status),
		slog.Duration("duration", time.Since(start).Round(time.Microsecond)), slog.Int64("bytes", sw.bytes),
		slog.String("caller", slot.name), slog.String("remote", r.RemoteAddr)}
	if cut {
		level, attrs = slog.LevelWarn, append(attrs, slog.Bool("cut", true))
	}
	s.cfg.Logger.LogAttrs(r.Context(), level, "request", attrs...)
}

// statusWriter remembers the status and counts the bytes. It passes
// Flush through (the streaming handlers flush each line) and unwraps for
// http.ResponseController.
type statusWriter struct {
	http.ResponseWriter
	status int
	bytes  int64
}

func (w *statusWriter) WriteHeader(code int) {
	if w.status == 0 {
		w.status = code
	}
	w.ResponseWriter.WriteHeader(code)
}

func (w *statusWriter) Write(b []byte) (int, error) {
	if w.status == 0 {
		w.status = http.StatusOK
	}
	n, err := w.ResponseWriter.Write(b)
	w.bytes += int64(n)
	return n, err
}

func (w *statusWriter) Flush() {
	if f, ok := w.ResponseWriter.(http.Flusher); ok {
		f.Flush()
	}
}

func (w *statusWriter) Unwrap() http.ResponseWriter { return w.ResponseWriter }
