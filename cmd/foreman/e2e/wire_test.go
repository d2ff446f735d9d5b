//go:build e2e

package e2e

import (
	"errors"
	"fmt"
	"net/http"
	"reflect"
	"testing"
	"time"

	"github.com/ollama/ollama/api"
)

// Deterministic sampling, so that foreman's answer and Ollama's compare.
func fixedOptions(n int) map[string]any {
	return map[string]any{"seed": 42, "temperature": 0, "num_predict": n}
}

// Each call is made once through foreman and once straight to Ollama with
// the official client; the answers must be the same apart from created_at
// and the *_duration fields.
func TestWireFidelity(t *testing.T) {
	o, f := shared(t)
	ctx := testCtx(t, 5*time.Minute)
	via, direct := f.Client(), directClient(o.URL())
	stream, noStream := true, false

	t.Run("version", func(t *testing.T) {
		a, err := via.Version(ctx)
		if err != nil {
			t.Fatal(err)
		}
		b, err := direct.Version(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if a != b || b != "0.17.4" {
			t.Fatalf("version: foreman %q, ollama %q", a, b)
		}
	})
	t.Run("heartbeat", func(t *testing.T) {
		if err := via.Heartbeat(ctx); err != nil {
			t.Fatal(err)
		}
	})
	t.Run("tags", func(t *testing.T) {
		a, err := via.List(ctx)
		if err != nil {
			t.Fatal(err)
		}
		b, err := direct.List(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if len(b.Models) < 4 {
			t.Fatalf("ollama lists %d models, want the kit's 4+", len(b.Models))
		}
		// Ollama orders ties in modified_at (1 s granularity) at random, so
		// compare as sets keyed by name.
		byName := func(r *api.ListResponse) map[string]api.ListModelResponse {
			m := map[string]api.ListModelResponse{}
			for _, x := range r.Models {
				m[x.Name] = x
			}
			return m
		}
		if err := sameValues(byName(a), byName(b)); err != nil {
			t.Fatal(err)
		}
	})
	t.Run("show", func(t *testing.T) {
		for _, m := range []string{"tiny-a", "tiny-embed"} {
			a, err := via.Show(ctx, &api.ShowRequest{Model: m})
			if err != nil {
				t.Fatal(err)
			}
			b, err := direct.Show(ctx, &api.ShowRequest{Model: m})
			if err != nil {
				t.Fatal(err)
			}
			if err := sameValues(a, b); err != nil {
				t.Errorf("show %s: %v", m, err)
			}
		}
	})
	for _, st := range []*bool{&noStream, &stream} {
		name := "stream=" + map[bool]string{true: "true", false: "false"}[*st]
		t.Run("chat/"+name, func(t *testing.T) {
			req := &api.ChatRequest{Model: "tiny-a", Stream: st, Options: fixedOptions(24),
				Messages: []api.Message{{Role: "system", Content: "be brief"}, {Role: "user", Content: "hello there"}}}
			collect := func(c *api.Client) ([]api.ChatResponse, error) {
				var out []api.ChatResponse
				err := c.Chat(ctx, req, func(r api.ChatResponse) error { out = append(out, r); return nil })
				return out, err
			}
			b, err := collect(direct)
			if err != nil {
				t.Fatal(err)
			}
			a, err := collect(via)
			if err != nil {
				t.Fatal(err)
			}
			checkChunks(t, a, b, *st)
			if !b[len(b)-1].Done || b[len(b)-1].EvalCount == 0 {
				t.Errorf("ollama's last chunk: %+v", b[len(b)-1])
			}
		})
		t.Run("generate/"+name, func(t *testing.T) {
			req := &api.GenerateRequest{Model: "tiny-b", Prompt: "once upon a time", Stream: st, Options: fixedOptions(24)}
			collect := func(c *api.Client) ([]api.GenerateResponse, error) {
				var out []api.GenerateResponse
				err := c.Generate(ctx, req, func(r api.GenerateResponse) error { out = append(out, r); return nil })
				return out, err
			}
			b, err := collect(direct)
			if err != nil {
				t.Fatal(err)
			}
			a, err := collect(via)
			if err != nil {
				t.Fatal(err)
			}
			checkChunks(t, a, b, *st)
			if last := b[len(b)-1]; !last.Done || len(last.Context) == 0 {
				t.Errorf("ollama's last chunk has no context: %+v", last)
			}
		})
	}
	t.Run("raw-stream", func(t *testing.T) {
		// The bytes on the wire, not just what the client decodes: content
		// type and one JSON object per line.
		body := `{"model":"tiny-a","messages":[{"role":"user","content":"hi"}],"options":{"seed":7,"temperature":0,"num_predict":12}}`
		b := raw(t, http.MethodPost, o.URL()+"/api/chat", "", body)
		a := raw(t, http.MethodPost, f.URL()+"/api/chat", token, body)
		if a.Status != b.Status || a.ContentType != b.ContentType {
			t.Fatalf("foreman %d %q, ollama %d %q", a.Status, a.ContentType, b.Status, b.ContentType)
		}
		la, lb := ndjsonLines(a.Body), ndjsonLines(b.Body)
		if len(la) != len(lb) {
			t.Fatalf("foreman sent %d lines, ollama %d:\n%s\n---\n%s", len(la), len(lb), a.Body, b.Body)
		}
		for i := range la {
			if err := sameJSON(la[i], lb[i]); err != nil {
				t.Errorf("line %d: %v", i, err)
			}
		}
	})
	t.Run("embed", func(t *testing.T) {
		for _, m := range []string{"tiny-embed", "tiny-a"} {
			req := &api.EmbedRequest{Model: m, Input: []string{"hello", "world"}}
			a, err := via.Embed(ctx, req)
			if err != nil {
				t.Fatal(err)
			}
			b, err := direct.Embed(ctx, req)
			if err != nil {
				t.Fatal(err)
			}
			if len(b.Embeddings) != 2 || len(b.Embeddings[0]) == 0 {
				t.Fatalf("ollama embed %s: %d embeddings", m, len(b.Embeddings))
			}
			if err := sameValues(a, b); err != nil {
				t.Errorf("embed %s: %v", m, err)
			}
		}
	})
	t.Run("embeddings", func(t *testing.T) {
		req := &api.EmbeddingRequest{Model: "tiny-embed", Prompt: "hello"}
		a, err := via.Embeddings(ctx, req)
		if err != nil {
			t.Fatal(err)
		}
		b, err := direct.Embeddings(ctx, req)
		if err != nil {
			t.Fatal(err)
		}
		if len(b.Embedding) == 0 || !reflect.DeepEqual(a, b) {
			t.Fatalf("embeddings: foreman %d values, ollama %d, equal=%v", len(a.Embedding), len(b.Embedding), reflect.DeepEqual(a, b))
		}
	})
	t.Run("ps", func(t *testing.T) {
		// foreman answers /api/ps from its inventory, polled every second
		// (FOREMAN_POLL_INTERVAL=1s) and re-read after each job: it must
		// catch up with Ollama's own answer.
		b, err := direct.ListRunning(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if len(b.Models) == 0 {
			t.Fatal("ollama has no model loaded after the calls above")
		}
		var last error
		deadline := time.Now().Add(5 * time.Second)
		for time.Now().Before(deadline) {
			a, err := via.ListRunning(ctx)
			if err != nil {
				t.Fatal(err)
			}
			b, err := direct.ListRunning(ctx)
			if err != nil {
				t.Fatal(err)
			}
			if last = sameValues(a, b); last == nil {
				return
			}
			time.Sleep(200 * time.Millisecond)
		}
		t.Fatalf("ps never matched within 5s: %v", last)
	})
	t.Run("model names", func(t *testing.T) {
		// Ollama resolves a name case-insensitively, with the default
		// registry, namespace and tag; "tiny-a:latest" is the listed name.
		for _, name := range []string{"tiny-a:latest", "TINY-A", "library/tiny-a", "registry.ollama.ai/library/tiny-a:latest"} {
			body := fmt.Sprintf(`{"model":%q,"stream":false,"messages":[{"role":"user","content":"hi"}],"options":{"seed":1,"temperature":0,"num_predict":4}}`, name)
			b := raw(t, http.MethodPost, o.URL()+"/api/chat", "", body)
			a := raw(t, http.MethodPost, f.URL()+"/api/chat", token, body)
			if b.Status != http.StatusOK {
				t.Fatalf("ollama %q: %d %s", name, b.Status, b.Body)
			}
			if err := sameJSON(a.Body, b.Body); a.Status != b.Status || err != nil {
				t.Errorf("%q: foreman %d %s, ollama %d: %v", name, a.Status, a.Body, b.Status, err)
			}
		}
	})
	t.Run("load and unload", func(t *testing.T) {
		// No prompt or messages: Ollama loads (or with keep_alive 0
		// unloads) the model and answers with one plain JSON object, even
		// though "stream" is left at its default.
		for _, c := range []struct{ path, body string }{
			{"/api/chat", `{"model":"tiny-a"}`},
			{"/api/generate", `{"model":"tiny-b","keep_alive":0}`},
		} {
			b := raw(t, http.MethodPost, o.URL()+c.path, "", c.body)
			a := raw(t, http.MethodPost, f.URL()+c.path, token, c.body)
			if a.Status != b.Status {
				t.Fatalf("%s %s: foreman %d, ollama %d", c.path, c.body, a.Status, b.Status)
			}
			if err := sameJSON(a.Body, b.Body); err != nil {
				t.Errorf("%s %s: %v", c.path, c.body, err)
			}
			if a.ContentType != b.ContentType {
				t.Errorf("%s %s: foreman answers Content-Type %q, Ollama %q", c.path, c.body, a.ContentType, b.ContentType)
			}
		}
	})
	t.Run("token-required", func(t *testing.T) {
		c := directClient(f.URL()) // no bearer token
		_, err := c.List(ctx)
		// The official client turns every 401 into an AuthorizationError
		// (its message is generic: it reads a "status" field neither
		// Ollama nor foreman sends).
		var ae api.AuthorizationError
		if !errors.As(err, &ae) || ae.StatusCode != http.StatusUnauthorized {
			t.Fatalf("without a token: %#v, want a 401 AuthorizationError", err)
		}
	})
}

// checkChunks compares two answers chunk by chunk.
func checkChunks[R any](t *testing.T, a, b []R, streamed bool) {
	t.Helper()
	if !streamed && (len(a) != 1 || len(b) != 1) {
		t.Fatalf("stream:false gave %d chunks through foreman, %d from ollama", len(a), len(b))
	}
	if len(a) != len(b) {
		t.Fatalf("foreman sent %d chunks, ollama %d", len(a), len(b))
	}
	for i := range a {
		if err := sameValues(a[i], b[i]); err != nil {
			t.Errorf("chunk %d: %v", i, err)
		}
	}
}
