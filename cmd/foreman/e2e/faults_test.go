//go:build e2e

package e2e

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/ollama/ollama/api"
)

// runnerError is what Ollama says when its runner dies mid-answer.
const runnerError = "an error was encountered while running the model"

// longStory is a tiny-big generate request (without the closing brace)
// whose answer runs to num_predict. Not every prompt does: with random
// weights an answer may repeat one token, and Ollama cuts an answer after
// 30 identical tokens with neither a done line nor an error
// (llm/server.go, "token repeat limit"; see TestRepeatLimitCut).
const longStory = `{"model":"tiny-big","prompt":"write a long essay","options":{"seed":11,"temperature":0,"num_predict":120}`

// directAnswer makes the request straight to Ollama with "stream": false
// and checks the answer is complete (done); it also loads the model.
func directAnswer(t *testing.T, o *ollamaProc, path, body string) response {
	t.Helper()
	r := raw(t, http.MethodPost, o.URL()+path, "", body+`,"stream":false}`)
	var v struct {
		Done bool `json:"done"`
	}
	if r.Status != http.StatusOK || json.Unmarshal(r.Body, &v) != nil || !v.Done {
		t.Fatalf("direct %s is not a complete answer (%d %.300s): pick another prompt or seed", path, r.Status, r.Body)
	}
	return r
}

// killRunners SIGKILLs every model runner of o and reports how many.
func killRunners(t *testing.T, o *ollamaProc) int {
	t.Helper()
	pids := o.Runners()
	for _, pid := range pids {
		if err := syscall.Kill(pid, syscall.SIGKILL); err != nil {
			t.Errorf("kill runner %d: %v", pid, err)
		}
	}
	return len(pids)
}

// watchStream reads GET /jobs/{id}/stream and calls onFirst once, when
// the first line arrives. It returns the lines read; it ends when the
// stream does or ctx ends.
func watchStream(ctx context.Context, f *foremanProc, id string, onFirst func()) ([]string, error) {
	req, _ := http.NewRequestWithContext(ctx, http.MethodGet, f.URL()+"/jobs/"+id+"/stream", nil)
	req.Header.Set("Authorization", "Bearer "+token)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("GET /jobs/%s/stream: %d", id, resp.StatusCode)
	}
	var lines []string
	sc := bufio.NewScanner(resp.Body)
	sc.Buffer(make([]byte, 0, 64<<10), 8<<20)
	for sc.Scan() {
		if len(lines) == 0 && onFirst != nil {
			onFirst()
		}
		lines = append(lines, sc.Text())
	}
	return lines, sc.Err()
}

// The runner is SIGKILLed when the first chunk of a long tiny-big answer
// reaches the caller through foreman. Ollama then ends its 200 stream with
// an {"error"} line and no done line: foreman must not record success.
func TestFaultRunnerKilledMidStream(t *testing.T) {
	o := ownOllama(t, 0)
	f := ownForeman(t, o.URL())
	ctx := testCtx(t, 5*time.Minute)
	long := func(n int) map[string]any { return map[string]any{"seed": 11, "temperature": 0, "num_predict": n} }

	t.Run("sync stream", func(t *testing.T) {
		// The caller already has part of the answer, so foreman cannot
		// retry behind its back: the job fails, and the caller gets the error.
		var chunks []api.GenerateResponse
		killed := 0
		err := f.Client().Generate(ctx, &api.GenerateRequest{Model: "tiny-big", Prompt: "write a long essay", Options: long(3000)},
			func(r api.GenerateResponse) error {
				if len(chunks) == 0 {
					killed = killRunners(t, o)
				}
				chunks = append(chunks, r)
				return nil
			})
		if killed == 0 {
			t.Fatalf("no runner to kill (ollama log tail:\n%s)", o.logTail())
		}
		if err == nil || !strings.Contains(err.Error(), runnerError) {
			t.Fatalf("client error %v, want Ollama's %q", err, runnerError)
		}
		if len(chunks) == 0 || chunks[len(chunks)-1].Done {
			t.Fatalf("got %d chunks, last done=%v: a done chunk must not appear", len(chunks), len(chunks) > 0 && chunks[len(chunks)-1].Done)
		}
		id := newestJob(t, f, "tiny-big")
		j := waitJob(t, f, id, time.Minute)
		t.Logf("sync job after the kill: state %s, attempts %d, error %q (%d chunks relayed)", j.State, j.Attempts, j.Error, len(chunks))
		if j.State != "failed" || j.Result != nil || !strings.Contains(j.Error, runnerError) {
			t.Errorf("job %s: state %s, error %q, result %s: want failed with Ollama's error and no result", id, j.State, j.Error, j.Result)
		}
	})

	t.Run("async job", func(t *testing.T) {
		// The async job is retried: the history shows the failed attempt,
		// and the result is the retry's full answer, not the cut one.
		recv := newReceiver(t)
		want := directAnswer(t, o, "/api/generate", longStory)
		id := submit(t, f, longStory+fmt.Sprintf(`,"kind":"generate","state_webhook_url":%q}`, recv.URL()))
		killed := 0
		lines, err := watchStream(ctx, f, id, func() { killed = killRunners(t, o) })
		if err != nil {
			t.Fatal(err)
		}
		if killed == 0 {
			t.Fatal("no runner to kill")
		}
		j := waitJob(t, f, id, 3*time.Minute)
		failed := recv.WaitEvent(t, id, "attempt_failed", 30*time.Second)
		t.Logf("async job: state %s, attempts %d; attempt_failed delivery: attempt %d, error %q; stream gave %d lines",
			j.State, j.Attempts, failed.Payload.Attempt, failed.Payload.Error, len(lines))
		if !strings.Contains(failed.Payload.Error, runnerError) || failed.Payload.Attempt != 1 {
			t.Errorf("attempt_failed delivery: %s", failed.Body)
		}
		if err := verifySignatures(failed, []byte(webhookKey)); err != nil {
			t.Error(err)
		}
		if j.State != "done" || j.Attempts != 2 {
			t.Fatalf("job: state %s attempts %d error %q: want done on attempt 2", j.State, j.Attempts, j.Error)
		}
		// Deterministic sampling: the retry's answer is what Ollama gives
		// a stream:false call, not the cut first attempt.
		if err := sameJSON(j.Result, want.Body); err != nil {
			t.Errorf("result vs a direct call: %v", err)
		}
		// A reader of GET /jobs/{id}/stream rebuilds the result from the
		// chunks: a {"restart":true} line voids the failed attempt's.
		if text, result := streamedText(lines), resultText(j.Result); text != result {
			t.Errorf("the streamed text %q is not the result's %q", clip(text), clip(result))
		}
	})
}

