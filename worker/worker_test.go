package worker

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/oklog/ulid/v2"

	"github.com/foreman-dev/foreman/eventlog"
	"github.com/foreman-dev/foreman/projections"
	"github.com/foreman-dev/foreman/worker/target"
)

func TestAsyncJobStoresTheStreamFalseAnswer(t *testing.T) {
	r := newRig(t, nil)
	id := r.submit("tiny-a", nil)
	j := r.await(id)
	if j.State != projections.Done || j.Attempts != 1 || j.Result != ResultArtifact {
		t.Fatalf("job %+v", j)
	}
	c := r.target.calls[0]
	var sent map[string]any
	if err := json.Unmarshal(c.body, &sent); err != nil {
		t.Fatal(err)
	}
	// Async jobs are streamed from the target (progress can be watched);
	// unknown fields pass through untouched.
	if sent["stream"] != true || sent["x_unknown"] != true || c.path != "/api/chat" {
		t.Fatalf("request sent %s to %s", c.body, c.path)
	}
	data, err := r.log.Blob(eventlog.ArtifactBlob(id, ResultArtifact))
	if err != nil {
		t.Fatal(err)
	}
	var res struct {
		Model   string
		Done    bool
		Message struct{ Role, Content string }
		EvalCnt int `json:"eval_count"`
	}
	if err := json.Unmarshal(data, &res); err != nil || !res.Done || res.Message.Content != "Hello there" || res.Message.Role != "assistant" || res.EvalCnt != 2 {
		t.Fatalf("result %s (%v)", data, err)
	}
	want := []eventlog.Type{eventlog.JobSubmitted, eventlog.JobStarted, eventlog.ArtifactStored, eventlog.JobSucceeded}
	if got := r.types(id); !slices.Equal(got, want) {
		t.Fatalf("history %v", got)
	}
	r.sink.waitEnd(t, id)
	r.sink.mu.Lock()
	defer r.sink.mu.Unlock()
	if len(r.sink.chunks[id]) != 3 || r.sink.status[id] != 200 {
		t.Fatalf("sink got %d chunks, status %d", len(r.sink.chunks[id]), r.sink.status[id])
	}
}

func TestConnectionErrorIsRetriedWithBackoff(t *testing.T) {
	r := newRig(t, nil)
	down := func(call, func(string) error) error {
		return &target.ConnError{Op: "POST /api/chat", Err: errors.New("connection refused")}
	}
	r.target.then(down, down)
	id := r.submit("tiny-a", nil)
	j := r.await(id)
	if j.State != projections.Done || j.Attempts != 3 || j.Used != 3 {
		t.Fatalf("job %+v", j)
	}
	evs, _ := r.log.JobEvents(id)
	var fails int
	for _, e := range evs {
		if e.Type == eventlog.AttemptFailed {
			var af eventlog.AttemptFailure
			if err := e.Decode(&af); err != nil || !af.Retryable || af.RetryAt <= e.Time.UnixNano() || !strings.Contains(af.Error, "connection refused") {
				t.Fatalf("attempt failure %+v %v", af, err)
			}
			fails++
		}
	}
	if fails != 2 {
		t.Fatalf("%d failed attempts recorded: %v", fails, r.types(id))
	}
}

func TestOutOfAttemptsFails(t *testing.T) {
	r := newRig(t, nil)
	down := func(call, func(string) error) error { return &target.ConnError{Op: "POST", Err: errors.New("refused")} }
	r.target.then(down, down, down)
	id := r.submit("tiny-a", nil)
	if j := r.await(id); j.State != projections.Failed || j.Used != 3 {
		t.Fatalf("job %+v", j)
	}
}

func TestHTTPErrorFailsAndIsRelayed(t *testing.T) {
	r := newRig(t, nil)
	body := []byte(`{"error":"model 'nope' not found"}`)
	r.target.then(func(call, func(string) error) error {
		return &target.HTTPError{Status: 404, Message: "model 'nope' not found", Body: body}
	})
	id := r.submit("nope", func(s *eventlog.Submitted) { s.Sync = true })
	j := r.await(id)
	if j.State != projections.Failed || j.LastStatus != 404 || j.LastError != "model 'nope' not found" || j.Used != 1 {
		t.Fatalf("job %+v", j)
	}
	r.sink.waitEnd(t, id)
	r.sink.mu.Lock()
	defer r.sink.mu.Unlock()
	if r.sink.status[id] != 404 || r.sink.chunks[id][0] != string(body) {
		t.Fatalf("caller got %d %q", r.sink.status[id], r.sink.chunks[id])
	}
}

