package projections

import (
	"bytes"
	"context"
	"errors"
	"testing"

	"github.com/cockroachdb/pebble/v2/vfs"
	"github.com/oklog/ulid/v2"
	"github.com/vmihailenco/msgpack/v5"

	"github.com/foreman-dev/foreman/eventlog"
)

type bundle struct {
	fs  vfs.FS
	log *eventlog.Log
	p   *Projections
}

func setup(t *testing.T) *bundle {
	t.Helper()
	b := &bundle{fs: vfs.NewMem()}
	b.reopen(t)
	return b
}

// reopen closes whatever is open and opens log and projections again.
func (b *bundle) reopen(t *testing.T) {
	t.Helper()
	if b.log != nil {
		b.log.Close()
	}
	l, err := eventlog.Open(eventlog.Config{Dir: "data", FS: b.fs})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { l.Close() })
	p, err := Open(context.Background(), l, l)
	if err != nil {
		t.Fatal(err)
	}
	b.log, b.p = l, p
}

func (b *bundle) append(t *testing.T, recs ...eventlog.Record) uint64 {
	t.Helper()
	evs, err := b.log.Append(context.Background(), recs...)
	if err != nil {
		t.Fatal(err)
	}
	if err := b.p.CatchUp(context.Background(), 0); err != nil {
		t.Fatal(err)
	}
	return evs[len(evs)-1].Offset
}

func rec(job ulid.ULID, typ eventlog.Type, payload any) eventlog.Record {
	return eventlog.Record{Job: job, Type: typ, Payload: payload}
}

func submitted(job ulid.ULID, model string) eventlog.Record {
	return rec(job, eventlog.JobSubmitted, &eventlog.Submitted{Model: model, Kind: eventlog.KindChat, MaxAttempts: 3, Request: []byte(`{}`)})
}

func TestLifecycleView(t *testing.T) {
	b := setup(t)
	job := ulid.Make()
	b.append(t, submitted(job, "tiny-a"))
	if a := b.p.Active(); len(a) != 1 || a[0].State != Queued || a[0].Model != "tiny-a" {
		t.Fatalf("active after submit: %+v", a)
	}
	b.append(t, rec(job, eventlog.JobStarted, &eventlog.Started{Attempt: 1}))
	b.append(t, rec(job, eventlog.AttemptFailed, &eventlog.AttemptFailure{Attempt: 1, Retryable: true, Error: "connection refused", RetryAt: 42}))
	j, _ := b.p.Job(job)
	if j.State != Queued || j.LastError != "connection refused" || j.RetryAt != 42 || j.AttemptsLeft() != 2 {
		t.Fatalf("after failed attempt: %+v", j)
	}
	b.append(t, rec(job, eventlog.JobStarted, &eventlog.Started{Attempt: 2}))
	off := b.append(t,
		rec(job, eventlog.ArtifactStored, &eventlog.Artifact{Name: "result.json", ContentType: "application/json", Size: 2, Blob: "x"}),
		rec(job, eventlog.JobSucceeded, &eventlog.Succeeded{Attempt: 2, Result: "result.json"}))
	j, err := b.p.Job(job)
	if err != nil {
		t.Fatal(err)
	}
	if j.State != Done || j.Attempts != 2 || j.Result != "result.json" || j.LastError != "" || j.LastOffset != off || j.FinishedAt == 0 {
		t.Fatalf("done view: %+v", j)
	}
	if a, ok := j.Artifact("result.json"); !ok || a.Size != 2 {
		t.Fatalf("artifact index: %+v", j.Artifacts)
	}
	if len(b.p.Active()) != 0 {
		t.Fatal("done job still active")
	}
	if c := b.p.Counts(); c[Done] != 1 || c[Queued] != 0 {
		t.Fatalf("counts %v", c)
	}
	// Nothing leaves done.
	b.append(t, rec(job, eventlog.JobRequeued, &eventlog.Requeue{}), rec(job, eventlog.JobStarted, &eventlog.Started{Attempt: 3}))
	if j, _ := b.p.Job(job); j.State != Done {
		t.Fatalf("left done: %s", j.State)
	}
	if _, err := b.p.Job(ulid.Make()); !errors.Is(err, ErrNotFound) {
		t.Fatalf("unknown job: %v", err)
	}
}

