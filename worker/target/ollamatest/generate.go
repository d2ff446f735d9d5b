package ollamatest

import (
	"fmt"
	"net/http"

	"github.com/ollama/ollama/api"
	"github.com/ollama/ollama/types/model"
)

// handleGenerate answers POST /api/generate. Unlike chat, a missing or
// invalid model name is a 404 here, as in Ollama.
func (s *Server) handleGenerate(w http.ResponseWriter, r *http.Request) {
	var req api.GenerateRequest
	if !decode(w, r, &req) {
		return
	}
	m, ok := s.lookup(req.Model)
	if !validName(req.Model) || !ok {
		writeError(w, http.StatusNotFound, fmt.Sprintf("model '%s' not found", req.Model))
		return
	}
	done := func(reason string) api.GenerateResponse {
		return api.GenerateResponse{Model: req.Model, CreatedAt: now(), Done: true, DoneReason: reason}
	}
	if req.Prompt == "" && req.KeepAlive != nil && req.KeepAlive.Duration == 0 {
		s.unloadNow(m.Name)
		writeJSON(w, http.StatusOK, done("unload"))
		return
	}
	if !s.checkModel(w, m, req.Model, "generate", req.Think, needs(req.Suffix != "", model.CapabilityInsert), req.Options) {
		return
	}
	if req.Prompt == "" {
		s.loadOnly(w, r, m.Name, req.KeepAlive, done("load"))
		return
	}
	ans := makeAnswer(req.Model, req.Prompt, req.Options)
	if req.Raw {
		ans.promptEval = 2 + len(splitWords(req.Prompt))
	}
	x := &run{
		s: s, w: w, r: r, model: req.Model, key: m.Name,
		stream: req.Stream == nil || *req.Stream, keepAlive: req.KeepAlive, ans: ans,
		chunk: func(p string) any {
			return api.GenerateResponse{Model: req.Model, CreatedAt: now(), Response: p}
		},
		final: func(mt api.Metrics, reason, text string) any {
			resp := done(reason)
			resp.Response = text
			resp.Metrics = mt
			if !req.Raw {
				// context: the prompt's and the answer's token ids.
				resp.Context = tokenIDs(m.Name+"\x00"+req.Prompt, ans.promptEval+len(ans.pieces))
			}
			return resp
		},
	}
	x.serve()
}
