package api

import (
	"errors"
	"fmt"
	"net/http"
	"strconv"

	"github.com/julienschmidt/httprouter"

	"github.com/foreman-dev/foreman/eventlog"
)

// The audit routes show the log itself, rendered as `foreman log export`
// renders it (eventlog.EventJSON, docs/export-format.md), so that one
// reader handles both. A payload that does not decode is shown with
// "payload": null and "payload_error" rather than hiding the rest.

// JobEventsView is GET /jobs/{id}/events.
type JobEventsView struct {
	JobID  string               `json:"job_id"`
	Events []eventlog.EventJSON `json:"events"`
}

// jobEvents serves GET /jobs/{id}/events: the job's stored history, oldest
// first, with offsets. Events below the low watermark are gone.
func (s *Server) jobEvents(w http.ResponseWriter, r *http.Request, ps httprouter.Params) {
	j, ok := s.lookup(r.Context(), w, ps)
	if !ok {
		return
	}
	evs, err := s.cfg.Log.JobEvents(j.ID)
	if err != nil {
		writeError(w, http.StatusInternalServerError, fmt.Sprintf("job %s: %v", j.ID, err))
		return
	}
	v := JobEventsView{JobID: j.ID.String(), Events: make([]eventlog.EventJSON, 0, len(evs))}
	for _, e := range evs {
		rec, _ := eventlog.RenderEvent(e) // an undecodable payload is shown as such
		v.Events = append(v.Events, rec)
	}
	writeJSON(w, http.StatusOK, v)
}

// tailEvents serves GET /events?from=N&follow=true: the log from offset N
// (default: the low watermark) as NDJSON, one event per line, then, unless
// follow=false, every new event as it commits, until the client leaves.
// It waits on the log's commit signal, never polls. The response starts
// once the arguments are checked; a failure after that is a last
// {"error": "..."} line.
func (s *Server) tailEvents(w http.ResponseWriter, r *http.Request, _ httprouter.Params) {
	src := s.cfg.Events
	if src == nil {
		writeError(w, http.StatusNotImplemented, "the event log is not available")
		return
	}
	q := r.URL.Query()
	follow := true
	if v := q.Get("follow"); v != "" {
		b, err := strconv.ParseBool(v)
		if err != nil {
			writeError(w, http.StatusBadRequest, fmt.Sprintf("invalid follow %q: want true or false", v))
			return
		}
		follow = b
	}
	low := src.LowWatermark()
	next := low
	if v := q.Get("from"); v != "" {
		n, err := strconv.ParseUint(v, 10, 64)
		if err != nil || n == 0 {
			writeError(w, http.StatusBadRequest, fmt.Sprintf("invalid from %q: want an offset ≥ 1", v))
			return
		}
		next = n
	}
	if next < low {
		writeError(w, http.StatusGone, fmt.Sprintf("offset %d was removed by retention; the log starts at %d", next, low))
		return
	}
	end := src.LastOffset() // follow=false stops here
	g := s.guardWrites(w)
	w.Header().Set("Content-Type", "application/x-ndjson")
	w.Header().Set("X-Content-Type-Options", "nosniff")
	w.WriteHeader(http.StatusOK)
	if g.flush() != nil { // the client knows the tail is open before any event
		return
	}
	ctx := r.Context()
	for {
		last := src.LastOffset()
		if !follow {
			last = min(last, end)
		}
		if next <= last {
			err := src.Scan(ctx, next, last, func(e eventlog.Event) error {
				g.extend() // a reader that stops is cut, and the scan with it
				if err := s.writeEvent(w, e); err != nil {
					return err
				}
				next = e.Offset + 1
				return nil
			})
			if err != nil {
				if ctx.Err() == nil && !errors.Is(err, errClientGone) {
					s.cfg.Logger.Warn("GET /events stopped", "offset", next, "err", err)
					writeLine(w, map[string]string{"error": err.Error()})
				}
				return
			}
			if g.flush() != nil {
				return // the client left or took nothing for WriteTimeout
			}
		}
		if !follow && next > end {
			return
		}
		if err := src.Wait(ctx, next-1); err != nil {
			return // the client left
		}
	}
}

var errClientGone = errors.New("client gone")

// writeEvent writes one NDJSON line; a write error means the client left.
func (s *Server) writeEvent(w http.ResponseWriter, e eventlog.Event) error {
	rec, _ := eventlog.RenderEvent(e)
	b, err := eventlog.MarshalCompact(rec)
	if err != nil {
		return fmt.Errorf("render offset %d: %w", e.Offset, err)
	}
	if _, err := w.Write(append(b, '\n')); err != nil {
		return fmt.Errorf("%w: %v", errClientGone, err)
	}
	return nil
}
