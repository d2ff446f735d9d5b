package api

import (
	"context"
	"crypto/sha256"
	"net/http"
	"strings"
	"testing"

	"github.com/oklog/ulid/v2"

	"github.com/foreman-dev/foreman/eventlog"
)

// TestSubmitOpenAIKinds: POST /jobs takes the OpenAI kinds with "kind"
// set; the body is stored without foreman's fields and is otherwise the
// caller's (no "stream" added, no translation).
func TestSubmitOpenAIKinds(t *testing.T) {
	b := setupJobs(t, func(c *Config) { c.Inventory.(*fakeInventory).models["tiny-embed"] = true })
	for kind, body := range map[eventlog.Kind]string{
		eventlog.KindOpenAIChat:       `{"model":"tiny-a","messages":[{"role":"user","content":"hi"}],"max_tokens":8,"x_future":true}`,
		eventlog.KindOpenAICompletion: `{"model":"tiny-a","prompt":"hi","max_tokens":8}`,
		eventlog.KindOpenAIResponse:   `{"input":"hi","max_output_tokens":8,"model":"tiny-a"}`,
		eventlog.KindOpenAIEmbedding:  `{"input":["a","b"],"model":"tiny-embed"}`,
	} {
		id := b.submit(t, strings.Replace(body, "{", `{"kind":"`+string(kind)+`","priority":2,`, 1))
		v := b.get(t, id)
		if v.Kind != string(kind) || v.Priority != 2 || v.State != "queued" {
			t.Fatalf("%s: view %+v", kind, v)
		}
		hist, _ := b.log.JobEvents(ulid.MustParse(id))
		var sub eventlog.Submitted
		hist[0].Decode(&sub)
		if strings.Contains(string(sub.Request), `"kind"`) || strings.Contains(string(sub.Request), `"priority"`) ||
			strings.Contains(string(sub.Request), `"stream"`) || !strings.Contains(string(sub.Request), `"model":"tiny-`) {
			t.Fatalf("%s: stored %s", kind, sub.Request)
		}
	}
}

// TestSubmitOpenAIRefusals: a body Ollama's /v1 would refuse is refused
// at submission with Ollama's status and message, and nothing is stored.
func TestSubmitOpenAIRefusals(t *testing.T) {
	b := setupJobs(t, nil)
	for _, tc := range []struct {
		name, body string
		status     int
		msg        string
	}{
		{"malformed", `{"kind":"openai.chat","model":"tiny-a","messages":[}`, 400, "invalid JSON"},
		{"no messages", `{"kind":"openai.chat","model":"tiny-a","messages":[]}`, 400, "[] is too short - 'messages'"},
		{"messages not a list", `{"kind":"openai.chat","model":"tiny-a","messages":"hi"}`, 400, "cannot unmarshal string"},
		{"chat without model", `{"kind":"openai.chat","messages":[{"role":"user","content":"hi"}]}`, 400, "model is required"},
		{"completion without model", `{"kind":"openai.completion","prompt":"hi"}`, 404, "model '' not found"},
		{"unknown model", `{"kind":"openai.chat","model":"nope","messages":[{"role":"user","content":"hi"}]}`, 404, "model 'nope' not found"},
		{"bad stop", `{"kind":"openai.completion","model":"tiny-a","prompt":"hi","stop":[1]}`, 400, "invalid type for 'stop' field"},
		{"embedding without input", `{"kind":"openai.embedding","model":"tiny-a"}`, 400, "invalid input"},
		{"embedding empty input", `{"kind":"openai.embedding","model":"tiny-a","input":[]}`, 400, "invalid input"},
		{"embedding format", `{"kind":"openai.embedding","model":"tiny-a","input":"x","encoding_format":"hex"}`, 400, "encoding_format"},
		{"responses bad input", `{"kind":"openai.response","model":"tiny-a","input":3}`, 400, "input"},
		{"unknown openai kind", `{"kind":"openai.image","model":"tiny-a"}`, 400, `openai.image`},
	} {
		before := b.log.LastOffset()
		w := b.do(t, "POST", "/jobs", tc.body)
		if w.Code != tc.status || !strings.Contains(w.Body.String(), tc.msg) {
			t.Errorf("%s: %d %s, want %d with %q", tc.name, w.Code, w.Body.String(), tc.status, tc.msg)
		}
		if b.log.LastOffset() != before {
			t.Errorf("%s: something was stored", tc.name)
		}
	}
}

// TestOpenAIJobViewHasTheTargetsStatus: a finished OpenAI job shows the
// target's status beside its result, for a success (200) and for the
// target's refusal (its status, its error body as the result).
func TestOpenAIJobViewHasTheTargetsStatus(t *testing.T) {
	b := setupJobs(t, nil)
	finish := func(ok bool, status int, body string) string {
		id := ulid.Make()
		key := eventlog.ArtifactBlob(id, "result.json")
		sum := sha256.Sum256([]byte(body))
		end := eventlog.Record{Job: id, Type: eventlog.JobSucceeded, Payload: &eventlog.Succeeded{Attempt: 1, Result: "result.json", Status: status}}
		if !ok {
			end = eventlog.Record{Job: id, Type: eventlog.JobFailed, Payload: &eventlog.Failure{Attempt: 1, Error: "model 'nope' not found", Status: status, Result: "result.json"}}
		}
		evs, err := b.log.Append(context.Background(),
			eventlog.Record{Job: id, Type: eventlog.JobSubmitted, Payload: &eventlog.Submitted{Model: "tiny-a", Kind: eventlog.KindOpenAIChat, Request: []byte(`{}`), MaxAttempts: 3}},
			eventlog.Record{Job: id, Type: eventlog.JobStarted, Payload: &eventlog.Started{Attempt: 1}},
			eventlog.Record{Job: id, Type: eventlog.ArtifactStored, Blobs: []eventlog.Blob{{Key: key, Data: []byte(body)}},
				Payload: &eventlog.Artifact{Name: "result.json", ContentType: "application/json", Size: int64(len(body)), SHA256: sum[:], Blob: key}},
			end)
		if err != nil {
			t.Fatal(err)
		}
		if err := b.proj.WaitFor(context.Background(), evs[len(evs)-1].Offset); err != nil {
			t.Fatal(err)
		}
		return id.String()
	}
	v := b.get(t, finish(true, http.StatusOK, `{"object":"chat.completion"}`))
	if v.State != "done" || v.Status != http.StatusOK || string(v.Result) != `{"object":"chat.completion"}` || v.Error != "" {
		t.Fatalf("done view %+v", v)
	}
	v = b.get(t, finish(false, http.StatusNotFound, `{"error":{"message":"model 'nope' not found"}}`))
	if v.State != "failed" || v.Status != http.StatusNotFound || string(v.Result) != `{"error":{"message":"model 'nope' not found"}}` || v.Error != "model 'nope' not found" {
		t.Fatalf("failed view %+v", v)
	}
}
