package worker

import (
	"context"
	"testing"

	"github.com/cockroachdb/pebble/v2/vfs"
	"github.com/oklog/ulid/v2"

	"github.com/foreman-dev/foreman/eventlog"
	"github.com/foreman-dev/foreman/projections"
)

func TestRecoverAfterCrash(t *testing.T) {
	ctx := context.Background()
	l, err := eventlog.Open(eventlog.Config{Dir: "d", FS: vfs.NewMem()})
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	sub := func(id ulid.ULID, sync bool, max int) eventlog.Record {
		return eventlog.Record{Job: id, Type: eventlog.JobSubmitted, Payload: &eventlog.Submitted{Model: "m", Sync: sync, MaxAttempts: max}}
	}
	start := func(id ulid.ULID, n int) eventlog.Record {
		return eventlog.Record{Job: id, Type: eventlog.JobStarted, Payload: &eventlog.Started{Attempt: n}}
	}
	syncQueued, syncWorking := ulid.Make(), ulid.Make()
	asyncQueued, asyncWorking, asyncLast := ulid.Make(), ulid.Make(), ulid.Make()
	if _, err := l.Append(ctx,
		sub(syncQueued, true, 3), sub(syncWorking, true, 3), start(syncWorking, 1),
		sub(asyncQueued, false, 3), sub(asyncWorking, false, 3), start(asyncWorking, 1),
		sub(asyncLast, false, 1), start(asyncLast, 1),
	); err != nil {
		t.Fatal(err)
	}
	p, err := projections.Open(ctx, l, l)
	if err != nil {
		t.Fatal(err)
	}
	r, err := Recover(ctx, l, p)
	if err != nil {
		t.Fatal(err)
	}
	if r != (Recovery{Cancelled: 2, Requeued: 1, Failed: 1}) {
		t.Fatalf("recovery %+v", r)
	}
	if err := p.CatchUp(ctx, 0); err != nil {
		t.Fatal(err)
	}
	want := map[ulid.ULID]projections.State{
		syncQueued: projections.Cancelled, syncWorking: projections.Cancelled,
		asyncQueued: projections.Queued, asyncWorking: projections.Queued, asyncLast: projections.Failed,
	}
	for id, st := range want {
		j, err := p.Job(id)
		if err != nil || j.State != st {
			t.Fatalf("job %s: %s %v, want %s", id, j.State, err, st)
		}
	}
	if j, _ := p.Job(asyncWorking); j.AttemptsLeft() != 2 || j.LastError != ReasonInterrupted {
		t.Fatalf("requeued job: %+v", j)
	}
	hist, _ := l.JobEvents(asyncWorking)
	if hist[len(hist)-1].Type != eventlog.JobInterrupted {
		t.Fatalf("history does not show the crash: %v", hist[len(hist)-1].Type)
	}
	// A second recovery finds nothing to do.
	if r, err := Recover(ctx, l, p); err != nil || r != (Recovery{}) {
		t.Fatalf("second recovery %+v %v", r, err)
	}
}
