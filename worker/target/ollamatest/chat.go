package ollamatest

import (
	"fmt"
	"net/http"
	"slices"
	"strings"
	"time"

	"github.com/ollama/ollama/api"
	"github.com/ollama/ollama/types/model"
)

// handleChat answers POST /api/chat, checking the request in the order
// Ollama's ChatHandler does so the same bad request gets the same error.
func (s *Server) handleChat(w http.ResponseWriter, r *http.Request) {
	var req api.ChatRequest
	if !decode(w, r, &req) {
		return
	}
	if !validName(req.Model) {
		writeError(w, http.StatusBadRequest, "model is required")
		return
	}
	m, ok := s.lookup(req.Model)
	if !ok {
		writeError(w, http.StatusNotFound, fmt.Sprintf("model '%s' not found", req.Model))
		return
	}
	done := func(reason string) api.ChatResponse {
		return api.ChatResponse{Model: req.Model, CreatedAt: now(), Message: api.Message{Role: "assistant"}, Done: true, DoneReason: reason}
	}
	if len(req.Messages) == 0 && req.KeepAlive != nil && req.KeepAlive.Duration == 0 {
		s.unloadNow(m.Name)
		writeJSON(w, http.StatusOK, done("unload"))
		return
	}
	if !s.checkModel(w, m, req.Model, "chat", req.Think, needs(len(req.Tools) > 0, model.CapabilityTools), req.Options) {
		return
	}
	if len(req.Messages) == 0 {
		s.loadOnly(w, r, m.Name, req.KeepAlive, done("load"))
		return
	}
	x := &run{
		s: s, w: w, r: r, model: req.Model, key: m.Name,
		stream: req.Stream == nil || *req.Stream, keepAlive: req.KeepAlive,
		ans: makeAnswer(req.Model, chatPrompt(req.Messages), req.Options),
		chunk: func(p string) any {
			return api.ChatResponse{Model: req.Model, CreatedAt: now(), Message: api.Message{Role: "assistant", Content: p}}
		},
		final: func(mt api.Metrics, reason, text string) any {
			resp := done(reason)
			resp.Message.Content = text
			resp.Metrics = mt
			return resp
		},
	}
	x.serve()
}

// checkModel refuses what the model cannot do, in the order and with the
// messages of Ollama's handlers (server/routes.go): thinking first, then
// completion ("does not support chat" or "generate"), then what the
// request's shape needs (tools for chat, insert for a generate suffix);
// and options of the wrong type (a 500 in Ollama). Images need nothing:
// Ollama v0.17.4 runs them on any model.
func (s *Server) checkModel(w http.ResponseWriter, m Model, name, verb string, think *api.ThinkValue, want []model.Capability, options map[string]any) bool {
	var missing []string
	for _, c := range want {
		if !slices.Contains(m.Capabilities, c) {
			missing = append(missing, string(c))
		}
	}
	switch {
	case think != nil && think.Bool() && !slices.Contains(m.Capabilities, model.CapabilityThinking):
		writeError(w, http.StatusBadRequest, fmt.Sprintf("%q does not support thinking", name))
	case !slices.Contains(m.Capabilities, model.CapabilityCompletion):
		writeError(w, http.StatusBadRequest, fmt.Sprintf("%q does not support %s", name, verb))
	case len(missing) > 0:
		writeError(w, http.StatusBadRequest, model.ParseName(name).String()+" does not support "+strings.Join(missing, "\n"))
	default:
		opts := api.DefaultOptions()
		if err := opts.FromMap(options); err != nil {
			writeError(w, http.StatusInternalServerError, err.Error())
			return false
		}
		return true
	}
	return false
}

// needs is want when the request asks for it.
func needs(asked bool, want model.Capability) []model.Capability {
	if asked {
		return []model.Capability{want}
	}
	return nil
}

// loadOnly is a request without prompt or messages: it loads the model and
// answers one done object (never streamed), as Ollama does.
func (s *Server) loadOnly(w http.ResponseWriter, r *http.Request, key string, keepAlive *api.Duration, resp any) {
	if _, err := s.acquire(r.Context(), key); err != nil {
		return
	}
	s.release(key, keepAlive)
	writeJSON(w, http.StatusOK, resp)
}

// now is a response's created_at: UTC, as Ollama writes it.
func now() time.Time { return time.Now().UTC() }
