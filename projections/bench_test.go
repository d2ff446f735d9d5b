package projections_test

import (
	"context"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/cockroachdb/pebble/v2/vfs"

	"github.com/foreman-dev/foreman/eventlog"
	"github.com/foreman-dev/foreman/projections"
	"github.com/foreman-dev/foreman/projections/projtest"
)

// The default keeps `go test -bench . -benchtime=1x` (the CI smoke run)
// fast; docs/benchmarks.md has the figures for 1000000.
var fixtureEvents = flag.Int("fixture-events", 20000, "events in the benchmarks' fixture log")

// restartTail is how far the stored checkpoint lags the log end in
// BenchmarkRestartWithCheckpoint: one projections flush interval, the
// most a crash leaves behind apart from unsynced state writes.
const restartTail = 4096

// buildFixture writes a fixture log of *fixtureEvents events into a new dir
// and, if checkpoint, stores a projections checkpoint tail events before
// its end. The log is closed on return.
func buildFixture(b *testing.B, checkpoint bool, tail int) (dir string, events uint64) {
	b.Helper()
	ctx := context.Background()
	dir = filepath.Join(b.TempDir(), "fixture")
	l, err := eventlog.Open(eventlog.Config{Dir: dir})
	if err != nil {
		b.Fatal(err)
	}
	defer l.Close()
	if _, err := projtest.BuildFixture(ctx, l, *fixtureEvents, 1); err != nil {
		b.Fatal(err)
	}
	events = l.LastOffset()
	if checkpoint {
		at := events - min(uint64(tail), events)
		if _, err := projections.Open(ctx, projtest.Until{Log: l, At: at}, l); err != nil {
			b.Fatal(err)
		}
	}
	if err := l.Close(); err != nil {
		b.Fatal(err)
	}
	return dir, events
}

// BenchmarkRebuild measures a full rebuild: the fixture log, opened
// read-only, replayed from the low watermark into an empty in-memory store.
func BenchmarkRebuild(b *testing.B) {
	ctx := context.Background()
	dir, events := buildFixture(b, false, 0)
	src, err := eventlog.Open(eventlog.Config{Dir: dir, ReadOnly: true})
	if err != nil {
		b.Fatal(err)
	}
	defer src.Close()
	b.ReportAllocs()
	var took time.Duration
	for b.Loop() {
		b.StopTimer()
		scratch, err := eventlog.Open(eventlog.Config{Dir: "s", FS: vfs.NewMem()})
		if err != nil {
			b.Fatal(err)
		}
		b.StartTimer()
		t0 := time.Now()
		p, err := projections.Open(ctx, src, scratch)
		took += time.Since(t0)
		b.StopTimer()
		if err != nil {
			b.Fatal(err)
		}
		if p.Rebuilt == "" || p.Applied() != events {
			b.Fatalf("rebuild: reason %q, applied %d of %d", p.Rebuilt, p.Applied(), events)
		}
		scratch.Close()
		b.StartTimer()
	}
	b.ReportMetric(float64(events)*float64(b.N)/took.Seconds(), "events/s")
}

// BenchmarkRestartWithCheckpoint measures what `foreman serve` does before
// it can listen: open the log and the projections from a checkpoint
// restartTail events behind the end. Each run restarts on a fresh clone of
// the fixture, so every run replays the same tail.
func BenchmarkRestartWithCheckpoint(b *testing.B) {
	ctx := context.Background()
	dir, events := buildFixture(b, true, restartTail)
	clones := b.TempDir()
	b.ReportAllocs()
	var took time.Duration
	i := 0
	for b.Loop() {
		b.StopTimer()
		i++
		clone := filepath.Join(clones, fmt.Sprintf("run%d", i))
		if err := projtest.CloneDir(dir, clone); err != nil {
			b.Fatal(err)
		}
		b.StartTimer()
		t0 := time.Now()
		l, err := eventlog.Open(eventlog.Config{Dir: clone})
		if err != nil {
			b.Fatal(err)
		}
		p, err := projections.Open(ctx, l, l)
		took += time.Since(t0)
		b.StopTimer()
		if err != nil {
			b.Fatal(err)
		}
		if p.Rebuilt != "" || p.Applied() != events {
			b.Fatalf("restart: rebuilt %q, applied %d of %d", p.Rebuilt, p.Applied(), events)
		}
		l.Close()
		os.RemoveAll(clone)
		b.StartTimer()
	}
	b.ReportMetric(took.Seconds()*1000/float64(b.N), "ms")
}
