package projections

import (
	"context"
	"testing"

	"github.com/cockroachdb/pebble/v2/vfs"
	"github.com/oklog/ulid/v2"

	"github.com/foreman-dev/foreman/eventlog"
)

func line(job, batch ulid.ULID, n int) eventlog.Record {
	return rec(job, eventlog.JobSubmitted, &eventlog.Submitted{Model: "tiny-a", Kind: eventlog.KindOpenAIChat, MaxAttempts: 3,
		Request: []byte(`{}`), Priority: -10, Batch: batch.String(), CustomID: "c" + string(rune('0'+n)), Line: n})
}

// The batch view follows its line jobs: counts, the line index, and the
// lifecycle, identically after a restart and in a rebuild (Verify).
func TestBatchViewFollowsLines(t *testing.T) {
	b := setup(t)
	file, batch := ulid.Make(), ulid.Make()
	b.append(t, rec(file, eventlog.FileUploaded, &eventlog.FileUpload{Filename: "in.jsonl", Purpose: "batch", Bytes: 10, Parts: 1}))
	b.append(t, rec(batch, eventlog.BatchCreated, &eventlog.BatchCreate{InputFile: file.String(), Endpoint: "/v1/chat/completions",
		CompletionWindow: "24h", Metadata: map[string]string{"z": "1", "a": "2", "m": "3"}, Priority: -10, MaxAttempts: 3}))
	if v, err := b.p.Batch(batch); err != nil || v.Status != BatchValidating {
		t.Fatalf("created: %+v %v", v, err)
	}
	b.append(t, rec(batch, eventlog.BatchInProgress, &eventlog.BatchStart{Total: 3}))
	jobs := []ulid.ULID{ulid.Make(), ulid.Make(), ulid.Make()}
	b.append(t, line(jobs[0], batch, 1), line(jobs[1], batch, 2), line(jobs[2], batch, 3))
	b.append(t, rec(jobs[0], eventlog.JobStarted, &eventlog.Started{Attempt: 1}),
		rec(jobs[0], eventlog.JobSucceeded, &eventlog.Succeeded{Attempt: 1, Result: "response"}),
		rec(jobs[1], eventlog.JobStarted, &eventlog.Started{Attempt: 1}),
		rec(jobs[1], eventlog.JobFailed, &eventlog.Failure{Attempt: 1, Error: "boom"}))
	v, _ := b.p.Batch(batch)
	if v.Status != BatchInProgress || v.Total != 3 || v.Enqueued != 3 || v.Completed != 1 || v.Failed != 1 {
		t.Fatalf("in progress: %+v", v)
	}
	// A manual retry of the failed line takes it out of the count again.
	b.append(t, rec(jobs[1], eventlog.JobRequeued, &eventlog.Requeue{}))
	if v, _ := b.p.Batch(batch); v.Failed != 0 || v.Completed != 1 {
		t.Fatalf("after a retry: %+v", v)
	}
	b.append(t, rec(batch, eventlog.BatchCancelRequested, &eventlog.BatchCancel{}),
		rec(jobs[1], eventlog.JobCancelled, &eventlog.Cancellation{Reason: "batch_cancelled"}),
		rec(jobs[2], eventlog.JobCancelled, &eventlog.Cancellation{Reason: "batch_cancelled"}))
	if v, _ := b.p.Batch(batch); v.Status != BatchCancelling || v.Settled() != 3 || v.CancellingAt == 0 {
		t.Fatalf("cancelling: %+v", v)
	}
	var seen []int
	if err := b.p.BatchLines(batch, func(n int, job ulid.ULID) error {
		if job != jobs[n-1] {
			t.Errorf("line %d is job %s, want %s", n, job, jobs[n-1])
		}
		seen = append(seen, n)
		return nil
	}); err != nil || len(seen) != 3 {
		t.Fatalf("lines %v, %v", seen, err)
	}
	out := ulid.Make()
	b.append(t, rec(batch, eventlog.BatchFinalizing, &eventlog.BatchFinalize{Reason: "cancelled"}),
		rec(out, eventlog.FileUploaded, &eventlog.FileUpload{Purpose: "batch_output", Batch: batch.String()}),
		rec(batch, eventlog.BatchEnded, &eventlog.BatchEnd{Status: "cancelled", OutputFile: out.String(), Completed: 1, Failed: 2}))
	// A line event after the end changes nothing.
	b.append(t, rec(jobs[0], eventlog.JobExpired, &eventlog.Expiry{}))
	want, _ := b.p.Batch(batch)
	if want.Status != BatchCancelled || want.OutputFile != out.String() || want.Completed != 1 || want.Failed != 2 || want.CancelledAt == 0 {
		t.Fatalf("ended: %+v", want)
	}
	if f, err := b.p.File(out); err != nil || f.Purpose != "batch_output" {
		t.Fatalf("output file: %+v %v", f, err)
	}
	if ok, _ := b.p.Exists(batch); !ok {
		t.Fatal("a batch exists")
	}
	b.reopen(t)
	if got, _ := b.p.Batch(batch); got.Status != want.Status || got.Failed != 2 || len(got.Metadata) != 3 {
		t.Fatalf("after reopen: %+v", got)
	}
	scratch, _ := eventlog.Open(eventlog.Config{Dir: "s", FS: vfs.NewMem()})
	defer scratch.Close()
	if _, err := Verify(context.Background(), b.log, b.log, scratch); err != nil {
		t.Fatalf("verify: %v", err)
	}
	// Deleting the batch drops its view and line index.
	b.append(t, rec(batch, eventlog.BatchDeleted, &eventlog.BatchDeletion{}), rec(file, eventlog.FileDeleted, &eventlog.FileDeletion{}))
	if _, err := b.p.Batch(batch); err != ErrBatchNotFound {
		t.Fatalf("deleted batch: %v", err)
	}
	n := 0
	_ = b.p.BatchLines(batch, func(int, ulid.ULID) error { n++; return nil })
	if _, err := b.p.File(file); n != 0 || err != ErrFileNotFound {
		t.Fatalf("after delete: %d lines, file %v", n, err)
	}
}
