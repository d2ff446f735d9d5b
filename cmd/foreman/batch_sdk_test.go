package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/openai/openai-go/v3"
	"github.com/openai/openai-go/v3/option"

	ollama "github.com/ollama/ollama/api"

	"github.com/foreman-dev/foreman/client"
	"github.com/foreman-dev/foreman/worker/target/ollamatest"
)

// sdkDaemon is a daemon in front of the fake Ollama and the official
// OpenAI client pointed at it.
func sdkDaemon(t *testing.T, env map[string]string) (openai.Client, *ollamatest.Server, string) {
	t.Helper()
	fake := ollamatest.New(t)
	base := map[string]string{"FOREMAN_DATA_DIR": t.TempDir(), "FOREMAN_OLLAMA_URL": fake.URL(), "FOREMAN_TOKEN": "tok",
		"FOREMAN_SHUTDOWN_GRACE": "0s"}
	for k, v := range env {
		base[k] = v
	}
	addr, stop := startServe(t, base)
	t.Cleanup(func() {
		if err := stop(); err != nil {
			t.Errorf("serve: %v", err)
		}
	})
	return openai.NewClient(option.WithBaseURL("http://"+addr+"/v1/"), option.WithAPIKey("tok"), option.WithMaxRetries(0)), fake, addr
}

func sdkUpload(t *testing.T, c openai.Client, jsonl string) *openai.FileObject {
	t.Helper()
	f, err := c.Files.New(context.Background(), openai.FileNewParams{
		File: openai.File(strings.NewReader(jsonl), "in.jsonl", "application/jsonl"), Purpose: openai.FilePurposeBatch})
	if err != nil {
		t.Fatalf("upload: %v", err)
	}
	return f
}

// sdkWait polls a batch until it reaches a terminal status.
func sdkWait(t *testing.T, c openai.Client, id string) *openai.Batch {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for {
		b, err := c.Batches.Get(context.Background(), id)
		if err != nil {
			t.Fatalf("get batch: %v", err)
		}
		switch b.Status {
		case openai.BatchStatusCompleted, openai.BatchStatusFailed, openai.BatchStatusCancelled, openai.BatchStatusExpired:
			return b
		}
		if time.Now().After(deadline) {
			t.Fatalf("batch still %s: %+v", b.Status, b.RequestCounts)
		}
		time.Sleep(20 * time.Millisecond) // polling is how the SDK's users wait
	}
}

// The SDK's file calls round-trip, and a bad input fails the batch with
// OpenAI's error list, running nothing.
func TestOpenAISDKFilesAndValidation(t *testing.T) {
	c, fake, _ := sdkDaemon(t, nil)
	ctx := context.Background()
	input := `{"custom_id":"a","method":"POST","url":"/v1/chat/completions","body":{"model":"tiny-a","messages":[{"role":"user","content":"hi"}]}}
{"custom_id":"a","method":"POST","url":"/v1/chat/completions","body":{"model":"tiny-a","messages":[{"role":"user","content":"hi"}]}}
{"custom_id":"c","method":"POST","url":"/v1/chat/completions","body":{"model":"no-such-model","messages":[]}}
not json
`
	f := sdkUpload(t, c, input)
	if f.Purpose != openai.FileObjectPurposeBatch || f.Bytes != int64(len(input)) || !strings.HasPrefix(f.ID, "file-") {
		t.Fatalf("file %+v", f)
	}
	resp, err := c.Files.Content(ctx, f.ID)
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if string(body) != input {
		t.Fatalf("content %q", body)
	}
	page, err := c.Files.List(ctx, openai.FileListParams{})
	if err != nil || len(page.Data) != 1 || page.Data[0].ID != f.ID {
		t.Fatalf("list %+v %v", page, err)
	}
	b, err := c.Batches.New(ctx, openai.BatchNewParams{InputFileID: f.ID, Endpoint: openai.BatchNewParamsEndpointV1ChatCompletions,
		CompletionWindow: openai.BatchNewParamsCompletionWindow24h, Metadata: map[string]string{"run": "t"}})
	if err != nil {
		t.Fatalf("create: %v", err)
	}
	if b.Status != openai.BatchStatusValidating || b.Metadata["run"] != "t" || b.ExpiresAt-b.CreatedAt != 86400 {
		t.Fatalf("created %+v", b)
	}
	b = sdkWait(t, c, b.ID)
	if b.Status != openai.BatchStatusFailed || b.FailedAt == 0 || len(b.Errors.Data) != 2 {
		t.Fatalf("batch %s, errors %+v", b.Status, b.Errors.Data)
	}
	if e := b.Errors.Data[0]; e.Code != "duplicate_custom_id" || e.Line != 2 || e.Param != "custom_id" {
		t.Fatalf("first error %+v", e)
	}
	if e := b.Errors.Data[1]; e.Code != "invalid_json_line" || e.Line != 4 {
		t.Fatalf("second error %+v", e)
	}
	if n := fake.Requests("/api/chat") + fake.Requests("/v1/chat/completions"); n != 0 {
		t.Fatalf("a failed batch ran %d requests", n)
	}
	// OpenAI's error shape for an unknown object.
	_, err = c.Batches.Get(ctx, "batch_01JZZZZZZZZZZZZZZZZZZZZZZZ")
	var apiErr *openai.Error
	if !errors.As(err, &apiErr) || apiErr.StatusCode != http.StatusNotFound || apiErr.Type != "invalid_request_error" {
		t.Fatalf("unknown batch: %v", err)
	}
	if _, err := c.Files.Delete(ctx, f.ID); err != nil {
		t.Fatalf("delete: %v", err)
	}
}

