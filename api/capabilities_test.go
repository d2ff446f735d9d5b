package api

import (
	"net/http"
	"strings"
	"testing"

	ollama "github.com/ollama/ollama/api"
	ollamamodel "github.com/ollama/ollama/types/model"
)

func capsOf(cs ...ollamamodel.Capability) ollama.ShowResponse {
	return ollama.ShowResponse{Capabilities: cs}
}

// What the model cannot do is refused at submission, on every route, with
// Ollama's own status and message (as the kit's real server answers), and
// nothing is queued; before, the job waited in the queue to fail.
func TestSubmissionChecksCapabilities(t *testing.T) {
	inv := &fakeInventory{models: map[string]bool{"tiny-a": true, "tiny-embed": true, "smart": true, "cloud": true}, shows: map[string]ollama.ShowResponse{
		"tiny-embed": capsOf(ollamamodel.CapabilityEmbedding),
		"smart":      capsOf("completion", "tools", "thinking", "insert"),
		"cloud":      {RemoteHost: "https://ollama.com:443"},
	}}
	b := setupJobs(t, func(c *Config) { c.Inventory = inv })
	const hi = `"messages":[{"role":"user","content":"hi"}]`
	tools := `"tools":[{"type":"function","function":{"name":"f"}}]`
	for _, tc := range []struct {
		name, kind, body string
		msg              string // "": accepted
	}{
		{"chat on embed", "chat", `{"model":"tiny-embed",` + hi + `}`, `"tiny-embed" does not support chat`},
		{"load on embed", "chat", `{"model":"tiny-embed"}`, `"tiny-embed" does not support chat`},
		{"generate on embed", "generate", `{"model":"tiny-embed","prompt":"hi"}`, `"tiny-embed" does not support generate`},
		{"think first", "chat", `{"model":"tiny-embed",` + hi + `,"think":true}`, `"tiny-embed" does not support thinking`},
		{"think level in chat", "chat", `{"model":"tiny-a",` + hi + `,"think":"high"}`, `"tiny-a" does not support thinking`},
		{"think level in generate", "generate", `{"model":"tiny-a","prompt":"hi","think":"high"}`, `think value "high" is not supported for this model`},
		{"tools", "chat", `{"model":"tiny-a",` + hi + `,` + tools + `}`, `registry.ollama.ai/library/tiny-a:latest does not support tools`},
		{"tools on embed", "chat", `{"model":"tiny-embed",` + hi + `,` + tools + `}`, `"tiny-embed" does not support chat`},
		{"suffix", "generate", `{"model":"tiny-a","prompt":"hi","suffix":"x"}`, `registry.ollama.ai/library/tiny-a:latest does not support insert`},
		{"unload on embed", "chat", `{"model":"tiny-embed","keep_alive":0}`, ""},
		{"think false", "chat", `{"model":"tiny-a",` + hi + `,"think":false}`, ""},
		{"images need nothing", "chat", `{"model":"tiny-a","messages":[{"role":"user","content":"hi","images":["iVBORw0KGgo="]}]}`, ""},
		{"all of it", "chat", `{"model":"smart",` + hi + `,"think":true,` + tools + `}`, ""},
		{"suffix on insert", "generate", `{"model":"smart","prompt":"hi","suffix":"x"}`, ""},
		{"cloud model", "chat", `{"model":"cloud",` + hi + `,` + tools + `}`, ""},
	} {
		for _, path := range []string{"/api/" + tc.kind, "/jobs"} {
			body := tc.body
			if path == "/jobs" {
				body = strings.Replace(body, "{", `{"kind":"`+tc.kind+`",`, 1)
			}
			before := b.log.LastOffset()
			if tc.msg == "" {
				if path == "/jobs" {
					b.submit(t, body)
				}
				continue // the sync routes would wait for a worker
			}
			w := b.do(t, "POST", path, body)
			if got := errorOf(t, w); w.Code != http.StatusBadRequest || got != tc.msg {
				t.Errorf("%s on %s: %d %q, want 400 %q", tc.name, path, w.Code, got, tc.msg)
			}
			if b.log.LastOffset() != before {
				t.Errorf("%s on %s: a refused request was queued", tc.name, path)
			}
		}
	}
	// Capabilities that cannot be learnt leave the check to the target.
	inv.down = true
	b.submit(t, `{"model":"tiny-embed",`+hi+`}`)
}
