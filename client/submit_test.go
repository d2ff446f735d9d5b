package client

import (
	"context"
	"errors"
	"net/http"
	"testing"
	"time"

	ollama "github.com/ollama/ollama/api"
)

func chatReq() Request {
	return Request{Chat: &ollama.ChatRequest{Model: "tiny-a", Messages: []ollama.Message{{Role: "user", Content: "hi"}}}}
}

// submitAsync runs Submit in a goroutine and returns its outcome channel.
func submitAsync(ctx context.Context, c *Client, req Request) <-chan submitted {
	ch := make(chan submitted, 1)
	go func() {
		r, err := c.Submit(ctx, req)
		ch <- submitted{r, err}
	}()
	return ch
}

type submitted struct {
	r   *Result
	err error
}

// TestSubmitWebhookWakesTheWait: with polling and the webhook timeout set
// to an hour, Submit can only return because the delivery woke it.
func TestSubmitWebhookWakesTheWait(t *testing.T) {
	f := newFake(t)
	c := New(f.srv.URL, WithPollInterval(time.Hour), WithWebhookTimeout(time.Hour), WithWebhookSecret("s3cret"))
	out := submitAsync(t.Context(), c, chatReq())
	url := <-f.posted
	if url == "" {
		t.Fatal("no state_webhook_url in the POST /jobs body")
	}
	<-f.got // the client saw the job queued and waits
	f.set(StateDone, "", `{"model":"tiny-a","message":{"role":"assistant","content":"hello"},"done":true}`)
	body := []byte(`{"event":"succeeded"}`)
	if got := f.deliver(url, signed("s3cret", body), body); got != http.StatusNoContent {
		t.Fatalf("receiver answered %d to a well signed delivery", got)
	}
	res := <-out
	if res.err != nil {
		t.Fatal(res.err)
	}
	if res.r.Text() != "hello" || res.r.State != StateDone {
		t.Fatalf("result %+v text %q", res.r.Job, res.r.Text())
	}
	if f.body["kind"] != "chat" || f.body["model"] != "tiny-a" {
		t.Fatalf("POST /jobs body %v", f.body)
	}
	// The receiver is gone once Submit returned.
	if _, err := http.Post(url, "application/json", nil); err == nil {
		t.Fatal("the webhook receiver still answers after Submit returned")
	}
}

// TestSubmitBadSignatureFallsBackToPolling: a forged delivery is refused
// with 401 and does not wake the wait; the client polls once the webhook
// timeout passes and still gets the result.
func TestSubmitBadSignatureFallsBackToPolling(t *testing.T) {
	f := newFake(t)
	c := New(f.srv.URL, WithPollInterval(5*time.Millisecond), WithWebhookTimeout(50*time.Millisecond), WithWebhookSecret("right"))
	out := submitAsync(t.Context(), c, chatReq())
	url := <-f.posted
	body := []byte(`{"event":"succeeded"}`)
	if got := f.deliver(url, signed("wrong", body), body); got != http.StatusUnauthorized {
		t.Fatalf("receiver answered %d to a forged delivery, want 401", got)
	}
	if got := f.deliver(url, nil, body); got != http.StatusUnauthorized {
		t.Fatalf("receiver answered %d to an unsigned delivery, want 401", got)
	}
	f.set(StateDone, "", `{"response":"ok","done":true}`)
	res := <-out
	if res.err != nil || res.r.Text() != "ok" {
		t.Fatalf("Submit = %v, %v", res.r, res.err)
	}
}

func TestSubmitCannotBindPolls(t *testing.T) {
	f := newFake(t)
	c := New(f.srv.URL, WithPollInterval(5*time.Millisecond), WithWebhookListen("256.0.0.1:0"))
	f.set(StateDone, "", `{"response":"ok","done":true}`)
	r, err := c.Submit(t.Context(), Request{Generate: &ollama.GenerateRequest{Model: "tiny-a", Prompt: "hi"}})
	if err != nil || r.Text() != "ok" {
		t.Fatalf("Submit = %v, %v", r, err)
	}
	if url := <-f.posted; url != "" {
		t.Fatalf("a webhook URL %q was sent though the receiver could not bind", url)
	}
}

