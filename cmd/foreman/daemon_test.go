package main

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"strings"
	"syscall"
	"testing"

	"github.com/cockroachdb/pebble/v2/vfs"
	"github.com/cockroachdb/pebble/v2/vfs/errorfs"

	"github.com/foreman-dev/foreman/eventlog"
	"github.com/foreman-dev/foreman/worker/target/ollamatest"
)

// openTestDaemon opens a daemon on a temp dir with an unreachable Ollama.
func openTestDaemon(t *testing.T, mod func(*Config)) *Daemon {
	t.Helper()
	cfg := DefaultConfig()
	cfg.DataDir, cfg.Listen, cfg.OllamaURL = t.TempDir(), "127.0.0.1:0", "http://127.0.0.1:1"
	cfg.ShutdownGrace = 0
	if mod != nil {
		mod(&cfg)
	}
	d, err := OpenDaemon(t.Context(), cfg, slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	return d
}

// A handler still running after the shutdown grace is never left with a
// closed store: Run returns an error and leaves the log open rather than
// closing it under the handler (Pebble panics on use after Close).
func TestShutdownNeverClosesTheLogUnderAHandler(t *testing.T) {
	d := openTestDaemon(t, nil)
	d.drain = 0 // do not wait for the stuck handler
	started, release, done := make(chan struct{}), make(chan struct{}), make(chan string, 1)
	d.srv.Handler = d.handlers.track(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		close(started)
		<-release // ignores its cancelled request, as a buggy handler might
		defer func() {
			if p := recover(); p != nil {
				done <- fmt.Sprint("panic: ", p)
			}
		}()
		err := d.log.Scan(context.Background(), 0, 0, func(eventlog.Event) error { return nil })
		done <- fmt.Sprint(err)
	}))
	ctx, cancel := context.WithCancel(context.Background())
	runErr := make(chan error, 1)
	go func() { runErr <- d.Run(ctx) }()
	go http.Get("http://" + d.Addr() + "/slow")
	<-started
	cancel()
	err := <-runErr
	if err == nil || !strings.Contains(err.Error(), "still running") {
		t.Fatalf("Run with a stuck handler: %v, want an error saying requests were still running", err)
	}
	close(release)
	if got := <-done; got != "<nil>" {
		t.Fatalf("the handler's read after shutdown: %s", got)
	}
	if err := d.log.Close(); err != nil {
		t.Fatalf("the store was left open, and closes: %v", err)
	}
}

// When a commit fails, the request that hit it is answered 503 with the
// reason, and Run returns an error (the process exits non-zero) without
// waiting for a signal.
func TestDaemonStopsNonZeroWhenTheLogFails(t *testing.T) {
	on := &errorfs.Toggle{Injector: errorfs.InjectorFunc(func(op errorfs.Op) error {
		if strings.HasSuffix(op.Path, ".log") && op.Kind.ReadOrWrite() == errorfs.OpIsWrite {
			return syscall.ENOSPC
		}
		return nil
	})}
	fake := ollamatest.New(t)
	gate := fake.Block("") // the job stays running: only the API appends
	defer gate.Release()
	d := openTestDaemon(t, func(c *Config) { c.fs, c.OllamaURL = errorfs.Wrap(vfs.Default, on), fake.URL() })
	runErr := make(chan error, 1)
	go func() { runErr <- d.Run(context.Background()) }()
	post := func() (int, string) {
		resp, err := http.Post("http://"+d.Addr()+"/jobs", "application/json", strings.NewReader(`{"model":"tiny-a","prompt":"hi"}`))
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(b)
	}
	if code, body := post(); code != http.StatusAccepted {
		t.Fatalf("POST /jobs before the fault: %d %s", code, body)
	}
	<-gate.Arrived() // the worker recorded job.started and waits on Ollama: it appends nothing now
	on.On()
	code, body := post()
	if code != http.StatusServiceUnavailable || !strings.Contains(body, "no space left on device") {
		t.Fatalf("POST /jobs on a failing disk: %d %s", code, body)
	}
	err := <-runErr
	if err == nil || !strings.Contains(err.Error(), "event log failed") || exitCode(err) == ExitOK {
		t.Fatalf("Run after the log failed: %v (exit %d)", err, exitCode(err))
	}
}
