package client_test

import (
	"context"
	"encoding/json"
	"errors"
	"strings"
	"testing"
	"time"

	ollama "github.com/ollama/ollama/api"

	"github.com/foreman-dev/foreman/client"
	"github.com/foreman-dev/foreman/worker/target/ollamatest"
)

func chat(model, prompt string) client.Request {
	return client.Request{Chat: &ollama.ChatRequest{Model: model, Messages: []ollama.Message{{Role: "user", Content: prompt}}}}
}

// wantAnswer is the fake Ollama's answer to a one-message chat.
func wantAnswer(model, prompt string) string {
	return strings.Join(ollamatest.ChatAnswer(model, []ollama.Message{{Role: "user", Content: prompt}}, nil), "")
}

// TestE2EWebhookMode: polling and the webhook timeout are an hour, so
// Submit returns only because a signed delivery from the daemon woke it.
func TestE2EWebhookMode(t *testing.T) {
	o := ollamatest.New(t)
	d := startDaemon(t, o.URL(), "FOREMAN_WEBHOOK_SECRET=whsec_c2VjcmV0LWtleQ==")
	c := client.New(d.URL(), client.WithToken(testToken), client.WithWebhookSecret("whsec_c2VjcmV0LWtleQ=="),
		client.WithPollInterval(time.Hour), client.WithWebhookTimeout(time.Hour))
	ctx, cancel := context.WithTimeout(t.Context(), 30*time.Second)
	defer cancel()
	r, err := c.Submit(ctx, chat("tiny-a", "hello there"))
	if err != nil {
		t.Fatal(err)
	}
	if r.State != client.StateDone || r.Text() != wantAnswer("tiny-a", "hello there") {
		t.Fatalf("state %s, text %q, want %q", r.State, r.Text(), wantAnswer("tiny-a", "hello there"))
	}
	cr, err := r.Chat()
	if err != nil || !cr.Done || cr.Model != "tiny-a" {
		t.Fatalf("Chat() = %+v, %v", cr, err)
	}
}

// TestE2EPollingAndCalls: polling mode, then every read call against the
// same daemon.
func TestE2EPollingAndCalls(t *testing.T) {
	o := ollamatest.New(t)
	d := startDaemon(t, o.URL())
	c := client.New(d.URL(), client.WithToken(testToken), client.WithPolling(), client.WithPollInterval(20*time.Millisecond))
	ctx, cancel := context.WithTimeout(t.Context(), 30*time.Second)
	defer cancel()
	r, err := c.Submit(ctx, client.Request{Generate: &ollama.GenerateRequest{Model: "tiny-b", Prompt: "why"}})
	if err != nil {
		t.Fatal(err)
	}
	want := strings.Join(ollamatest.Answer("tiny-b", "why", nil), "")
	if r.Text() != want {
		t.Fatalf("text %q, want %q", r.Text(), want)
	}
	if g, err := r.Generate(); err != nil || g.Response != want {
		t.Fatalf("Generate() = %+v, %v", g, err)
	}

	l, err := c.List(ctx, client.ListOptions{State: client.StateDone, Model: "tiny-b", Limit: 10})
	if err != nil || len(l.Jobs) != 1 || l.Jobs[0].JobID != r.JobID || l.Jobs[0].Attempts != 1 {
		t.Fatalf("List = %+v, %v", l, err)
	}
	if l, err := c.List(ctx, client.ListOptions{State: client.StateFailed}); err != nil || len(l.Jobs) != 0 {
		t.Fatalf("List(failed) = %+v, %v", l, err)
	}
	var lines []string
	if err := c.Stream(ctx, r.JobID, func(line json.RawMessage) error { lines = append(lines, string(line)); return nil }); err != nil {
		t.Fatal(err)
	}
	if len(lines) != 1 || !strings.Contains(lines[0], `"done":true`) {
		t.Fatalf("stream of a finished job: %q, want just the result", lines)
	}
	if len(r.Artifacts) == 0 {
		t.Fatal("no artifacts")
	}
	data, err := c.Artifact(ctx, r.JobID, r.Artifacts[0].Name)
	if err != nil || string(data) != string(r.Artifacts[0].Data) {
		t.Fatalf("Artifact = %q, %v; inline %q", data, err, r.Artifacts[0].Data)
	}
	if _, err := c.Artifact(ctx, r.JobID, "nope"); !errors.Is(err, client.ErrNotFound) {
		t.Fatalf("missing artifact: %v", err)
	}
	tags, err := c.Tags(ctx)
	if err != nil || len(tags.Models) == 0 {
		t.Fatalf("Tags = %+v, %v", tags, err)
	}
	if _, err := c.Ps(ctx); err != nil {
		t.Fatal(err)
	}
	emb, err := c.Embed(ctx, &ollama.EmbedRequest{Model: "tiny-embed", Input: "x"})
	if err != nil || len(emb.Embeddings) != 1 || len(emb.Embeddings[0]) == 0 {
		t.Fatalf("Embed = %+v, %v", emb, err)
	}
	q, err := c.Queue(ctx)
	if err != nil || q.Waiting != 0 || q.Running != nil {
		t.Fatalf("Queue = %+v, %v", q, err)
	}
	for model, avail := range map[string]bool{"tiny-a": true, "nope": false} {
		q, err := c.QueueFor(ctx, model)
		if err != nil || q.Forecast == nil || q.Forecast.Model != model || q.Forecast.Available != avail ||
			avail != (q.Forecast.Position == 1 && q.Forecast.ETA != nil) {
			t.Fatalf("QueueFor(%s) = %+v %+v, %v", model, q, q.Forecast, err)
		}
	}
	evs, err := c.Events(ctx, r.JobID)
	if err != nil || len(evs) < 3 || evs[0].Type != "job.submitted" || evs[0].Job != r.JobID || evs[0].Time.IsZero() {
		t.Fatalf("Events = %+v, %v", evs, err)
	}
	if _, err := c.Get(ctx, "01ARZ3NDEKTSV4RRFFQ69G5FAV"); !errors.Is(err, client.ErrNotFound) {
		t.Fatalf("Get(unknown) = %v", err)
	}
}

