package ollamatest

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"strings"
	"time"

	"github.com/ollama/ollama/api"
	"github.com/ollama/ollama/openai"
)

// The /v1 routes are Ollama's OpenAI-compatible API, built as Ollama
// builds it (middleware/openai.go, v0.17.4): the request is decoded into
// Ollama's own openai types and converted to the native request, the
// fake's native handler runs, and each JSON object it writes is turned
// into its OpenAI shape by Ollama's own openai package. So the fake's /v1
// answers, errors included, are the real ones over the fake's native
// answers (testdata/samples/v1-*, captured with testdata/probe-v1.sh).

func openAIError(msg string) any {
	return map[string]any{"error": map[string]any{"message": msg, "type": "api_error", "param": nil, "code": nil}}
}

func writeOpenAIJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_, _ = w.Write(append(mustJSON(v), '\n'))
}

func writeOpenAIError(w http.ResponseWriter, status int, msg string) {
	writeOpenAIJSON(w, status, openAIError(msg))
}

// abortOpenAI answers as gin's AbortWithStatusJSON in Ollama's middleware:
// charset set, no trailing newline.
func abortOpenAI(w http.ResponseWriter, status int, msg string) {
	writeJSON(w, status, openai.NewError(status, msg))
}

// convert is the part of a /v1 route that differs: it reads the OpenAI
// request and returns the native one, or answers itself and returns nil.
type convert func(w http.ResponseWriter, body []byte) (native any, out *openAIWriter)

// openAIRoute runs a /v1 route: convert, then the native handler h behind
// the writer that turns its answer into OpenAI's shape.
func (s *Server) openAIRoute(conv convert, h http.HandlerFunc) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		native, ow := conv(w, body)
		if ow == nil {
			return
		}
		r.Body = io.NopCloser(bytes.NewReader(append(mustJSON(native), '\n')))
		ow.w = w
		h(ow, r)
	}
}

// decodeOpenAI decodes as gin's ShouldBindJSON; a failure is answered.
func decodeOpenAI(w http.ResponseWriter, body []byte, v any) bool {
	if err := json.NewDecoder(bytes.NewReader(body)).Decode(v); err != nil {
		abortOpenAI(w, http.StatusBadRequest, err.Error())
		return false
	}
	return true
}

func (s *Server) handleOpenAIChat(w http.ResponseWriter, r *http.Request) {
	s.openAIRoute(func(w http.ResponseWriter, body []byte) (any, *openAIWriter) {
		var req openai.ChatCompletionRequest
		if !decodeOpenAI(w, body, &req) {
			return nil, nil
		}
		if len(req.Messages) == 0 {
			abortOpenAI(w, http.StatusBadRequest, "[] is too short - 'messages'")
			return nil, nil
		}
		chat, err := openai.FromChatRequest(req)
		if err != nil {
			abortOpenAI(w, http.StatusBadRequest, err.Error())
			return nil, nil
		}
		id := fmt.Sprintf("chatcmpl-%d", rand.IntN(999))
		var toolCallSent bool
		return chat, &openAIWriter{stream: req.Stream, convert: func(line []byte) ([][]byte, error) {
			var cr api.ChatResponse
			if err := json.Unmarshal(line, &cr); err != nil {
				return nil, err
			}
			if !req.Stream {
				return [][]byte{mustJSON(openai.ToChatCompletion(id, cr))}, nil
			}
			c := openai.ToChunk(id, cr, toolCallSent)
			if len(c.Choices) > 0 && len(c.Choices[0].Delta.ToolCalls) > 0 {
				toolCallSent = true
			}
			out := [][]byte{sse("", c)}
			if cr.Done {
				if req.StreamOptions != nil && req.StreamOptions.IncludeUsage {
					u := openai.ToUsage(cr)
					c.Usage, c.Choices = &u, []openai.ChunkChoice{}
					out = append(out, sse("", c))
				}
				out = append(out, []byte("data: [DONE]\n\n"))
			}
			return out, nil
		}}
	}, s.handleChat)(w, r)
}

