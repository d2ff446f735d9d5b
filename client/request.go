package client

import (
	"encoding/json"
	"errors"
	"fmt"

	ollama "github.com/ollama/ollama/api"
)

// Request is a job to submit: exactly one of Chat, Generate or Body.
type Request struct {
	Chat     *ollama.ChatRequest
	Generate *ollama.GenerateRequest
	// Body is a whole POST /jobs body as JSON (an Ollama request, with
	// foreman's "kind", "priority" or "state_webhook_url" if wanted), for
	// callers that hold the request as JSON already (foreman submit --file).
	Body json.RawMessage
	// Kind, when set, is sent as foreman's "kind" ("chat" or "generate"),
	// overriding the one Chat, Generate or Body imply.
	Kind string
	// Priority: higher runs first; 0 keeps Body's own or the default.
	Priority int
	// IdempotencyKey, when set, makes a resubmission with the same key and
	// body return the first job instead of a new one.
	IdempotencyKey string
}

// ErrEmptyRequest: a Request with neither Chat, Generate nor Body.
var ErrEmptyRequest = errors.New("client: request has no Chat, Generate or Body")

// body builds the POST /jobs body; webhook, when not empty, is set as
// state_webhook_url (overriding one in Body).
func (r Request) body(webhook string) ([]byte, error) {
	var m map[string]json.RawMessage
	var src any
	kind := ""
	switch {
	case r.Chat != nil:
		src, kind = r.Chat, "chat"
	case r.Generate != nil:
		src, kind = r.Generate, "generate"
	case len(r.Body) > 0:
		src = r.Body
	default:
		return nil, ErrEmptyRequest
	}
	raw, err := json.Marshal(src)
	if err != nil {
		return nil, fmt.Errorf("encode request: %w", err)
	}
	if err := json.Unmarshal(raw, &m); err != nil || m == nil {
		return nil, fmt.Errorf("request body must be a JSON object: %v", err)
	}
	set := func(k string, v any) { m[k], _ = json.Marshal(v) }
	if r.Kind != "" {
		kind = r.Kind
	}
	if kind != "" {
		set("kind", kind)
	}
	if r.Priority != 0 {
		set("priority", r.Priority)
	}
	if webhook != "" {
		set("state_webhook_url", webhook)
	}
	return json.Marshal(m)
}
