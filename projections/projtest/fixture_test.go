package projtest_test

import (
	"context"
	"os"
	"path/filepath"
	"testing"

	"github.com/cockroachdb/pebble/v2/vfs"

	"github.com/foreman-dev/foreman/eventlog"
	"github.com/foreman-dev/foreman/projections"
	"github.com/foreman-dev/foreman/projections/projtest"
)

func openMem(t *testing.T) *eventlog.Log {
	t.Helper()
	l, err := eventlog.Open(eventlog.Config{Dir: "data", FS: vfs.NewMem()})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { l.Close() })
	return l
}

func TestBuildFixtureMix(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	const events = 20000
	l := openMem(t)
	jobs, err := projtest.BuildFixture(ctx, l, events, 1)
	if err != nil {
		t.Fatal(err)
	}
	if got := l.LastOffset(); got != events {
		t.Fatalf("log holds %d events, want %d", got, events)
	}
	if st := l.Stats(); st.Commits > events/projtest.AppendBatch+1 {
		t.Fatalf("%d commits for %d events: not batched", st.Commits, events)
	}
	if jobs < events/5 || jobs > events/4 {
		t.Fatalf("%d jobs for %d events, want about a quarter", jobs, events)
	}
	types := map[eventlog.Type]int{}
	size := map[eventlog.Type]int{}
	err = l.Scan(ctx, 0, 0, func(e eventlog.Event) error {
		types[e.Type]++
		size[e.Type] += len(e.Payload)
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if types[eventlog.JobSubmitted] != jobs {
		t.Fatalf("%d submissions for %d jobs", types[eventlog.JobSubmitted], jobs)
	}
	if avg := size[eventlog.JobSubmitted] / jobs; avg < 350 || avg > 600 {
		t.Fatalf("job.submitted payloads average %d bytes, want a ~300-byte request inside", avg)
	}
	p, err := projections.Open(ctx, l, l)
	if err != nil {
		t.Fatal(err)
	}
	c := p.Counts()
	if c[projections.Working] != 0 {
		t.Fatalf("%d jobs left working: a daemon starting on the fixture would append", c[projections.Working])
	}
	if c[projections.Queued] == 0 || c[projections.Queued] > jobs/100 {
		t.Fatalf("%d queued of %d jobs, want about 0.5%%", c[projections.Queued], jobs)
	}
	if c[projections.Failed] == 0 || c[projections.Failed] > jobs/50 {
		t.Fatalf("%d failed of %d jobs, want about 1%%", c[projections.Failed], jobs)
	}
	if types[eventlog.AttemptFailed] == 0 || types[eventlog.AttemptFailed] > jobs/20 {
		t.Fatalf("%d failed attempts of %d jobs, want about 3%%", types[eventlog.AttemptFailed], jobs)
	}
	for _, j := range p.Active() {
		if j.Sync {
			t.Fatalf("queued job %s is sync: a restart would cancel it", j.ID)
		}
	}
	if c[projections.Done]+c[projections.Failed]+c[projections.Queued] != jobs {
		t.Fatalf("counts %v do not add up to %d jobs", c, jobs)
	}
}

func TestBuildFixtureDeterministic(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	type key struct {
		job  [16]byte
		typ  eventlog.Type
		size int
	}
	history := func(seed uint64) []key {
		l := openMem(t)
		if _, err := projtest.BuildFixture(ctx, l, 3000, seed); err != nil {
			t.Fatal(err)
		}
		var out []key
		l.Scan(ctx, 0, 0, func(e eventlog.Event) error {
			out = append(out, key{e.Job, e.Type, len(e.Payload)})
			return nil
		})
		return out
	}
	a, b, c := history(7), history(7), history(8)
	if len(a) != 3000 || len(b) != 3000 {
		t.Fatalf("lengths %d, %d", len(a), len(b))
	}
	for i := range a {
		if a[i] != b[i] {
			t.Fatalf("seed 7 differs at event %d: %+v vs %+v", i+1, a[i], b[i])
		}
	}
	if a[0] == c[0] {
		t.Fatal("seeds 7 and 8 built the same first job")
	}
}

func TestBuildFixtureTiny(t *testing.T) {
	t.Parallel()
	for _, n := range []int{1, 2, 5, 9} {
		l := openMem(t)
		if _, err := projtest.BuildFixture(context.Background(), l, n, 1); err != nil {
			t.Fatal(err)
		}
		if l.LastOffset() != uint64(n) {
			t.Fatalf("asked %d events, got %d", n, l.LastOffset())
		}
	}
	if _, err := projtest.BuildFixture(context.Background(), openMem(t), 0, 1); err == nil {
		t.Fatal("0 events accepted")
	}
}

// TestRestartReplaysTail checks Until and CloneDir together: a checkpoint
// stored through Until leaves the tail to replay, and a clone restarts
// without touching the original.
func TestRestartReplaysTail(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	dir := filepath.Join(t.TempDir(), "fixture")
	l, err := eventlog.Open(eventlog.Config{Dir: dir})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := projtest.BuildFixture(ctx, l, 5000, 1); err != nil {
		t.Fatal(err)
	}
	if _, err := projections.Open(ctx, projtest.Until{Log: l, At: 4000}, l); err != nil {
		t.Fatal(err)
	}
	if err := l.Close(); err != nil {
		t.Fatal(err)
	}
	for range 2 { // the second clone must find the original unchanged
		clone := filepath.Join(t.TempDir(), "clone")
		if err := projtest.CloneDir(dir, clone); err != nil {
			t.Fatal(err)
		}
		l, err := eventlog.Open(eventlog.Config{Dir: clone})
		if err != nil {
			t.Fatal(err)
		}
		var replayed int
		p, err := projections.Open(ctx, counting{l, &replayed}, l)
		if err != nil {
			t.Fatal(err)
		}
		if p.Rebuilt != "" || replayed != 1000 || p.Applied() != 5000 {
			t.Fatalf("restart: rebuilt %q, replayed %d, applied %d; want the 1000-event tail", p.Rebuilt, replayed, p.Applied())
		}
		l.Close()
	}
	if err := projtest.CloneDir(dir, dir); err == nil {
		t.Fatal("clone onto an existing dir accepted")
	}
	if _, err := os.Stat(filepath.Join(dir, "FOREMAN.LOCK")); err != nil {
		t.Fatal(err)
	}
}

type counting struct {
	*eventlog.Log
	n *int
}

func (c counting) Scan(ctx context.Context, from, to uint64, fn func(eventlog.Event) error) error {
	return c.Log.Scan(ctx, from, to, func(e eventlog.Event) error {
		*c.n++
		return fn(e)
	})
}