// newestJob is the id of the newest job for model (GET /jobs lists newest first).
func newestJob(t *testing.T, f *foremanProc, model string) string {
	t.Helper()
	r := raw(t, http.MethodGet, f.URL()+"/jobs?limit=1&model="+model, token, "")
	var l struct {
		Jobs []struct {
			JobID string `json:"job_id"`
		} `json:"jobs"`
	}
	if err := json.Unmarshal(r.Body, &l); err != nil || len(l.Jobs) != 1 {
		t.Fatalf("GET /jobs: %d %s", r.Status, r.Body)
	}
	return l.Jobs[0].JobID
}

// Ollama stopped: /healthz says degraded; an async job and a synchronous
// call made meanwhile retry (FOREMAN_MAX_ATTEMPTS) and complete once
// Ollama is back.
func TestFaultOllamaStopped(t *testing.T) {
	o := ownOllama(t, 0)
	f := ownForeman(t, o.URL(), "FOREMAN_MAX_ATTEMPTS=8")
	ctx := testCtx(t, 5*time.Minute)
	recv := newReceiver(t)
	if deg, err := f.Health(); err != nil || deg {
		t.Fatalf("healthz before: degraded=%v err=%v", deg, err)
	}
	o.Stop()
	waitFor(t, 10*time.Second, "/healthz degraded", func() bool { deg, err := f.Health(); return err == nil && deg })

	body := `{"model":"tiny-a","messages":[{"role":"user","content":"are you back?"}],"options":{"seed":5,"temperature":0,"num_predict":10}`
	id := submit(t, f, body+fmt.Sprintf(`,"state_webhook_url":%q}`, recv.URL()))
	type answer struct {
		r   api.ChatResponse
		err error
	}
	syncDone := make(chan answer, 1)
	go func() {
		var a answer
		st := false
		a.err = f.Client().Chat(ctx, &api.ChatRequest{Model: "tiny-a", Stream: &st, Options: fixedOptions(10),
			Messages: []api.Message{{Role: "user", Content: "and you?"}}}, func(r api.ChatResponse) error { a.r = r; return nil })
		syncDone <- a
	}()

	failed := recv.WaitEvent(t, id, "attempt_failed", 30*time.Second)
	t.Logf("while ollama is down: attempt_failed %q", failed.Payload.Error)
	if j := getJob(t, f, id); j.State != "queued" || j.Attempts < 1 {
		t.Fatalf("job while ollama is down: %+v", j)
	}
	if err := o.Restart(); err != nil {
		t.Fatal(err)
	}
	t0 := time.Now()
	j := waitJob(t, f, id, 2*time.Minute)
	t.Logf("job after ollama came back: state %s after %d attempts, %s after the restart", j.State, j.Attempts, time.Since(t0).Round(time.Millisecond))
	if j.State != "done" || j.Attempts < 2 {
		t.Fatalf("job: %+v", j)
	}
	want := raw(t, http.MethodPost, o.URL()+"/api/chat", "", body+`,"stream":false}`)
	if err := sameJSON(j.Result, want.Body); err != nil {
		t.Errorf("result vs a direct call: %v", err)
	}
	select {
	case a := <-syncDone:
		if a.err != nil || !a.r.Done {
			t.Errorf("sync chat made while ollama was down: %v %+v", a.err, a.r)
		}
	case <-time.After(2 * time.Minute):
		t.Fatal("the sync chat made while ollama was down never returned")
	}
	waitFor(t, 10*time.Second, "/healthz not degraded", func() bool { deg, err := f.Health(); return err == nil && !deg })
}

