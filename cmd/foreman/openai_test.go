package main

import (
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/openai/openai-go/v3"
	"github.com/openai/openai-go/v3/option"
	"github.com/openai/openai-go/v3/responses"

	"github.com/foreman-dev/foreman/worker/target/ollamatest"
)

// openAIClients returns the official OpenAI Go client pointed at a foreman
// daemon (token "tok") and, for comparison, straight at the fake Ollama
// behind it; and foreman's base URL.
func openAIClients(t *testing.T, env map[string]string, opts ...ollamatest.Option) (via, direct openai.Client, fake *ollamatest.Server, base string) {
	t.Helper()
	fake = ollamatest.New(t, opts...)
	e := map[string]string{
		"FOREMAN_DATA_DIR": t.TempDir(), "FOREMAN_OLLAMA_URL": fake.URL(), "FOREMAN_TOKEN": "tok",
		"FOREMAN_SHUTDOWN_GRACE": "0s",
	}
	for k, v := range env {
		e[k] = v
	}
	addr, stop := startServe(t, e)
	t.Cleanup(func() {
		if err := stop(); err != nil {
			t.Errorf("serve: %v", err)
		}
	})
	base = "http://" + addr
	via = openai.NewClient(option.WithBaseURL(base+"/v1/"), option.WithAPIKey("tok"), option.WithMaxRetries(0))
	direct = openai.NewClient(option.WithBaseURL(fake.URL()+"/v1/"), option.WithAPIKey("unused"), option.WithMaxRetries(0))
	return via, direct, fake, base
}

func chatParams(model string) openai.ChatCompletionNewParams {
	return openai.ChatCompletionNewParams{
		Model:       model,
		Messages:    []openai.ChatCompletionMessageParamUnion{openai.UserMessage("say something")},
		Seed:        openai.Int(42),
		Temperature: openai.Float(0),
		MaxTokens:   openai.Int(6),
	}
}