func TestSubmitFailedJob(t *testing.T) {
	f := newFake(t)
	f.set(StateFailed, "model crashed", "")
	c := New(f.srv.URL, WithPolling(), WithPollInterval(time.Millisecond))
	r, err := c.Submit(t.Context(), chatReq())
	var je *JobError
	if !errors.As(err, &je) || !errors.Is(err, ErrJobFailed) || errors.Is(err, ErrJobCancelled) {
		t.Fatalf("err = %v, want a *JobError matching ErrJobFailed", err)
	}
	if je.Message != "model crashed" || r == nil || r.State != StateFailed {
		t.Fatalf("JobError %+v, result %+v", je, r)
	}
	if url := <-f.posted; url != "" {
		t.Fatalf("WithPolling sent a webhook URL %q", url)
	}
}

func TestSubmitDeadline(t *testing.T) {
	f := newFake(t)
	c := New(f.srv.URL, WithPollInterval(time.Millisecond), WithWebhookTimeout(time.Millisecond))
	ctx, cancel := context.WithTimeout(t.Context(), 50*time.Millisecond)
	defer cancel()
	_, err := c.Submit(ctx, chatReq())
	var we *WaitError
	if !errors.Is(err, context.DeadlineExceeded) || !errors.As(err, &we) || we.JobID != "01JOB" || we.State != StateQueued {
		t.Fatalf("err = %v, want a *WaitError for 01JOB (queued) wrapping DeadlineExceeded", err)
	}
	if f.getCount() < 2 {
		t.Fatalf("only %d GETs: the client did not poll after the webhook timeout", f.getCount())
	}
}

func TestWaitRidesOutAnUnreachableDaemon(t *testing.T) {
	f := newFake(t)
	f.set(StateDone, "", `{"response":"ok","done":true}`)
	// A proxy in front that fails the first GETs as a restarting daemon would.
	fails := 3
	proxy := http.NewServeMux()
	proxy.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		if fails > 0 {
			fails--
			http.Error(w, `{"error":"restarting"}`, http.StatusServiceUnavailable)
			return
		}
		f.srv.Config.Handler.ServeHTTP(w, r)
	})
	srv := newServer(t, proxy)
	c := New(srv, WithPollInterval(time.Millisecond))
	r, err := c.Wait(t.Context(), "01JOB")
	if err != nil || r.Text() != "ok" {
		t.Fatalf("Wait = %v, %v", r, err)
	}
}

// TestSubmitResendsUnderOneIdempotencyKey: the daemon drops the first
// POST /jobs after reading it (a crash before answering); Submit sends it
// again under the same key, so the daemon can give back the same job.
func TestSubmitResendsUnderOneIdempotencyKey(t *testing.T) {
	f := newFake(t)
	f.set(StateDone, "", `{"response":"ok","done":true}`)
	var keys []string
	mux := http.NewServeMux()
	mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		if r.Method == http.MethodPost {
			keys = append(keys, r.Header.Get("Idempotency-Key"))
			if len(keys) == 1 {
				conn, _, _ := w.(http.Hijacker).Hijack()
				conn.Close()
				return
			}
		}
		f.srv.Config.Handler.ServeHTTP(w, r)
	})
	c := New(newServer(t, mux), WithPolling(), WithPollInterval(time.Millisecond))
	r, err := c.Submit(t.Context(), chatReq())
	if err != nil || r.Text() != "ok" {
		t.Fatalf("Submit = %v, %v", r, err)
	}
	if len(keys) != 2 || keys[0] == "" || keys[0] != keys[1] {
		t.Fatalf("Idempotency-Key of each POST: %q", keys)
	}
}
