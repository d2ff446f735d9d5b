package main

import (
	"bytes"
	"errors"
	"io"
	"net/http"
	"net/url"
	"testing"

	ollama "github.com/ollama/ollama/api"

	"github.com/foreman-dev/foreman/worker/target/ollamatest"
)

func getBody(t *testing.T, u string) (int, []byte) {
	t.Helper()
	resp, err := http.Get(u)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, b
}

// /api/tags and /api/ps are the target's own bytes, fields foreman does not
// know included (they used to be re-encoded from foreman's struct).
func TestTagsAndPsRelayFieldsForemanDoesNotKnow(t *testing.T) {
	fake := ollamatest.New(t, ollamatest.WithExtraFields(map[string]any{"x_future": "kept"}))
	addr, stop := startServe(t, map[string]string{"FOREMAN_DATA_DIR": t.TempDir(), "FOREMAN_OLLAMA_URL": fake.URL()})
	defer stop()
	for _, path := range []string{"/api/tags", "/api/ps"} {
		_, direct := getBody(t, fake.URL()+path)
		status, via := getBody(t, "http://"+addr+path)
		if status != 200 || !bytes.Equal(via, direct) || !bytes.Contains(via, []byte(`"x_future":"kept"`)) {
			t.Errorf("%s: %d %s\nstraight from the target: %s", path, status, via, direct)
		}
	}
}

// With the target unreachable from the start there is no model list:
// the official client gets a 502 with the reason, not an empty list.
func TestTagsAndPsWithTheTargetNeverSeen(t *testing.T) {
	addr, stop := startServe(t, map[string]string{"FOREMAN_DATA_DIR": t.TempDir()}) // nothing at the target's URL
	defer stop()
	u, _ := url.Parse("http://" + addr)
	c := ollama.NewClient(u, http.DefaultClient)
	_, err := c.List(t.Context())
	var se ollama.StatusError
	if !errors.As(err, &se) || se.StatusCode != http.StatusBadGateway || !bytes.Contains([]byte(se.ErrorMessage), []byte("ollama target unreachable")) {
		t.Fatalf("List = %#v", err)
	}
	if _, err := c.ListRunning(t.Context()); !errors.As(err, &se) || se.StatusCode != http.StatusBadGateway {
		t.Fatalf("ListRunning = %#v", err)
	}
}

// A chat for an embedding-only model is refused at submission with
// Ollama's answer, through the daemon's wiring of the inventory's
// /api/show; it used to be accepted and fail after the queue.
func TestChatToAnEmbeddingModelIsRefusedAtSubmission(t *testing.T) {
	fake := ollamatest.New(t)
	addr, stop := startServe(t, map[string]string{"FOREMAN_DATA_DIR": t.TempDir(), "FOREMAN_OLLAMA_URL": fake.URL()})
	defer stop()
	resp, err := http.Post("http://"+addr+"/jobs", "application/json",
		bytes.NewReader([]byte(`{"model":"tiny-embed","messages":[{"role":"user","content":"hi"}]}`)))
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 400 || string(b) != `{"error":"\"tiny-embed\" does not support chat"}`+"\n" {
		t.Fatalf("POST /jobs: %d %s", resp.StatusCode, b)
	}
	if n := fake.Requests("/api/chat"); n != 0 {
		t.Fatalf("%d chats reached the target", n)
	}
}
