package api

import (
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"strings"

	"github.com/julienschmidt/httprouter"
	"github.com/oklog/ulid/v2"
	ollamamodel "github.com/ollama/ollama/types/model"

	"github.com/foreman-dev/foreman/eventlog"
)

// PriorityHeader sets a /v1 job's priority (an integer, higher first);
// without it the job has priority 0, as a POST /jobs without "priority".
const PriorityHeader = "X-Foreman-Priority"

// openAIRoutes registers the OpenAI-compatible surface (docs/api.md,
// "OpenAI"). Ollama serves /v1 itself: foreman relays it, and does not
// translate. Chat, completions and responses are jobs through the queue
// (sync, like /api/chat); embeddings and the model list go straight to the
// target. Every answer foreman writes itself on /v1 is in OpenAI's error
// shape; /v1/files and /v1/batches are left to the Batch API.
func (s *Server) openAIRoutes() {
	r, a := s.router, func(h httprouter.Handle) httprouter.Handle { return openAIShaped(s.auth.require(h)) }
	r.POST("/v1/chat/completions", a(s.submits(s.openAIJob(eventlog.KindOpenAIChat))))
	r.POST("/v1/completions", a(s.submits(s.openAIJob(eventlog.KindOpenAICompletion))))
	r.POST("/v1/responses", a(s.submits(s.openAIJob(eventlog.KindOpenAIResponse))))
	r.POST("/v1/embeddings", a(s.forward))
	r.GET("/v1/models", a(s.forward))
	r.GET("/v1/models/*model", a(s.openAIModel))
}

// openAIJob serves a generating /v1 route: checked as Ollama's /v1 checks
// it, queued as a job of kind, and answered with the target's status,
// content type and body (Server-Sent Events when the caller asked for a
// stream) as the worker runs it.
func (s *Server) openAIJob(kind eventlog.Kind) httprouter.Handle {
	return func(w http.ResponseWriter, r *http.Request, _ httprouter.Params) {
		prio, err := headerPriority(r)
		if err != nil {
			dropBody(w, r)
			s.refuseOpenAI(w, err)
			return
		}
		body, ok := s.readBody(w, r)
		if !ok {
			return
		}
		sh, err := openAIShape(kind, body)
		if err == nil {
			body, err = s.fitTarget(r, sh, body)
		}
		if err != nil {
			s.refuseOpenAI(w, err)
			return
		}
		if retry, full := s.queueFull(r.Context()); full { // the SDKs retry a 429 after Retry-After
			w.Header().Set("Retry-After", strconv.Itoa(retry))
			writeError(w, http.StatusTooManyRequests, fmt.Sprintf("queue is full (%d jobs waiting, FOREMAN_MAX_QUEUE)", s.cfg.MaxQueue))
			return
		}
		id := ulid.Make()
		sub := s.cfg.Hub.Subscribe(id) // before the job can start
		defer sub.Close()
		rec := submission(id, eventlog.Submitted{
			Model: sh.model, Kind: kind, Sync: true, Priority: prio, Submitter: Caller(r.Context()), MaxAttempts: s.cfg.MaxAttempts,
		}, body)
		if _, err := s.cfg.Log.Append(r.Context(), rec); err != nil {
			writeError(w, http.StatusServiceUnavailable, "cannot queue the request: "+err.Error())
			return
		}
		s.relay(w, r, id, sub)
	}
}

// headerPriority reads PriorityHeader.
func headerPriority(r *http.Request) (int, error) {
	v := r.Header.Get(PriorityHeader)
	if v == "" {
		return 0, nil
	}
	p, err := strconv.Atoi(strings.TrimSpace(v))
	if err != nil {
		return 0, &openAIError{status: http.StatusBadRequest, msg: fmt.Sprintf("header %s: want an integer, got %q", PriorityHeader, v), typ: "invalid_request_error"}
	}
	return p, nil
}

// refuseOpenAI answers a refusal as Ollama's /v1 would: its own checks'
// refusals carry their type and content type; the native checks foreman
// shares with /api/chat (unknown model, capabilities) are what Ollama's
// handlers refuse, which its /v1 writes as "api_error".
func (s *Server) refuseOpenAI(w http.ResponseWriter, err error) {
	var oe *openAIError
	var re *requestError
	switch {
	case errors.As(err, &oe):
	case errors.As(err, &re) && re.status < 500:
		oe = &openAIError{status: re.status, msg: re.msg, typ: "api_error"}
	default:
		s.refuse(w, err) // foreman's own (502 unreachable, 500): shaped by openAIShaped
		return
	}
	writeOpenAIError(w, oe)
}

