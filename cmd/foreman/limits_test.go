package main

import (
	"encoding/json"
	"errors"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	ollama "github.com/ollama/ollama/api"

	"github.com/foreman-dev/foreman/client"
	"github.com/foreman-dev/foreman/worker/target/ollamatest"
)

// A chat that sets no num_predict reaches the target with the default cap
// and ends as Ollama ends a capped answer: done, done_reason "length".
func TestDefaultOutputCapReachesTheTarget(t *testing.T) {
	fake := ollamatest.New(t)
	addr, stop := startServe(t, map[string]string{"FOREMAN_DATA_DIR": t.TempDir(), "FOREMAN_OLLAMA_URL": fake.URL(),
		"FOREMAN_DEFAULT_NUM_PREDICT": "5"})
	defer stop()
	u, _ := url.Parse("http://" + addr)
	c := ollama.NewClient(u, http.DefaultClient)
	var final ollama.ChatResponse
	msgs := []ollama.Message{{Role: "user", Content: "hi"}}
	err := c.Chat(t.Context(), &ollama.ChatRequest{Model: "tiny-a", Messages: msgs}, func(r ollama.ChatResponse) error { final = r; return nil })
	if err != nil {
		t.Fatal(err)
	}
	var sent struct {
		Options map[string]any `json:"options"`
	}
	json.Unmarshal(fake.LastRequest("/api/chat"), &sent)
	if sent.Options["num_predict"] != 5.0 || final.DoneReason != "length" || final.EvalCount != 5 {
		t.Fatalf("sent %s; final %+v", fake.LastRequest("/api/chat"), final)
	}
	// The caller's own is kept.
	err = c.Chat(t.Context(), &ollama.ChatRequest{Model: "tiny-a", Messages: msgs, Options: map[string]any{"num_predict": 2}},
		func(r ollama.ChatResponse) error { final = r; return nil })
	if err != nil || final.EvalCount != 2 || !strings.Contains(string(fake.LastRequest("/api/chat")), `"num_predict":2`) {
		t.Fatalf("caller's num_predict: %v %+v %s", err, final, fake.LastRequest("/api/chat"))
	}
}

// A job's own timeout cuts a hung answer and the job says which limit.
func TestJobTimeoutEndsAHungJob(t *testing.T) {
	fake := ollamatest.New(t)
	addr, stop := startServe(t, map[string]string{"FOREMAN_DATA_DIR": t.TempDir(), "FOREMAN_OLLAMA_URL": fake.URL(),
		"FOREMAN_MAX_ATTEMPTS": "1"})
	defer stop()
	fake.FailNext(1, ollamatest.Hang())
	cl := client.New("http://"+addr, client.WithPolling(), client.WithPollInterval(20*time.Millisecond))
	res, err := cl.Submit(t.Context(), client.Request{Body: []byte(`{"model":"tiny-a","messages":[{"role":"user","content":"hi"}],"timeout":"200ms"}`)})
	var je *client.JobError
	if !errors.As(err, &je) || je.State != client.StateFailed || je.Status != http.StatusGatewayTimeout ||
		!strings.Contains(je.Message, `timed out after 200ms (the job's "timeout")`) {
		t.Fatalf("result %+v, err %v", res, err)
	}
}
