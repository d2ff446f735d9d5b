//go:build e2e

package e2e

import (
	"encoding/json"
	"errors"
	"math"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/openai/openai-go/v3"
	"github.com/openai/openai-go/v3/option"
	"github.com/openai/openai-go/v3/responses"
)

// openAIClient is the official OpenAI Go client on base's /v1.
func openAIClient(base, key string) openai.Client {
	return openai.NewClient(option.WithBaseURL(base+"/v1/"), option.WithAPIKey(key), option.WithMaxRetries(0),
		option.WithRequestTimeout(3*time.Minute))
}

func openAIChat(model string, n int64) openai.ChatCompletionNewParams {
	return openai.ChatCompletionNewParams{
		Model:       model,
		Messages:    []openai.ChatCompletionMessageParamUnion{openai.UserMessage("why is the sky blue?")},
		Seed:        openai.Int(42),
		Temperature: openai.Float(0),
		MaxTokens:   openai.Int(n),
	}
}

func apiError(t *testing.T, err error) *openai.Error {
	t.Helper()
	var e *openai.Error
	if !errors.As(err, &e) {
		t.Fatalf("error %v (%T), want *openai.Error", err, err)
	}
	return e
}

// TestOpenAIWireFidelity: the official OpenAI client through foreman and
// straight to the real Ollama gets the same answers (temperature 0 and a
// seed: the same text), and the same errors.
func TestOpenAIWireFidelity(t *testing.T) {
	o, f := shared(t)
	ctx := testCtx(t, 5*time.Minute)
	via, direct := openAIClient(f.URL(), token), openAIClient(o.URL(), "unused")

	t.Run("chat", func(t *testing.T) {
		a, err := via.Chat.Completions.New(ctx, openAIChat("tiny-a", 8))
		if err != nil {
			t.Fatal(err)
		}
		b, err := direct.Chat.Completions.New(ctx, openAIChat("tiny-a", 8))
		if err != nil {
			t.Fatal(err)
		}
		if a.Choices[0].Message.Content != b.Choices[0].Message.Content || a.Choices[0].FinishReason != b.Choices[0].FinishReason ||
			a.Usage.CompletionTokens != b.Usage.CompletionTokens || a.Usage.PromptTokens != b.Usage.PromptTokens || a.Model != b.Model || a.Object != b.Object {
			t.Fatalf("chat through foreman %s\nstraight %s", a.RawJSON(), b.RawJSON())
		}
	})
	t.Run("chat stream", func(t *testing.T) {
		stream := func(c openai.Client) (string, openai.CompletionUsage) {
			p := openAIChat("tiny-a", 8)
			p.StreamOptions.IncludeUsage = openai.Bool(true)
			s := c.Chat.Completions.NewStreaming(ctx, p)
			acc := openai.ChatCompletionAccumulator{}
			for s.Next() {
				acc.AddChunk(s.Current())
			}
			if err := s.Err(); err != nil {
				t.Fatal(err)
			}
			return acc.Choices[0].Message.Content + "|" + acc.Choices[0].FinishReason, acc.Usage
		}
		a, au := stream(via)
		b, bu := stream(direct)
		if a != b || au.CompletionTokens != bu.CompletionTokens || au.TotalTokens == 0 {
			t.Fatalf("streamed through foreman %q %+v, straight %q %+v", a, au, b, bu)
		}
	})
	t.Run("completions", func(t *testing.T) {
		p := openai.CompletionNewParams{Model: "tiny-a", Prompt: openai.CompletionNewParamsPromptUnion{OfString: openai.String("why is the sky blue?")},
			MaxTokens: openai.Int(8), Seed: openai.Int(42), Temperature: openai.Float(0)}
		a, err := via.Completions.New(ctx, p)
		if err != nil {
			t.Fatal(err)
		}
		b, err := direct.Completions.New(ctx, p)
		if err != nil {
			t.Fatal(err)
		}
		if a.Choices[0].Text != b.Choices[0].Text || a.Choices[0].FinishReason != b.Choices[0].FinishReason || a.Object != "text_completion" {
			t.Fatalf("completion through foreman %s\nstraight %s", a.RawJSON(), b.RawJSON())
		}
	})
	t.Run("responses", func(t *testing.T) {
		p := responses.ResponseNewParams{Model: "tiny-a", Input: responses.ResponseNewParamsInputUnion{OfString: openai.String("hi")},
			MaxOutputTokens: openai.Int(8), Temperature: openai.Float(0)}
		a, err := via.Responses.New(ctx, p)
		if err != nil {
			t.Fatal(err)
		}
		b, err := direct.Responses.New(ctx, p)
		if err != nil {
			t.Fatal(err)
		}
		if a.OutputText() != b.OutputText() || a.Status != b.Status || a.Usage.OutputTokens != b.Usage.OutputTokens {
			t.Fatalf("response through foreman %s\nstraight %s", a.RawJSON(), b.RawJSON())
		}
	})
	t.Run("embeddings", func(t *testing.T) {
		p := openai.EmbeddingNewParams{Model: "tiny-embed", Input: openai.EmbeddingNewParamsInputUnion{OfArrayOfStrings: []string{"hello", "world"}}}
		a, err := via.Embeddings.New(ctx, p)
		if err != nil {
			t.Fatal(err)
		}
		b, err := direct.Embeddings.New(ctx, p)
		if err != nil {
			t.Fatal(err)
		}
		if len(a.Data) != 2 || len(b.Data) != 2 {
			t.Fatalf("%d and %d vectors", len(a.Data), len(b.Data))
		}
		for i := range a.Data {
			if len(a.Data[i].Embedding) != len(b.Data[i].Embedding) || len(a.Data[i].Embedding) == 0 {
				t.Fatalf("vector %d: %d and %d dimensions", i, len(a.Data[i].Embedding), len(b.Data[i].Embedding))
			}
			for j, x := range a.Data[i].Embedding {
				if math.Abs(x-b.Data[i].Embedding[j]) > 1e-6 {
					t.Fatalf("vector %d[%d]: %v through foreman, %v straight", i, j, x, b.Data[i].Embedding[j])
				}
			}
		}
	})
	t.Run("models", func(t *testing.T) {
		a, err := via.Models.List(ctx)
		if err != nil {
			t.Fatal(err)
		}
		b, err := direct.Models.List(ctx)
		if err != nil {
			t.Fatal(err)
		}
		ids := func(ms []openai.Model) []string {
			var out []string
			for _, m := range ms {
				out = append(out, m.ID+"/"+m.OwnedBy)
			}
			slices.Sort(out) // Ollama orders ties in modified_at at random
			return out
		}
		if !slices.Equal(ids(a.Data), ids(b.Data)) || len(a.Data) < 4 {
			t.Fatalf("models through foreman %v, straight %v", ids(a.Data), ids(b.Data))
		}
		for _, id := range []string{"tiny-a", "tiny-a:latest", "tiny-embed"} {
			a, err := via.Models.Get(ctx, id)
			if err != nil {
				t.Fatal(err)
			}
			b, err := direct.Models.Get(ctx, id)
			if err != nil {
				t.Fatal(err)
			}
			if a.RawJSON() != b.RawJSON() {
				t.Fatalf("model %s through foreman %s, straight %s", id, a.RawJSON(), b.RawJSON())
			}
		}
	})
	t.Run("unknown model", func(t *testing.T) {
		_, err := via.Chat.Completions.New(ctx, openAIChat("nope", 8))
		a := apiError(t, err)
		_, err = direct.Chat.Completions.New(ctx, openAIChat("nope", 8))
		b := apiError(t, err)
		if a.StatusCode != b.StatusCode || a.Message != b.Message || a.Type != b.Type || a.StatusCode != http.StatusNotFound {
			t.Fatalf("through foreman %d %q %q, straight %d %q %q", a.StatusCode, a.Message, a.Type, b.StatusCode, b.Message, b.Type)
		}
		_, err = via.Models.Get(ctx, "nope")
		a = apiError(t, err)
		_, err = direct.Models.Get(ctx, "nope")
		b = apiError(t, err)
		if a.StatusCode != b.StatusCode || a.Message != b.Message {
			t.Fatalf("model get: through foreman %d %q, straight %d %q", a.StatusCode, a.Message, b.StatusCode, b.Message)
		}
	})
	t.Run("malformed body", func(t *testing.T) {
		for _, body := range []string{`{"model":"tiny-a","messages":[`, `{"model":"tiny-a","messages":[]}`, `{"model":"tiny-a","messages":"hi"}`,
			`{"messages":[{"role":"user","content":"hi"}]}`, `{"model":"tiny-embed","messages":[{"role":"user","content":"hi"}]}`} {
			a := raw(t, "POST", f.URL()+"/v1/chat/completions", token, body)
			b := raw(t, "POST", o.URL()+"/v1/chat/completions", "", body)
			if a.Status != b.Status || a.ContentType != b.ContentType || compact(a.Body) != compact(b.Body) {
				t.Errorf("%s: through foreman %d %s %s, straight %d %s %s", body, a.Status, a.ContentType, a.Body, b.Status, b.ContentType, b.Body)
			}
		}
	})
	t.Run("missing token", func(t *testing.T) {
		none, wrong := openAIClient(f.URL(), ""), openAIClient(f.URL(), "wrong")
		_, err := none.Chat.Completions.New(ctx, openAIChat("tiny-a", 8))
		if e := apiError(t, err); e.StatusCode != http.StatusUnauthorized || !strings.Contains(e.Message, "bearer token") {
			t.Fatalf("no key: %d %q", e.StatusCode, e.Message)
		}
		_, err = wrong.Chat.Completions.New(ctx, openAIChat("tiny-a", 8))
		if e := apiError(t, err); e.StatusCode != http.StatusUnauthorized || e.Code != "invalid_api_key" {
			t.Fatalf("wrong key: %d %q %q", e.StatusCode, e.Message, e.Code)
		}
	})
}