func writeOpenAIError(w http.ResponseWriter, e *openAIError) {
	typ := e.typ
	if typ == "" {
		typ = openAIErrorType(e.status)
	}
	var code *string
	if e.code != "" {
		code = &e.code
	}
	b, _ := json.Marshal(openAIErrorBody{openAIErrorFields{Message: e.msg, Type: typ, Code: code}})
	ct := "application/json"
	if e.gin {
		ct = "application/json; charset=utf-8"
	}
	w.Header().Set("Content-Type", ct)
	w.WriteHeader(e.status)
	w.Write(append(b, '\n'))
}

// openAIErrorBody is OpenAI's error shape, its members in the order
// Ollama's /v1 writes them.
type openAIErrorBody struct {
	Error openAIErrorFields `json:"error"`
}

type openAIErrorFields struct {
	Message string  `json:"message"`
	Type    string  `json:"type"`
	Param   any     `json:"param"`
	Code    *string `json:"code"`
}

// openAIErrorType is the type of an error foreman writes on /v1, by
// status, as Ollama's openai.NewError picks it.
func openAIErrorType(status int) string {
	switch status {
	case http.StatusBadRequest, http.StatusUnauthorized, http.StatusRequestEntityTooLarge, http.StatusRequestTimeout:
		return "invalid_request_error"
	case http.StatusNotFound:
		return "not_found_error"
	}
	return "api_error"
}

// openAIModel serves GET /v1/models/{model}. Ollama's route takes one path
// segment, so a model id with a "/" in it (hf.co/org/model:tag) cannot be
// asked of it; foreman answers those from the target's own /v1/models
// list, as Ollama's retrieve would answer (the entry, with the id as
// asked), and relays every other id as it is.
func (s *Server) openAIModel(w http.ResponseWriter, r *http.Request, ps httprouter.Params) {
	id := strings.TrimPrefix(ps.ByName("model"), "/")
	if !strings.Contains(id, "/") {
		s.forward(w, r, ps)
		return
	}
	resp, err := s.cfg.Target.Forward(r.Context(), http.MethodGet, "/v1/models", nil)
	if err != nil {
		if r.Context().Err() == nil {
			writeError(w, http.StatusBadGateway, "ollama target unreachable: "+err.Error())
		}
		return
	}
	defer resp.Body.Close()
	var list struct {
		Data []map[string]any `json:"data"`
	}
	if resp.StatusCode != http.StatusOK || json.NewDecoder(resp.Body).Decode(&list) != nil {
		writeError(w, http.StatusBadGateway, fmt.Sprintf("ollama target answered GET /v1/models with %d", resp.StatusCode))
		return
	}
	for _, m := range list.Data {
		if name, _ := m["id"].(string); sameModel(name, id) {
			m["id"] = id
			b, _ := json.Marshal(m)
			w.Header().Set("Content-Type", "application/json")
			w.WriteHeader(http.StatusOK)
			w.Write(append(b, '\n'))
			return
		}
	}
	writeOpenAIError(w, &openAIError{status: http.StatusNotFound, msg: fmt.Sprintf("model '%s' not found", id), typ: "api_error"})
}

// openAINotFound answers an unknown /v1 route (any method) as OpenAI does;
// false for a path outside /v1.
func openAINotFound(w http.ResponseWriter, r *http.Request) bool {
	if r.URL.Path != "/v1" && !strings.HasPrefix(r.URL.Path, "/v1/") {
		return false
	}
	dropBody(w, r)
	writeOpenAIError(w, &openAIError{status: http.StatusNotFound, msg: fmt.Sprintf("Invalid URL (%s %s)", r.Method, r.URL.Path), typ: "invalid_request_error"})
	return true
}

// openAIMethodNotAllowed answers a /v1 route asked with a method it does
// not serve: 405, as Ollama, in OpenAI's shape (Allow is set already).
func openAIMethodNotAllowed(w http.ResponseWriter, r *http.Request) bool {
	if !strings.HasPrefix(r.URL.Path, "/v1/") {
		return false
	}
	dropBody(w, r)
	writeOpenAIError(w, &openAIError{status: http.StatusMethodNotAllowed, msg: fmt.Sprintf("%s %s: method not allowed (allowed: %s)", r.Method, r.URL.Path, w.Header().Get("Allow")), typ: "invalid_request_error"})
	return true
}

// sameModel matches two model names as Ollama does ("x" is "x:latest").
func sameModel(a, b string) bool {
	na, nb := ollamamodel.ParseName(a), ollamamodel.ParseName(b)
	return na.IsValid() && nb.IsValid() && na.EqualFold(nb)
}
