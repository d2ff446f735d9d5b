package webhook

import (
	"bytes"
	"context"
	"crypto/sha256"
	"errors"
	"flag"
	"net/http"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/oklog/ulid/v2"
	"github.com/vmihailenco/msgpack/v5"

	"github.com/foreman-dev/foreman/api"
	"github.com/foreman-dev/foreman/eventlog"
)

var update = flag.Bool("update", false, "rewrite the golden payloads in docs/testdata")

// goldenDir holds the payloads documented in docs/webhooks.md; the client's
// tests decode the same files.
const goldenDir = "../../docs/testdata"

// Fixed inputs of the golden payloads.
var (
	goldenJob    = ulid.MustParseStrict("01JDQ7ZK8M4T2V6X9B3N5R7P1C")
	goldenFailed = ulid.MustParseStrict("01JDQ80A2C4E6G8J0K2M4P6R8T")
	goldenT0     = time.Date(2026, 11, 25, 9, 30, 0, 0, time.UTC)
	// goldenResult is result.json: the Ollama /api/chat answer with
	// "stream": false, stored by the worker as the job's artifact.
	goldenResult = []byte(`{"model":"llama3.2","created_at":"2026-11-25T09:30:03.412Z","message":{"role":"assistant","content":"Rayleigh scattering: air molecules scatter short (blue) wavelengths of sunlight far more than long ones."},"done_reason":"stop","done":true,"total_duration":3161000000,"load_duration":412000000,"prompt_eval_count":26,"prompt_eval_duration":98000000,"eval_count":24,"eval_duration":2601000000}`)
)

// at makes one stored event by hand: offset, time and payload fixed.
func at(t *testing.T, off uint64, d time.Duration, job ulid.ULID, typ eventlog.Type, payload any) eventlog.Event {
	t.Helper()
	p, err := msgpack.Marshal(payload)
	if err != nil {
		t.Fatal(err)
	}
	return eventlog.Event{Offset: off, Time: goldenT0.Add(d), Job: job, Type: typ, Version: 1, Payload: p}
}

// goldenHistories returns a job that succeeds on its first attempt and one
// that fails on its second, as the worker records them, and the blobs the
// first one stored.
func goldenHistories(t *testing.T) (ok, failed []eventlog.Event, blobs map[string][]byte) {
	sum := sha256.Sum256(goldenResult)
	key := eventlog.ArtifactBlob(goldenJob, "result.json")
	submitted := func() *eventlog.Submitted {
		return &eventlog.Submitted{Model: "llama3.2", Kind: eventlog.KindChat, RequestSize: 87,
			WebhookURL: "https://hooks.example.com/foreman?token=t0k3n", MaxAttempts: 3}
	}
	ok = []eventlog.Event{
		at(t, 41, 0, goldenJob, eventlog.JobSubmitted, submitted()),
		at(t, 42, 250*time.Millisecond, goldenJob, eventlog.JobStarted, &eventlog.Started{Attempt: 1}),
		at(t, 43, 3412*time.Millisecond, goldenJob, eventlog.ArtifactStored, &eventlog.Artifact{Name: "result.json",
			ContentType: "application/json", Size: int64(len(goldenResult)), SHA256: sum[:], Blob: key}),
		at(t, 44, 3412*time.Millisecond, goldenJob, eventlog.JobSucceeded, &eventlog.Succeeded{Attempt: 1, Result: "result.json"}),
	}
	failed = []eventlog.Event{
		at(t, 51, 5*time.Second, goldenFailed, eventlog.JobSubmitted, submitted()),
		at(t, 52, 5250*time.Millisecond, goldenFailed, eventlog.JobStarted, &eventlog.Started{Attempt: 1}),
		at(t, 53, 5300*time.Millisecond, goldenFailed, eventlog.AttemptFailed, &eventlog.AttemptFailure{Attempt: 1, Retryable: true,
			Error: "ollama chat: dial tcp 127.0.0.1:11434: connect: connection refused", RetryAt: goldenT0.Add(7300 * time.Millisecond).UnixNano()}),
		at(t, 54, 7300*time.Millisecond, goldenFailed, eventlog.JobStarted, &eventlog.Started{Attempt: 2}),
		at(t, 55, 7900*time.Millisecond, goldenFailed, eventlog.JobFailed, &eventlog.Failure{Attempt: 2,
			Error: "model requires more system memory (9.6 GiB) than is available (7.1 GiB)", Status: 500}),
	}
	return ok, failed, map[string][]byte{key: goldenResult}
}

// blobStore is the part of the log api.Server reads to render a job.
type blobStore map[string][]byte

func (blobStore) LastOffset() uint64 { return 0 }

func (b blobStore) Blob(key string) ([]byte, error) {
	if v, ok := b[key]; ok {
		return v, nil
	}
	return nil, errors.New("no such blob")
}

func (blobStore) Append(context.Context, ...eventlog.Record) ([]eventlog.Event, error) {
	return nil, errors.New("read-only")
}

func (blobStore) JobEvents(ulid.ULID) ([]eventlog.Event, error) { return nil, errors.New("read-only") }

// TestGoldenPayloads renders fixed histories through the real payload
// builder and the real GET /jobs/{id} renderer and compares the bodies, byte
// for byte as they are sent (compact, no trailing newline), with
// docs/testdata (go test -run Golden -update rewrites them).
func TestGoldenPayloads(t *testing.T) {
	ok, failed, blobs := goldenHistories(t)
	render := api.New(api.Config{Log: blobStore(blobs), PublicURL: "https://foreman.example.com/"})
	for _, c := range []struct {
		file    string
		event   eventlog.Event
		history []eventlog.Event
	}{
		{"webhook-started.json", ok[1], ok},
		{"webhook-succeeded.json", ok[3], ok},
		{"webhook-failed.json", failed[4], failed},
	} {
		t.Run(c.file, func(t *testing.T) {
			body, err := build(c.event, c.history, render)
			if err != nil {
				t.Fatal(err)
			}
			path := filepath.Join(goldenDir, c.file)
			if *update {
				if err := os.MkdirAll(goldenDir, 0o755); err != nil {
					t.Fatal(err)
				}
				if err := os.WriteFile(path, body, 0o644); err != nil {
					t.Fatal(err)
				}
			}
			want, err := os.ReadFile(path)
			if err != nil {
				t.Fatalf("%v (run with -update to write it)", err)
			}
			if !bytes.Equal(body, want) {
				t.Fatalf("%s is stale (run with -update to rewrite it); the builder now gives:\n%s", path, body)
			}
		})
	}
}

// TestDocumentedSignatures keeps the signing example of docs/webhooks.md
// true: webhook-started.json signed with its secret, id and timestamp.
func TestDocumentedSignatures(t *testing.T) {
	ok, _, _ := goldenHistories(t)
	body, err := os.ReadFile(filepath.Join(goldenDir, "webhook-started.json"))
	if err != nil {
		t.Fatal(err)
	}
	key, err := Key("whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw")
	if err != nil {
		t.Fatal(err)
	}
	h := http.Header{}
	Sign(h, key, ID(ok[1]), time.Date(2026, 11, 25, 9, 30, 1, 0, time.UTC).Unix(), body)
	doc, err := os.ReadFile("../../docs/webhooks.md")
	if err != nil {
		t.Fatal(err)
	}
	for _, name := range []string{"webhook-id", "webhook-timestamp", "webhook-signature", "X-Foreman-Signature"} {
		if line := name + ": " + h.Get(name); !bytes.Contains(doc, []byte(line)) {
			t.Errorf("docs/webhooks.md does not show %q", line)
		}
	}
}
