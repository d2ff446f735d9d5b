package ollamatest

import (
	"bytes"
	"encoding/json"
	"io"
	"net/http"
	"reflect"
	"strings"
	"testing"
)

// volatile keys differ between runs (times, durations, random text and
// vectors): only their JSON type is compared. All other values must match
// the real server's exactly.
var volatile = map[string]bool{
	"created_at": true, "expires_at": true, "modified_at": true, "total_duration": true, "load_duration": true,
	"prompt_eval_count": true, "prompt_eval_duration": true, "eval_count": true, "eval_duration": true,
	"content": true, "response": true, "context": true, "embeddings": true, "embedding": true,
	"id": true, "created": true, "modelfile": true, "model_info": true, "template": true, "parent_model": true,
	"usage": true, "tensors": true, "parameters": true,
	"created_at_unix": true, "completed_at": true, "item_id": true, "sequence_number": true,
}

// volatileText are keys whose string values are generated text; other
// values under them (a chat chunk's "delta" object) are compared.
var volatileText = map[string]bool{"text": true, "delta": true}

// shape replaces volatile values by their JSON type.
func shape(v any, key string) any {
	if _, ok := v.(string); ok && volatileText[key] {
		return "<string>"
	}
	if volatile[key] {
		switch v.(type) {
		case string:
			return "<string>"
		case float64:
			return "<number>"
		case []any:
			return "<array>"
		case map[string]any:
			return "<object>"
		}
	}
	switch x := v.(type) {
	case map[string]any:
		out := make(map[string]any, len(x))
		for k, e := range x {
			out[k] = shape(e, k)
		}
		return out
	case []any:
		out := make([]any, len(x))
		for i, e := range x {
			out[i] = shape(e, key)
		}
		return out
	}
	return v
}

// frames splits a body into its JSON values: one per line for NDJSON,
// one per "data:" frame for SSE.
func frames(t *testing.T, body []byte) []any {
	t.Helper()
	var out []any
	for line := range bytes.Lines(body) {
		line = bytes.TrimSpace(bytes.TrimPrefix(bytes.TrimSpace(line), []byte("data: ")))
		if len(line) == 0 || line[0] != '{' {
			if string(line) == "[DONE]" {
				out = append(out, "[DONE]")
			}
			continue
		}
		var v any
		if err := json.Unmarshal(line, &v); err != nil {
			t.Fatalf("frame %q: %v", line, err)
		}
		out = append(out, shape(v, ""))
	}
	return out
}

func jsonText(v any) string {
	b, _ := json.Marshal(v)
	return string(b)
}

