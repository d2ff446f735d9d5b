package ollamatest

import (
	"fmt"
	"hash/fnv"
	"math"
	"math/rand/v2"
	"net/http"
	"strings"
	"time"

	"github.com/ollama/ollama/api"
	"github.com/ollama/ollama/types/model"
)

// handleEmbed answers POST /api/embed: one L2-normalised float32 vector
// per input, deterministic in model and text. Every model embeds, as a
// llama model does in Ollama.
func (s *Server) handleEmbed(w http.ResponseWriter, r *http.Request) {
	var req api.EmbedRequest
	if !decode(w, r, &req) {
		return
	}
	var inputs []string
	switch v := req.Input.(type) {
	case string:
		inputs = []string{v}
	case []any:
		for _, e := range v {
			str, ok := e.(string)
			if !ok {
				writeError(w, http.StatusBadRequest, "invalid input type")
				return
			}
			inputs = append(inputs, str)
		}
	case nil:
	default:
		writeError(w, http.StatusBadRequest, "invalid input type")
		return
	}
	if !validName(req.Model) { // Ollama v0.17.4 answers 500 here, whatever the input
		n := model.ParseName(req.Model)
		if n.Model == "" {
			n.Model = model.MissingPart
		}
		writeError(w, http.StatusInternalServerError, model.Unqualified(n).Error())
		return
	}
	if len(inputs) == 0 {
		writeJSON(w, http.StatusOK, api.EmbedResponse{Model: req.Model, Embeddings: [][]float32{}})
		return
	}
	m, ok := s.lookup(req.Model)
	if !ok {
		writeError(w, http.StatusNotFound, fmt.Sprintf("model %q not found, try pulling it first", req.Model))
		return
	}
	start := time.Now()
	load, ok := s.runOnce(w, r, m.Name, req.KeepAlive)
	if !ok {
		return
	}
	resp := api.EmbedResponse{Model: req.Model, LoadDuration: load}
	for _, in := range inputs {
		resp.Embeddings = append(resp.Embeddings, embedding(m, in, true))
		resp.PromptEvalCount += 2 + len(strings.Fields(in))
	}
	resp.TotalDuration = time.Since(start)
	writeJSON(w, http.StatusOK, resp)
}

// handleEmbeddings answers the legacy POST /api/embeddings: one vector,
// float64 and not normalised, no durations.
func (s *Server) handleEmbeddings(w http.ResponseWriter, r *http.Request) {
	var req api.EmbeddingRequest
	if !decode(w, r, &req) {
		return
	}
	m, ok := s.lookup(req.Model)
	if !validName(req.Model) || !ok {
		writeError(w, http.StatusNotFound, fmt.Sprintf("model %q not found, try pulling it first", req.Model))
		return
	}
	if req.Prompt == "" {
		writeJSON(w, http.StatusOK, api.EmbeddingResponse{Embedding: []float64{}})
		return
	}
	if _, ok := s.runOnce(w, r, m.Name, req.KeepAlive); !ok {
		return
	}
	v := embedding(m, req.Prompt, false)
	out := api.EmbeddingResponse{Embedding: make([]float64, len(v))}
	for i, f := range v {
		out.Embedding[i] = float64(f)
	}
	writeJSON(w, http.StatusOK, out)
}

// runOnce is the model run of an answer that is never streamed: load,
// gate, and the request's fault (a runner crash is a 500, a cut closes the
// connection). It reports whether to answer.
func (s *Server) runOnce(w http.ResponseWriter, r *http.Request, key string, keepAlive *api.Duration) (time.Duration, bool) {
	load, err := s.acquire(r.Context(), key)
	if err != nil {
		return 0, false
	}
	defer s.release(key, keepAlive)
	if !s.passGate(r.Context(), key) {
		return 0, false
	}
	if f, ok := faultOf(r); ok {
		switch f.kind {
		case faultErrorAfter:
			writeError(w, http.StatusInternalServerError, f.message)
			return 0, false
		case faultCutAfter:
			cut(w, false)
			return 0, false
		}
	}
	return load, true
}

// embedding is a deterministic vector for text; normalised to unit length
// or scaled like the legacy endpoint's raw values.
func embedding(m Model, text string, normalised bool) []float32 {
	h := fnv.New64a()
	h.Write([]byte(m.Name + "\x00" + text))
	rng := rand.New(rand.NewPCG(h.Sum64(), 2))
	v := make([]float32, m.EmbeddingLength)
	var sum float64
	for i := range v {
		f := rng.NormFloat64()
		v[i] = float32(f)
		sum += f * f
	}
	scale := 1 / math.Sqrt(sum)
	if !normalised {
		scale *= 8
	}
	for i := range v {
		v[i] = float32(float64(v[i]) * scale)
	}
	return v
}
