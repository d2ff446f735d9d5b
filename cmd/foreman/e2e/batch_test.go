//go:build e2e

package e2e

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/openai/openai-go/v3"
	"github.com/openai/openai-go/v3/option"
)

// The OpenAI Batch API with the official openai-go client against real
// Ollama (issue 14).

func batchClient(f *foremanProc) openai.Client {
	return openai.NewClient(option.WithBaseURL(f.URL()+"/v1/"), option.WithAPIKey(token), option.WithMaxRetries(0))
}

// chatLine is one batch line's body: greedy and seeded, so the answer is
// the same as a direct call's.
func chatLine(model string, i int) string {
	return fmt.Sprintf(`{"model":%q,"messages":[{"role":"user","content":"line %d"}],"temperature":0,"seed":42,"max_tokens":8}`, model, i)
}

func uploadBatch(t *testing.T, c openai.Client, endpoint string, lines []string) *openai.Batch {
	t.Helper()
	ctx := context.Background()
	var in strings.Builder
	for i, body := range lines {
		fmt.Fprintf(&in, `{"custom_id":"req-%d","method":"POST","url":%q,"body":%s}`+"\n", i, endpoint, body)
	}
	f, err := c.Files.New(ctx, openai.FileNewParams{File: openai.File(strings.NewReader(in.String()), "in.jsonl", "application/jsonl"), Purpose: openai.FilePurposeBatch})
	if err != nil {
		t.Fatal(err)
	}
	return createBatch(t, c, f.ID, endpoint, "24h")
}