func TestRestartReplaysOnlyTheTail(t *testing.T) {
	b := setup(t)
	a, c := ulid.Make(), ulid.Make()
	b.append(t, submitted(a, "m"), submitted(c, "m"))
	b.reopen(t)
	if b.p.Rebuilt != "" || b.p.Applied() != 2 || len(b.p.Active()) != 2 {
		t.Fatalf("reopen: rebuilt=%q applied=%d active=%d", b.p.Rebuilt, b.p.Applied(), len(b.p.Active()))
	}
	// Events appended while projections were not running are applied on open.
	if _, err := b.log.Append(context.Background(), rec(a, eventlog.JobCancelled, &eventlog.Cancellation{Reason: "x"})); err != nil {
		t.Fatal(err)
	}
	b.reopen(t)
	if j, _ := b.p.Job(a); j.State != Cancelled || b.p.Applied() != 3 {
		t.Fatalf("tail not applied: %+v", j)
	}
}

func TestVersionChangeForcesRebuild(t *testing.T) {
	b := setup(t)
	job := ulid.Make()
	b.append(t, submitted(job, "m"))
	batch := b.log.NewStateBatch()
	old, _ := msgpack.Marshal(&checkpoint{Version: Version + 1, Offset: 1, Counts: make([]int, len(States))})
	batch.Set(keyCheckpoint, old)
	if err := b.log.CommitState(batch); err != nil {
		t.Fatal(err)
	}
	b.reopen(t)
	if b.p.Rebuilt == "" {
		t.Fatal("version change did not rebuild")
	}
	if j, err := b.p.Job(job); err != nil || j.State != Queued {
		t.Fatalf("after rebuild: %+v %v", j, err)
	}
}

func TestIdempotencyKeyLivesWithItsJob(t *testing.T) {
	b := setup(t)
	job := ulid.Make()
	b.append(t, rec(job, eventlog.JobSubmitted, &eventlog.Submitted{Model: "m", IdempotencyKey: "k1", Submitter: "ci"}))
	if id, ok, err := b.p.Idempotent("ci", "k1"); err != nil || !ok || id != job {
		t.Fatalf("lookup: %v %v %v", id, ok, err)
	}
	if _, ok, _ := b.p.Idempotent("other", "k1"); ok {
		t.Fatal("key leaked across submitters")
	}
	b.append(t, rec(job, eventlog.JobCancelled, &eventlog.Cancellation{}), rec(job, eventlog.JobExpired, &eventlog.Expiry{}))
	if _, ok, _ := b.p.Idempotent("ci", "k1"); ok {
		t.Fatal("key outlived its job")
	}
	if _, err := b.p.Job(job); !errors.Is(err, ErrNotFound) {
		t.Fatalf("expired job still visible: %v", err)
	}
}

func TestWaitFor(t *testing.T) {
	b := setup(t)
	done := make(chan error, 1)
	go func() { done <- b.p.WaitFor(context.Background(), 1) }()
	b.append(t, submitted(ulid.Make(), "m"))
	if err := <-done; err != nil {
		t.Fatal(err)
	}
}

// Once Run has returned, a wait for an offset the projections will never
// reach ends with ErrStopped instead of lasting for ever (a GET after the
// log failed hung so); one they reached is still met.
func TestWaitForEndsWhenRunStops(t *testing.T) {
	b := setup(t)
	b.append(t, submitted(ulid.Make(), "m"))
	ctx, cancel := context.WithCancel(context.Background())
	ran := make(chan error, 1)
	go func() { ran <- b.p.Run(ctx) }()
	waited := make(chan error, 1)
	go func() { waited <- b.p.WaitFor(context.Background(), 1000) }()
	cancel()
	<-ran
	if err := <-waited; !errors.Is(err, ErrStopped) {
		t.Fatalf("wait past the end after Run stopped: %v, want ErrStopped", err)
	}
	if err := b.p.WaitFor(context.Background(), 1); err != nil {
		t.Fatalf("wait for an applied offset after Run stopped: %v", err)
	}
}

