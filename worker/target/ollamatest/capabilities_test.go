package ollamatest

import (
	"encoding/json"
	"io"
	"net/http"
	"strings"
	"testing"

	"github.com/ollama/ollama/api"
	"github.com/ollama/ollama/types/model"
)

// postStatus posts body and returns the status and body.
func postStatus(t *testing.T, s *Server, path, body string) (int, string) {
	t.Helper()
	resp, err := http.Post(s.URL()+path, "application/json", strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

// The checks follow the real server's (answers taken from the kit, v0.17.4).
func TestCapabilitiesAreCheckedAsOllamaDoes(t *testing.T) {
	t.Parallel()
	s := New(t, WithModels(append(DefaultModels(),
		Model{Name: "smart", Capabilities: []model.Capability{"completion", "tools", "thinking", "insert"}})...))
	const hi = `"messages":[{"role":"user","content":"hi"}],"stream":false`
	tools := `"tools":[{"type":"function","function":{"name":"f","description":"d","parameters":{"type":"object","properties":{}}}}]`
	for _, tc := range []struct {
		path, body string
		status     int
		want       string
	}{
		{"/api/chat", `{"model":"tiny-embed",` + hi + `}`, 400, `{"error":"\"tiny-embed\" does not support chat"}`},
		{"/api/generate", `{"model":"tiny-embed","prompt":"hi","stream":false}`, 400, `{"error":"\"tiny-embed\" does not support generate"}`},
		{"/api/chat", `{"model":"tiny-embed",` + hi + `,"think":true}`, 400, `{"error":"\"tiny-embed\" does not support thinking"}`},
		{"/api/chat", `{"model":"tiny-embed","stream":false}`, 400, `{"error":"\"tiny-embed\" does not support chat"}`},
		{"/api/chat", `{"model":"tiny-a",` + hi + `,` + tools + `}`, 400, `{"error":"registry.ollama.ai/library/tiny-a:latest does not support tools"}`},
		{"/api/generate", `{"model":"tiny-a","prompt":"hi","suffix":"x","stream":false}`, 400, `{"error":"registry.ollama.ai/library/tiny-a:latest does not support insert"}`},
		{"/api/generate", `{"model":"tiny-embed","prompt":"hi","suffix":"x","stream":false}`, 400, `{"error":"\"tiny-embed\" does not support generate"}`},
		{"/api/chat", `{"model":"smart",` + hi + `,"think":true,` + tools + `}`, 200, ""},
		{"/api/generate", `{"model":"smart","prompt":"hi","suffix":"x","stream":false}`, 200, ""},
		{"/api/chat", `{"model":"tiny-a","messages":[{"role":"user","content":"hi","images":["iVBORw0KGgo="]}],"stream":false}`, 200, ""},
	} {
		status, body := postStatus(t, s, tc.path, tc.body)
		if status != tc.status || tc.want != "" && body != tc.want {
			t.Errorf("%s %s: %d %s, want %d %s", tc.path, tc.body, status, body, tc.status, tc.want)
		}
	}
	var show api.ShowResponse
	json.Unmarshal(post(t, s, "/api/show", `{"model":"smart"}`), &show)
	if len(show.Capabilities) != 4 || show.Capabilities[1] != "tools" {
		t.Fatalf("show capabilities %v", show.Capabilities)
	}
}

func TestExtraFieldsInTagsAndPs(t *testing.T) {
	t.Parallel()
	s := New(t, WithExtraFields(map[string]any{"x_future": "yes"}))
	for _, path := range []string{"/api/tags", "/api/ps"} {
		b := get(t, s, path, 200)
		if !strings.HasPrefix(string(b), `{"models":[`) || !strings.Contains(string(b), `"x_future":"yes"`) {
			t.Errorf("%s: %s", path, b)
		}
	}
	if b := get(t, s, "/api/tags", 200); strings.Count(string(b), "x_future") != 5 {
		t.Errorf("tags: %s, want the field on the list and each of 4 models", b)
	}
}