// TestMatchesSamples replays each captured request against the fake and
// compares status, content type and the JSON of the body with the real
// server's answer. Streams compare their first and last frames and every
// middle frame against the sample's first: the fake sends one chunk per
// token, the real server sometimes merges them.
func TestMatchesSamples(t *testing.T) {
	cases := []struct {
		name  string
		opts  []Option
		setup func(t *testing.T, s *Server)
		fault *Fault
		ext   []string // keys the fake leaves out
	}{
		{name: "root-get"}, {name: "root-head"}, {name: "version"}, {name: "tags"}, {name: "ps-empty"},
		{name: "ps-loaded", setup: func(t *testing.T, s *Server) { post(t, s, "/api/generate", `{"model":"tiny-a"}`) }},
		{name: "ps-after-keepalive", opts: []Option{WithMaxLoaded(3)}, setup: func(t *testing.T, s *Server) {
			post(t, s, "/api/embed", `{"model":"tiny-embed","input":"x"}`)
			post(t, s, "/api/chat", `{"model":"tiny-a","messages":[]}`)
			post(t, s, "/api/chat", `{"model":"tiny-b","messages":[],"keep_alive":"10m"}`)
		}},
		{name: "show-tiny-a", ext: []string{"tensors"}}, {name: "show-tiny-embed", ext: []string{"tensors"}},
		{name: "show-unknown"}, {name: "err-show-missing-model"},
		{name: "chat-stream"}, {name: "chat-nonstream"}, {name: "chat-load-only"}, {name: "chat-unload"},
		{name: "chat-keepalive-string"}, {name: "chat-with-system-and-history"}, {name: "chat-on-embed-model"},
		{name: "generate-stream"}, {name: "generate-nonstream"}, {name: "generate-raw-nonstream"},
		{name: "generate-format-json"}, {name: "generate-on-embed-model"}, {name: "load-only-generate"},
		{name: "unload-all-a"}, {name: "unload-all-b"},
		{name: "embed-tiny-a"}, {name: "embed-tiny-embed-multi"}, {name: "embeddings-legacy"},
		{name: "err-chat-bad-field-type"}, {name: "err-chat-bad-option-type"}, {name: "err-chat-empty-body"},
		{name: "err-chat-get-method"}, {name: "err-chat-invalid-role"}, {name: "err-chat-malformed-json"},
		{name: "err-chat-missing-model"}, {name: "err-chat-think-unsupported"}, {name: "err-chat-tools-unsupported"},
		{name: "err-chat-unknown-model"}, {name: "err-chat-unknown-model-nostream"}, {name: "err-delete-unknown"},
		{name: "err-embed-empty-input"}, {name: "err-embed-malformed-json"}, {name: "err-embed-unknown-model"},
		{name: "err-generate-malformed-json"}, {name: "err-generate-missing-model"}, {name: "err-generate-unknown-model"},
		{name: "err-model-bad-name"}, {name: "err-pull-offline"}, {name: "err-pull-offline-stream"}, {name: "err-unknown-path"},
		{name: "v1-chat-nonstream"}, {name: "v1-chat-stream"}, {name: "v1-chat-unknown-model"}, {name: "v1-embeddings"}, {name: "v1-models"},
		{name: "v1-chat-stream-usage"}, {name: "v1-chat-unknown-model-stream"}, {name: "v1-chat-malformed-json"},
		{name: "v1-chat-empty-body"}, {name: "v1-chat-missing-model"}, {name: "v1-chat-no-messages"}, {name: "v1-chat-bad-field-type"},
		{name: "v1-chat-on-embed-model"}, {name: "v1-chat-get-method"},
		{name: "v1-completions-nonstream"}, {name: "v1-completions-stream"}, {name: "v1-completions-stream-usage"},
		{name: "v1-completions-unknown-model"}, {name: "v1-completions-missing-model"}, {name: "v1-completions-on-embed-model"},
		{name: "v1-completions-malformed-json"},
		{name: "v1-responses-nonstream"}, {name: "v1-responses-stream"}, {name: "v1-responses-unknown-model"},
		{name: "v1-embeddings-multi"}, {name: "v1-embeddings-unknown-model"}, {name: "v1-embeddings-missing-model"},
		{name: "v1-embeddings-malformed-json"}, {name: "v1-embeddings-empty-input"},
		{name: "v1-models-get"}, {name: "v1-models-get-tag"}, {name: "v1-models-get-unknown"}, {name: "v1-models-get-slash"},
		{name: "v1-unknown-path"}, {name: "v1-unknown-path-post"}, {name: "v1-head-models"}, {name: "v1-options-chat"}, {name: "v1-patch-chat"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			want := readSample(t, tc.name)
			s := New(t, tc.opts...)
			if tc.setup != nil {
				tc.setup(t, s)
			}
			req, ok := curlRequest(t, want.Command, s.URL())
			if !ok {
				t.Fatalf("sample %s has no curl command", tc.name)
			}
			compare(t, req, want, tc.ext)
		})
	}
}