func TestVerifyDetectsTamperedState(t *testing.T) {
	b := setup(t)
	job := ulid.Make()
	b.append(t, submitted(job, "m"), rec(job, eventlog.JobStarted, &eventlog.Started{Attempt: 1}))
	scratch := func() *eventlog.Log {
		s, err := eventlog.Open(eventlog.Config{Dir: "scratch", FS: vfs.NewMem()})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { s.Close() })
		return s
	}
	rep, err := Verify(context.Background(), b.log, b.log, scratch())
	if err != nil || rep.Checkpoint != 2 || rep.Keys == 0 {
		t.Fatalf("verify of a good store: %+v %v", rep, err)
	}
	batch := b.log.NewStateBatch()
	batch.Set(jobKey(job), []byte{0x80})
	if err := b.log.CommitState(batch); err != nil {
		t.Fatal(err)
	}
	_, err = Verify(context.Background(), b.log, b.log, scratch())
	var me *MismatchError
	if !errors.As(err, &me) || string(me.Key) != string(jobKey(job)) {
		t.Fatalf("verify of a tampered store: %v", err)
	}
}

// TestSubmittedView checks every field job.submitted sets, in memory and
// after a restart from the stored view.
func TestSubmittedView(t *testing.T) {
	b := setup(t)
	id := ulid.Make()
	b.append(t, rec(ulid.Make(), eventlog.JobSubmitted, &eventlog.Submitted{Model: "x", MaxAttempts: 1}))
	reqSum, bodySum := bytes.Repeat([]byte{1}, 32), bytes.Repeat([]byte{2}, 32)
	off := b.append(t, rec(id, eventlog.JobSubmitted, &eventlog.Submitted{
		Model: "tiny-a", Kind: eventlog.KindGenerate, Priority: 4, Sync: true, Submitter: "ci",
		WebhookURL: "http://h/x", IdempotencyKey: "k", RequestSHA256: reqSum, BodySHA256: bodySum, MaxAttempts: 3,
	}))
	check := func(j Job) {
		t.Helper()
		if j.ID != id || j.Model != "tiny-a" || j.Kind != eventlog.KindGenerate || j.State != Queued || j.Priority != 4 ||
			!j.Sync || j.Submitter != "ci" || j.WebhookURL != "http://h/x" || j.IdempotencyKey != "k" ||
			!bytes.Equal(j.RequestSHA256, reqSum) || !bytes.Equal(j.BodySHA256, bodySum) || j.MaxAttempts != 3 ||
			j.SubmitOffset != off || j.QueueOffset != off || j.LastOffset != off || j.SubmittedAt == 0 || j.QueuedAt != j.SubmittedAt {
			t.Fatalf("view %+v (offset %d)", j, off)
		}
	}
	j, err := b.p.Job(id)
	if err != nil {
		t.Fatal(err)
	}
	check(j)
	b.reopen(t)
	if j, err = b.p.Job(id); err != nil {
		t.Fatal(err)
	}
	check(j)
}

// EachActive visits the jobs Active lists, once each, and no ended one.
func TestEachActiveIsActiveWithoutTheCopy(t *testing.T) {
	b := setup(t)
	done, queued, working := ulid.Make(), ulid.Make(), ulid.Make()
	b.append(t, submitted(done, "m"), submitted(queued, "m"), submitted(working, "n"),
		rec(done, eventlog.JobStarted, &eventlog.Started{Attempt: 1}),
		rec(done, eventlog.JobSucceeded, &eventlog.Succeeded{Attempt: 1}),
		rec(working, eventlog.JobStarted, &eventlog.Started{Attempt: 1}))
	seen := map[ulid.ULID]State{}
	b.p.EachActive(func(j *Job) { seen[j.ID] = j.State })
	want := map[ulid.ULID]State{queued: Queued, working: Working}
	if len(seen) != len(want) || seen[queued] != Queued || seen[working] != Working {
		t.Fatalf("EachActive saw %v, want %v", seen, want)
	}
	if n := len(b.p.Active()); n != len(seen) {
		t.Fatalf("Active lists %d jobs, EachActive saw %d", n, len(seen))
	}
}
