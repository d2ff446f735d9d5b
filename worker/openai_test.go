package worker

import (
	"encoding/json"
	"net/http"
	"slices"
	"strings"
	"testing"

	"github.com/oklog/ulid/v2"
	ollama "github.com/ollama/ollama/api"

	"github.com/foreman-dev/foreman/eventlog"
	"github.com/foreman-dev/foreman/projections"
	"github.com/foreman-dev/foreman/worker/target"
	"github.com/foreman-dev/foreman/worker/target/ollamatest"
)

// openAIRig is a rig whose target is the real client against the fake
// Ollama, which answers /v1 as the real one does.
func openAIRig(t *testing.T, opts ...ollamatest.Option) (*rig, *ollamatest.Server) {
	t.Helper()
	fake := ollamatest.New(t, opts...)
	c, err := target.New(target.Config{URL: fake.URL()})
	if err != nil {
		t.Fatal(err)
	}
	return newRig(t, func(cfg *Config) { cfg.Target = c }), fake
}

func (r *rig) submitOpenAI(kind eventlog.Kind, body string) ulid.ULID {
	r.t.Helper()
	var req struct{ Model string }
	_ = json.Unmarshal([]byte(body), &req)
	return r.submit(req.Model, func(s *eventlog.Submitted) {
		s.Kind, s.Request = kind, []byte(body)
	})
}

func (r *rig) result(id ulid.ULID) map[string]any {
	r.t.Helper()
	data, err := r.log.Blob(eventlog.ArtifactBlob(id, ResultArtifact))
	if err != nil {
		r.t.Fatal(err)
	}
	var v map[string]any
	if err := json.Unmarshal(data, &v); err != nil {
		r.t.Fatalf("result %s: %v", data, err)
	}
	return v
}

// TestOpenAIJobRelaysTheBodyAsStored: each OpenAI kind goes to the
// target's own /v1 route with the body untouched ("stream" not added),
// and its result is the target's JSON answer, with status 200 recorded.
func TestOpenAIJobRelaysTheBodyAsStored(t *testing.T) {
	r, fake := openAIRig(t)
	cases := []struct {
		kind   eventlog.Kind
		path   string
		body   string
		object string
	}{
		{eventlog.KindOpenAIChat, "/v1/chat/completions", `{"model":"tiny-a","messages":[{"role":"user","content":"hi"}],"max_tokens":4,"x_unknown":1}`, "chat.completion"},
		{eventlog.KindOpenAICompletion, "/v1/completions", `{"model":"tiny-a","prompt":"hi","max_tokens":4}`, "text_completion"},
		{eventlog.KindOpenAIResponse, "/v1/responses", `{"model":"tiny-a","input":"hi","max_output_tokens":4}`, "response"},
		{eventlog.KindOpenAIEmbedding, "/v1/embeddings", `{"model":"tiny-embed","input":["a","b"]}`, "list"},
	}
	for _, tc := range cases {
		id := r.submitOpenAI(tc.kind, tc.body)
		j := r.await(id)
		if j.State != projections.Done || j.LastStatus != http.StatusOK || j.Result != ResultArtifact || j.Attempts != 1 {
			t.Fatalf("%s: job %+v", tc.kind, j)
		}
		if got := fake.LastRequest(tc.path); string(got) != tc.body {
			t.Fatalf("%s: target got %s, want the body as stored %s", tc.kind, got, tc.body)
		}
		if res := r.result(id); res["object"] != tc.object {
			t.Fatalf("%s: result %v", tc.kind, res)
		}
	}
}

// TestOpenAIStreamResultIsTheAssembledAnswer: a job that asked for a
// stream gets, as its result, what the same request without "stream"
// answers: the text concatenated, finish_reason and usage from the last
// frames (chat, completions), the completed response (responses).
func TestOpenAIStreamResultIsTheAssembledAnswer(t *testing.T) {
	r, _ := openAIRig(t)
	want := strings.Join(ollamatest.ChatAnswer("tiny-a", []ollama.Message{{Role: "user", Content: "hi"}}, map[string]any{"num_predict": float64(6)}), "")

	id := r.submitOpenAI(eventlog.KindOpenAIChat, `{"model":"tiny-a","messages":[{"role":"user","content":"hi"}],"max_tokens":6,"stream":true,"stream_options":{"include_usage":true}}`)
	if j := r.await(id); j.State != projections.Done {
		t.Fatalf("job %+v", j)
	}
	res := r.result(id)
	choice := res["choices"].([]any)[0].(map[string]any)
	msg := choice["message"].(map[string]any)
	if res["object"] != "chat.completion" || msg["content"] != want || msg["role"] != "assistant" || choice["finish_reason"] != "length" {
		t.Fatalf("assembled %v, want content %q", res, want)
	}
	if u, ok := res["usage"].(map[string]any); !ok || u["completion_tokens"] != float64(6) {
		t.Fatalf("usage %v", res["usage"])
	}
	r.sink.waitEnd(t, id)
	r.sink.mu.Lock()
	chunks := slices.Clone(r.sink.chunks[id])
	r.sink.mu.Unlock()
	if len(chunks) < 3 || chunks[len(chunks)-1] != "data: [DONE]" {
		t.Fatalf("live frames %q", chunks)
	}

	id = r.submitOpenAI(eventlog.KindOpenAICompletion, `{"model":"tiny-a","prompt":"hi","max_tokens":5,"stream":true}`)
	r.await(id)
	res = r.result(id)
	choice = res["choices"].([]any)[0].(map[string]any)
	if res["object"] != "text_completion" || choice["text"] == "" || choice["finish_reason"] != "length" || res["usage"] != nil {
		t.Fatalf("assembled completion %v", res)
	}

	id = r.submitOpenAI(eventlog.KindOpenAIResponse, `{"model":"tiny-a","input":"hi","max_output_tokens":5,"stream":true}`)
	r.await(id)
	if res = r.result(id); res["object"] != "response" || res["status"] != "completed" {
		t.Fatalf("assembled response %v", res)
	}
}

