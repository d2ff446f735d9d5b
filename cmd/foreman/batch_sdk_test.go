package main

import (
	"context"
	"errors"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/openai/openai-go/v3"
	"github.com/openai/openai-go/v3/option"

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
