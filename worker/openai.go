package worker

import (
	"bytes"
	"encoding/json"
	"fmt"
	"strings"

	"github.com/foreman-dev/foreman/eventlog"
)

// The OpenAI kinds relay the caller's /v1 body, as stored, to the target's
// own /v1 route (issue 13, docs/api.md "OpenAI"): the worker neither sets "stream" nor adds
// options, and the answer is the target's.

// OpenAI reports whether kind is one of the /v1 kinds.
func OpenAI(kind eventlog.Kind) bool {
	_, ok := openAIPaths[kind]
	return ok
}

var openAIPaths = map[eventlog.Kind]string{
	eventlog.KindOpenAIChat:       "/v1/chat/completions",
	eventlog.KindOpenAICompletion: "/v1/completions",
	eventlog.KindOpenAIResponse:   "/v1/responses",
	eventlog.KindOpenAIEmbedding:  "/v1/embeddings",
}

// openAIStreams reports whether the target streams its answer to body:
// /v1 streams only when asked ("stream": true), and embeddings never.
func openAIStreams(kind eventlog.Kind, body []byte) bool {
	if kind == eventlog.KindOpenAIEmbedding {
		return false
	}
	var r struct {
		Stream bool `json:"stream"`
	}
	_ = json.Unmarshal(body, &r)
	return r.Stream
}

// sseAssembler turns a /v1 Server-Sent Events answer into the one JSON
// object the same request with "stream": false returns, so that the
// job's result reads the same either way: for chat and completions the
// text concatenated, finish_reason and usage from the last frames; for
// responses the response of the response.completed event.
type sseAssembler struct {
	kind     eventlog.Kind
	first    map[string]json.RawMessage // the first chunk: id, created, model
	content  strings.Builder
	thinking strings.Builder
	tools    []json.RawMessage
	finish   json.RawMessage
	usage    json.RawMessage
	response json.RawMessage // /v1/responses: the completed response
	done     bool            // "data: [DONE]", or the response's last event
	frames   int
	// died: the last chunk names no model. Ollama's /v1 turns the
	// {"error"} line of a runner that died mid-answer into such a chunk,
	// then ends the stream.
	died bool
}

// openAIChunk is what the assembler reads of a chat or completion chunk.
type openAIChunk struct {
	Choices []struct {
		Text  string `json:"text"`
		Delta struct {
			Content   string            `json:"content"`
			Reasoning string            `json:"reasoning"`
			ToolCalls []json.RawMessage `json:"tool_calls"`
		} `json:"delta"`
		FinishReason json.RawMessage `json:"finish_reason"`
	} `json:"choices"`
	Usage json.RawMessage `json:"usage"`
	Model string          `json:"model"`
}

// data returns the data of an SSE frame (its "data:" lines joined) and
// its event name.
func sseData(frame []byte) (event string, data []byte) {
	for line := range bytes.Lines(frame) {
		line = bytes.TrimRight(line, "\r\n")
		switch {
		case bytes.HasPrefix(line, []byte("event:")):
			event = string(bytes.TrimSpace(line[len("event:"):]))
		case bytes.HasPrefix(line, []byte("data:")):
			if data != nil {
				data = append(data, '\n')
			}
			data = append(data, bytes.TrimPrefix(line[len("data:"):], []byte(" "))...)
		}
	}
	return event, data
}

func (a *sseAssembler) add(frame []byte) error {
	a.frames++
	event, data := sseData(frame)
	if a.done {
		return nil
	}
	if string(data) == "[DONE]" {
		a.done = true
		return nil
	}
	if len(data) == 0 {
		return nil // a comment or keep-alive
	}
	if a.kind == eventlog.KindOpenAIResponse {
		switch event {
		case "response.completed", "response.incomplete", "response.failed":
			var ev struct {
				Response json.RawMessage `json:"response"`
			}
			if err := json.Unmarshal(data, &ev); err != nil {
				return fmt.Errorf("frame %d from target is not JSON: %w", a.frames, err)
			}
			a.response, a.done = ev.Response, true
		}
		return nil
	}
	var c openAIChunk
	if err := json.Unmarshal(data, &c); err != nil {
		return fmt.Errorf("frame %d from target is not JSON: %w", a.frames, err)
	}
	a.died = c.Model == ""
	if a.first == nil {
		if err := json.Unmarshal(data, &a.first); err != nil {
			return err
		}
	}
	for _, ch := range c.Choices {
		a.content.WriteString(ch.Text)
		a.content.WriteString(ch.Delta.Content)
		a.thinking.WriteString(ch.Delta.Reasoning)
		a.tools = append(a.tools, ch.Delta.ToolCalls...)
		if len(ch.FinishReason) > 0 && string(ch.FinishReason) != "null" {
			a.finish = ch.FinishReason
		}
	}
	if len(c.Usage) > 0 && string(c.Usage) != "null" {
		a.usage = c.Usage
	}
	return nil
}

// result returns the assembled object; false if the stream did not end
// ([DONE], or the response's completed event), as when the target's
// runner died mid-answer.
func (a *sseAssembler) result() ([]byte, bool) {
	if !a.done {
		return nil, false
	}
	if a.kind == eventlog.KindOpenAIResponse {
		return a.response, len(a.response) > 0
	}
	if a.first == nil {
		return nil, false
	}
	raw := func(v any) json.RawMessage { b, _ := json.Marshal(v); return b }
	out := make(map[string]json.RawMessage, len(a.first)+1)
	for k, v := range a.first {
		out[k] = v
	}
	finish := a.finish
	if finish == nil {
		finish = json.RawMessage("null")
	}
	if a.kind == eventlog.KindOpenAIChat {
		msg := map[string]any{"role": "assistant", "content": a.content.String()}
		if a.thinking.Len() > 0 {
			msg["reasoning"] = a.thinking.String()
		}
		if len(a.tools) > 0 {
			msg["tool_calls"] = a.tools
		}
		out["object"] = raw("chat.completion")
		out["choices"] = raw([]map[string]any{{"index": 0, "message": msg, "finish_reason": finish}})
	} else {
		out["object"] = raw("text_completion")
		out["choices"] = raw([]map[string]any{{"text": a.content.String(), "index": 0, "finish_reason": finish}})
	}
	delete(out, "usage")
	if a.usage != nil {
		out["usage"] = a.usage
	}
	b, err := json.Marshal(out)
	return b, err == nil
}

// bodyAssembler keeps a whole non-streamed /v1 answer as it came.
type bodyAssembler struct {
	body []byte
}

func (a *bodyAssembler) add(line []byte) error {
	if a.body != nil {
		a.body = append(a.body, '\n')
	}
	a.body = append(a.body, line...)
	return nil
}

func (a *bodyAssembler) result() ([]byte, bool) {
	return a.body, json.Valid(a.body)
}

// openAIError is an error body in OpenAI's shape, as Ollama's /v1 routes
// write theirs.
func openAIError(msg string) []byte {
	type fields struct {
		Message string  `json:"message"`
		Type    string  `json:"type"`
		Param   *string `json:"param"`
		Code    *string `json:"code"`
	}
	b, _ := json.Marshal(struct {
		Error fields `json:"error"`
	}{fields{Message: msg, Type: "api_error"}})
	return b
}