// TestOpenAITargetErrorIsKept: a 4xx from the target fails the job at
// once, without a retry, keeping the target's status and its error body
// as the job's result (what a batch line relays).
func TestOpenAITargetErrorIsKept(t *testing.T) {
	r, _ := openAIRig(t)
	id := r.submitOpenAI(eventlog.KindOpenAIChat, `{"model":"nope","messages":[{"role":"user","content":"hi"}]}`)
	j := r.await(id)
	if j.State != projections.Failed || j.Attempts != 1 || j.LastStatus != http.StatusNotFound ||
		j.LastError != "model 'nope' not found" || j.Result != ResultArtifact {
		t.Fatalf("job %+v", j)
	}
	e := r.result(id)["error"].(map[string]any)
	if e["message"] != "model 'nope' not found" || e["type"] != "api_error" {
		t.Fatalf("kept body %v", e)
	}
	want := []eventlog.Type{eventlog.JobSubmitted, eventlog.JobStarted, eventlog.ArtifactStored, eventlog.JobFailed}
	if got := r.types(id); !slices.Equal(got, want) {
		t.Fatalf("history %v", got)
	}
	r.sink.waitEnd(t, id)
	r.sink.mu.Lock()
	defer r.sink.mu.Unlock()
	if r.sink.status[id] != http.StatusNotFound || len(r.sink.chunks[id]) != 1 || !strings.Contains(r.sink.chunks[id][0], `"api_error"`) {
		t.Fatalf("a waiting caller got %d %q", r.sink.status[id], r.sink.chunks[id])
	}
}

// TestOpenAIStreamCutByARunnerCrashIsRetried: Ollama's /v1 writes a
// runner's death as one empty chunk and ends without [DONE]; that attempt
// failed (it is not a success with half an answer) and the job is retried.
func TestOpenAIStreamCutByARunnerCrashIsRetried(t *testing.T) {
	r, fake := openAIRig(t)
	fake.FailNext(1, ollamatest.ErrorAfter(2))
	id := r.submitOpenAI(eventlog.KindOpenAIChat, `{"model":"tiny-a","messages":[{"role":"user","content":"hi"}],"max_tokens":6,"stream":true}`)
	j := r.await(id)
	if j.State != projections.Done || j.Attempts != 2 {
		t.Fatalf("job %+v", j)
	}
	want := []eventlog.Type{eventlog.JobSubmitted, eventlog.JobStarted, eventlog.AttemptFailed, eventlog.JobStarted, eventlog.ArtifactStored, eventlog.JobSucceeded}
	if got := r.types(id); !slices.Equal(got, want) {
		t.Fatalf("history %v", got)
	}
}

// TestOpenAIStreamEndingUnfinishedIsNotRetried: a /v1 stream that stops
// without [DONE] after a chunk that names its model (Ollama stops a
// model that repeats itself this way) fails the job, as an /api/chat
// stream without its done line does; it is not taken for a runner crash.
func TestOpenAIStreamEndingUnfinishedIsNotRetried(t *testing.T) {
	r := newRig(t, nil)
	r.target.then(func(c call, emit func(string) error) error {
		return emit(`data: {"id":"chatcmpl-1","object":"chat.completion.chunk","model":"tiny-a","choices":[{"index":0,"delta":{"role":"assistant","content":" "},"finish_reason":null}]}`)
	})
	id := r.submitOpenAI(eventlog.KindOpenAIChat, `{"model":"tiny-a","messages":[{"role":"user","content":"hi"}],"stream":true}`)
	j := r.await(id)
	if j.State != projections.Failed || j.Attempts != 1 || !strings.Contains(j.LastError, "without a done chunk") {
		t.Fatalf("job %+v", j)
	}
}