// foreman SIGKILLed while a job streams: on restart the job is recovered
// (interrupted, requeued) and completes.
func TestFaultForemanKilled(t *testing.T) {
	o := ownOllama(t, 0)
	f := ownForeman(t, o.URL())
	ctx := testCtx(t, 5*time.Minute)
	recv := newReceiver(t)
	want := directAnswer(t, o, "/api/generate", longStory)
	id := submit(t, f, longStory+fmt.Sprintf(`,"kind":"generate","state_webhook_url":%q}`, recv.URL()))
	_, err := watchStream(ctx, f, id, func() { f.Kill() })
	if err == nil {
		t.Log("the stream ended cleanly although foreman was killed")
	}
	if j, err := getJobErr(f, id); err == nil {
		t.Fatalf("foreman still answers after SIGKILL: %+v", j)
	}
	if err := f.Restart(); err != nil {
		t.Fatal(err)
	}
	j := waitJob(t, f, id, 3*time.Minute)
	if j.State != "done" || j.Attempts != 2 {
		t.Fatalf("recovered job: state %s attempts %d error %q: want done on attempt 2", j.State, j.Attempts, j.Error)
	}
	if !strings.Contains(f.Log(), "recovered jobs interrupted by a restart") {
		t.Error("foreman's log does not mention the recovery")
	}
	if err := sameJSON(j.Result, want.Body); err != nil {
		t.Errorf("result vs a direct call: %v", err)
	}
	// The history, as webhooks: the interruption recorded at restart, then success.
	recv.WaitEvent(t, id, "interrupted", 30*time.Second)
	recv.WaitEvent(t, id, "succeeded", 30*time.Second)
	for _, d := range recv.For(id) {
		if err := verifySignatures(d, []byte(webhookKey)); err != nil {
			t.Errorf("%s: %v", d.Payload.Event, err)
		}
	}
	t.Logf("webhook events: %v", events(recv.For(id)))
}

// streamedText concatenates the "response" of a job stream's chunks (all
// lines but the last, which is the result).
func streamedText(lines []string) string {
	var b strings.Builder
	for i, l := range lines {
		if i == len(lines)-1 {
			break
		}
		var c struct {
			Response string
			Restart  bool
		}
		json.Unmarshal([]byte(l), &c)
		if c.Restart { // a retry follows: what came before is void
			b.Reset()
		}
		b.WriteString(c.Response)
	}
	return b.String()
}

func resultText(result []byte) string {
	var r struct{ Response string }
	json.Unmarshal(result, &r)
	return r.Response
}

func clip(s string) string {
	if len(s) > 60 {
		return s[:60] + "..."
	}
	return s
}

// A synchronous caller that hangs up mid-stream cancels its job, and
// foreman aborts the request to Ollama: the runner is free again at once,
// not after the whole answer.
func TestFaultCallerHangsUp(t *testing.T) {
	o := ownOllama(t, 0)
	f := ownForeman(t, o.URL())
	directAnswer(t, o, "/api/generate", longStory) // load tiny-big
	generates := func() int { return strings.Count(o.log(), `POST     "/api/generate"`) }
	before := generates()
	ctx, cancel := context.WithCancel(testCtx(t, 2*time.Minute))
	req, _ := http.NewRequestWithContext(ctx, http.MethodPost, f.URL()+"/api/generate",
		strings.NewReader(`{"model":"tiny-big","prompt":"write a long essay","options":{"seed":11,"num_predict":3000}}`))
	req.Header.Set("Authorization", "Bearer "+token)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := bufio.NewReader(resp.Body).ReadBytes('\n'); err != nil {
		t.Fatalf("first chunk: %v", err)
	}
	cancel() // hang up on the first chunk
	resp.Body.Close()
	hungUp := time.Now()

	id := newestJob(t, f, "tiny-big")
	j := waitJob(t, f, id, 30*time.Second)
	if j.State != "cancelled" {
		t.Errorf("job after the caller hung up: %+v, want cancelled", j)
	}
	// Ollama logs a request when it ends; 3000 tokens of tiny-big take
	// 40 s or more on 2 cores.
	waitFor(t, 10*time.Second, "ollama to end the abandoned request", func() bool { return generates() > before })
	t.Logf("job %s %s after the hang-up; ollama ended the request %s after it",
		j.State, j.FinishedAt.Sub(hungUp).Round(time.Millisecond), time.Since(hungUp).Round(time.Millisecond))
}
