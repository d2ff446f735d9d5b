package api

import (
	"context"
	"testing"

	"github.com/oklog/ulid/v2"

	"github.com/foreman-dev/foreman/eventlog"
)

func TestWorkingJobShowsTokensSoFar(t *testing.T) {
	b := setupJobs(t, nil)
	id := ulid.MustParse(b.submit(t, chatBody))
	if v := b.get(t, id.String()); v.Tokens != nil {
		t.Fatalf("a queued job has tokens: %d", *v.Tokens)
	}
	evs, err := b.log.Append(context.Background(), eventlog.Record{Job: id, Type: eventlog.JobStarted, Payload: &eventlog.Started{Attempt: 1}})
	if err != nil {
		t.Fatal(err)
	}
	if err := b.proj.WaitFor(context.Background(), evs[0].Offset); err != nil {
		t.Fatal(err)
	}
	hub := b.srv.cfg.Hub
	hub.Begin(id, 200, "application/x-ndjson")
	for range 3 {
		hub.Chunk(id, []byte(`{"message":{"content":"x"},"done":false}`))
	}
	if v := b.get(t, id.String()); v.State != "working" || v.Tokens == nil || *v.Tokens != 3 {
		t.Fatalf("working job: %+v", v)
	}
	hub.Begin(id, 200, "application/x-ndjson") // a retry counts afresh
	hub.Chunk(id, []byte(`{"message":{"content":"y"},"done":false}`))
	if v := b.get(t, id.String()); v.Tokens == nil || *v.Tokens != 1 {
		t.Fatalf("after a retry: %+v", v)
	}
	hub.End(id, evs[0].Offset, "")
	if n, ok := hub.Tokens(id); ok {
		t.Fatalf("the count outlived the run: %d", n)
	}
}