func (s *Server) handleOpenAICompletions(w http.ResponseWriter, r *http.Request) {
	s.openAIRoute(func(w http.ResponseWriter, body []byte) (any, *openAIWriter) {
		var req openai.CompletionRequest
		if !decodeOpenAI(w, body, &req) {
			return nil, nil
		}
		gen, err := openai.FromCompleteRequest(req)
		if err != nil {
			abortOpenAI(w, http.StatusBadRequest, err.Error())
			return nil, nil
		}
		id := fmt.Sprintf("cmpl-%d", rand.IntN(999))
		usage := req.StreamOptions != nil && req.StreamOptions.IncludeUsage
		return gen, &openAIWriter{stream: req.Stream, convert: func(line []byte) ([][]byte, error) {
			var gr api.GenerateResponse
			if err := json.Unmarshal(line, &gr); err != nil {
				return nil, err
			}
			if !req.Stream {
				return [][]byte{mustJSON(openai.ToCompletion(id, gr))}, nil
			}
			c := openai.ToCompleteChunk(id, gr)
			if usage {
				c.Usage = &openai.Usage{}
			}
			out := [][]byte{sse("", c)}
			if gr.Done {
				if usage {
					u := openai.ToUsageGenerate(gr)
					c.Usage, c.Choices = &u, []openai.CompleteChunkChoice{}
					out = append(out, sse("", c))
				}
				out = append(out, []byte("data: [DONE]\n\n"))
			}
			return out, nil
		}}
	}, s.handleGenerate)(w, r)
}

func (s *Server) handleOpenAIResponses(w http.ResponseWriter, r *http.Request) {
	s.openAIRoute(func(w http.ResponseWriter, body []byte) (any, *openAIWriter) {
		var req openai.ResponsesRequest
		if !decodeOpenAI(w, body, &req) {
			return nil, nil
		}
		chat, err := openai.FromResponsesRequest(req)
		if err != nil {
			abortOpenAI(w, http.StatusBadRequest, err.Error())
			return nil, nil
		}
		stream := req.Stream != nil && *req.Stream
		chat.Stream = &stream
		respID, itemID := fmt.Sprintf("resp_%d", rand.IntN(999999)), fmt.Sprintf("msg_%d", rand.IntN(999999))
		conv := openai.NewResponsesStreamConverter(respID, itemID, req.Model, req)
		return chat, &openAIWriter{stream: stream, convert: func(line []byte) ([][]byte, error) {
			var cr api.ChatResponse
			if err := json.Unmarshal(line, &cr); err != nil {
				return nil, err
			}
			if !stream {
				resp := openai.ToResponse(req.Model, respID, itemID, cr, req)
				done := time.Now().Unix()
				resp.CompletedAt = &done
				return [][]byte{mustJSON(resp)}, nil
			}
			var out [][]byte
			for _, ev := range conv.Process(cr) {
				out = append(out, sse(ev.Event, ev.Data))
			}
			return out, nil
		}}
	}, s.handleChat)(w, r)
}

func (s *Server) handleOpenAIEmbeddings(w http.ResponseWriter, r *http.Request) {
	s.openAIRoute(func(w http.ResponseWriter, body []byte) (any, *openAIWriter) {
		var req openai.EmbedRequest
		if !decodeOpenAI(w, body, &req) {
			return nil, nil
		}
		if f := req.EncodingFormat; f != "" && !strings.EqualFold(f, "float") && !strings.EqualFold(f, "base64") {
			abortOpenAI(w, http.StatusBadRequest, fmt.Sprintf("Invalid value for 'encoding_format' = %s. Supported values: ['float', 'base64'].", f))
			return nil, nil
		}
		if req.Input == "" {
			req.Input = []string{""}
		}
		if v, ok := req.Input.([]any); req.Input == nil || ok && len(v) == 0 {
			abortOpenAI(w, http.StatusBadRequest, "invalid input")
			return nil, nil
		}
		return api.EmbedRequest{Model: req.Model, Input: req.Input, Dimensions: req.Dimensions}, &openAIWriter{convert: func(line []byte) ([][]byte, error) {
			var er api.EmbedResponse
			if err := json.Unmarshal(line, &er); err != nil {
				return nil, err
			}
			return [][]byte{mustJSON(openai.ToEmbeddingList(req.Model, er, req.EncodingFormat))}, nil
		}}
	}, s.handleEmbed)(w, r)
}

