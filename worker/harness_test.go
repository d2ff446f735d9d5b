package worker

import (
	"context"
	"encoding/json"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/cockroachdb/pebble/v2/vfs"
	"github.com/oklog/ulid/v2"

	"github.com/foreman-dev/foreman/eventlog"
	"github.com/foreman-dev/foreman/projections"
)

// call is one request the scripted target received.
type call struct {
	path  string
	body  []byte
	model string
	ctx   context.Context
}

// script decides what the scripted target answers to a call: it may emit
// lines through emit and return an error. The default answers like Ollama
// with two chunks and a done line.
type script func(c call, emit func(line string) error) error

// scriptTarget is a worker.Target for unit tests and fault injection. Its
// lines follow Ollama's wire format (../shared/real-ollama/samples).
type scriptTarget struct {
	mu     sync.Mutex
	calls  []call
	next   []script
	loaded []string
	called chan call // receives each call as it starts
}

func newScriptTarget() *scriptTarget { return &scriptTarget{called: make(chan call, 64)} }

// then queues answers for the next calls, in order.
func (s *scriptTarget) then(fs ...script) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.next = append(s.next, fs...)
}

func (s *scriptTarget) Run(ctx context.Context, path string, body []byte, onChunk func([]byte) error) ([]byte, error) {
	var req struct {
		Model string `json:"model"`
	}
	_ = json.Unmarshal(body, &req)
	c := call{path: path, body: body, model: req.Model, ctx: ctx}
	s.mu.Lock()
	s.calls = append(s.calls, c)
	f := ollamaAnswer
	if len(s.next) > 0 {
		f, s.next = s.next[0], s.next[1:]
	}
	s.loaded = []string{normalize(req.Model)}
	s.mu.Unlock()
	s.called <- c
	var last []byte
	err := f(c, func(line string) error {
		last = []byte(line)
		return onChunk(last)
	})
	if err != nil {
		return nil, err
	}
	return last, nil
}

func (s *scriptTarget) Loaded() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]string(nil), s.loaded...)
}

func (s *scriptTarget) RefreshPs(context.Context) error { return nil }

func (s *scriptTarget) models() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []string
	for _, c := range s.calls {
		out = append(out, c.model)
	}
	return out
}

// ollamaAnswer streams a chat answer as Ollama does: content chunks, then
// a done line with an empty content and the counters.
func ollamaAnswer(c call, emit func(string) error) error {
	for _, piece := range []string{"Hello", " there"} {
		if err := emit(fmt.Sprintf(`{"model":%q,"created_at":"2026-11-23T19:45:08.9Z","message":{"role":"assistant","content":%q},"done":false}`, c.model, piece)); err != nil {
			return err
		}
	}
	return emit(fmt.Sprintf(`{"model":%q,"created_at":"2026-11-23T19:45:09Z","message":{"role":"assistant","content":""},"done":true,"done_reason":"stop","total_duration":5,"eval_count":2}`, c.model))
}

// hang blocks until the attempt's context ends, after one chunk.
func hang(c call, emit func(string) error) error {
	if err := emit(fmt.Sprintf(`{"model":%q,"message":{"role":"assistant","content":"x"},"done":false}`, c.model)); err != nil {
		return err
	}
	<-c.ctx.Done()
	return context.Cause(c.ctx)
}

// rig is a worker over a real Pebble log (in memory FS) and projections.
type rig struct {
	t      *testing.T
	log    *eventlog.Log
	proj   *projections.Projections
	target *scriptTarget
	sink   *recordSink
	w      *Worker
	cancel context.CancelFunc
	done   chan error
}

