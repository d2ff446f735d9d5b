package api

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"strconv"
	"strings"

	"github.com/julienschmidt/httprouter"
	"github.com/oklog/ulid/v2"

	"github.com/foreman-dev/foreman/eventlog"
)

// syncJob serves /api/chat and /api/generate: the call becomes a job in the
// log, waits in the queue, and the caller receives the target's answer as
// the worker produces it. The status line is held until the target
// answers, so an error before the first chunk keeps Ollama's status and
// body. These jobs never fire webhooks (ADR-0014).
func (s *Server) syncJob(kind eventlog.Kind) httprouter.Handle {
	return func(w http.ResponseWriter, r *http.Request, _ httprouter.Params) {
		body, ok := s.readBody(w, r)
		if !ok {
			return
		}
		sh, err := parseOllama(kind, body)
		if err == nil {
			body, err = s.fitTarget(r, sh, body)
		}
		if err != nil {
			s.refuse(w, err)
			return
		}
		if retry, full := s.queueFull(r.Context()); full { // Ollama's own answer when its queue is full
			w.Header().Set("Retry-After", strconv.Itoa(retry))
			writeError(w, http.StatusServiceUnavailable, "server busy, please try again.  maximum pending requests exceeded")
			return
		}
		id := ulid.Make()
		sub := s.cfg.Hub.Subscribe(id) // before the job can start
		defer sub.Close()
		rec := submission(id, eventlog.Submitted{
			Model: sh.model, Kind: kind, Sync: true, Submitter: Caller(r.Context()), MaxAttempts: s.cfg.MaxAttempts,
		}, body)
		if _, err := s.cfg.Log.Append(r.Context(), rec); err != nil {
			writeError(w, http.StatusServiceUnavailable, "cannot queue the request: "+err.Error())
			return
		}
		s.relay(w, r, id, sub)
	}
}

// relay writes the job's live output to the caller until the attempt that
// answers it ends. If the caller goes away, or stops reading (nothing
// taken for WriteTimeout, or MaxBuffered of output waiting), it is cut
// and the job cancelled: an appended cancel request, which the worker
// acts on, and which stays in the job's history as the caller leaving
// even when the job had already ended.
func (s *Server) relay(w http.ResponseWriter, r *http.Request, id ulid.ULID, sub *Subscription) {
	g := s.guardWrites(w)
	status, fr := 0, framing{}
	for {
		select {
		case <-r.Context().Done():
			s.requestCancel(r.Context(), id, "caller disconnected")
			return
		case <-sub.Ready():
		}
		msgs, lagged := sub.Next()
		var err error
		for _, m := range msgs {
			g.extend()
			switch {
			case m.Begin:
				if status != 0 {
					continue // a later attempt cannot restart the response
				}
				status, fr = m.Status, framingOf(m.ContentType)
				w.Header().Set("Content-Type", m.ContentType)
				w.WriteHeader(status)
			case m.End:
				switch {
				case m.Err == "":
				case status == 0:
					writeError(w, http.StatusBadGateway, m.Err)
				case status < 300:
					fr.writeError(w, m.Err)
				}
				return
			default:
				_, err = w.Write(m.Data)
				if fr.sep != "" && err == nil {
					_, err = w.Write([]byte(fr.sep))
				}
			}
			if err != nil {
				break
			}
		}
		if err == nil {
			err = g.flush()
		}
		if err != nil {
			s.requestCancel(r.Context(), id, "caller gone: it stopped reading the answer")
			return
		}
		if lagged {
			fr.writeError(w, "foreman: the caller read too slowly and output was dropped")
			s.requestCancel(r.Context(), id, "caller too slow: output dropped")
			g.cut()
		}
	}
}

// framing is how a streamed answer's chunks are delimited, and how an
// error after its first byte is told: an NDJSON {"error"} line on the
// native routes, an SSE data frame in OpenAI's error shape on /v1 (the
// OpenAI SDKs raise an event that carries "error"). A whole JSON answer
// has neither.
type framing struct {
	sep string // written after each chunk
	sse bool
}

func framingOf(contentType string) framing {
	switch {
	case strings.HasPrefix(contentType, "application/x-ndjson"):
		return framing{sep: "\n"}
	case strings.HasPrefix(contentType, "text/event-stream"):
		return framing{sep: "\n\n", sse: true}
	}
	return framing{}
}

func (f framing) writeError(w http.ResponseWriter, msg string) {
	switch {
	case f.sse:
		b, _ := json.Marshal(openAIErrorBody{openAIErrorFields{Message: msg, Type: "api_error"}})
		w.Write(append(append([]byte("data: "), b...), '\n', '\n'))
		http.NewResponseController(w).Flush()
	case f.sep != "":
		writeLine(w, map[string]string{"error": msg})
	}
}

func (s *Server) requestCancel(ctx context.Context, id ulid.ULID, reason string) {
	_, err := s.cfg.Log.Append(context.WithoutCancel(ctx), eventlog.Record{Job: id, Type: eventlog.CancelRequested,
		Payload: &eventlog.CancelRequest{Reason: reason, By: Caller(ctx)}})
	if err != nil {
		s.cfg.Logger.Error("could not record a cancel request", "job", id, "err", err)
	}
}

func (s *Server) refuse(w http.ResponseWriter, err error) {
	var re *requestError
	if errors.As(err, &re) {
		writeError(w, re.status, re.msg)
		return
	}
	var oe *openAIError
	if errors.As(err, &oe) {
		writeError(w, oe.status, oe.msg)
		return
	}
	writeError(w, http.StatusInternalServerError, err.Error())
}
