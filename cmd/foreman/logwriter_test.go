package main

import (
	"bytes"
	"log/slog"
	"strings"
	"sync"
	"testing"
)

// recordWriter records each Write and signals it.
type recordWriter struct {
	mu     sync.Mutex
	writes []string
	wrote  chan struct{}
}

func newRecordWriter() *recordWriter { return &recordWriter{wrote: make(chan struct{}, 100)} }

func (r *recordWriter) Write(p []byte) (int, error) {
	r.mu.Lock()
	r.writes = append(r.writes, string(p))
	r.mu.Unlock()
	r.wrote <- struct{}{}
	return len(p), nil
}

func (r *recordWriter) all() []string {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]string(nil), r.writes...)
}

// Info lines wait and go out together; a Warn line goes out at once with
// every line before it, in order.
func TestDaemonLogBatchesInfoAndFlushesWarnings(t *testing.T) {
	out := newRecordWriter()
	log, lw := newDaemonLogger(out, slog.LevelInfo)
	defer lw.Close()
	lw.mu.Lock() // hold the timed flush off while the lines are written
	lw.pending = true
	lw.mu.Unlock()
	log.Info("request", "n", 1)
	log.Info("request", "n", 2)
	if got := out.all(); len(got) != 0 {
		t.Fatalf("info lines written at once: %q", got)
	}
	log.Warn("trouble")
	got := out.all()
	if len(got) != 1 || strings.Count(got[0], "\n") != 3 || !strings.Contains(got[0], "n=1") || strings.Index(got[0], "n=2") > strings.Index(got[0], "trouble") {
		t.Fatalf("after a warning: %q, want the three lines in one write, in order", got)
	}
	log.With("part", "x").Error("worse")
	if got := out.all(); len(got) != 2 || !strings.Contains(got[1], "part=x") {
		t.Fatalf("an error through a derived logger: %q, want it written at once", got)
	}
}

// A lone info line is written within logFlushEvery; Close writes what
// waits and lines after it go straight through.
func TestDaemonLogFlushesOnItsOwnAndOnClose(t *testing.T) {
	out := newRecordWriter()
	log, lw := newDaemonLogger(out, slog.LevelInfo)
	log.Info("alone")
	<-out.wrote // the timed flush
	if got := out.all(); len(got) != 1 || !strings.Contains(got[0], "alone") {
		t.Fatalf("timed flush wrote %q", got)
	}
	lw.mu.Lock()
	lw.pending = true // no timed flush: Close must write it
	lw.mu.Unlock()
	log.Info("last words")
	lw.Close()
	log.Info("after close")
	got := out.all()
	if len(got) != 3 || !strings.Contains(got[1], "last words") || !strings.Contains(got[2], "after close") {
		t.Fatalf("writes %q", got)
	}
}

// Past logFlushBytes the lines are written without waiting; under
// concurrent loggers every line arrives whole, once.
func TestDaemonLogUnderLoad(t *testing.T) {
	var mu sync.Mutex
	var buf bytes.Buffer
	w := writerFunc(func(p []byte) (int, error) { mu.Lock(); defer mu.Unlock(); return buf.Write(p) })
	log, lw := newDaemonLogger(w, slog.LevelInfo)
	var wg sync.WaitGroup
	for g := range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range 2000 {
				log.Info("request", "g", g, "i", i, "pad", strings.Repeat("x", 40))
			}
		}()
	}
	wg.Wait()
	lw.Close()
	lines := strings.Split(strings.TrimSuffix(buf.String(), "\n"), "\n")
	if len(lines) != 16000 {
		t.Fatalf("%d lines, want 16000", len(lines))
	}
	for _, l := range lines {
		if !strings.HasPrefix(l, "time=") || !strings.HasSuffix(l, strings.Repeat("x", 40)) {
			t.Fatalf("torn line %q", l)
		}
	}
}

type writerFunc func([]byte) (int, error)

func (f writerFunc) Write(p []byte) (int, error) { return f(p) }