// handleOpenAIModels answers GET /v1/models from the native list.
func (s *Server) handleOpenAIModels(w http.ResponseWriter, r *http.Request) {
	ow := &openAIWriter{w: w, convert: func(line []byte) ([][]byte, error) {
		var lr api.ListResponse
		if err := json.Unmarshal(line, &lr); err != nil {
			return nil, err
		}
		return [][]byte{mustJSON(openai.ToListCompletion(lr))}, nil
	}}
	s.handleTags(ow, r)
}

// handleOpenAIModel answers GET /v1/models/{model} from the native show.
func (s *Server) handleOpenAIModel(w http.ResponseWriter, r *http.Request) {
	name := strings.TrimPrefix(r.URL.Path, "/v1/models/")
	r = r.Clone(r.Context())
	r.Method = http.MethodPost
	r.Body = io.NopCloser(bytes.NewReader(mustJSON(api.ShowRequest{Name: name})))
	ow := &openAIWriter{w: w, convert: func(line []byte) ([][]byte, error) {
		var sr api.ShowResponse
		if err := json.Unmarshal(line, &sr); err != nil {
			return nil, err
		}
		return [][]byte{mustJSON(openai.ToModel(sr, name))}, nil
	}}
	s.handleShow(ow, r)
}

// sse is one Server-Sent Events frame.
func sse(event string, v any) []byte {
	var b []byte
	if event != "" {
		b = fmt.Appendf(b, "event: %s\n", event)
	}
	return append(append(append(b, "data: "...), mustJSON(v)...), '\n', '\n')
}

// openAIWriter is what Ollama's /v1 middleware puts in front of a native
// handler: each JSON object the handler writes (one per Write: a whole
// answer, or one NDJSON line) is converted; an error answer (any status
// but 200) becomes {"error":{"message",...,"type":"api_error"}} with the
// handler's status. Like gin's writer, the status line waits for the
// first Write, so that the content type can still change.
type openAIWriter struct {
	w       http.ResponseWriter
	stream  bool
	convert func(line []byte) ([][]byte, error)
	status  int
	wrote   bool
}

func (o *openAIWriter) Header() http.Header { return o.w.Header() }

func (o *openAIWriter) WriteHeader(status int) {
	if o.status == 0 {
		o.status = status
	}
}

func (o *openAIWriter) Write(data []byte) (int, error) {
	status := o.status
	if status == 0 {
		status = http.StatusOK
	}
	var out [][]byte
	if status != http.StatusOK {
		var e struct {
			Error string `json:"error"`
		}
		if err := json.Unmarshal(data, &e); err != nil {
			return 0, err
		}
		out = [][]byte{append(mustJSON(openai.NewError(http.StatusInternalServerError, e.Error)), '\n')}
		o.Header().Set("Content-Type", "application/json")
	} else {
		var err error
		if out, err = o.convert(bytes.TrimSpace(data)); err != nil {
			return 0, err
		}
		if o.stream {
			o.Header().Set("Content-Type", "text/event-stream")
		} else {
			o.Header().Set("Content-Type", "application/json")
			for i := range out {
				out[i] = append(out[i], '\n') // json.Encoder's
			}
		}
	}
	if !o.wrote {
		o.Header().Del("Content-Length")
		o.w.WriteHeader(status)
		o.wrote = true
	}
	for _, b := range out {
		if _, err := o.w.Write(b); err != nil {
			return 0, err
		}
	}
	return len(data), nil
}

// Flush and Unwrap let the native handler flush and cut the connection
// through the writer (http.ResponseController).
func (o *openAIWriter) Flush() {
	if o.wrote { // before the first object, the headers are not final
		_ = http.NewResponseController(o.w).Flush()
	}
}

func (o *openAIWriter) Unwrap() http.ResponseWriter { return o.w }
