package client_test

import (
	"context"
	"errors"
	"slices"
	"testing"
	"time"

	"github.com/foreman-dev/foreman/client"
	"github.com/foreman-dev/foreman/worker/target/ollamatest"
)

// fleetBundle is three daemons, each over its own fake Ollama whose
// answers are held at a gate, so that queues stay as a test builds them:
// d[0] has tiny-a, d[1] tiny-a and tiny-b, d[2] tiny-b and tiny-big.
type fleetBundle struct {
	o     []*ollamatest.Server
	d     []*daemon
	c     []*client.Client // one per daemon
	fleet *client.Fleet
}

func setupFleet(t *testing.T) *fleetBundle {
	t.Helper()
	models := [][]string{{"tiny-a"}, {"tiny-a", "tiny-b"}, {"tiny-b", "tiny-big"}}
	b := &fleetBundle{}
	var urls []string
	for _, names := range models {
		var ms []ollamatest.Model
		for _, m := range ollamatest.DefaultModels() {
			if slices.Contains(names, m.Name) {
				ms = append(ms, m)
			}
		}
		o := ollamatest.New(t, ollamatest.WithModels(ms...))
		t.Cleanup(o.Block("").Release)
		d := startDaemon(t, o.URL())
		b.o, b.d = append(b.o, o), append(b.d, d)
		b.c = append(b.c, client.New(d.URL(), client.WithToken(testToken), client.WithPollInterval(20*time.Millisecond)))
		urls = append(urls, d.URL())
	}
	b.fleet = client.NewFleet(urls, client.WithToken(testToken), client.WithPollInterval(20*time.Millisecond))
	return b
}

// on is the index of the daemon that holds job id, asking each directly.
func (b *fleetBundle) on(t *testing.T, id string) int {
	t.Helper()
	for i, c := range b.c {
		if _, err := c.Get(t.Context(), id); err == nil {
			return i
		}
	}
	t.Fatalf("job %s is on no daemon", id)
	return -1
}

// TestFleetRoutesToTheEarliestForecast: jobs go to a daemon that has the
// model and the shortest queue for it; one daemon killed mid-run, new jobs
// go elsewhere, and its accepted jobs are there after it restarts.
func TestFleetRoutesToTheEarliestForecast(t *testing.T) {
	b := setupFleet(t)
	ctx, cancel := context.WithTimeout(t.Context(), 60*time.Second)
	defer cancel()
	// d[0]: three tiny-a jobs (one running, held); d[1]: one.
	for i, n := range []int{3, 1} {
		for range n {
			if _, err := b.c[i].Enqueue(ctx, chat("tiny-a", "deep")); err != nil {
				t.Fatal(err)
			}
		}
	}
	id, err := b.fleet.Enqueue(ctx, chat("tiny-a", "routed"))
	if err != nil {
		t.Fatal(err)
	}
	if on := b.on(t, id); on != 1 {
		t.Fatalf("tiny-a went to daemon %d, want 1 (shallower than 0; 2 lacks the model)", on)
	}
	big, err := b.fleet.Enqueue(ctx, chat("tiny-big", "only on 2"))
	if err != nil || b.on(t, big) != 2 {
		t.Fatalf("tiny-big: %v", err)
	}
	if _, err := b.fleet.Enqueue(ctx, chat("nope", "x")); !errors.Is(err, client.ErrNoDaemon) {
		t.Fatalf("a model no daemon has: %v", err)
	}
	// The fleet finds a job it did not submit by asking.
	j, err := client.NewFleet([]string{b.d[0].URL(), b.d[1].URL(), b.d[2].URL()}, client.WithToken(testToken)).Get(ctx, id)
	if err != nil || j.JobID != id || j.Model != "tiny-a" {
		t.Fatalf("Get from a fresh fleet: %+v, %v", j, err)
	}

	// d[1] dies: tiny-a goes to d[0], tiny-b to d[2].
	b.d[1].kill()
	again, err := b.fleet.Enqueue(ctx, chat("tiny-a", "after the crash"))
	if err != nil || b.on(t, again) != 0 {
		t.Fatalf("tiny-a with daemon 1 down: %v", err)
	}
	bee, err := b.fleet.Enqueue(ctx, chat("tiny-b", "after the crash"))
	if err != nil || b.on(t, bee) != 2 {
		t.Fatalf("tiny-b with daemon 1 down: %v", err)
	}
	l, err := b.fleet.List(ctx, client.ListOptions{})
	var pe *client.PartialError
	if !errors.As(err, &pe) || pe.Daemons[b.d[1].URL()] == nil || l == nil || len(l.Jobs) != 6 {
		t.Fatalf("List with daemon 1 down: %v, %+v", err, l)
	}
	for _, r := range l.Jobs {
		if want := b.d[b.on(t, r.JobID)].URL(); r.Daemon != want {
			t.Fatalf("row %s names %s, want %s", r.JobID, r.Daemon, want)
		}
	}
	if _, err := b.fleet.Get(ctx, id); err == nil || errors.Is(err, client.ErrNotFound) {
		t.Fatalf("a job on the dead daemon: %v, want it unreachable, not missing", err)
	}
	b.d[1].start()
	if j, err := b.fleet.Get(ctx, id); err != nil || j.State != client.StateQueued {
		t.Fatalf("after the restart: %+v, %v", j, err)
	}
	if l, err := b.fleet.List(ctx, client.ListOptions{}); err != nil || len(l.Jobs) != 8 {
		t.Fatalf("List after the restart: %v, %d jobs", err, len(l.Jobs))
	}
}

