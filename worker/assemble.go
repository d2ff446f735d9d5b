package worker

import (
	"bytes"
	"encoding/json"
	"fmt"
)

// assembler turns a streamed answer into the one JSON object Ollama returns
// for the same request with "stream": false: the final (done) chunk with the
// streamed text, thinking and tool calls gathered into it, as Ollama's own
// handlers do. Fields foreman does not know pass through from the final
// chunk untouched.
type assembler struct {
	kind     string // "chat" or "generate"
	content  bytes.Buffer
	thinking bytes.Buffer
	tools    []json.RawMessage
	final    map[string]json.RawMessage
	lines    int
}

type chunkFields struct {
	Response string `json:"response"`
	Thinking string `json:"thinking"`
	Done     bool   `json:"done"`
	Message  *struct {
		Content   string            `json:"content"`
		Thinking  string            `json:"thinking"`
		ToolCalls []json.RawMessage `json:"tool_calls"`
	} `json:"message"`
}

func (a *assembler) add(line []byte) error {
	var c chunkFields
	if err := json.Unmarshal(line, &c); err != nil {
		return fmt.Errorf("chunk %d from target is not JSON: %w", a.lines+1, err)
	}
	a.lines++
	if m := c.Message; m != nil {
		a.content.WriteString(m.Content)
		a.thinking.WriteString(m.Thinking)
		a.tools = append(a.tools, m.ToolCalls...)
	} else {
		a.content.WriteString(c.Response)
		a.thinking.WriteString(c.Thinking)
	}
	if c.Done {
		a.final = nil
		if err := json.Unmarshal(line, &a.final); err != nil {
			return err
		}
	}
	return nil
}

// result returns the assembled object; false if no done chunk was seen.
func (a *assembler) result() ([]byte, bool) {
	if a.final == nil {
		return nil, false
	}
	out := make(map[string]json.RawMessage, len(a.final))
	for k, v := range a.final {
		out[k] = v
	}
	str := func(s string) json.RawMessage { b, _ := json.Marshal(s); return b }
	if a.kind == "chat" {
		var msg map[string]json.RawMessage
		if err := json.Unmarshal(out["message"], &msg); err != nil || msg == nil {
			msg = map[string]json.RawMessage{"role": str("assistant")}
		}
		msg["content"] = str(a.content.String())
		if a.thinking.Len() > 0 {
			msg["thinking"] = str(a.thinking.String())
		}
		if len(a.tools) > 0 {
			msg["tool_calls"], _ = json.Marshal(a.tools)
		}
		out["message"], _ = json.Marshal(msg)
	} else {
		out["response"] = str(a.content.String())
		if a.thinking.Len() > 0 {
			out["thinking"] = str(a.thinking.String())
		}
	}
	b, err := json.Marshal(out)
	return b, err == nil
}