func TestMidStreamErrorIsNeverASuccess(t *testing.T) {
	die := func(c call, emit func(string) error) error {
		if err := emit(`{"model":"tiny-big","created_at":"x","response":" t","done":false}`); err != nil {
			return err
		}
		return &target.StreamError{Message: "an error was encountered while running the model: unexpected EOF"}
	}
	t.Run("async is retried", func(t *testing.T) {
		r := newRig(t, nil)
		r.target.then(die)
		id := r.submit("tiny-big", func(s *eventlog.Submitted) {
			s.Kind = eventlog.KindGenerate
			s.Request = []byte(`{"model":"tiny-big","prompt":"go"}`)
		})
		j := r.await(id)
		if j.State != projections.Done || j.Attempts != 2 || r.target.calls[1].path != "/api/generate" {
			t.Fatalf("job %+v", j)
		}
	})
	t.Run("sync after output fails", func(t *testing.T) {
		r := newRig(t, nil)
		r.target.then(die)
		id := r.submit("tiny-big", func(s *eventlog.Submitted) { s.Sync = true })
		j := r.await(id)
		if j.State != projections.Failed || !strings.Contains(j.LastError, "unexpected EOF") || len(r.target.calls) != 1 {
			t.Fatalf("job %+v", j)
		}
		if msg := r.sink.waitEnd(t, id); !strings.Contains(msg, "unexpected EOF") {
			t.Fatalf("caller told %q", msg)
		}
	})
}

func TestAnswerWithoutDoneIsNotASuccess(t *testing.T) {
	r := newRig(t, func(c *Config) {})
	cut := func(c call, emit func(string) error) error {
		return emit(`{"model":"tiny-a","message":{"role":"assistant","content":"x"},"done":false}`)
	}
	r.target.then(cut, cut, cut)
	id := r.submit("tiny-a", nil)
	if j := r.await(id); j.State != projections.Failed || !strings.Contains(j.LastError, "without a done chunk") {
		t.Fatalf("job %+v", j)
	}
}

func TestCancelRunningJobAbortsTheTargetRequest(t *testing.T) {
	r := newRig(t, nil)
	r.target.then(hang)
	id := r.submit("tiny-a", nil)
	c := r.nextCall()
	r.append(eventlog.Record{Job: id, Type: eventlog.CancelRequested, Payload: &eventlog.CancelRequest{}})
	j := r.await(id)
	if j.State != projections.Cancelled || !errors.Is(context.Cause(c.ctx), errCancelRequested) {
		t.Fatalf("job %+v, target ctx %v", j, context.Cause(c.ctx))
	}
}

func TestCancelQueuedJob(t *testing.T) {
	r := newRig(t, nil)
	r.target.then(hang)
	first := r.submit("tiny-a", nil)
	r.nextCall()
	queued := r.submit("tiny-a", nil)
	r.append(eventlog.Record{Job: queued, Type: eventlog.CancelRequested, Payload: &eventlog.CancelRequest{}})
	if j := r.await(queued); j.State != projections.Cancelled || j.Attempts != 0 {
		t.Fatalf("queued job %+v", j)
	}
	r.append(eventlog.Record{Job: first, Type: eventlog.CancelRequested, Payload: &eventlog.CancelRequest{}})
	r.await(first)
	if len(r.target.calls) != 1 {
		t.Fatalf("the cancelled job reached the target")
	}
}

func TestTimeoutFailsWith504(t *testing.T) {
	r := newRig(t, func(c *Config) { c.JobTimeout = 20 * time.Millisecond })
	r.target.then(hang)
	id := r.submit("tiny-a", nil)
	if j := r.await(id); j.State != projections.Failed || j.LastStatus != http.StatusGatewayTimeout ||
		!strings.Contains(j.LastError, "timed out after 20ms (FOREMAN_JOB_TIMEOUT)") {
		t.Fatalf("job %+v", j)
	}
}