// TestFleetIdempotencyKeyLandsOnce: the daemon that took a keyed job dies
// before the caller hears of it; a retry with the key (from a fleet that
// remembers nothing) waits for that daemon rather than submitting
// elsewhere, and gets the same job.
func TestFleetIdempotencyKeyLandsOnce(t *testing.T) {
	b := setupFleet(t)
	ctx, cancel := context.WithTimeout(t.Context(), 60*time.Second)
	defer cancel()
	req := chat("tiny-a", "once")
	req.IdempotencyKey = "batch-7/item-42"
	id, err := b.fleet.Enqueue(ctx, req)
	if err != nil {
		t.Fatal(err)
	}
	first := b.on(t, id)
	b.d[first].kill()
	urls := []string{b.d[0].URL(), b.d[1].URL(), b.d[2].URL()}
	retry := client.NewFleet(urls, client.WithToken(testToken), client.WithPollInterval(20*time.Millisecond))
	short, cancelShort := context.WithTimeout(ctx, 300*time.Millisecond)
	defer cancelShort()
	if got, err := retry.Enqueue(short, req); err == nil {
		t.Fatalf("retried while the daemon holding the key is down: %s, want a wait", got)
	}
	done := make(chan error, 1)
	var got string
	go func() {
		var err error
		got, err = retry.Enqueue(ctx, req)
		done <- err
	}()
	b.d[first].start()
	if err := <-done; err != nil || got != id {
		t.Fatalf("retry: %s, %v, want %s", got, err, id)
	}
	for i, c := range b.c {
		l, err := c.List(ctx, client.ListOptions{})
		if err != nil {
			t.Fatal(err)
		}
		if want := map[bool]int{true: 1, false: 0}[i == first]; len(l.Jobs) != want {
			t.Fatalf("daemon %d holds %d jobs, want %d", i, len(l.Jobs), want)
		}
	}
	// Moved: cancelled where it was, submitted again under the same key,
	// it goes to the other daemon that has the model.
	if err := retry.Cancel(ctx, id); err != nil {
		t.Fatal(err)
	}
	if _, err := retry.Wait(ctx, id); !errors.Is(err, client.ErrJobCancelled) {
		t.Fatalf("cancelled: %v", err)
	}
	moved, err := retry.Enqueue(ctx, req)
	if err != nil || moved == id || b.on(t, moved) != 1-first {
		t.Fatalf("moved: %s, %v (was %s on %d)", moved, err, id, first)
	}
	if again, err := retry.Enqueue(ctx, req); err != nil || again != moved {
		t.Fatalf("the moved job's key again: %s, %v, want %s", again, err, moved)
	}
}
