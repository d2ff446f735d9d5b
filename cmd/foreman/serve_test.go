package main

import (
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"io"
	"net/http"
	"strings"
	"sync"
	"testing"

	"github.com/cockroachdb/pebble/v2"
	"github.com/oklog/ulid/v2"

	"github.com/foreman-dev/foreman/eventlog"
	"github.com/foreman-dev/foreman/projections"
	"github.com/foreman-dev/foreman/worker"
)

// syncBuffer is a bytes.Buffer safe for the daemon's logger and the test.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

func testMain(env map[string]string) (*Main, *syncBuffer) {
	out := &syncBuffer{}
	environ := func() []string {
		var kv []string
		for k, v := range env {
			kv = append(kv, k+"="+v)
		}
		return kv
	}
	return &Main{Stdin: strings.NewReader(""), Stdout: out, Stderr: out, Getenv: func(k string) string { return env[k] }, Environ: environ}, out
}

// startServe runs `foreman serve` in process and returns its address and a
// stop function that returns Run's error.
func startServe(t *testing.T, env map[string]string) (string, func() error) {
	t.Helper()
	env["FOREMAN_LISTEN"] = "127.0.0.1:0"
	if _, ok := env["FOREMAN_DEFAULT_NUM_PREDICT"]; !ok {
		// The fake's answers are 8 tokens unless num_predict says
		// otherwise; tests of other things compare them.
		env["FOREMAN_DEFAULT_NUM_PREDICT"] = "0"
	}
	if env["FOREMAN_OLLAMA_URL"] == "" {
		env["FOREMAN_OLLAMA_URL"] = "http://127.0.0.1:1" // nothing listens: unreachable
	}
	m, out := testMain(env)
	ctx, cancel := context.WithCancel(context.Background())
	ready := make(chan string, 1)
	errc := make(chan error, 1)
	go func() { errc <- (&ServeCommand{m: m, ready: ready}).Run(ctx, nil) }()
	select {
	case addr := <-ready:
		return addr, func() error { cancel(); return <-errc }
	case err := <-errc:
		cancel()
		t.Fatalf("serve did not start: %v\n%s", err, out)
	}
	return "", nil
}

func TestServeHealthzAndCleanShutdown(t *testing.T) {
	dir := t.TempDir()
	addr, stop := startServe(t, map[string]string{"FOREMAN_DATA_DIR": dir})
	resp, err := http.Get("http://" + addr + "/healthz")
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 200 || !strings.Contains(string(body), `"status":"ok"`) {
		t.Fatalf("healthz %d %s", resp.StatusCode, body)
	}
	if err := stop(); err != nil {
		t.Fatalf("shutdown: %v", err)
	}
	// The lock is released and the store opens again.
	l, err := eventlog.Open(eventlog.Config{Dir: dir})
	if err != nil {
		t.Fatalf("reopen after shutdown: %v", err)
	}
	l.Close()
}

func TestServeRefusesASecondDaemon(t *testing.T) {
	dir := t.TempDir()
	_, stop := startServe(t, map[string]string{"FOREMAN_DATA_DIR": dir})
	defer stop()
	m, _ := testMain(map[string]string{"FOREMAN_DATA_DIR": dir, "FOREMAN_LISTEN": "127.0.0.1:0"})
	err := m.Run(context.Background(), []string{"serve"})
	if !errors.Is(err, eventlog.ErrLocked) || !strings.Contains(err.Error(), "another foreman") {
		t.Fatalf("second serve: %v", err)
	}
}

