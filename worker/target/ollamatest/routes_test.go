package ollamatest

import (
	"errors"
	"net/http"
	"strings"
	"testing"

	"github.com/ollama/ollama/api"
)

func TestRecordsRequests(t *testing.T) {
	t.Parallel()
	s := New(t)
	body := `{"model":"tiny-a","prompt":"x","stream":false,"mystery":1}`
	post(t, s, "/api/generate", body)
	get(t, s, "/api/nope", http.StatusNotFound)
	if s.Requests("/api/generate") != 1 || string(s.LastRequest("/api/generate")) != body {
		t.Fatalf("recorded %d, last %s", s.Requests("/api/generate"), s.LastRequest("/api/generate"))
	}
	if s.Requests("/api/nope") != 1 || s.LastRequest("/api/chat") != nil {
		t.Fatal("unknown paths are recorded too; paths not hit have none")
	}
}

// TestOllamaClient talks to the fake with Ollama's own Go client, which
// reads streams and errors the way every Ollama integration does.
func TestOllamaClient(t *testing.T) {
	t.Parallel()
	s := New(t)
	u, err := http.NewRequest(http.MethodGet, s.URL(), nil)
	if err != nil {
		t.Fatal(err)
	}
	c := api.NewClient(u.URL, http.DefaultClient)
	var text strings.Builder
	var final api.ChatResponse
	err = c.Chat(t.Context(), &api.ChatRequest{Model: "tiny-a", Messages: []api.Message{{Role: "user", Content: "hi"}}}, func(r api.ChatResponse) error {
		text.WriteString(r.Message.Content)
		final = r
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if !final.Done || text.String() != strings.Join(ChatAnswer("tiny-a", []api.Message{{Role: "user", Content: "hi"}}, nil), "") {
		t.Fatalf("text %q final %+v", text.String(), final)
	}
	err = c.Chat(t.Context(), &api.ChatRequest{Model: "nope"}, func(api.ChatResponse) error { return nil })
	var se api.StatusError
	if !errors.As(err, &se) || se.StatusCode != http.StatusNotFound || se.ErrorMessage != "model 'nope' not found" {
		t.Fatalf("err = %#v", err)
	}
	s.FailNext(1, ErrorAfter(1))
	err = c.Generate(t.Context(), &api.GenerateRequest{Model: "tiny-a", Prompt: "x"}, func(api.GenerateResponse) error { return nil })
	if err == nil || !strings.Contains(err.Error(), RunnerCrash) {
		t.Fatalf("mid-stream crash: err = %v", err)
	}
}
