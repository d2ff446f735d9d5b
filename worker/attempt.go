package worker

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"time"

	"github.com/foreman-dev/foreman/eventlog"
	"github.com/foreman-dev/foreman/projections"
	"github.com/foreman-dev/foreman/worker/target"
)

// running is the attempt in progress.
type running struct {
	job     projections.Job
	attempt int
	sub     eventlog.Submitted
	cancel  context.CancelCauseFunc
	ctx     context.Context
	done    chan outcome
	started time.Time
	timeout time.Duration // bounds the attempt; 0: none
}

// outcome is how an attempt ended.
type outcome struct {
	result []byte // the assembled stream:false answer, on success
	err    error
	begun  bool // output reached the sink: a synchronous caller saw it
}

// start records the start of an attempt and runs it in its own goroutine.
// It returns nil when the job's request is unreadable: the job is failed
// instead.
func (w *Worker) start(ctx context.Context, job projections.Job) (*running, error) {
	r, body, rec, ok := w.prepare(job)
	if _, err := w.append(ctx, rec); err != nil {
		return nil, err
	}
	if !ok {
		return nil, nil
	}
	w.launch(ctx, r, body)
	return r, nil
}

// prepare loads a job's request and returns its attempt, the body to send
// and the job.started record; or, when the submission is unreadable (fail
// the job, not the worker), ok false and a job.failed record.
func (w *Worker) prepare(job projections.Job) (r *running, body []byte, rec eventlog.Record, ok bool) {
	sub, body, err := w.request(job)
	if err != nil {
		return nil, nil, eventlog.Record{Job: job.ID, Type: eventlog.JobFailed,
			Payload: &eventlog.Failure{Attempt: job.Attempts, Error: "cannot read the request: " + err.Error()}}, false
	}
	r = &running{job: job, attempt: job.Attempts + 1, sub: sub, done: make(chan outcome, 1), started: w.cfg.Now(), timeout: w.cfg.JobTimeout}
	if sub.Timeout > 0 {
		r.timeout = time.Duration(sub.Timeout)
	}
	return r, body, eventlog.Record{Job: job.ID, Type: eventlog.JobStarted, Payload: &eventlog.Started{Attempt: r.attempt}}, true
}

// launch runs a prepared attempt, once its job.started is durable.
func (w *Worker) launch(ctx context.Context, r *running, body []byte) {
	actx, cancel := context.WithCancelCause(context.WithoutCancel(ctx))
	r.cancel = cancel
	r.ctx = actx
	if r.timeout > 0 {
		var stop context.CancelFunc
		actx, stop = context.WithTimeoutCause(actx, r.timeout, errTimeout)
		r.ctx = actx
		prev := r.cancel
		r.cancel = func(cause error) { prev(cause); stop() }
	}
	w.cfg.Logger.Info("job started", "job", r.job.ID, "model", r.job.Model, "attempt", r.attempt)
	go func() { r.done <- w.attempt(r.ctx, r, body) }()
}

// request loads the job's submission and the body to send. Async jobs are
// always streamed from the target, so that their progress can be watched;
// their result is assembled into the stream:false answer.
func (w *Worker) request(job projections.Job) (eventlog.Submitted, []byte, error) {
	var sub eventlog.Submitted
	ev, err := w.cfg.Log.Get(job.SubmitOffset)
	if err != nil {
		return sub, nil, err
	}
	if err := ev.Decode(&sub); err != nil {
		return sub, nil, err
	}
	body := sub.Request
	if sub.RequestBlob != "" {
		if body, err = w.cfg.Log.Blob(sub.RequestBlob); err != nil {
			return sub, nil, fmt.Errorf("request blob: %w", err)
		}
	}
	if !sub.Sync && !OpenAI(sub.Kind) {
		if body, err = setStream(body, true); err != nil {
			return sub, nil, err
		}
	}
	return sub, body, nil
}

// setStream sets "stream" in a JSON object, keeping every other field.
func setStream(body []byte, on bool) ([]byte, error) {
	var m map[string]json.RawMessage
	if err := json.Unmarshal(body, &m); err != nil {
		return nil, fmt.Errorf("request is not a JSON object: %w", err)
	}
	m["stream"] = json.RawMessage(fmt.Sprint(on))
	return json.Marshal(m)
}

// streams reports whether Ollama streams the answer to body (the default).
// A load or unload request (generate without a prompt, chat without
// messages) is always answered with one plain JSON object, whatever its
// "stream" says (server/routes.go, done_reason "load" and "unload").
func streams(kind eventlog.Kind, body []byte) bool {
	var r struct {
		Stream   *bool             `json:"stream"`
		Prompt   string            `json:"prompt"`
		Messages []json.RawMessage `json:"messages"`
	}
	_ = json.Unmarshal(body, &r)
	if kind == eventlog.KindGenerate && r.Prompt == "" || kind != eventlog.KindGenerate && len(r.Messages) == 0 {
		return false
	}
	return r.Stream == nil || *r.Stream
}

func path(kind eventlog.Kind) string {
	if p, ok := openAIPaths[kind]; ok {
		return p
	}
	if kind == eventlog.KindGenerate {
		return "/api/generate"
	}
	return "/api/chat"
}

// attempt runs the request against the target, passing each line to the
// sink as it arrives.
func (w *Worker) attempt(ctx context.Context, r *running, body []byte) outcome {
	id := r.job.ID
	var asm interface {
		add(line []byte) error
		result() ([]byte, bool)
	} = &assembler{kind: string(r.sub.Kind)}
	ct := "application/json; charset=utf-8"
	switch {
	case OpenAI(r.sub.Kind) && openAIStreams(r.sub.Kind, body):
		asm, ct = &sseAssembler{kind: r.sub.Kind}, "text/event-stream"
	case OpenAI(r.sub.Kind):
		asm, ct = &bodyAssembler{}, "application/json"
	case streams(r.sub.Kind, body):
		ct = "application/x-ndjson"
	}
	var out outcome
	_, err := w.cfg.Target.Run(ctx, path(r.sub.Kind), body, func(line []byte) error {
		if err := asm.add(line); err != nil {
			return err
		}
		if !out.begun {
			w.cfg.Sink.Begin(id, 200, ct)
			out.begun = true
		}
		w.cfg.Sink.Chunk(id, bytes.Clone(line))
		return nil
	})
	if err != nil {
		out.err = err
		return out
	}
	res, ok := asm.result()
	if sa, isSSE := asm.(*sseAssembler); !ok && isSSE && sa.died {
		// Ollama's /v1 writes a runner's death mid-answer as a chunk
		// without a model and ends the stream without [DONE]: a failed
		// attempt, retried as the {"error"} line of /api/chat is.
		out.err = &target.StreamError{Message: "the model runner died mid-answer: the target's stream ended without data: [DONE]"}
		return out
	}
	if !ok {
		out.err = &incompleteError{}
		return out
	}
	out.result = res
	return out
}

// incompleteError: the target's answer ended without a done chunk.
type incompleteError struct{}

func (*incompleteError) Error() string { return "the target's answer ended without a done chunk" }
