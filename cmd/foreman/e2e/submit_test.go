//go:build e2e

package e2e

import (
	"bytes"
	"encoding/json"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"
)

// Issue 11, "fail at submission": the kind of a POST /jobs body comes from
// its shape, and what the model cannot do is refused at once, as Ollama
// refuses it, never after the queue.
func TestSubmitFailsFast(t *testing.T) {
	o, f := shared(t)
	t.Run("generate-shaped body runs as generate", func(t *testing.T) {
		body := `{"model":"tiny-a","prompt":"the quick brown fox","options":{"seed":3,"temperature":0,"num_predict":12}`
		want := raw(t, http.MethodPost, o.URL()+"/api/generate", "", body+`,"stream":false}`)
		if want.Status != http.StatusOK {
			t.Fatalf("direct generate: %d %s", want.Status, want.Body)
		}
		job := waitJob(t, f, submit(t, f, body+`}`), 2*time.Minute) // no "kind"
		if job.State != "done" || job.Kind != "generate" {
			t.Fatalf("job %+v", job)
		}
		if err := sameJSON(job.Result, want.Body); err != nil {
			t.Errorf("result vs direct generate: %v", err)
		}
	})
	t.Run("ambiguous or contradicted kind", func(t *testing.T) {
		for body, field := range map[string]string{
			`{"model":"tiny-a"}`:                                 `neither "messages"`,
			`{"model":"tiny-a","prompt":"x","messages":[]}`:      `both "messages"`,
			`{"model":"tiny-a","kind":"chat","prompt":"x"}`:      `"kind" is "chat"`,
			`{"model":"tiny-a","kind":"generate","messages":[]}`: `"kind" is "generate"`,
		} {
			r := raw(t, http.MethodPost, f.URL()+"/jobs", token, body)
			var e struct{ Error string }
			json.Unmarshal(r.Body, &e)
			if r.Status != http.StatusBadRequest || !strings.Contains(e.Error, field) {
				t.Errorf("%s: %d %s", body, r.Status, r.Body)
			}
		}
	})
	hi := `"messages":[{"role":"user","content":"hi"}]`
	png := "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNk+M9QDwADhgGAWjR9awAAAABJRU5ErkJggg=="
	cases := []struct{ name, path, body string }{
		{"chat on embedding-only model", "/api/chat", `{"model":"tiny-embed","stream":false,` + hi + `}`},
		{"load on embedding-only model", "/api/chat", `{"model":"tiny-embed","stream":false}`},
		{"generate on embedding-only model", "/api/generate", `{"model":"tiny-embed","prompt":"hi","stream":false}`},
		{"think on embedding-only model", "/api/chat", `{"model":"tiny-embed","think":true,"stream":false,` + hi + `}`},
		{"think level in chat", "/api/chat", `{"model":"tiny-a","think":"high","stream":false,` + hi + `}`},
		{"think level in generate", "/api/generate", `{"model":"tiny-a","think":"high","prompt":"hi","stream":false}`},
		{"tools unsupported", "/api/chat", `{"model":"tiny-a","stream":false,"tools":[{"type":"function","function":{"name":"f"}}],` + hi + `}`},
		{"suffix unsupported", "/api/generate", `{"model":"tiny-a","prompt":"hi","suffix":"x","stream":false}`},
	}
	t.Run("refused at once as Ollama refuses", func(t *testing.T) {
		for _, c := range cases {
			want := raw(t, http.MethodPost, o.URL()+c.path, "", c.body)
			if want.Status != http.StatusBadRequest {
				t.Fatalf("%s: ollama answered %d %s", c.name, want.Status, want.Body)
			}
			got := raw(t, http.MethodPost, f.URL()+c.path, token, c.body)
			if got.Status != want.Status || got.ContentType != want.ContentType || sameJSON(got.Body, want.Body) != nil {
				t.Errorf("%s on %s: foreman %d %s, ollama %d %s", c.name, c.path, got.Status, got.Body, want.Status, want.Body)
			}
			// POST /jobs: the same refusal, and no job.
			kind := strings.TrimPrefix(c.path, "/api/")
			job := raw(t, http.MethodPost, f.URL()+"/jobs", token, strings.Replace(c.body, "{", `{"kind":"`+kind+`",`, 1))
			if job.Status != want.Status || sameJSON(job.Body, want.Body) != nil {
				t.Errorf("%s on POST /jobs: %d %s, want %d %s", c.name, job.Status, job.Body, want.Status, want.Body)
			}
		}
	})
	t.Run("images run on any model, as in Ollama", func(t *testing.T) {
		body := `{"model":"tiny-a","stream":false,"options":{"num_predict":3},"messages":[{"role":"user","content":"hi","images":["` + png + `"]}]}`
		want := raw(t, http.MethodPost, o.URL()+"/api/chat", "", body)
		got := raw(t, http.MethodPost, f.URL()+"/api/chat", token, body)
		if want.Status != http.StatusOK || got.Status != want.Status {
			t.Fatalf("foreman %d %s, ollama %d %s", got.Status, got.Body, want.Status, want.Body)
		}
	})
}

