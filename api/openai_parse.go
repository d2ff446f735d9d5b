package api

import (
	"bytes"
	"encoding/json"
	"fmt"
	"net/http"
	"strings"

	ollama "github.com/ollama/ollama/api"
	ollamaopenai "github.com/ollama/ollama/openai"
	ollamamodel "github.com/ollama/ollama/types/model"

	"github.com/foreman-dev/foreman/eventlog"
)

// openAIError is a refusal on a /v1 route (or of an OpenAI kind), in
// OpenAI's shape with the status, type and content type Ollama's /v1
// would answer: its request checks (decoding, converting) are 400
// invalid_request_error in "application/json; charset=utf-8"; what its
// handlers refuse (no model, unknown model, a capability) is
// "api_error" in "application/json".
type openAIError struct {
	status int
	msg    string
	typ    string // "" : by status, as Ollama's openai.NewError
	code   string // "" : null
	gin    bool   // answered by Ollama's middleware: the charset is set
}

func (e *openAIError) Error() string { return e.msg }

// badOpenAIRequest is what Ollama's /v1 middleware answers to a body it
// cannot decode or convert.
func badOpenAIRequest(msg string) *openAIError {
	return &openAIError{status: http.StatusBadRequest, msg: msg, typ: "invalid_request_error", gin: true}
}

// openAIShape checks an OpenAI-kind body as Ollama's /v1 middleware and
// handlers do before they run anything (decoding with Ollama's own types,
// then its conversion to the native request), and returns what the
// request asks of its model. The body itself is stored and relayed as it
// came; the conversion is only a check.
func openAIShape(kind eventlog.Kind, body []byte) (shape, error) {
	sh := shape{kind: kind}
	if len(bytes.TrimSpace(body)) == 0 {
		return sh, badOpenAIRequest("EOF")
	}
	dec := json.NewDecoder(bytes.NewReader(body))
	switch kind {
	case eventlog.KindOpenAIChat:
		var req ollamaopenai.ChatCompletionRequest
		if err := dec.Decode(&req); err != nil {
			return sh, badOpenAIRequest(err.Error())
		}
		if len(req.Messages) == 0 {
			return sh, badOpenAIRequest("[] is too short - 'messages'")
		}
		chat, err := ollamaopenai.FromChatRequest(req)
		if err != nil {
			return sh, badOpenAIRequest(err.Error())
		}
		sh = chatShape(kind, chat)
	case eventlog.KindOpenAIResponse:
		var req ollamaopenai.ResponsesRequest
		if err := dec.Decode(&req); err != nil {
			return sh, badOpenAIRequest(err.Error())
		}
		chat, err := ollamaopenai.FromResponsesRequest(req)
		if err != nil {
			return sh, badOpenAIRequest(err.Error())
		}
		sh = chatShape(kind, chat)
	case eventlog.KindOpenAICompletion:
		var req ollamaopenai.CompletionRequest
		if err := dec.Decode(&req); err != nil {
			return sh, badOpenAIRequest(err.Error())
		}
		gen, err := ollamaopenai.FromCompleteRequest(req)
		if err != nil {
			return sh, badOpenAIRequest(err.Error())
		}
		sh.model, sh.empty, sh.think, sh.suffix, sh.opts = gen.Model, gen.Prompt == "", gen.Think, gen.Suffix != "", gen.Options
		if !ollamamodel.ParseName(sh.model).IsValid() { // Ollama's generate: 404
			return sh, &openAIError{status: http.StatusNotFound, msg: fmt.Sprintf("model '%s' not found", sh.model), typ: "api_error"}
		}
		return sh, nil
	case eventlog.KindOpenAIEmbedding:
		var req ollamaopenai.EmbedRequest
		if err := dec.Decode(&req); err != nil {
			return sh, badOpenAIRequest(err.Error())
		}
		if f := req.EncodingFormat; f != "" && !strings.EqualFold(f, "float") && !strings.EqualFold(f, "base64") {
			return sh, badOpenAIRequest(fmt.Sprintf("Invalid value for 'encoding_format' = %s. Supported values: ['float', 'base64'].", f))
		}
		switch v := req.Input.(type) {
		case nil:
			return sh, badOpenAIRequest("invalid input")
		case []any:
			if len(v) == 0 {
				return sh, badOpenAIRequest("invalid input")
			}
		}
		sh.model = req.Model
		if !ollamamodel.ParseName(sh.model).IsValid() {
			return sh, &openAIError{status: http.StatusBadRequest, msg: "model is required", typ: "api_error"}
		}
		return sh, nil
	default:
		return sh, fmt.Errorf("not an OpenAI kind: %q", kind)
	}
	if !ollamamodel.ParseName(sh.model).IsValid() { // Ollama's chat: 400
		return sh, &openAIError{status: http.StatusBadRequest, msg: "model is required", typ: "api_error"}
	}
	return sh, nil
}

// chatShape is what a chat request converted by Ollama asks of its model.
func chatShape(kind eventlog.Kind, r *ollama.ChatRequest) shape {
	return shape{kind: kind, model: r.Model, empty: len(r.Messages) == 0, think: r.Think, tools: len(r.Tools) > 0, opts: r.Options}
}

// openAIKind reports whether kind is one of the /v1 kinds.
func openAIKind(kind eventlog.Kind) bool {
	switch kind {
	case eventlog.KindOpenAIChat, eventlog.KindOpenAICompletion, eventlog.KindOpenAIResponse, eventlog.KindOpenAIEmbedding:
		return true
	}
	return false
}