func TestE2EFailedJobAndRetry(t *testing.T) {
	o := ollamatest.New(t)
	d := startDaemon(t, o.URL())
	c := client.New(d.URL(), client.WithToken(testToken), client.WithPollInterval(20*time.Millisecond))
	ctx, cancel := context.WithTimeout(t.Context(), 30*time.Second)
	defer cancel()
	o.FailNext(1, ollamatest.HTTPFault(400, "the prompt is cursed"))
	r, err := c.Submit(ctx, chat("tiny-a", "fail please"))
	var je *client.JobError
	if !errors.As(err, &je) || !errors.Is(err, client.ErrJobFailed) || je.Status != 400 || !strings.Contains(je.Message, "cursed") {
		t.Fatalf("err = %v, want a failed *JobError with status 400", err)
	}
	if r == nil || r.State != client.StateFailed || r.JobID != je.JobID {
		t.Fatalf("result %+v", r)
	}
	if err := c.Retry(ctx, r.JobID); err != nil {
		t.Fatal(err)
	}
	r2, err := c.Wait(ctx, r.JobID)
	if err != nil || r2.Text() != wantAnswer("tiny-a", "fail please") {
		t.Fatalf("after retry: %v, %v", r2, err)
	}
	var ae *client.APIError
	if err := c.Retry(ctx, r.JobID); !errors.As(err, &ae) || ae.Status != 409 {
		t.Fatalf("retry of a done job: %v, want 409", err)
	}
}

// TestE2EDeadlineAndCancel: a job held by the target outlives the caller's
// deadline; the caller gets a *WaitError with the id and cancels it.
func TestE2EDeadlineAndCancel(t *testing.T) {
	o := ollamatest.New(t)
	gate := o.Block("tiny-a")
	defer gate.Release()
	d := startDaemon(t, o.URL())
	c := client.New(d.URL(), client.WithToken(testToken), client.WithPollInterval(20*time.Millisecond), client.WithWebhookTimeout(50*time.Millisecond))
	ctx, cancel := context.WithTimeout(t.Context(), 500*time.Millisecond)
	defer cancel()
	_, err := c.Submit(ctx, chat("tiny-a", "slow"))
	var we *client.WaitError
	if !errors.As(err, &we) || !errors.Is(err, context.DeadlineExceeded) || we.JobID == "" {
		t.Fatalf("err = %v, want a *WaitError wrapping DeadlineExceeded", err)
	}
	ctx2, cancel2 := context.WithTimeout(t.Context(), 30*time.Second)
	defer cancel2()
	if err := c.Cancel(ctx2, we.JobID); err != nil {
		t.Fatal(err)
	}
	gate.Release()
	r, err := c.Wait(ctx2, we.JobID)
	if !errors.Is(err, client.ErrJobCancelled) && !(err == nil && r.State == client.StateDone) {
		t.Fatalf("after cancel: %v, %v", r, err)
	}
}