// Issue 11, "nothing runs forever", against the real tiny models, which
// never stop on their own.
func TestNothingRunsForever(t *testing.T) {
	o := ownOllama(t, 0)
	f := ownForeman(t, o.URL(), "FOREMAN_DEFAULT_NUM_PREDICT=7", "FOREMAN_MAX_ATTEMPTS=1")
	t.Run("default num_predict ends done with length", func(t *testing.T) {
		r := raw(t, http.MethodPost, f.URL()+"/api/chat", token, `{"model":"tiny-a","stream":false,"messages":[{"role":"user","content":"hi"}]}`)
		var ans struct {
			DoneReason string `json:"done_reason"`
			EvalCount  int    `json:"eval_count"`
		}
		if err := json.Unmarshal(r.Body, &ans); err != nil || r.Status != 200 || ans.DoneReason != "length" || ans.EvalCount != 7 {
			t.Fatalf("sync chat: %d %s", r.Status, r.Body)
		}
		job := waitJob(t, f, submit(t, f, `{"model":"tiny-a","prompt":"hi"}`), 2*time.Minute)
		if err := json.Unmarshal(job.Result, &ans); err != nil || job.State != "done" || ans.DoneReason != "length" || ans.EvalCount != 7 {
			t.Fatalf("job %+v", job)
		}
		// The caller's own is kept.
		job = waitJob(t, f, submit(t, f, `{"model":"tiny-a","prompt":"hi","options":{"num_predict":3}}`), 2*time.Minute)
		if err := json.Unmarshal(job.Result, &ans); err != nil || job.State != "done" || ans.EvalCount != 3 {
			t.Fatalf("job with num_predict 3: %+v", job)
		}
	})
	t.Run("a job's timeout cuts an endless answer", func(t *testing.T) {
		t0 := time.Now()
		id := submit(t, f, `{"model":"tiny-big","prompt":"go on","options":{"num_predict":-1},"timeout":"3s"}`)
		job := waitJob(t, f, id, 2*time.Minute)
		if job.State != "failed" || job.Status != http.StatusGatewayTimeout || !strings.Contains(job.Error, `timed out after 3s (the job's "timeout")`) {
			t.Fatalf("job %+v", job)
		}
		if took := time.Since(t0); took > time.Minute {
			t.Fatalf("the cut took %s", took)
		}
		// The worker is free: the next job runs.
		if next := waitJob(t, f, submit(t, f, `{"model":"tiny-a","prompt":"hi"}`), 2*time.Minute); next.State != "done" {
			t.Fatalf("next job %+v", next)
		}
	})
	t.Run("a timeout over the maximum is refused", func(t *testing.T) {
		r := raw(t, http.MethodPost, f.URL()+"/jobs", token, `{"model":"tiny-a","prompt":"hi","timeout":"2h"}`)
		if r.Status != http.StatusBadRequest || !bytes.Contains(r.Body, []byte("FOREMAN_MAX_JOB_TIMEOUT")) {
			t.Fatalf("%d %s", r.Status, r.Body)
		}
	})
}

// Issue 11, inventory: /api/tags and /api/ps are Ollama's own bytes, still
// served while it is down, and a 502 (never an empty list) when foreman
// has never reached it.
func TestInventoryRelayAndOutage(t *testing.T) {
	o := ownOllama(t, 0)
	f := ownForeman(t, o.URL())
	for _, path := range []string{"/api/tags", "/api/ps"} {
		var got, want response
		// Ollama lists models made in the same second in map order, so
		// two of its own answers may differ in order: compare each
		// model's bytes, in a fixed order.
		waitFor(t, 10*time.Second, path+" to match ollama's bytes", func() bool {
			want = raw(t, http.MethodGet, o.URL()+path, "", "")
			got = raw(t, http.MethodGet, f.URL()+path, token, "")
			return sameModels(t, got.Body, want.Body)
		})
		if got.Status != 200 || got.ContentType != want.ContentType {
			t.Errorf("%s: %d %q", path, got.Status, got.ContentType)
		}
	}
	tags := raw(t, http.MethodGet, f.URL()+"/api/tags", token, "")
	o.Stop()
	waitFor(t, 10*time.Second, "foreman to see ollama down", func() bool {
		d, err := f.Health()
		return err == nil && d
	})
	if r := raw(t, http.MethodGet, f.URL()+"/api/tags", token, ""); r.Status != 200 || !bytes.Equal(r.Body, tags.Body) {
		t.Errorf("tags while ollama is down: %d %s", r.Status, r.Body)
	}
	// A foreman that never saw Ollama.
	never := ownForeman(t, o.URL())
	for _, path := range []string{"/api/tags", "/api/ps"} {
		r := raw(t, http.MethodGet, never.URL()+path, token, "")
		if r.Status != http.StatusBadGateway || !bytes.Contains(r.Body, []byte("ollama target unreachable")) {
			t.Errorf("%s with ollama never seen: %d %s", path, r.Status, r.Body)
		}
	}
}

// sameModels reports whether two /api/tags or /api/ps bodies hold the same
// models, each byte for byte, in whatever order.
func sameModels(t *testing.T, a, b []byte) bool {
	t.Helper()
	sorted := func(body []byte) []string {
		var v struct{ Models []json.RawMessage }
		if err := json.Unmarshal(body, &v); err != nil {
			return nil
		}
		out := make([]string, len(v.Models))
		for i, m := range v.Models {
			out[i] = string(m)
		}
		slices.Sort(out)
		return out
	}
	x, y := sorted(a), sorted(b)
	return x != nil && slices.Equal(x, y)
}
