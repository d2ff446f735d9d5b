package api

import (
	"context"
	"strings"
	"testing"

	"github.com/oklog/ulid/v2"

	"github.com/foreman-dev/foreman/eventlog"
)

func TestExpiredJobIsGone(t *testing.T) {
	b := setupJobs(t, nil)
	id := b.submit(t, chatBody)
	jid := ulid.MustParse(id)
	key := eventlog.ArtifactBlob(jid, "result.json")
	evs, err := b.log.Append(context.Background(),
		eventlog.Record{Job: jid, Type: eventlog.JobStarted, Payload: &eventlog.Started{Attempt: 1}},
		eventlog.Record{Job: jid, Type: eventlog.ArtifactStored, Blobs: []eventlog.Blob{{Key: key, Data: []byte(`{"done":true}`)}},
			Payload: &eventlog.Artifact{Name: "result.json", ContentType: "application/json", Size: 13, Blob: key}},
		eventlog.Record{Job: jid, Type: eventlog.JobSucceeded, Payload: &eventlog.Succeeded{Attempt: 1, Result: "result.json"}},
		eventlog.Record{Job: jid, Type: eventlog.JobExpired, DeleteBlobs: []string{key}, Payload: &eventlog.Expiry{Reason: "ttl"}})
	if err != nil {
		t.Fatal(err)
	}
	if err := b.proj.WaitFor(context.Background(), evs[len(evs)-1].Offset); err != nil {
		t.Fatal(err)
	}
	for _, path := range []string{"/jobs/" + id, "/jobs/" + id + "/artifacts/result.json", "/jobs/" + id + "/events"} {
		if w := b.do(t, "GET", path, ""); w.Code != 404 {
			t.Errorf("GET %s after expiry: %d %s", path, w.Code, w.Body.String())
		}
	}
	if w := b.do(t, "DELETE", "/jobs/"+id, ""); w.Code != 404 {
		t.Errorf("cancel after expiry: %d", w.Code)
	}
}

func TestReplayRefusals(t *testing.T) {
	b := setupJobs(t, nil)
	for range 3 {
		b.submit(t, chatBody)
	}
	if _, err := b.log.Truncate(context.Background(), 3); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		body   string
		status int
		msg    string
	}{
		{`{`, 400, "invalid JSON"},
		{`{}`, 400, "from_offset"},
		{`{"from_offset":3,"to_offset":2}`, 400, "to_offset"},
		{`{"from_offset":3,"job_id":"nope"}`, 400, "job_id"},
		{`{"from_offset":2}`, 410, "removed by retention"},
	} {
		w := b.do(t, "POST", "/webhooks/replay", tc.body)
		if w.Code != tc.status || !strings.Contains(w.Body.String(), tc.msg) {
			t.Errorf("%s: %d %s", tc.body, w.Code, w.Body.String())
		}
	}
	if w := b.do(t, "POST", "/webhooks/replay", `{"from_offset":3}`); w.Code != 202 || !strings.Contains(w.Body.String(), `"request_offset":4`) {
		t.Fatalf("replay: %d %s", w.Code, w.Body.String())
	}
}