// TestOpenAIStreamIsIncremental: through foreman, a /v1 stream's frames
// reach the client as the model writes them, spread over the answer, not
// all at its end.
func TestOpenAIStreamIsIncremental(t *testing.T) {
	_, f := shared(t)
	ctx := testCtx(t, 5*time.Minute)
	via := openAIClient(f.URL(), token)
	if _, err := via.Chat.Completions.New(ctx, openAIChat("tiny-big", 1)); err != nil { // loaded
		t.Fatal(err)
	}
	// Sampled, not greedy: at temperature 0 tiny-big soon repeats one
	// token, and Ollama stops such an answer without finishing it.
	p := openai.ChatCompletionNewParams{Model: "tiny-big", Seed: openai.Int(42), MaxTokens: openai.Int(60),
		Messages: []openai.ChatCompletionMessageParamUnion{openai.UserMessage("why is the sky blue?")}}
	start := time.Now()
	s := via.Chat.Completions.NewStreaming(ctx, p)
	var at []time.Duration
	for s.Next() {
		if c := s.Current(); len(c.Choices) > 0 && c.Choices[0].Delta.Content != "" {
			at = append(at, time.Since(start))
		}
	}
	if err := s.Err(); err != nil {
		t.Fatal(err)
	}
	total := time.Since(start)
	if len(at) < 20 {
		t.Fatalf("only %d content frames", len(at))
	}
	// A stream buffered to the end would have every frame within the last
	// moments; here the first tenth has arrived by half time.
	if tenth := at[len(at)/10]; tenth > total/2 {
		t.Fatalf("frame %d of %d arrived at %s of %s: the stream was held back", len(at)/10, len(at), tenth, total)
	}
}