// TestOpenAIClientThroughTheQueue: the official OpenAI client gets the
// same answers through foreman as straight from the target, for chat
// (streamed and not), completions, responses, embeddings and the models;
// each generating call was a job.
func TestOpenAIClientThroughTheQueue(t *testing.T) {
	via, direct, fake, base := openAIClients(t, nil)
	ctx := t.Context()

	got, err := via.Chat.Completions.New(ctx, chatParams("tiny-a"))
	if err != nil {
		t.Fatal(err)
	}
	want, err := direct.Chat.Completions.New(ctx, chatParams("tiny-a"))
	if err != nil {
		t.Fatal(err)
	}
	if got.Choices[0].Message.Content != want.Choices[0].Message.Content || got.Choices[0].FinishReason != want.Choices[0].FinishReason ||
		got.Usage.CompletionTokens != want.Usage.CompletionTokens || got.Object != "chat.completion" || got.Model != "tiny-a" {
		t.Fatalf("chat through foreman %+v\nstraight %+v", got, want)
	}

	stream := func(c openai.Client) (string, int) {
		p := chatParams("tiny-a")
		p.StreamOptions.IncludeUsage = openai.Bool(true)
		s := c.Chat.Completions.NewStreaming(ctx, p)
		acc := openai.ChatCompletionAccumulator{}
		n := 0
		for s.Next() {
			acc.AddChunk(s.Current())
			n++
		}
		if err := s.Err(); err != nil {
			t.Fatal(err)
		}
		return acc.Choices[0].Message.Content + "|" + acc.Choices[0].FinishReason, n
	}
	gotText, gotN := stream(via)
	wantText, wantN := stream(direct)
	if gotText != wantText || gotN != wantN || gotText != want.Choices[0].Message.Content+"|length" {
		t.Fatalf("streamed %q in %d chunks through foreman, %q in %d straight", gotText, gotN, wantText, wantN)
	}

	cp := openai.CompletionNewParams{Model: "tiny-a", Prompt: openai.CompletionNewParamsPromptUnion{OfString: openai.String("why")},
		MaxTokens: openai.Int(5), Seed: openai.Int(1)}
	gc, err := via.Completions.New(ctx, cp)
	if err != nil {
		t.Fatal(err)
	}
	wc, err := direct.Completions.New(ctx, cp)
	if err != nil {
		t.Fatal(err)
	}
	if gc.Choices[0].Text != wc.Choices[0].Text || gc.Object != "text_completion" {
		t.Fatalf("completion %+v, straight %+v", gc, wc)
	}

	rp := responses.ResponseNewParams{Model: "tiny-a", Input: responses.ResponseNewParamsInputUnion{OfString: openai.String("hi")},
		MaxOutputTokens: openai.Int(5)}
	gr, err := via.Responses.New(ctx, rp)
	if err != nil {
		t.Fatal(err)
	}
	wr, err := direct.Responses.New(ctx, rp)
	if err != nil {
		t.Fatal(err)
	}
	if gr.OutputText() != wr.OutputText() || gr.Status != "completed" {
		t.Fatalf("response %q %s, straight %q", gr.OutputText(), gr.Status, wr.OutputText())
	}

	ep := openai.EmbeddingNewParams{Model: "tiny-embed", Input: openai.EmbeddingNewParamsInputUnion{OfArrayOfStrings: []string{"hello", "world"}}}
	ge, err := via.Embeddings.New(ctx, ep)
	if err != nil {
		t.Fatal(err)
	}
	we, err := direct.Embeddings.New(ctx, ep)
	if err != nil {
		t.Fatal(err)
	}
	if len(ge.Data) != 2 || len(ge.Data[1].Embedding) != len(we.Data[1].Embedding) || ge.Data[1].Embedding[3] != we.Data[1].Embedding[3] {
		t.Fatalf("embeddings differ: %d vectors", len(ge.Data))
	}

	gl, err := via.Models.List(ctx)
	if err != nil {
		t.Fatal(err)
	}
	wl, err := direct.Models.List(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if len(gl.Data) == 0 || len(gl.Data) != len(wl.Data) || gl.Data[0].ID != wl.Data[0].ID {
		t.Fatalf("models %+v, straight %+v", gl.Data, wl.Data)
	}
	for _, id := range []string{"tiny-a", "tiny-a:latest"} {
		m, err := via.Models.Get(ctx, id)
		if err != nil || m.ID != id || m.OwnedBy != "library" {
			t.Fatalf("model %s: %+v %v", id, m, err)
		}
	}

	// Chat (twice), completion and response were jobs; embeddings and the
	// models were not.
	var list struct {
		Jobs []struct{ Kind, State string }
	}
	authGetJSON(t, base+"/jobs", &list)
	kinds := map[string]int{}
	for _, j := range list.Jobs {
		if j.State != "done" {
			t.Errorf("job %+v", j)
		}
		kinds[j.Kind]++
	}
	if kinds["openai.chat"] != 2 || kinds["openai.completion"] != 1 || kinds["openai.response"] != 1 || len(kinds) != 3 {
		t.Fatalf("jobs by kind %v", kinds)
	}
	if n := fake.Requests("/v1/embeddings"); n != 2 {
		t.Fatalf("embeddings reached the target %d times", n)
	}
}

// TestOpenAIModelWithASlash: Ollama's GET /v1/models/{model} takes one
// path segment; foreman answers an id with a "/" from the target's list.
func TestOpenAIModelWithASlash(t *testing.T) {
	m := ollamatest.DefaultModels()[0]
	m.Name = "hf.co/org/tiny:q4"
	via, _, _, _ := openAIClients(t, nil, ollamatest.WithModels(append(ollamatest.DefaultModels(), m)...))
	got, err := via.Models.Get(t.Context(), "hf.co/org/tiny:q4")
	if err != nil || got.ID != "hf.co/org/tiny:q4" || got.OwnedBy != "org" {
		t.Fatalf("model %+v %v", got, err)
	}
	_, err = via.Models.Get(t.Context(), "hf.co/org/nope")
	var apiErr *openai.Error
	if !errors.As(err, &apiErr) || apiErr.StatusCode != http.StatusNotFound || apiErr.Message != "model 'hf.co/org/nope' not found" {
		t.Fatalf("unknown model with a slash: %v", err)
	}
}

// TestOpenAIClientErrors: refusals reach the official client in OpenAI's
// shape with Ollama's status and message, and nothing is queued for them.
func TestOpenAIClientErrors(t *testing.T) {
	via, direct, _, base := openAIClients(t, nil)
	ctx := t.Context()
	status := func(err error) (int, string) {
		var e *openai.Error
		if !errors.As(err, &e) {
			t.Fatalf("error %v (%T), want *openai.Error", err, err)
		}
		return e.StatusCode, e.Message
	}
	_, err := via.Chat.Completions.New(ctx, chatParams("nope"))
	gs, gm := status(err)
	_, err = direct.Chat.Completions.New(ctx, chatParams("nope"))
	ws, wm := status(err)
	if gs != ws || gm != wm || gs != http.StatusNotFound {
		t.Fatalf("unknown model: %d %q through foreman, %d %q straight", gs, gm, ws, wm)
	}
	_, err = via.Chat.Completions.New(ctx, chatParams("tiny-embed"))
	if s, m := status(err); s != http.StatusBadRequest || m != `"tiny-embed" does not support chat` {
		t.Fatalf("chat on an embedding model: %d %q", s, m)
	}
	bad := openai.NewClient(option.WithBaseURL(base+"/v1/"), option.WithAPIKey("wrong"), option.WithMaxRetries(0))
	_, err = bad.Chat.Completions.New(ctx, chatParams("tiny-a"))
	if s, m := status(err); s != http.StatusUnauthorized || !strings.Contains(m, "invalid bearer token") {
		t.Fatalf("wrong key: %d %q", s, m)
	}

	for _, tc := range []struct {
		method, path, body, hdr string
		status                  int
		typ, msg                string
	}{
		{"POST", "/v1/chat/completions", `{"model":"tiny-a","messages":[`, "", 400, "invalid_request_error", "unexpected EOF"},
		{"POST", "/v1/chat/completions", ``, "", 400, "invalid_request_error", "EOF"},
		{"POST", "/v1/chat/completions", `{"model":"tiny-a","messages":[]}`, "", 400, "invalid_request_error", "[] is too short - 'messages'"},
		{"POST", "/v1/chat/completions", `{"messages":[{"role":"user","content":"x"}]}`, "", 400, "api_error", "model is required"},
		{"POST", "/v1/completions", `{"prompt":"x"}`, "", 404, "api_error", "model '' not found"},
		{"POST", "/v1/chat/completions", `{"model":"tiny-a","messages":[{"role":"user","content":"x"}]}`, "x", 400, "invalid_request_error", "X-Foreman-Priority"},
		{"POST", "/v1/chat/completions", `{"model":"tiny-a","messages":[{"role":"user","content":"x"}]}`, "missing", 401, "invalid_request_error", "missing bearer token"},
		{"POST", "/v1/nope", `{}`, "", 404, "invalid_request_error", "Invalid URL (POST /v1/nope)"},
		{"PATCH", "/v1/chat/completions/x", ``, "", 404, "invalid_request_error", "Invalid URL (PATCH /v1/chat/completions/x)"},
		{"PUT", "/v1/files", ``, "", 405, "invalid_request_error", "method not allowed"},
		{"GET", "/v1/batches/batch_nope", ``, "", 404, "invalid_request_error", "No such Batch object"},
		{"GET", "/v1/chat/completions", ``, "", 405, "invalid_request_error", "method not allowed"},
		{"HEAD", "/v1/models", ``, "", 405, "", ""},
	} {
		req, _ := http.NewRequest(tc.method, base+tc.path, strings.NewReader(tc.body))
		switch tc.hdr {
		case "missing":
		case "":
			req.Header.Set("Authorization", "Bearer tok")
		default:
			req.Header.Set("Authorization", "Bearer tok")
			req.Header.Set("X-Foreman-Priority", tc.hdr)
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		var e struct {
			Error struct {
				Message, Type string
				Param, Code   any
			}
		}
		if resp.StatusCode != tc.status || tc.method != "HEAD" && (json.Unmarshal(body, &e) != nil || e.Error.Type != tc.typ ||
			!strings.Contains(e.Error.Message, tc.msg) || !strings.HasPrefix(resp.Header.Get("Content-Type"), "application/json")) {
			t.Errorf("%s %s %s: %d %s %s, want %d %s %q", tc.method, tc.path, tc.body, resp.StatusCode, resp.Header.Get("Content-Type"), body, tc.status, tc.typ, tc.msg)
		}
	}
	var list struct{ Jobs []any }
	authGetJSON(t, base+"/jobs", &list)
	if len(list.Jobs) != 0 {
		t.Fatalf("%d jobs were stored for refused requests", len(list.Jobs))
	}
}

// TestOpenAIBodyTooLarge: a body over FOREMAN_MAX_BODY is 413, in OpenAI's
// shape.
func TestOpenAIBodyTooLarge(t *testing.T) {
	via, _, _, _ := openAIClients(t, map[string]string{"FOREMAN_MAX_BODY": "1024"})
	p := chatParams("tiny-a")
	p.Messages = []openai.ChatCompletionMessageParamUnion{openai.UserMessage(strings.Repeat("x", 2000))}
	_, err := via.Chat.Completions.New(t.Context(), p)
	var e *openai.Error
	if !errors.As(err, &e) || e.StatusCode != http.StatusRequestEntityTooLarge || !strings.Contains(e.Message, "FOREMAN_MAX_BODY") || e.Type != "invalid_request_error" {
		t.Fatalf("err %v", err)
	}
}

// TestOpenAIQueueFullIs429: a /v1 call refused for a full queue is a 429
// with Retry-After, which the SDKs retry by themselves.
func TestOpenAIQueueFullIs429(t *testing.T) {
	via, _, fake, base := openAIClients(t, map[string]string{"FOREMAN_MAX_QUEUE": "1"})
	gate := fake.Block("tiny-a")
	t.Cleanup(gate.Release)
	ctx := t.Context()
	var wg sync.WaitGroup
	wg.Add(1)
	go func() { // runs, held at the gate
		defer wg.Done()
		via.Chat.Completions.New(ctx, chatParams("tiny-a"))
	}()
	<-gate.Arrived()
	waitQueued(t, base, 0) // its start applied: running, not waiting
	// This one waits, and the queue is full.
	postJob(t, base, `{"model":"tiny-a","messages":[{"role":"user","content":"queued"}]}`)
	req, _ := http.NewRequest("POST", base+"/v1/chat/completions", strings.NewReader(`{"model":"tiny-a","messages":[{"role":"user","content":"x"}]}`))
	req.Header.Set("Authorization", "Bearer tok")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusTooManyRequests || resp.Header.Get("Retry-After") == "" || !strings.Contains(string(body), `"code":"rate_limit_exceeded"`) {
		t.Fatalf("full queue: %d %q %s", resp.StatusCode, resp.Header.Get("Retry-After"), body)
	}
	gate.Release()
	wg.Wait()
}

// TestOpenAICallsReachTheTargetOneAtATime: eight simultaneous chat
// completions are queued and run one by one.
func TestOpenAICallsReachTheTargetOneAtATime(t *testing.T) {
	via, _, fake, _ := openAIClients(t, nil, ollamatest.WithChunkDelay(time.Millisecond))
	var wg sync.WaitGroup
	errs := make(chan error, 8)
	for i := range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			p := chatParams("tiny-a")
			p.Seed = openai.Int(int64(i))
			if _, err := via.Chat.Completions.New(t.Context(), p); err != nil {
				errs <- err
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
	if n := fake.Requests("/v1/chat/completions"); n != 8 {
		t.Fatalf("%d calls reached the target", n)
	}
	if m := fake.MaxInFlight(); m != 1 {
		t.Fatalf("%d calls ran on the target at once", m)
	}
}

// TestOpenAIAndNativeJobsOfAModelDrainTogether: queued behind another
// model, a /v1 job and an /api/chat job for one model run back to back,
// the other model's job, queued between them, after both.
func TestOpenAIAndNativeJobsOfAModelDrainTogether(t *testing.T) {
	via, _, fake, base := openAIClients(t, nil, ollamatest.WithMaxLoaded(1))
	firsts := make(chan string, 8) // each run's model, at its first chunk
	fake.OnChunk(func(model string, i int) {
		if i == 0 {
			firsts <- model
		}
	})
	gate := fake.Block("tiny-b")
	t.Cleanup(gate.Release)
	postJob(t, base, `{"model":"tiny-b","messages":[{"role":"user","content":"first"}]}`)
	<-gate.Arrived()

	ctx := t.Context()
	var wg sync.WaitGroup
	wg.Add(2)
	go func() { // a /v1 streamed chat for tiny-a
		defer wg.Done()
		s := via.Chat.Completions.NewStreaming(ctx, chatParams("tiny-a"))
		for s.Next() {
		}
		if err := s.Err(); err != nil {
			t.Error(err)
		}
	}()
	waitQueued(t, base, 1)
	postJob(t, base, `{"model":"tiny-big","messages":[{"role":"user","content":"between"}]}`)
	go func() { // then an /api/chat for tiny-a
		defer wg.Done()
		req, _ := http.NewRequest("POST", base+"/api/chat", strings.NewReader(`{"model":"tiny-a:latest","messages":[{"role":"user","content":"native"}]}`))
		req.Header.Set("Authorization", "Bearer tok")
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Error(err)
			return
		}
		io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
	}()
	waitQueued(t, base, 3)
	gate.Release()
	var order []string
	for range 4 {
		select {
		case m := <-firsts:
			order = append(order, m)
		case <-time.After(10 * time.Second):
			t.Fatalf("the target ran only %v", order)
		}
	}
	wg.Wait()
	if strings.Join(order, " ") != "tiny-b tiny-a tiny-a:latest tiny-big" {
		t.Fatalf("the target ran %v, want the two tiny-a jobs back to back", order)
	}
}

// postJob submits an async job with foreman's token.
func postJob(t *testing.T, base, body string) string {
	t.Helper()
	req, _ := http.NewRequest("POST", base+"/jobs", strings.NewReader(body))
	req.Header.Set("Authorization", "Bearer tok")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var v struct {
		JobID string `json:"job_id"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&v); err != nil || resp.StatusCode != http.StatusAccepted {
		t.Fatalf("POST /jobs: %d %v", resp.StatusCode, err)
	}
	return v.JobID
}

// authGetJSON reads a route with foreman's token.
func authGetJSON(t *testing.T, u string, v any) {
	t.Helper()
	req, _ := http.NewRequest("GET", u, nil)
	req.Header.Set("Authorization", "Bearer tok")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if err := json.NewDecoder(resp.Body).Decode(v); err != nil || resp.StatusCode != http.StatusOK {
		t.Fatalf("GET %s: %d %v", u, resp.StatusCode, err)
	}
}

// waitQueued waits until n jobs are queued.
func waitQueued(t *testing.T, base string, n int) {
	t.Helper()
	for deadline := time.Now().Add(10 * time.Second); ; {
		var list struct{ Jobs []any }
		authGetJSON(t, base+"/jobs?state=queued", &list)
		if len(list.Jobs) == n {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("%d jobs queued, want %d", len(list.Jobs), n)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// TestOpenAIConnectionFailures: a connection that fails before the first
// byte is retried and the caller gets its answer; one that fails after
// the first frame is not retried, and the stream ends with an error frame
// the SDK raises (never a [DONE] that would make it look complete).
func TestOpenAIConnectionFailures(t *testing.T) {
	via, _, fake, _ := openAIClients(t, nil)
	ctx := t.Context()
	fake.FailPath("/v1/chat/completions", 1, ollamatest.CutAfter(0))
	got, err := via.Chat.Completions.New(ctx, chatParams("tiny-a"))
	if err != nil || got.Choices[0].FinishReason != "length" {
		t.Fatalf("after a cut before the first byte: %+v %v", got, err)
	}
	if n := fake.Requests("/v1/chat/completions"); n != 2 {
		t.Fatalf("%d requests reached the target, want the cut one and its retry", n)
	}

	fake.FailPath("/v1/chat/completions", 1, ollamatest.CutAfter(2))
	s := via.Chat.Completions.NewStreaming(ctx, chatParams("tiny-a"))
	n := 0
	for s.Next() {
		n++
	}
	if err := s.Err(); err == nil || !strings.Contains(err.Error(), "received error while streaming") || n != 2 {
		t.Fatalf("after a cut mid-stream: %d chunks, err %v", n, err)
	}
	if r := fake.Requests("/v1/chat/completions"); r != 3 {
		t.Fatalf("%d requests reached the target: a stream begun was retried", r)
	}
}
