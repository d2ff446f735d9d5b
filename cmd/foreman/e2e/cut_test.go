//go:build e2e

package e2e

import (
	"bytes"
	"encoding/json"
	"net/http"
	"testing"
	"time"
)

// cutStory makes tiny-big repeat one token until Ollama's runner gives up:
// after 30 identical tokens Ollama v0.17.4 ends the answer with neither a
// done line nor an error line (llm/server.go, "token repeat limit"); with
// "stream": false it answers 200 with "done": false and the partial text.
// A real model in a loop does the same.
const cutStory = `{"model":"tiny-big","prompt":"a long story","options":{"seed":9,"temperature":0,"num_predict":120}`

// foreman must not record such a cut answer as a success, and a
// synchronous caller must see what Ollama sent.
func TestRepeatLimitCut(t *testing.T) {
	o, f := shared(t)
	d := raw(t, http.MethodPost, o.URL()+"/api/generate", "", cutStory+`}`)
	lines := ndjsonLines(d.Body)
	if d.Status != http.StatusOK || len(lines) == 0 {
		t.Fatalf("direct: %d %s", d.Status, d.Body)
	}
	if bytes.Contains(lines[len(lines)-1], []byte(`"done":true`)) || bytes.Contains(d.Body, []byte(`"error"`)) {
		t.Skipf("!!! this prompt no longer makes Ollama cut its answer; pick another (last line %s)", lines[len(lines)-1])
	}

	t.Run("sync stream:false", func(t *testing.T) {
		want := raw(t, http.MethodPost, o.URL()+"/api/generate", "", cutStory+`,"stream":false}`)
		got := raw(t, http.MethodPost, f.URL()+"/api/generate", token, cutStory+`,"stream":false}`)
		if got.Status != want.Status || got.ContentType != want.ContentType {
			t.Fatalf("foreman %d %q, ollama %d %q", got.Status, got.ContentType, want.Status, want.ContentType)
		}
		if err := sameJSON(got.Body, want.Body); err != nil {
			t.Error(err)
		}
	})

	t.Run("sync stream", func(t *testing.T) {
		got := raw(t, http.MethodPost, f.URL()+"/api/generate", token, cutStory+`}`)
		gl := ndjsonLines(got.Body)
		if got.Status != d.Status || len(gl) < len(lines) {
			t.Fatalf("foreman %d with %d lines, ollama %d with %d", got.Status, len(gl), d.Status, len(lines))
		}
		for i := range lines {
			if err := sameJSON(gl[i], lines[i]); err != nil {
				t.Fatalf("line %d: %v", i, err)
			}
		}
		// Ollama just stops; foreman adds one {"error"} line saying so,
		// which the official client returns as an error. Pinned here, as
		// the one intended difference from Ollama's wire.
		switch extra := gl[len(lines):]; len(extra) {
		case 0:
		case 1:
			var e struct{ Error string }
			if json.Unmarshal(extra[0], &e) != nil || e.Error == "" {
				t.Errorf("foreman's extra line is not an error: %s", extra[0])
			}
			t.Logf("foreman ends the cut stream with %s (Ollama sends nothing)", extra[0])
		default:
			t.Errorf("foreman sent %d lines more than ollama", len(extra))
		}
	})

	t.Run("async", func(t *testing.T) {
		id := submit(t, f, cutStory+`,"kind":"generate"}`)
		j := waitJob(t, f, id, 2*time.Minute)
		t.Logf("async job on a cut answer: state %s, attempts %d, error %q", j.State, j.Attempts, j.Error)
		if j.State == "done" || j.Result != nil {
			t.Errorf("a cut answer was recorded as a success: %+v", j)
		}
	})
}