// TestOpenAIJobsAreOrdinaryJobs: a /v1 call is a job in GET /jobs with its
// kind, and its result is the target's answer.
func TestOpenAIJobsAreOrdinaryJobs(t *testing.T) {
	_, f := shared(t)
	ctx := testCtx(t, 5*time.Minute)
	via := openAIClient(f.URL(), token)
	var got *openai.ChatCompletion
	var err error
	if got, err = via.Chat.Completions.New(ctx, openAIChat("tiny-b", 6), option.WithHeader("X-Foreman-Priority", "5")); err != nil {
		t.Fatal(err)
	}
	r := raw(t, "GET", f.URL()+"/jobs?limit=20", token, "")
	var list struct {
		Jobs []struct {
			JobID              string `json:"job_id"`
			Kind, State, Model string
			Priority           int
		} `json:"jobs"`
	}
	if err := json.Unmarshal(r.Body, &list); err != nil {
		t.Fatal(err)
	}
	for _, j := range list.Jobs {
		if j.Kind != "openai.chat" || j.Model != "tiny-b" || j.Priority != 5 {
			continue
		}
		v := getJob(t, f, j.JobID)
		var res openai.ChatCompletion
		if v.State != "done" || json.Unmarshal(v.Result, &res) != nil || res.Choices[0].Message.Content != got.Choices[0].Message.Content {
			t.Fatalf("job %+v", v)
		}
		return
	}
	t.Fatalf("no openai.chat job for tiny-b in %s", r.Body)
}
