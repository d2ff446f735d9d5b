package main

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"net/url"
	"reflect"
	"strings"
	"testing"

	ollama "github.com/ollama/ollama/api"

	"github.com/foreman-dev/foreman/worker/target/ollamatest"
)

// bearer adds foreman's token to every request of the official client.
type bearer struct{ token string }

func (b bearer) RoundTrip(r *http.Request) (*http.Response, error) {
	r = r.Clone(r.Context())
	r.Header.Set("Authorization", "Bearer "+b.token)
	return http.DefaultTransport.RoundTrip(r)
}

// officialClients returns the official Ollama Go client pointed at a
// foreman daemon and, for comparison, straight at the fake Ollama behind it.
func officialClients(t *testing.T) (viaForeman, direct *ollama.Client, fake *ollamatest.Server, base *url.URL) {
	t.Helper()
	fake = ollamatest.New(t)
	addr, stop := startServe(t, map[string]string{
		"FOREMAN_DATA_DIR": t.TempDir(), "FOREMAN_OLLAMA_URL": fake.URL(), "FOREMAN_TOKEN": "tok",
		"FOREMAN_SHUTDOWN_GRACE": "0s",
	})
	t.Cleanup(func() {
		if err := stop(); err != nil {
			t.Errorf("serve: %v", err)
		}
	})
	fu, _ := url.Parse("http://" + addr)
	du, _ := url.Parse(fake.URL())
	return ollama.NewClient(fu, &http.Client{Transport: bearer{"tok"}}), ollama.NewClient(du, http.DefaultClient), fake, fu
}

// scrub drops what differs between two runs of the same request.
func scrub(v any) map[string]any {
	b, _ := json.Marshal(v)
	var m map[string]any
	_ = json.Unmarshal(b, &m)
	for k := range m {
		if k == "created_at" || strings.HasSuffix(k, "_duration") {
			delete(m, k)
		}
	}
	return m
}

func TestOfficialClientChatThroughTheQueue(t *testing.T) {
	via, direct, fake, _ := officialClients(t)
	ctx := context.Background()
	req := func(stream bool) *ollama.ChatRequest {
		return &ollama.ChatRequest{Model: "tiny-a", Stream: &stream,
			Messages: []ollama.Message{{Role: "user", Content: "say something"}},
			Options:  map[string]any{"seed": 42, "temperature": 0}}
	}
	for _, stream := range []bool{true, false} {
		var got, want []map[string]any
		var text, wantText string
		if err := via.Chat(ctx, req(stream), func(r ollama.ChatResponse) error {
			got, text = append(got, scrub(r)), text+r.Message.Content
			return nil
		}); err != nil {
			t.Fatalf("stream=%v through foreman: %v", stream, err)
		}
		if err := direct.Chat(ctx, req(stream), func(r ollama.ChatResponse) error {
			want, wantText = append(want, scrub(r)), wantText+r.Message.Content
			return nil
		}); err != nil {
			t.Fatal(err)
		}
		if !reflect.DeepEqual(got, want) || text == "" || text != wantText {
			t.Fatalf("stream=%v: through foreman\n%v\ndirect\n%v", stream, got, want)
		}
	}
	// foreman forwards the caller's request, fields and all.
	var sent map[string]any
	if err := json.Unmarshal(fake.LastRequest("/api/chat"), &sent); err != nil || sent["options"] == nil {
		t.Fatalf("request reaching Ollama: %v %v", sent, err)
	}
}