func TestServeRefusesACorruptLog(t *testing.T) {
	dir := t.TempDir()
	l, err := eventlog.Open(eventlog.Config{Dir: dir})
	if err != nil {
		t.Fatal(err)
	}
	for range 3 {
		if _, err := l.Append(context.Background(), eventlog.Record{Job: ulid.Make(), Type: eventlog.JobSubmitted, Payload: &eventlog.Submitted{Model: "m"}}); err != nil {
			t.Fatal(err)
		}
	}
	l.Close()
	db, err := pebble.Open(dir, &pebble.Options{})
	if err != nil {
		t.Fatal(err)
	}
	key := binary.BigEndian.AppendUint64([]byte("e/"), 2)
	if err := db.Set(key, []byte{1, 2, 3}, pebble.Sync); err != nil {
		t.Fatal(err)
	}
	db.Close()
	m, _ := testMain(map[string]string{"FOREMAN_DATA_DIR": dir, "FOREMAN_LISTEN": "127.0.0.1:0"})
	err = m.Run(context.Background(), []string{"serve"})
	var ce *eventlog.CorruptError
	if !errors.As(err, &ce) || ce.Offset != 2 || !strings.Contains(err.Error(), "refusing to start") {
		t.Fatalf("serve on a corrupt log: %v", err)
	}
	if exitCode(err) != ExitError {
		t.Fatalf("exit code %d", exitCode(err))
	}
}

func TestServeRecoversJobsInterruptedByACrash(t *testing.T) {
	dir := t.TempDir()
	l, err := eventlog.Open(eventlog.Config{Dir: dir})
	if err != nil {
		t.Fatal(err)
	}
	syncJob, asyncJob := ulid.Make(), ulid.Make()
	ctx := context.Background()
	_, err = l.Append(ctx,
		eventlog.Record{Job: syncJob, Type: eventlog.JobSubmitted, Payload: &eventlog.Submitted{Model: "m", Sync: true, MaxAttempts: 3}},
		eventlog.Record{Job: asyncJob, Type: eventlog.JobSubmitted, Payload: &eventlog.Submitted{Model: "m", MaxAttempts: 3, Request: []byte(`{"model":"m","messages":[]}`)}},
		eventlog.Record{Job: asyncJob, Type: eventlog.JobStarted, Payload: &eventlog.Started{Attempt: 1}},
	)
	if err != nil {
		t.Fatal(err)
	}
	l.Close() // as if killed: no recovery has run
	_, stop := startServe(t, map[string]string{"FOREMAN_DATA_DIR": dir})
	if err := stop(); err != nil {
		t.Fatal(err)
	}
	l, err = eventlog.Open(eventlog.Config{Dir: dir})
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	p, err := projections.Open(ctx, l, l)
	if err != nil {
		t.Fatal(err)
	}
	if p.Rebuilt != "" {
		t.Fatalf("the daemon left no usable checkpoint: %s", p.Rebuilt)
	}
	if j, _ := p.Job(syncJob); j.State != projections.Cancelled || j.LastError != worker.ReasonCallerGone {
		t.Fatalf("sync job after restart: %s %q", j.State, j.LastError)
	}
	// The worker may have tried it again since (the target here is
	// unreachable); the history must show the requeue.
	evs, err := l.JobEvents(asyncJob)
	if err != nil {
		t.Fatal(err)
	}
	if len(evs) < 3 || evs[2].Type != eventlog.JobInterrupted {
		t.Fatalf("async job history after restart: %v", evs)
	}
	var in eventlog.Interruption
	if err := evs[2].Decode(&in); err != nil || !in.Requeued || in.Attempt != 1 {
		t.Fatalf("interruption %+v, %v", in, err)
	}
	if j, _ := p.Job(asyncJob); j.State == projections.Done || j.Used < 1 {
		t.Fatalf("async job after restart: %+v", j)
	}
}

func TestServeMetricsBehindTheToken(t *testing.T) {
	addr, stop := startServe(t, map[string]string{"FOREMAN_DATA_DIR": t.TempDir(), "FOREMAN_TOKEN": "tok"})
	defer func() {
		if err := stop(); err != nil {
			t.Error(err)
		}
	}()
	resp, err := http.Get("http://" + addr + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusUnauthorized {
		t.Fatalf("/metrics without a token: %d", resp.StatusCode)
	}
	req, _ := http.NewRequest("GET", "http://"+addr+"/metrics", nil)
	req.Header.Set("Authorization", "Bearer tok")
	resp, err = http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	for _, name := range []string{"foreman_eventlog_last_offset", "foreman_jobs", "foreman_target_degraded", "go_goroutines"} {
		if !strings.Contains(string(body), "\n"+name) && !strings.HasPrefix(string(body), name) {
			t.Errorf("/metrics lacks %s", name)
		}
	}
}