func createBatch(t *testing.T, c openai.Client, fileID, endpoint, window string) *openai.Batch {
	t.Helper()
	b, err := c.Batches.New(context.Background(), openai.BatchNewParams{InputFileID: fileID,
		Endpoint: openai.BatchNewParamsEndpoint(endpoint), CompletionWindow: openai.BatchNewParamsCompletionWindow(window)})
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// waitBatch polls as an SDK user does.
func waitBatch(t *testing.T, c openai.Client, id string, timeout time.Duration) *openai.Batch {
	t.Helper()
	var b *openai.Batch
	waitFor(t, timeout, "batch "+id+" to end", func() bool {
		var err error
		if b, err = c.Batches.Get(context.Background(), id); err != nil {
			t.Fatal(err)
		}
		switch b.Status {
		case "completed", "failed", "cancelled", "expired":
			return true
		}
		return false
	})
	return b
}

type batchLine struct {
	ID       string `json:"id"`
	CustomID string `json:"custom_id"`
	Response *struct {
		StatusCode int             `json:"status_code"`
		Body       json.RawMessage `json:"body"`
	} `json:"response"`
	Error *struct {
		Code    string `json:"code"`
		Message string `json:"message"`
	} `json:"error"`
}

func batchFile(t *testing.T, c openai.Client, id string) []batchLine {
	t.Helper()
	if id == "" {
		return nil
	}
	resp, err := c.Files.Content(context.Background(), id)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var out []batchLine
	dec := json.NewDecoder(resp.Body)
	for dec.More() {
		var l batchLine
		if err := dec.Decode(&l); err != nil {
			t.Fatal(err)
		}
		out = append(out, l)
	}
	return out
}

// everyLineOnce checks output ∪ error against the input's custom_ids.
func everyLineOnce(t *testing.T, b *openai.Batch, out, errs []batchLine, n int) {
	t.Helper()
	seen := map[string]int{}
	for _, l := range append(append([]batchLine(nil), out...), errs...) {
		seen[l.CustomID]++
	}
	for i := range n {
		if k := seen[fmt.Sprintf("req-%d", i)]; k != 1 {
			t.Errorf("req-%d is %d times in output ∪ error", i, k)
		}
	}
	if int(b.RequestCounts.Completed) != len(out) || int(b.RequestCounts.Failed) != len(errs) || int(b.RequestCounts.Total) != n {
		t.Errorf("counts %+v; files %d + %d; input %d", b.RequestCounts, len(out), len(errs), n)
	}
}

func chatText(t *testing.T, body []byte) string {
	t.Helper()
	var r struct {
		Choices []struct {
			Message struct {
				Content string `json:"content"`
			} `json:"message"`
		} `json:"choices"`
	}
	if err := json.Unmarshal(body, &r); err != nil || len(r.Choices) == 0 {
		t.Fatalf("not a chat completion: %s", body)
	}
	return r.Choices[0].Message.Content
}

// 60 chat lines over the 3 tiny chat models, interleaved, through a
// batch: every line answered once, with the text a direct call gives,
// and about one model load per model (one model resident at a time).
func TestBatchChatOverThreeModels(t *testing.T) {
	o := ownOllama(t, 1)
	f := ownForeman(t, o.URL())
	c := batchClient(f)
	models := []string{"tiny-a", "tiny-b", "tiny-big"}
	const n = 60
	lines := make([]string, n)
	for i := range lines {
		lines[i] = chatLine(models[i%3], i)
	}
	before := o.RunnerStarts()
	t0 := time.Now()
	b := waitBatch(t, c, uploadBatch(t, c, "/v1/chat/completions", lines).ID, 8*time.Minute)
	took, loads := time.Since(t0), o.RunnerStarts()-before
	if b.Status != "completed" {
		t.Fatalf("batch %s %+v", b.Status, b.RequestCounts)
	}
	out, errs := batchFile(t, c, b.OutputFileID), batchFile(t, c, b.ErrorFileID)
	everyLineOnce(t, b, out, errs, n)
	if len(errs) > 0 {
		t.Fatalf("%d lines failed, first %+v", len(errs), errs[0].Error)
	}
	if loads > 4 {
		t.Errorf("%d model loads for a batch over 3 models (drain by model: about 3)", loads)
	}
	// The same requests straight to Ollama, model by model.
	byID := map[string]batchLine{}
	for _, l := range out {
		byID[l.CustomID] = l
	}
	idx := make([]int, n)
	for i := range idx {
		idx[i] = i
	}
	sort.SliceStable(idx, func(a, b int) bool { return idx[a]%3 < idx[b]%3 })
	for _, i := range idx {
		resp, err := http.Post(o.URL()+"/v1/chat/completions", "application/json", strings.NewReader(lines[i]))
		if err != nil {
			t.Fatal(err)
		}
		direct, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		l := byID[fmt.Sprintf("req-%d", i)]
		if l.Response == nil || l.Response.StatusCode != 200 {
			t.Fatalf("req-%d: %+v", i, l)
		}
		if got, want := chatText(t, l.Response.Body), chatText(t, direct); got != want {
			t.Errorf("req-%d (%s): batch %q, direct %q", i, models[i%3], got, want)
		}
	}
	t.Logf("60 lines over 3 models in %v with %d model loads (OLLAMA_MAX_LOADED_MODELS=1); every answer equal to a direct call's", took.Round(time.Millisecond), loads)
}

// Cancel, expiry, a validation failure and an embeddings batch, on one
// daemon.
func TestBatchCancelExpiryValidationEmbeddings(t *testing.T) {
	o := ownOllama(t, 0)
	f := ownForeman(t, o.URL())
	c := batchClient(f)
	ctx := context.Background()

	t.Run("validation", func(t *testing.T) {
		b := waitBatch(t, c, uploadBatch(t, c, "/v1/chat/completions", []string{chatLine("tiny-a", 0), chatLine("no-such-model", 1)}).ID, time.Minute)
		if b.Status != "failed" || len(b.Errors.Data) != 1 || b.Errors.Data[0].Code != "model_not_found" || b.OutputFileID != "" {
			t.Fatalf("batch %s errors %+v", b.Status, b.Errors.Data)
		}
	})
	t.Run("embeddings", func(t *testing.T) {
		lines := []string{`{"model":"tiny-embed","input":"one"}`, `{"model":"tiny-embed","input":["two","three"]}`}
		b := waitBatch(t, c, uploadBatch(t, c, "/v1/embeddings", lines).ID, 2*time.Minute)
		out := batchFile(t, c, b.OutputFileID)
		everyLineOnce(t, b, out, batchFile(t, c, b.ErrorFileID), 2)
		for _, l := range out {
			var e struct {
				Data []struct {
					Embedding []float64 `json:"embedding"`
				} `json:"data"`
			}
			if json.Unmarshal(l.Response.Body, &e) != nil || len(e.Data) == 0 || len(e.Data[0].Embedding) == 0 {
				t.Fatalf("%s: not embeddings: %s", l.CustomID, l.Response.Body)
			}
		}
	})
	const n = 40
	slow := make([]string, n)
	for i := range slow {
		slow[i] = fmt.Sprintf(`{"model":"tiny-big","messages":[{"role":"user","content":"line %d"}],"max_tokens":64}`, i)
	}
	t.Run("cancel", func(t *testing.T) {
		b := uploadBatch(t, c, "/v1/chat/completions", slow)
		waitFor(t, time.Minute, "a first line to finish", func() bool {
			b, _ = c.Batches.Get(ctx, b.ID)
			return b.RequestCounts.Completed > 0
		})
		if b, err := c.Batches.Cancel(ctx, b.ID); err != nil || b.Status != "cancelling" {
			t.Fatalf("cancel: %v %+v", err, b)
		}
		b = waitBatch(t, c, b.ID, 2*time.Minute)
		out, errs := batchFile(t, c, b.OutputFileID), batchFile(t, c, b.ErrorFileID)
		if b.Status != "cancelled" || len(out) == 0 || len(errs) == 0 || errs[len(errs)-1].Error.Code != "batch_cancelled" {
			t.Fatalf("batch %s: %d answered, %d errors", b.Status, len(out), len(errs))
		}
		everyLineOnce(t, b, out, errs, n)
	})
	t.Run("expiry", func(t *testing.T) {
		var in bytes.Buffer
		for i, body := range slow {
			fmt.Fprintf(&in, `{"custom_id":"req-%d","method":"POST","url":"/v1/chat/completions","body":%s}`+"\n", i, body)
		}
		file, err := c.Files.New(ctx, openai.FileNewParams{File: openai.File(&in, "in.jsonl", "application/jsonl"), Purpose: openai.FilePurposeBatch})
		if err != nil {
			t.Fatal(err)
		}
		b := waitBatch(t, c, createBatch(t, c, file.ID, "/v1/chat/completions", "3s").ID, 2*time.Minute)
		out, errs := batchFile(t, c, b.OutputFileID), batchFile(t, c, b.ErrorFileID)
		if b.Status != "expired" || b.ExpiredAt == 0 || len(errs) == 0 || errs[len(errs)-1].Error.Code != "batch_expired" {
			t.Fatalf("batch %s: %d answered, %d errors", b.Status, len(out), len(errs))
		}
		everyLineOnce(t, b, out, errs, n)
	})
}
