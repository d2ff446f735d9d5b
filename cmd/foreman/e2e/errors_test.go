//go:build e2e

package e2e

import (
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/ollama/ollama/api"
)

// Each bad request is sent raw to foreman and to Ollama: the same status,
// content type and error body (as JSON).
func TestErrorFidelity(t *testing.T) {
	o, f := shared(t)
	hi := `"messages":[{"role":"user","content":"hi"}]`
	cases := []struct{ name, method, path, body string }{
		{"chat unknown model", "POST", "/api/chat", `{"model":"nope",` + hi + `}`},
		{"chat unknown model stream:false", "POST", "/api/chat", `{"model":"nope","stream":false,` + hi + `}`},
		{"generate unknown model", "POST", "/api/generate", `{"model":"nope","prompt":"hi"}`},
		{"embed unknown model", "POST", "/api/embed", `{"model":"nope","input":"hi"}`},
		{"show unknown model", "POST", "/api/show", `{"model":"nope"}`},
		{"chat malformed JSON", "POST", "/api/chat", `{"model":"tiny-a","messages":[`},
		{"chat malformed literal", "POST", "/api/chat", `{"model":nol}`},
		{"generate malformed JSON", "POST", "/api/generate", `{"model":`},
		{"embed malformed JSON", "POST", "/api/embed", `{"model":`},
		{"chat empty body", "POST", "/api/chat", ``},
		{"chat wrong field type", "POST", "/api/chat", `{"model":"tiny-a","messages":"hi"}`},
		{"chat wrong option type", "POST", "/api/chat", `{"model":"tiny-a","stream":false,"options":{"num_predict":"x"},` + hi + `}`},
		{"chat missing model", "POST", "/api/chat", `{` + hi + `}`},
		{"generate missing model", "POST", "/api/generate", `{"prompt":"hi"}`},
		{"show missing model", "POST", "/api/show", `{}`},
		{"chat on embedding-only model", "POST", "/api/chat", `{"model":"tiny-embed","stream":false,` + hi + `}`},
		{"chat on embedding-only model streamed", "POST", "/api/chat", `{"model":"tiny-embed",` + hi + `}`},
		{"generate on embedding-only model", "POST", "/api/generate", `{"model":"tiny-embed","prompt":"hi"}`},
		{"generate empty body", "POST", "/api/generate", ``},
		{"embed empty body", "POST", "/api/embed", ``},
		{"chat think unsupported", "POST", "/api/chat", `{"model":"tiny-a","think":true,"stream":false,` + hi + `}`},
		{"chat tools unsupported", "POST", "/api/chat", `{"model":"tiny-a","stream":false,"tools":[{"type":"function","function":{"name":"f","parameters":{"type":"object","properties":{}}}}],` + hi + `}`},
		{"chat invalid model name", "POST", "/api/chat", `{"model":"bad name!!",` + hi + `}`},
		{"generate invalid model name", "POST", "/api/generate", `{"model":"bad name!!","prompt":"hi"}`},
		{"unknown path", "GET", "/api/nope", ``},
		{"wrong method", "GET", "/api/chat", ``},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			b := raw(t, c.method, o.URL()+c.path, "", c.body)
			a := raw(t, c.method, f.URL()+c.path, token, c.body)
			if b.Status < 400 {
				t.Fatalf("ollama answered %d %s: not an error case", b.Status, b.Body)
			}
			var diffs []string
			if a.Status != b.Status {
				diffs = append(diffs, fmt.Sprintf("status: foreman %d, ollama %d", a.Status, b.Status))
			}
			if a.ContentType != b.ContentType {
				diffs = append(diffs, fmt.Sprintf("content type: foreman %q, ollama %q", a.ContentType, b.ContentType))
			}
			if b.ContentType == "text/plain" {
				if string(a.Body) != string(b.Body) {
					diffs = append(diffs, fmt.Sprintf("body: foreman %q, ollama %q", a.Body, b.Body))
				}
			} else if err := sameJSON(a.Body, b.Body); err != nil {
				diffs = append(diffs, err.Error())
			}
			if len(diffs) > 0 {
				t.Error(strings.Join(diffs, "\n"))
			}
		})
	}

	// The official client sees the same api.StatusError either way.
	t.Run("client", func(t *testing.T) {
		ctx := testCtx(t, time.Minute)
		via, direct := f.Client(), directClient(o.URL())
		calls := map[string]func(c *api.Client) error{
			"chat unknown model": func(c *api.Client) error {
				return c.Chat(ctx, &api.ChatRequest{Model: "nope", Messages: []api.Message{{Role: "user", Content: "hi"}}}, func(api.ChatResponse) error { return nil })
			},
			"chat missing model": func(c *api.Client) error {
				return c.Chat(ctx, &api.ChatRequest{Messages: []api.Message{{Role: "user", Content: "hi"}}}, func(api.ChatResponse) error { return nil })
			},
			"generate missing model": func(c *api.Client) error {
				return c.Generate(ctx, &api.GenerateRequest{Prompt: "hi"}, func(api.GenerateResponse) error { return nil })
			},
			"chat on embedding-only model": func(c *api.Client) error {
				return c.Chat(ctx, &api.ChatRequest{Model: "tiny-embed", Messages: []api.Message{{Role: "user", Content: "hi"}}}, func(api.ChatResponse) error { return nil })
			},
			"embed unknown model": func(c *api.Client) error {
				_, err := c.Embed(ctx, &api.EmbedRequest{Model: "nope", Input: "hi"})
				return err
			},
			"show unknown model": func(c *api.Client) error {
				_, err := c.Show(ctx, &api.ShowRequest{Model: "nope"})
				return err
			},
		}
		for name, call := range calls {
			var ea, eb api.StatusError
			errA, errB := call(via), call(direct)
			if !errors.As(errB, &eb) {
				t.Errorf("%s: ollama gave %v, not a StatusError", name, errB)
				continue
			}
			if !errors.As(errA, &ea) || ea != eb {
				t.Errorf("%s: foreman gave %#v, ollama %#v", name, errA, eb)
			}
		}
	})
}