func newRig(t *testing.T, mod func(*Config)) *rig {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	l, err := eventlog.Open(eventlog.Config{Dir: "d", FS: vfs.NewMem()})
	if err != nil {
		t.Fatal(err)
	}
	p, err := projections.Open(ctx, l, l)
	if err != nil {
		t.Fatal(err)
	}
	r := &rig{t: t, log: l, proj: p, target: newScriptTarget(), sink: newRecordSink(), cancel: cancel, done: make(chan error, 1)}
	cfg := Config{Log: l, Jobs: p, Target: r.target, Residency: r.target, Sink: r.sink,
		RetryBase: 25 * time.Millisecond, RetryMax: 100 * time.Millisecond} // RetryAt stays after the event time under load
	if mod != nil {
		mod(&cfg)
	}
	if r.w, err = New(cfg); err != nil {
		t.Fatal(err)
	}
	projDone := make(chan struct{})
	go func() { defer close(projDone); _ = p.Run(ctx) }()
	go func() { r.done <- r.w.Run(ctx) }()
	t.Cleanup(func() {
		r.stop()
		<-projDone
		l.Close()
	})
	return r
}

// stop ends the worker (once) and returns its error.
func (r *rig) stop() error {
	r.cancel()
	if r.done == nil {
		return nil
	}
	err := <-r.done
	r.done = nil
	return err
}

func (r *rig) submit(model string, mod func(*eventlog.Submitted)) ulid.ULID {
	r.t.Helper()
	id := ulid.Make()
	sub := &eventlog.Submitted{Model: model, Kind: eventlog.KindChat, MaxAttempts: 3,
		Request: fmt.Appendf(nil, `{"model":%q,"messages":[{"role":"user","content":"hi"}],"options":{"seed":1},"x_unknown":true}`, model)}
	if mod != nil {
		mod(sub)
	}
	r.append(eventlog.Record{Job: id, Type: eventlog.JobSubmitted, Payload: sub})
	return id
}

func (r *rig) append(recs ...eventlog.Record) {
	r.t.Helper()
	if _, err := r.log.Append(context.Background(), recs...); err != nil {
		r.t.Fatal(err)
	}
}

// await waits until job id reaches a terminal state, by signal.
func (r *rig) await(id ulid.ULID) projections.Job {
	r.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	for {
		ch := r.proj.Changed()
		j, err := r.proj.Job(id)
		if err == nil && j.State.Terminal() {
			return j
		}
		select {
		case <-ch:
		case <-ctx.Done():
			r.t.Fatalf("job %s never finished: %+v", id, j)
		}
	}
}

func (r *rig) types(id ulid.ULID) []eventlog.Type {
	r.t.Helper()
	evs, err := r.log.JobEvents(id)
	if err != nil {
		r.t.Fatal(err)
	}
	var out []eventlog.Type
	for _, e := range evs {
		out = append(out, e.Type)
	}
	return out
}

// recordSink records what the worker streams to callers.
type recordSink struct {
	mu     sync.Mutex
	status map[ulid.ULID]int
	chunks map[ulid.ULID][]string
	ended  map[ulid.ULID]string
	endCh  chan struct{} // closed and replaced on each End
}

func newRecordSink() *recordSink {
	return &recordSink{status: map[ulid.ULID]int{}, chunks: map[ulid.ULID][]string{}, ended: map[ulid.ULID]string{}, endCh: make(chan struct{})}
}

// waitEnd returns the message the caller of job id was left with.
func (s *recordSink) waitEnd(t *testing.T, id ulid.ULID) string {
	t.Helper()
	timeout := time.After(10 * time.Second)
	for {
		s.mu.Lock()
		msg, ok := s.ended[id]
		ch := s.endCh
		s.mu.Unlock()
		if ok {
			return msg
		}
		select {
		case <-ch:
		case <-timeout:
			t.Fatalf("job %s never ended for its caller", id)
		}
	}
}

func (s *recordSink) Begin(id ulid.ULID, status int, _ string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.status[id] = status
}

func (s *recordSink) Chunk(id ulid.ULID, line []byte) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.chunks[id] = append(s.chunks[id], string(line))
}

func (s *recordSink) End(id ulid.ULID, _ uint64, msg string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.ended[id] = msg
	close(s.endCh)
	s.endCh = make(chan struct{})
}

// nextCall waits for the target's next call, failing the test (rather
// than hanging it) if none comes.
func (r *rig) nextCall() call {
	r.t.Helper()
	select {
	case c := <-r.target.called:
		return c
	case <-time.After(10 * time.Second):
		r.t.Fatal("the job never reached the target")
		return call{}
	}
}