// TestMatchesRunnerCrashSamples injects the runner crash captured by hand.
func TestMatchesRunnerCrashSamples(t *testing.T) {
	for name, stream := range map[string]bool{"stream-runner-killed-midstream": true, "nonstream-runner-killed": false} {
		t.Run(name, func(t *testing.T) {
			want := readSample(t, name)
			s := New(t)
			chunks := len(frames(t, want.Body)) - 1
			s.FailNext(1, ErrorAfter(chunks))
			body := `{"model":"tiny-big","prompt":"hi","options":{"num_predict":3000}`
			if !stream {
				body += `,"stream":false`
			}
			req, _ := http.NewRequest(http.MethodPost, s.URL()+"/api/generate", strings.NewReader(body+"}"))
			got := compare(t, req, want, nil)
			if stream && len(got) != chunks+1 {
				t.Fatalf("got %d frames, want %d chunks and the error", len(got), chunks)
			}
		})
	}
}

// compare sends req and checks the answer against want; it returns the
// answer's frames.
func compare(t *testing.T, req *http.Request, want sample, ext []string) []any {
	t.Helper()
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	if resp.StatusCode != want.Status {
		t.Errorf("status %d, want %d (body %s)", resp.StatusCode, want.Status, body)
	}
	if got, w := resp.Header.Get("Content-Type"), want.Header.Get("Content-Type"); got != w {
		t.Errorf("Content-Type %q, want %q", got, w)
	}
	if a := want.Header.Get("Allow"); a != "" && resp.Header.Get("Allow") != a {
		t.Errorf("Allow %q, want %q", resp.Header.Get("Allow"), a)
	}
	if req.Method == http.MethodHead {
		if cl := want.Header.Get("Content-Length"); resp.Header.Get("Content-Length") != cl {
			t.Errorf("Content-Length %q, want %q", resp.Header.Get("Content-Length"), cl)
		}
		return nil
	}
	wantFrames, gotFrames := frames(t, want.Body), frames(t, body)
	for _, k := range ext {
		for _, f := range wantFrames {
			if m, ok := f.(map[string]any); ok {
				delete(m, k)
			}
		}
	}
	if len(wantFrames) == 0 {
		if !bytes.Equal(bytes.TrimSpace(body), bytes.TrimSpace(want.Body)) {
			t.Errorf("body %q, want %q", body, want.Body)
		}
		return nil
	}
	if len(gotFrames) == 0 {
		t.Fatalf("body %q: no JSON, want %s", body, want.Body)
	}
	check := func(what string, got, want any) {
		if !reflect.DeepEqual(got, want) {
			t.Errorf("%s:\n got %s\nwant %s", what, jsonText(got), jsonText(want))
		}
	}
	if strings.HasPrefix(want.Header.Get("Content-Type"), "text/event-stream") {
		// SSE: the same frames in the same order, runs of like frames
		// (one per piece of text) counted once.
		check("frames", collapse(gotFrames), collapse(wantFrames))
		return gotFrames
	}
	check("first frame", gotFrames[0], wantFrames[0])
	tail := 1 // the done line, or the error
	if wantFrames[len(wantFrames)-1] == "[DONE]" {
		tail = 2
	}
	if len(gotFrames) < tail+1 && len(wantFrames) >= tail+1 {
		t.Fatalf("got %d frames, want at least %d", len(gotFrames), tail+1)
	}
	for j := 1; j <= tail && j <= len(wantFrames); j++ {
		check("trailing frame", gotFrames[len(gotFrames)-j], wantFrames[len(wantFrames)-j])
	}
	if len(gotFrames) > tail+1 {
		for _, f := range gotFrames[1 : len(gotFrames)-tail] {
			check("middle frame", f, wantFrames[0])
		}
	}
	return gotFrames
}

func post(t *testing.T, s *Server, path, body string) []byte {
	t.Helper()
	resp, err := http.Post(s.URL()+path, "application/json", strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("POST %s: %d %s", path, resp.StatusCode, b)
	}
	return b
}

// collapse drops each frame equal to the one before it.
func collapse(fs []any) []any {
	var out []any
	for _, f := range fs {
		if len(out) == 0 || !reflect.DeepEqual(out[len(out)-1], f) {
			out = append(out, f)
		}
	}
	return out
}
