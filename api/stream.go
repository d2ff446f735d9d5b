package api

import (
	"bytes"
	"net/http"

	"github.com/julienschmidt/httprouter"
)

// streamJob serves GET /jobs/{id}/stream: the job's output as NDJSON while
// it runs (an OpenAI job's SSE frames as their data, one line each), then
// the final result; for a finished job just the result. When
// an attempt fails and the job is retried, a {"restart":true} line says
// that the lines before it are void and the next attempt's output follows.
func (s *Server) streamJob(w http.ResponseWriter, r *http.Request, ps httprouter.Params) {
	j, ok := s.lookup(r.Context(), w, ps)
	if !ok {
		return
	}
	sub := s.cfg.Hub.Subscribe(j.ID)
	defer sub.Close()
	// An end appended from now on reaches sub (Hub.Follow); one appended
	// before is in the view once the projections have caught up to here.
	if err := s.readLatest(r.Context()); err != nil {
		writeError(w, http.StatusServiceUnavailable, err.Error())
		return
	}
	if j, ok = s.lookup(r.Context(), w, ps); !ok { // read again now that nothing can be missed
		return
	}
	w.Header().Set("Content-Type", "application/x-ndjson")
	w.WriteHeader(http.StatusOK)
	g := s.guardWrites(w)
	if !j.State.Terminal() {
		if g.flush() != nil { // the caller knows it is following
			return
		}
		var end uint64
		relaying, begun, sse := true, false, false
		for done := false; !done; {
			select {
			case <-r.Context().Done():
				return
			case <-sub.Ready():
			}
			msgs, lagged := sub.Next()
			var err error
			for _, m := range msgs {
				g.extend()
				switch {
				case m.End:
					done, end = true, m.Offset
				case m.Begin:
					if begun { // a retry: what came before is void
						writeLine(w, map[string]bool{"restart": true})
					}
					begun, relaying = true, m.Status < 300
					sse = framingOf(m.ContentType).sse
				case relaying && err == nil && sse:
					// A /v1 stream's frame: its data, as one NDJSON line
					// (a /v1/responses event names itself in "type").
					if data := sseData(m.Data); len(data) > 0 && string(data) != "[DONE]" {
						_, err = w.Write(append(data, '\n'))
					}
				case relaying && err == nil:
					_, err = w.Write(append(m.Data, '\n'))
				}
			}
			if lagged {
				writeLine(w, map[string]string{"error": "output dropped: the reader fell behind"})
				g.cut()
			}
			if err != nil || g.flush() != nil {
				return // the reader left, or took nothing for WriteTimeout
			}
		}
		var err error
		if err = s.cfg.Jobs.WaitFor(r.Context(), end); err == nil {
			j, err = s.cfg.Jobs.Job(j.ID)
		}
		if err != nil {
			writeLine(w, map[string]string{"error": err.Error()})
			return
		}
	}
	v, err := s.view(j, s.baseURL(r))
	g.extend()
	switch {
	case err != nil:
		writeLine(w, map[string]string{"error": err.Error()})
	case v.Result != nil:
		w.Write(append(append([]byte(nil), v.Result...), '\n'))
	case v.Error != "":
		writeLine(w, map[string]string{"error": v.Error})
	}
}

// sseData is an SSE frame's data: its "data:" lines, joined.
func sseData(frame []byte) []byte {
	var data []byte
	for line := range bytes.Lines(frame) {
		line = bytes.TrimRight(line, "\r\n")
		if rest, ok := bytes.CutPrefix(line, []byte("data:")); ok {
			if data != nil {
				data = append(data, '\n')
			}
			data = append(data, bytes.TrimPrefix(rest, []byte(" "))...)
		}
	}
	return data
}
