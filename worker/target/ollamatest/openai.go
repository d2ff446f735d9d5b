package ollamatest

import (
	"fmt"
	"net/http"
	"strings"
	"sync/atomic"
	"time"

	"github.com/ollama/ollama/api"
)

// The /v1 routes are Ollama's OpenAI-compatible API: the same models and
// answers in OpenAI's shapes, with application/json (no charset) and
// errors as {"error":{"message","type","param","code"}}.

var completionID atomic.Int64

func openAIError(msg string) any {
	return map[string]any{"error": map[string]any{"message": msg, "type": "api_error", "param": nil, "code": nil}}
}

func writeOpenAIJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_, _ = w.Write(mustJSON(v))
}

func writeOpenAIError(w http.ResponseWriter, status int, msg string) {
	writeOpenAIJSON(w, status, openAIError(msg))
}

type openAIChatRequest struct {
	Model       string        `json:"model"`
	Messages    []api.Message `json:"messages"`
	Stream      bool          `json:"stream"`
	MaxTokens   *int          `json:"max_tokens"`
	Seed        *int          `json:"seed"`
	Temperature *float64      `json:"temperature"`
}

type openAIChoice struct {
	Index        int          `json:"index"`
	Message      *api.Message `json:"message,omitempty"`
	Delta        *api.Message `json:"delta,omitempty"`
	FinishReason *string      `json:"finish_reason"`
}

type openAIUsage struct {
	PromptTokens     int `json:"prompt_tokens"`
	CompletionTokens int `json:"completion_tokens"`
	TotalTokens      int `json:"total_tokens"`
}

type openAICompletion struct {
	ID                string         `json:"id"`
	Object            string         `json:"object"`
	Created           int64          `json:"created"`
	Model             string         `json:"model"`
	SystemFingerprint string         `json:"system_fingerprint"`
	Choices           []openAIChoice `json:"choices"`
	Usage             *openAIUsage   `json:"usage,omitempty"`
}

// handleOpenAIChat answers POST /v1/chat/completions.
func (s *Server) handleOpenAIChat(w http.ResponseWriter, r *http.Request) {
	var req openAIChatRequest
	if err := decodeBody(r, &req); err != nil {
		writeOpenAIError(w, http.StatusBadRequest, err.Error())
		return
	}
	m, ok := s.lookup(req.Model)
	if !validName(req.Model) || !ok {
		writeOpenAIError(w, http.StatusNotFound, fmt.Sprintf("model '%s' not found", req.Model))
		return
	}
	if m.Embedding {
		writeOpenAIError(w, http.StatusBadRequest, fmt.Sprintf("%q does not support chat", req.Model))
		return
	}
	options := map[string]any{} // as decoded from JSON: numbers are float64
	if req.MaxTokens != nil {
		options["num_predict"] = float64(*req.MaxTokens)
	}
	if req.Seed != nil {
		options["seed"] = float64(*req.Seed)
	}
	id := fmt.Sprintf("chatcmpl-%d", completionID.Add(1))
	created := time.Now().Unix()
	base := openAICompletion{ID: id, Object: "chat.completion", Created: created, Model: req.Model, SystemFingerprint: "fp_ollama"}
	x := &run{
		s: s, w: w, r: r, model: req.Model, key: m.Name, stream: req.Stream, openai: true,
		ans: makeAnswer(req.Model, chatPrompt(req.Messages), options),
		chunk: func(p string) any {
			c := base
			c.Object = "chat.completion.chunk"
			c.Choices = []openAIChoice{{Delta: &api.Message{Role: "assistant", Content: p}}}
			return c
		},
		final: func(mt api.Metrics, reason, text string) any {
			c := base
			msg := &api.Message{Role: "assistant", Content: text}
			if req.Stream {
				c.Object = "chat.completion.chunk"
				c.Choices = []openAIChoice{{Delta: msg, FinishReason: &reason}}
				return c
			}
			c.Choices = []openAIChoice{{Message: msg, FinishReason: &reason}}
			c.Usage = &openAIUsage{PromptTokens: mt.PromptEvalCount, CompletionTokens: mt.EvalCount, TotalTokens: mt.PromptEvalCount + mt.EvalCount}
			return c
		},
	}
	x.serve()
}

// handleOpenAIEmbeddings answers POST /v1/embeddings.
func (s *Server) handleOpenAIEmbeddings(w http.ResponseWriter, r *http.Request) {
	var req struct {
		Model string `json:"model"`
		Input any    `json:"input"`
	}
	if err := decodeBody(r, &req); err != nil {
		writeOpenAIError(w, http.StatusBadRequest, err.Error())
		return
	}
	m, ok := s.lookup(req.Model)
	if !validName(req.Model) || !ok {
		writeOpenAIError(w, http.StatusNotFound, fmt.Sprintf("model %q not found, try pulling it first", req.Model))
		return
	}
	var inputs []string
	switch v := req.Input.(type) {
	case string:
		inputs = []string{v}
	case []any:
		for _, e := range v {
			if str, ok := e.(string); ok {
				inputs = append(inputs, str)
			}
		}
	}
	if _, ok := s.runOnce(w, r, m.Name, nil); !ok {
		return
	}
	type datum struct {
		Object    string    `json:"object"`
		Embedding []float32 `json:"embedding"`
		Index     int       `json:"index"`
	}
	data := []datum{}
	tokens := 0
	for i, in := range inputs {
		data = append(data, datum{Object: "embedding", Embedding: embedding(m, in, true), Index: i})
		tokens += 2 + len(strings.Fields(in))
	}
	writeOpenAIJSON(w, http.StatusOK, map[string]any{
		"object": "list", "data": data, "model": req.Model,
		"usage": map[string]int{"prompt_tokens": tokens, "total_tokens": tokens},
	})
}

// handleOpenAIModels answers GET /v1/models.
func (s *Server) handleOpenAIModels(w http.ResponseWriter, r *http.Request) {
	type entry struct {
		ID      string `json:"id"`
		Object  string `json:"object"`
		Created int64  `json:"created"`
		OwnedBy string `json:"owned_by"`
	}
	s.mu.Lock()
	data := make([]entry, 0, len(s.order))
	for _, key := range s.order {
		m := s.models[key]
		data = append(data, entry{ID: m.Name, Object: "model", Created: m.ModifiedAt.Unix(), OwnedBy: "library"})
	}
	s.mu.Unlock()
	writeOpenAIJSON(w, http.StatusOK, map[string]any{"object": "list", "data": data})
}