// A job's own "timeout" replaces the daemon's, and its error says so.
func TestJobTimeoutOverridesTheDaemons(t *testing.T) {
	r := newRig(t, func(c *Config) { c.JobTimeout = time.Hour })
	r.target.then(func(c call, _ func(string) error) error { // silent: a model still loading, a stream:false answer
		<-c.ctx.Done()
		return context.Cause(c.ctx)
	})
	id := r.submit("tiny-a", func(s *eventlog.Submitted) { s.Timeout = int64(20 * time.Millisecond) })
	if j := r.await(id); j.State != projections.Failed || j.LastStatus != http.StatusGatewayTimeout ||
		!strings.Contains(j.LastError, `timed out after 20ms (the job's "timeout")`) {
		t.Fatalf("job %+v", j)
	}
	// A caller still waiting for the first byte hears the same 504, in
	// Ollama's error shape, not a 502.
	r.sink.waitEnd(t, id)
	r.sink.mu.Lock()
	defer r.sink.mu.Unlock()
	if r.sink.status[id] != http.StatusGatewayTimeout || len(r.sink.chunks[id]) != 1 || !strings.Contains(r.sink.chunks[id][0], `"error":"attempt 1 timed out`) {
		t.Fatalf("sink: status %d, chunks %q", r.sink.status[id], r.sink.chunks[id])
	}
}

func TestShutdownInterruptsAndRequeues(t *testing.T) {
	r := newRig(t, func(c *Config) { c.ShutdownGrace = 0 })
	r.target.then(hang)
	async := r.submit("tiny-a", nil)
	r.nextCall()
	if err := r.stop(); err != nil {
		t.Fatal(err)
	}
	if err := r.proj.CatchUp(context.Background(), 0); err != nil {
		t.Fatal(err)
	}
	j, _ := r.proj.Job(async)
	if j.State != projections.Queued || j.AttemptsLeft() != 3 {
		t.Fatalf("after shutdown: %+v (%v)", j, r.types(async))
	}
	if got := r.types(async); got[len(got)-1] != eventlog.JobInterrupted {
		t.Fatalf("history %v", got)
	}
}

func TestShutdownLetsTheRunningJobFinishWithinGrace(t *testing.T) {
	release := make(chan struct{})
	r := newRig(t, func(c *Config) { c.ShutdownGrace = time.Minute })
	r.target.then(func(c call, emit func(string) error) error {
		<-release
		return ollamaAnswer(c, emit)
	})
	id := r.submit("tiny-a", nil)
	queued := r.submit("tiny-b", nil)
	r.nextCall()
	r.cancel()
	close(release)
	if err := r.stop(); err != nil {
		t.Fatal(err)
	}
	_ = r.proj.CatchUp(context.Background(), 0)
	if j, _ := r.proj.Job(id); j.State != projections.Done {
		t.Fatalf("running job %+v", j)
	}
	if j, _ := r.proj.Job(queued); j.State != projections.Queued || len(r.target.calls) != 1 {
		t.Fatalf("a new job started during shutdown: %+v", j)
	}
}

func TestDrainByModelPrefersTheLoadedModel(t *testing.T) {
	r := newRig(t, nil)
	gate := make(chan struct{})
	r.target.then(func(c call, emit func(string) error) error { <-gate; return ollamaAnswer(c, emit) })
	first := r.submit("a", nil)
	r.nextCall() // "a" is loaded and busy; queue b, a, b, a
	ids := []ulid.ULID{r.submit("b", nil), r.submit("a", nil), r.submit("b", nil), r.submit("a", nil)}
	close(gate)
	r.await(first)
	for _, id := range ids {
		r.await(id)
	}
	got := r.target.models()
	if want := []string{"a", "a", "a", "b", "b"}; !slices.Equal(got, want) {
		t.Fatalf("ran %v, want %v", got, want)
	}
}

// TestEndAndNextStartShareACommit: with jobs waiting, the end of one job
// and the start of the next are one durable batch (one fsync per job, and
// no wait for the projections in between).
func TestEndAndNextStartShareACommit(t *testing.T) {
	r := newRig(t, nil)
	gate := make(chan struct{})
	r.target.then(func(c call, emit func(string) error) error { <-gate; return ollamaAnswer(c, emit) })
	ids := []ulid.ULID{r.submit("a", nil)}
	r.nextCall()
	ids = append(ids, r.submit("a", nil), r.submit("a", nil))
	if err := r.proj.WaitFor(context.Background(), r.log.LastOffset()); err != nil {
		t.Fatal(err)
	}
	before := r.log.Stats().Commits
	close(gate)
	for _, id := range ids {
		r.await(id)
	}
	if got := r.log.Stats().Commits - before; got != 3 {
		t.Fatalf("%d commits for 3 job ends and 2 starts, want 3", got)
	}
}
