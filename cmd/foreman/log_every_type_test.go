package main

import (
	"context"
	"encoding/json"
	"regexp"
	"strings"
	"testing"

	"github.com/oklog/ulid/v2"

	"github.com/foreman-dev/foreman/eventlog"
)

// everyTypeStore is a data dir holding one event of every type in
// eventlog.Types, all for one job (the replay narrowed to it), so that
// every output can be checked over the whole vocabulary.
func everyTypeStore(t *testing.T) (dir string, job ulid.ULID) {
	t.Helper()
	dir, job = t.TempDir(), ulid.Make()
	payloads := map[eventlog.Type]any{
		eventlog.JobSubmitted:     &eventlog.Submitted{Model: "tiny-a", Kind: eventlog.KindChat, Request: []byte(`{"model":"tiny-a"}`), MaxAttempts: 3},
		eventlog.JobStarted:       &eventlog.Started{Attempt: 1},
		eventlog.AttemptFailed:    &eventlog.AttemptFailure{Attempt: 1, Retryable: true, Error: "refused"},
		eventlog.JobSucceeded:     &eventlog.Succeeded{Attempt: 2, Result: "response"},
		eventlog.JobFailed:        &eventlog.Failure{Attempt: 2, Error: "boom", Status: 500},
		eventlog.CancelRequested:  &eventlog.CancelRequest{Reason: "user", By: "alice"},
		eventlog.JobCancelled:     &eventlog.Cancellation{Reason: "user"},
		eventlog.ArtifactStored:   &eventlog.Artifact{Name: "response", ContentType: "application/json", Size: 2, Blob: eventlog.ArtifactBlob(job, "response")},
		eventlog.JobInterrupted:   &eventlog.Interruption{Attempt: 1, Reason: "restart", Requeued: true},
		eventlog.JobExpired:       &eventlog.Expiry{Reason: "retention"},
		eventlog.JobRequeued:      &eventlog.Requeue{Reason: "retry", By: "alice"},
		eventlog.WebhookAttempted: &eventlog.WebhookAttempt{Event: 1, Attempt: 1, Status: 500},
		eventlog.WebhookDelivered: &eventlog.WebhookAttempt{Event: 1, Attempt: 2, Status: 200, Replay: 15},
		eventlog.WebhookGaveUp:    &eventlog.WebhookAttempt{Event: 1, Attempt: 6, Error: "timeout"},
		eventlog.WebhookReplay:    &eventlog.Replay{From: 1, To: 3, Job: job[:], By: "ops"},
		eventlog.LogLost:          &eventlog.Lost{From: 4, To: 5, By: "ops"},
		eventlog.FilePart:         &eventlog.Part{Index: 0, Size: 2, Blob: eventlog.FilePartBlob(job, 0)},
		eventlog.FileUploaded:     &eventlog.FileUpload{Filename: "in.jsonl", Purpose: "batch", Bytes: 2, Parts: 1, SHA256: []byte{1, 2}, Lines: 1},
		eventlog.FileDeleted:      &eventlog.FileDeletion{Reason: "user", By: "alice"},
		eventlog.BatchCreated: &eventlog.BatchCreate{InputFile: job.String(), Endpoint: "/v1/chat/completions", CompletionWindow: "24h",
			ExpiresAt: 1, Metadata: map[string]string{"k": "v"}, Priority: -10, WebhookURL: "https://h.example/x?token=secret", MaxAttempts: 3},
		eventlog.BatchInProgress:      &eventlog.BatchStart{Total: 1, Models: []string{"tiny-a"}},
		eventlog.BatchFailed:          &eventlog.BatchFailure{Errors: []eventlog.BatchError{{Code: "invalid_json_line", Message: "bad", Line: 1}}},
		eventlog.BatchCancelRequested: &eventlog.BatchCancel{By: "alice"},
		eventlog.BatchFinalizing:      &eventlog.BatchFinalize{Reason: "cancelled"},
		eventlog.BatchEnded:           &eventlog.BatchEnd{Status: "cancelled", OutputFile: job.String(), Completed: 1},
		eventlog.BatchDeleted:         &eventlog.BatchDeletion{Reason: "retention"},
	}
	l, err := eventlog.Open(eventlog.Config{Dir: dir})
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	for _, typ := range eventlog.Types {
		p, ok := payloads[typ]
		if !ok {
			t.Fatalf("no sample payload for %s: add one here", typ)
		}
		rec := eventlog.Record{Job: job, Type: typ, Payload: p}
		if typ == eventlog.ArtifactStored {
			rec.Blobs = []eventlog.Blob{{Key: eventlog.ArtifactBlob(job, "response"), Data: []byte("{}")}}
		}
		if typ == eventlog.FilePart {
			rec.Blobs = []eventlog.Blob{{Key: eventlog.FilePartBlob(job, 0), Data: []byte("{}")}}
		}
		if _, err := l.Append(context.Background(), rec); err != nil {
			t.Fatal(err)
		}
	}
	return dir, job
}

// A job id in an event's payload is a ULID in every output, never the
// base64 of its 16 bytes.
func TestLogOutputsRenderEveryTypeWithULIDs(t *testing.T) {
	dir, job := everyTypeStore(t)
	humanJob := regexp.MustCompile(`\bjob=(\S+)`)
	for _, args := range [][]string{
		{"dump"}, {"dump", "--json"}, {"export", "--format", "jsonl"}, {"job", job.String()}, {"job", job.String(), "--json"},
	} {
		out := mustRunLog(t, dir, args...)
		for _, typ := range eventlog.Types {
			if !strings.Contains(out, string(typ)) {
				t.Errorf("log %v lacks %s:\n%s", args, typ, out)
			}
		}
		if strings.Contains(out, "==") {
			t.Errorf("log %v has base64 in it:\n%s", args, out)
		}
		if args[len(args)-1] != "--json" && args[0] != "export" {
			for _, m := range humanJob.FindAllStringSubmatch(out, -1) {
				if _, err := ulid.ParseStrict(m[1]); err != nil {
					t.Errorf("log %v: job=%s is not a ULID", args, m[1])
				}
			}
			if !strings.Contains(out, "job="+job.String()) && args[0] == "dump" {
				t.Errorf("log %v: the replay's job is not shown as %s:\n%s", args, job, out)
			}
			continue
		}
		dec := json.NewDecoder(strings.NewReader(out))
		found := 0
		for dec.More() {
			var v any
			if err := dec.Decode(&v); err != nil {
				t.Fatalf("log %v: %v\n%s", args, err, out)
			}
			walkJSON(v, "", func(key string, s string) {
				if key == "job" || key == "job_id" {
					found++
					if _, err := ulid.ParseStrict(s); err != nil {
						t.Errorf("log %v: %q: %q is not a ULID", args, key, s)
					}
				}
			})
		}
		if found < len(eventlog.Types)+1 { // every envelope, and the replay's payload
			t.Errorf("log %v: %d job ids, want at least %d", args, found, len(eventlog.Types)+1)
		}
	}
}

// walkJSON calls fn for every string value with the key it is under.
func walkJSON(v any, key string, fn func(key, s string)) {
	switch v := v.(type) {
	case map[string]any:
		for k, x := range v {
			walkJSON(x, k, fn)
		}
	case []any:
		for _, x := range v {
			walkJSON(x, key, fn)
		}
	case string:
		fn(key, v)
	}
}
