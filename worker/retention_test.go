package worker

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/cockroachdb/pebble/v2/vfs"
	"github.com/oklog/ulid/v2"

	"github.com/foreman-dev/foreman/eventlog"
	"github.com/foreman-dev/foreman/projections"
)

func TestRetentionExpiresOldJobsAndTruncatesTheirHistory(t *testing.T) {
	ctx := context.Background()
	l, err := eventlog.Open(eventlog.Config{Dir: "d", FS: vfs.NewMem()})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { l.Close() })
	p, err := projections.Open(ctx, l, l)
	if err != nil {
		t.Fatal(err)
	}
	runProjections(t, p)
	app := func(recs ...eventlog.Record) {
		t.Helper()
		if _, err := l.Append(ctx, recs...); err != nil {
			t.Fatal(err)
		}
	}
	sub := func(id ulid.ULID) eventlog.Record {
		return eventlog.Record{Job: id, Type: eventlog.JobSubmitted, Payload: &eventlog.Submitted{Model: "m", MaxAttempts: 3, Request: []byte(`{}`)}}
	}
	done, failed, live := ulid.Make(), ulid.Make(), ulid.Make()
	key := eventlog.ArtifactBlob(done, ResultArtifact)
	app(sub(done), eventlog.Record{Job: done, Type: eventlog.JobStarted, Payload: &eventlog.Started{Attempt: 1}})
	app(sub(live))
	app(sub(failed), eventlog.Record{Job: failed, Type: eventlog.JobStarted, Payload: &eventlog.Started{Attempt: 1}},
		eventlog.Record{Job: failed, Type: eventlog.JobFailed, Payload: &eventlog.Failure{Attempt: 1, Error: "x", Status: 500}})
	app(eventlog.Record{Job: done, Type: eventlog.ArtifactStored, Blobs: []eventlog.Blob{{Key: key, Data: []byte(`{}`)}},
		Payload: &eventlog.Artifact{Name: ResultArtifact, ContentType: "application/json", Size: 2, Blob: key}},
		eventlog.Record{Job: done, Type: eventlog.JobSucceeded, Payload: &eventlog.Succeeded{Attempt: 1, Result: ResultArtifact}})
	if err := p.CatchUp(ctx, 0); err != nil {
		t.Fatal(err)
	}

	now := time.Now()
	r := NewRetention(l, p, RetentionConfig{TTL: time.Hour, Now: func() time.Time { return now }})
	if s, err := r.Sweep(ctx); err != nil || s.Expired != 0 || s.Truncated != 0 {
		t.Fatalf("sweep within the TTL: %+v %v", s, err)
	}

	now = now.Add(2 * time.Hour)
	s, err := r.Sweep(ctx)
	if err != nil {
		t.Fatal(err)
	}
	// The live job's submission (offset 3) holds the rest of the log.
	if s.Expired != 2 || s.Truncated != 2 || s.Low != 3 {
		t.Fatalf("sweep: %+v", s)
	}
	for _, id := range []ulid.ULID{done, failed} {
		if _, err := p.Job(id); !errors.Is(err, projections.ErrNotFound) {
			t.Fatalf("expired job %s still readable: %v", id, err)
		}
	}
	if _, err := l.Blob(key); !errors.Is(err, eventlog.ErrNotFound) {
		t.Fatalf("expired artifact still stored: %v", err)
	}
	if j, err := p.Job(live); err != nil || j.State != projections.Queued {
		t.Fatalf("live job: %+v %v", j, err)
	}
	// A rebuild from the new low watermark agrees with the live state.
	scratch, err := eventlog.Open(eventlog.Config{Dir: "s", FS: vfs.NewMem()})
	if err != nil {
		t.Fatal(err)
	}
	defer scratch.Close()
	if err := p.CatchUp(ctx, 0); err != nil {
		t.Fatal(err)
	}
	if _, err := projections.Verify(ctx, l, l, scratch); err != nil {
		t.Fatalf("rebuild after truncation differs: %v", err)
	}
	// Once the live job is gone too, the whole prefix goes.
	app(eventlog.Record{Job: live, Type: eventlog.JobStarted, Payload: &eventlog.Started{Attempt: 1}},
		eventlog.Record{Job: live, Type: eventlog.JobCancelled, Payload: &eventlog.Cancellation{Reason: "x"}})
	if err := p.CatchUp(ctx, 0); err != nil {
		t.Fatal(err)
	}
	now = now.Add(2 * time.Hour)
	if s, err = r.Sweep(ctx); err != nil || s.Expired != 1 || s.Low != l.LastOffset()+1 {
		t.Fatalf("final sweep %+v %v (last %d)", s, err, l.LastOffset())
	}
}

func TestRetentionKeepsWhatAConsumerHasNotSettled(t *testing.T) {
	ctx := context.Background()
	l, err := eventlog.Open(eventlog.Config{Dir: "d", FS: vfs.NewMem()})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { l.Close() })
	p, err := projections.Open(ctx, l, l)
	if err != nil {
		t.Fatal(err)
	}
	runProjections(t, p)
	id := ulid.Make()
	if _, err := l.Append(ctx,
		eventlog.Record{Job: id, Type: eventlog.JobSubmitted, Payload: &eventlog.Submitted{Model: "m", MaxAttempts: 1, Request: []byte(`{}`)}},
		eventlog.Record{Job: id, Type: eventlog.JobCancelled, Payload: &eventlog.Cancellation{Reason: "x"}}); err != nil {
		t.Fatal(err)
	}
	if err := l.SetCursor("webhooks", 1); err != nil {
		t.Fatal(err)
	}
	if err := p.CatchUp(ctx, 0); err != nil {
		t.Fatal(err)
	}
	later := time.Now().Add(48 * time.Hour)
	r := NewRetention(l, p, RetentionConfig{TTL: time.Hour, Cursors: []string{"webhooks"}, Now: func() time.Time { return later }})
	s, err := r.Sweep(ctx)
	if err != nil || s.Expired != 1 || s.Low != 2 {
		t.Fatalf("sweep %+v %v: want the watermark held at the cursor", s, err)
	}
}

// runProjections follows the log until the test ends (Sweep waits for the
// projections to apply its expiries).
func runProjections(t *testing.T, p *projections.Projections) {
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { defer close(done); _ = p.Run(ctx) }()
	t.Cleanup(func() { cancel(); <-done })
}
