package ollamatest

import (
	"encoding/json"
	"slices"
	"strings"
	"testing"

	"github.com/ollama/ollama/api"
)

func TestAnswerIsDeterministic(t *testing.T) {
	t.Parallel()
	a := Answer("tiny-a", "why", nil)
	if len(a) != DefaultTokens || !slices.Equal(a, Answer("tiny-a:latest", "why", nil)) {
		t.Fatalf("answer %q not stable", a)
	}
	for _, other := range [][]string{
		Answer("tiny-b", "why", nil),
		Answer("tiny-a", "why not", nil),
		Answer("tiny-a", "why", map[string]any{"seed": float64(7)}),
	} {
		if slices.Equal(a, other) {
			t.Fatalf("model, prompt and seed should change the answer: %q", a)
		}
	}
	if n := len(Answer("tiny-a", "why", map[string]any{"num_predict": float64(3)})); n != 3 {
		t.Fatalf("num_predict 3: %d tokens", n)
	}
}

func TestServedAnswerMatchesAnswer(t *testing.T) {
	t.Parallel()
	s := New(t)
	var g api.GenerateResponse
	if err := json.Unmarshal(post(t, s, "/api/generate", `{"model":"tiny-a","prompt":"why","stream":false,"options":{"num_predict":5}}`), &g); err != nil {
		t.Fatal(err)
	}
	want := Answer("tiny-a", "why", map[string]any{"num_predict": float64(5)})
	if g.Response != strings.Join(want, "") || g.EvalCount != 5 || g.DoneReason != "length" {
		t.Fatalf("generate %+v, want %q", g, want)
	}
	msgs := []api.Message{{Role: "user", Content: "hi"}}
	c := chat(t, s, "tiny-b", "")
	if c.Message.Content != strings.Join(ChatAnswer("tiny-b", msgs, nil), "") || c.DoneReason != "stop" {
		t.Fatalf("chat %+v", c)
	}
}