// chatBatch is a JSONL of n chat lines over models, interleaved.
func chatBatch(n int, models ...string) string {
	var b strings.Builder
	for i := range n {
		fmt.Fprintf(&b, `{"custom_id":"req-%d","method":"POST","url":"/v1/chat/completions","body":{"model":%q,"messages":[{"role":"user","content":"say %d"}],"temperature":0,"seed":1}}`+"\n",
			i, models[i%len(models)], i)
	}
	return b.String()
}

// sdkLines downloads a file and decodes its lines.
func sdkLines(t *testing.T, c openai.Client, id string) []map[string]any {
	t.Helper()
	if id == "" {
		return nil
	}
	resp, err := c.Files.Content(context.Background(), id)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var out []map[string]any
	dec := json.NewDecoder(resp.Body)
	for dec.More() {
		var m map[string]any
		if err := dec.Decode(&m); err != nil {
			t.Fatal(err)
		}
		out = append(out, m)
	}
	return out
}

// The whole path with the official client: upload, create, wait, read the
// output; lines over two models drain by model; every line once.
func TestOpenAISDKBatchRuns(t *testing.T) {
	c, fake, _ := sdkDaemon(t, nil)
	ctx := context.Background()
	const n = 30
	f := sdkUpload(t, c, chatBatch(n, "tiny-a", "tiny-b"))
	b, err := c.Batches.New(ctx, openai.BatchNewParams{InputFileID: f.ID, Endpoint: openai.BatchNewParamsEndpointV1ChatCompletions,
		CompletionWindow: openai.BatchNewParamsCompletionWindow24h})
	if err != nil {
		t.Fatal(err)
	}
	b = sdkWait(t, c, b.ID)
	if b.Status != openai.BatchStatusCompleted || b.RequestCounts.Total != n || b.RequestCounts.Completed != n || b.ErrorFileID != "" {
		t.Fatalf("batch %s %+v error file %q", b.Status, b.RequestCounts, b.ErrorFileID)
	}
	lines := sdkLines(t, c, b.OutputFileID)
	seen := map[string]bool{}
	for _, l := range lines {
		id := l["custom_id"].(string)
		if seen[id] {
			t.Fatalf("%s answered twice", id)
		}
		seen[id] = true
		resp := l["response"].(map[string]any)
		body := resp["body"].(map[string]any)
		if resp["status_code"] != float64(200) || body["object"] != "chat.completion" || l["error"] != nil || !strings.HasPrefix(l["id"].(string), "batch_req_") {
			t.Fatalf("line %v", l)
		}
	}
	if len(seen) != n {
		t.Fatalf("%d lines answered, want %d", len(seen), n)
	}
	if loads := fake.Loads(); loads > 4 {
		t.Errorf("%d model loads for a batch over 2 models", loads)
	}
}