func TestE2EBadToken(t *testing.T) {
	o := ollamatest.New(t)
	d := startDaemon(t, o.URL())
	c := client.New(d.URL(), client.WithToken("wrong"))
	_, err := c.Submit(t.Context(), chat("tiny-a", "hi"))
	var ae *client.APIError
	// The message comes from the body's "error" (api/auth.go says why it is
	// also under "status").
	if !errors.As(err, &ae) || ae.Status != 401 || !errors.Is(err, client.ErrUnauthorized) || ae.Message != "unauthorized: invalid bearer token" {
		t.Fatalf("err = %v, want *APIError 401", err)
	}
	if _, err := client.New(d.URL()).List(t.Context(), client.ListOptions{}); !errors.Is(err, client.ErrUnauthorized) {
		t.Fatalf("no token: %v", err)
	}
}

// TestE2EWrongSignatureRejected: the daemon signs with another secret; the
// receiver refuses every delivery, so the client falls back to polling
// after the webhook timeout and still gets the result.
func TestE2EWrongSignatureRejected(t *testing.T) {
	o := ollamatest.New(t)
	d := startDaemon(t, o.URL(), "FOREMAN_WEBHOOK_SECRET=the-daemons-secret")
	c := client.New(d.URL(), client.WithToken(testToken), client.WithWebhookSecret("not-the-daemons"),
		client.WithPollInterval(20*time.Millisecond), client.WithWebhookTimeout(300*time.Millisecond))
	ctx, cancel := context.WithTimeout(t.Context(), 30*time.Second)
	defer cancel()
	start := time.Now()
	r, err := c.Submit(ctx, chat("tiny-a", "sign this"))
	if err != nil || r.Text() != wantAnswer("tiny-a", "sign this") {
		t.Fatalf("Submit = %v, %v", r, err)
	}
	if el := time.Since(start); el < 300*time.Millisecond {
		t.Fatalf("returned after %v, before the webhook timeout: a forged delivery woke it", el)
	}
	evs, err := c.Events(ctx, r.JobID)
	if err != nil {
		t.Fatal(err)
	}
	refused := false
	for _, e := range evs {
		refused = refused || (strings.HasPrefix(e.Type, "webhook.") && strings.Contains(string(e.Payload), "401"))
	}
	if !refused {
		t.Errorf("no webhook event records the receiver's 401: %+v", evs)
	}
}

// TestE2EDaemonCrashWhileWaiting: the daemon is killed while the job runs
// and started again; the waiting client still gets the result.
func TestE2EDaemonCrashWhileWaiting(t *testing.T) {
	for _, mode := range []string{"webhook", "polling"} {
		t.Run(mode, func(t *testing.T) {
			o := ollamatest.New(t)
			gate := o.Block("tiny-a")
			defer gate.Release()
			d := startDaemon(t, o.URL())
			opts := []client.Option{client.WithToken(testToken), client.WithPollInterval(50 * time.Millisecond), client.WithWebhookTimeout(time.Second)}
			if mode == "polling" {
				opts = append(opts, client.WithPolling())
			}
			c := client.New(d.URL(), opts...)
			ctx, cancel := context.WithTimeout(t.Context(), 60*time.Second)
			defer cancel()
			type out struct {
				r   *client.Result
				err error
			}
			done := make(chan out, 1)
			go func() {
				r, err := c.Submit(ctx, chat("tiny-a", "survive"))
				done <- out{r, err}
			}()
			select {
			case <-gate.Arrived():
			case <-ctx.Done():
				t.Fatal("the job never reached the target")
			}
			d.kill()
			gate.Release()
			d.start()
			res := <-done
			if res.err != nil || res.r.Text() != wantAnswer("tiny-a", "survive") {
				t.Fatalf("Submit = %+v, %v", res.r, res.err)
			}
			if res.r.Attempts < 2 {
				t.Errorf("attempts %d: the interrupted attempt should count", res.r.Attempts)
			}
		})
	}
}