func TestOfficialClientGenerateAndPassthrough(t *testing.T) {
	via, direct, _, _ := officialClients(t)
	ctx := context.Background()
	var got, want string
	gen := &ollama.GenerateRequest{Model: "tiny-b", Prompt: "why", Options: map[string]any{"seed": 1}}
	if err := via.Generate(ctx, gen, func(r ollama.GenerateResponse) error { got += r.Response; return nil }); err != nil {
		t.Fatal(err)
	}
	if err := direct.Generate(ctx, gen, func(r ollama.GenerateResponse) error { want += r.Response; return nil }); err != nil {
		t.Fatal(err)
	}
	if got == "" || got != want {
		t.Fatalf("generate %q, direct %q", got, want)
	}
	tags, err := via.List(ctx)
	if err != nil || len(tags.Models) == 0 {
		t.Fatalf("tags: %v %v", tags, err)
	}
	dtags, _ := direct.List(ctx)
	if len(tags.Models) != len(dtags.Models) || tags.Models[0].Name != dtags.Models[0].Name {
		t.Fatalf("tags differ: %v vs %v", tags.Models, dtags.Models)
	}
	if v, err := via.Version(ctx); err != nil || v != ollamatest.Version {
		t.Fatalf("version %q %v", v, err)
	}
	show, err := via.Show(ctx, &ollama.ShowRequest{Model: "tiny-a"})
	if err != nil || show.Details.Family == "" {
		t.Fatalf("show %+v %v", show, err)
	}
	ps, err := via.ListRunning(ctx)
	if err != nil || len(ps.Models) == 0 {
		t.Fatalf("ps after a run: %+v %v", ps, err)
	}
	emb, err := via.Embed(ctx, &ollama.EmbedRequest{Model: "tiny-embed", Input: []string{"a", "b"}})
	if err != nil || len(emb.Embeddings) != 2 {
		t.Fatalf("embed %v %v", emb, err)
	}
	old, err := via.Embeddings(ctx, &ollama.EmbeddingRequest{Model: "tiny-embed", Prompt: "a"})
	if err != nil || len(old.Embedding) == 0 {
		t.Fatalf("embeddings %v %v", old, err)
	}
}

func TestOfficialClientSeesOllamaErrors(t *testing.T) {
	via, direct, _, base := officialClients(t)
	ctx := context.Background()
	for _, tc := range []struct {
		name string
		call func(c *ollama.Client) error
	}{
		{"unknown model", func(c *ollama.Client) error {
			return c.Chat(ctx, &ollama.ChatRequest{Model: "nope", Messages: []ollama.Message{{Role: "user", Content: "hi"}}}, func(ollama.ChatResponse) error { return nil })
		}},
		{"missing model", func(c *ollama.Client) error {
			return c.Chat(ctx, &ollama.ChatRequest{Messages: []ollama.Message{{Role: "user", Content: "hi"}}}, func(ollama.ChatResponse) error { return nil })
		}},
		{"embedding model asked to chat", func(c *ollama.Client) error {
			return c.Chat(ctx, &ollama.ChatRequest{Model: "tiny-embed", Messages: []ollama.Message{{Role: "user", Content: "hi"}}}, func(ollama.ChatResponse) error { return nil })
		}},
		{"generate unknown model", func(c *ollama.Client) error {
			return c.Generate(ctx, &ollama.GenerateRequest{Model: "nope", Prompt: "x"}, func(ollama.GenerateResponse) error { return nil })
		}},
	} {
		gotErr, wantErr := tc.call(via), tc.call(direct)
		var got, want ollama.StatusError
		if !errors.As(gotErr, &got) || !errors.As(wantErr, &want) {
			t.Fatalf("%s: through foreman %v, direct %v", tc.name, gotErr, wantErr)
		}
		if got.StatusCode != want.StatusCode || got.ErrorMessage != want.ErrorMessage {
			t.Errorf("%s: through foreman %d %q, direct %d %q", tc.name, got.StatusCode, got.ErrorMessage, want.StatusCode, want.ErrorMessage)
		}
	}
	// Without the token, foreman refuses before Ollama is asked.
	anon := ollama.NewClient(base, http.DefaultClient)
	var ae ollama.AuthorizationError
	if _, err := anon.List(ctx); !errors.As(err, &ae) || ae.StatusCode != 401 || !strings.Contains(err.Error(), "missing bearer token") {
		t.Fatalf("no token: %v", err)
	}
}