// Cancelling a running batch: what ran is kept, the rest answered
// batch_cancelled, every line once.
func TestOpenAISDKBatchCancel(t *testing.T) {
	c, fake, _ := sdkDaemon(t, nil)
	ctx := context.Background()
	gate := fake.Block("tiny-a")
	defer gate.Release()
	f := sdkUpload(t, c, chatBatch(10, "tiny-a"))
	b, err := c.Batches.New(ctx, openai.BatchNewParams{InputFileID: f.ID, Endpoint: openai.BatchNewParamsEndpointV1ChatCompletions,
		CompletionWindow: openai.BatchNewParamsCompletionWindow24h})
	if err != nil {
		t.Fatal(err)
	}
	<-gate.Arrived() // the first line runs, held at the gate
	if b, err = c.Batches.Cancel(ctx, b.ID); err != nil || b.Status != openai.BatchStatusCancelling {
		t.Fatalf("cancel: %v %+v", err, b)
	}
	b = sdkWait(t, c, b.ID)
	if b.Status != openai.BatchStatusCancelled || b.RequestCounts.Failed != 10 || b.CancelledAt == 0 {
		t.Fatalf("batch %s %+v", b.Status, b.RequestCounts)
	}
	errs := sdkLines(t, c, b.ErrorFileID)
	if len(errs) != 10 || errs[0]["error"].(map[string]any)["code"] != "batch_cancelled" {
		t.Fatalf("error file %v", errs)
	}
}

// An embeddings batch goes through the queue like the rest.
func TestOpenAISDKEmbeddingsBatch(t *testing.T) {
	c, _, _ := sdkDaemon(t, nil)
	var in strings.Builder
	for i := range 4 {
		fmt.Fprintf(&in, `{"custom_id":"e%d","method":"POST","url":"/v1/embeddings","body":{"model":"tiny-embed","input":"text %d"}}`+"\n", i, i)
	}
	f := sdkUpload(t, c, in.String())
	b, err := c.Batches.New(context.Background(), openai.BatchNewParams{InputFileID: f.ID, Endpoint: openai.BatchNewParamsEndpointV1Embeddings,
		CompletionWindow: openai.BatchNewParamsCompletionWindow24h})
	if err != nil {
		t.Fatal(err)
	}
	b = sdkWait(t, c, b.ID)
	lines := sdkLines(t, c, b.OutputFileID)
	if b.Status != openai.BatchStatusCompleted || len(lines) != 4 {
		t.Fatalf("batch %s %+v; errors %v", b.Status, b.RequestCounts, sdkLines(t, c, b.ErrorFileID))
	}
	if body := lines[0]["response"].(map[string]any)["body"].(map[string]any); body["object"] != "list" {
		t.Fatalf("embedding answer %v", body)
	}
}

// An interactive job submitted while a batch runs waits for the one line
// running, not for the batch: batch lines are background work.
func TestBatchNeverHoldsAnInteractiveJob(t *testing.T) {
	c, fake, addr := sdkDaemon(t, nil)
	ctx := context.Background()
	gate := fake.Block("tiny-a")
	f := sdkUpload(t, c, chatBatch(20, "tiny-a"))
	b, err := c.Batches.New(ctx, openai.BatchNewParams{InputFileID: f.ID, Endpoint: openai.BatchNewParamsEndpointV1ChatCompletions,
		CompletionWindow: openai.BatchNewParamsCompletionWindow24h})
	if err != nil {
		t.Fatal(err)
	}
	<-gate.Arrived() // line 1 runs, held
	fc := client.New("http://"+addr, client.WithToken("tok"))
	job, err := fc.Enqueue(ctx, client.Request{Chat: &ollama.ChatRequest{Model: "tiny-b", Messages: []ollama.Message{{Role: "user", Content: "hi"}}}})
	if err != nil {
		t.Fatal(err)
	}
	gate.Release()
	if _, err := fc.Wait(ctx, job); err != nil {
		t.Fatal(err)
	}
	sdkWait(t, c, b.ID)
	// In the log: lines finished before the interactive job started.
	before, started := 0, false
	l, err := eventlogOpenEvents(t, addr)
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range l {
		switch {
		case e.Type == "job.started" && e.Job == job:
			started = true
		case e.Type == "job.succeeded" && e.Job != job && !started:
			before++
		}
	}
	if !started || before > 1 {
		t.Fatalf("%d batch lines finished before the interactive job started (want at most the one running)", before)
	}
}

// eventlogOpenEvents reads the whole log through GET /events.
func eventlogOpenEvents(t *testing.T, addr string) ([]struct{ Type, Job string }, error) {
	t.Helper()
	req, _ := http.NewRequest("GET", "http://"+addr+"/events?from=1&follow=false", nil)
	req.Header.Set("Authorization", "Bearer tok")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	var out []struct{ Type, Job string }
	dec := json.NewDecoder(resp.Body)
	for dec.More() {
		var e struct{ Type, Job string }
		if err := dec.Decode(&e); err != nil {
			return nil, err
		}
		out = append(out, e)
	}
	return out, nil
}
