package main

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"fmt"
	"hash/crc32"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/cockroachdb/pebble/v2"
	"github.com/oklog/ulid/v2"
	"github.com/vmihailenco/msgpack/v5"

	"github.com/foreman-dev/foreman/eventlog"
	"github.com/foreman-dev/foreman/projections"
)

// logFixture is a data dir of a stopped daemon with four jobs:
//
//	A: submitted (JSON request, webhook with a token), failed attempt,
//	   retried, artifact, succeeded, webhook attempted and delivered → done
//	B: submitted (binary request), started (with a field from a newer
//	   foreman), failed → failed
//	C: submitted (request in a blob), an event of a type from a newer
//	   foreman → queued
//	D: submitted, expired → no view
type logFixture struct {
	dir        string
	a, b, c, d ulid.ULID
	offs       map[string]uint64 // name → offset, see build
	last       uint64
}

const fixtureWebhook = "https://user:hunter2@hooks.example/x?token=s3cret#frag"

var fixtureRequest = []byte("{\n  \"model\": \"tiny-a\",\n  \"messages\": [{\"role\": \"user\", \"content\": \"<hi>\"}]\n}\n")

func newLogFixture(t *testing.T) *logFixture {
	t.Helper()
	f := &logFixture{dir: t.TempDir(), a: ulid.Make(), b: ulid.Make(), c: ulid.Make(), d: ulid.Make(), offs: map[string]uint64{}}
	ctx := context.Background()
	l, err := eventlog.Open(eventlog.Config{Dir: f.dir})
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	sum := sha256.Sum256(fixtureRequest)
	add := func(name string, job ulid.ULID, typ eventlog.Type, payload any, blobs ...eventlog.Blob) {
		t.Helper()
		evs, err := l.Append(ctx, eventlog.Record{Job: job, Type: typ, Payload: payload, Blobs: blobs})
		if err != nil {
			t.Fatal(err)
		}
		f.offs[name] = evs[0].Offset
		f.last = evs[0].Offset
	}
	add("a.submitted", f.a, eventlog.JobSubmitted, &eventlog.Submitted{
		Model: "tiny-a", Kind: eventlog.KindChat, Request: fixtureRequest, RequestSize: len(fixtureRequest),
		RequestSHA256: sum[:], WebhookURL: fixtureWebhook, IdempotencyKey: "k1", Submitter: "alice", MaxAttempts: 3,
	})
	add("b.submitted", f.b, eventlog.JobSubmitted, &eventlog.Submitted{
		Model: "tiny-b", Kind: eventlog.KindGenerate, Request: []byte{0xff, 0x00, 0x01}, RequestSize: 3, MaxAttempts: 1,
	})
	add("a.started1", f.a, eventlog.JobStarted, &eventlog.Started{Attempt: 1})
	add("a.attempt_failed", f.a, eventlog.AttemptFailed, &eventlog.AttemptFailure{Attempt: 1, Retryable: true, Error: "connection refused", RetryAt: 1_700_000_000_000_000_000})
	add("b.started", f.b, eventlog.JobStarted, &struct {
		Attempt int    `msgpack:"attempt"`
		Worker  string `msgpack:"worker"`
	}{1, "gpu0"})
	add("b.failed", f.b, eventlog.JobFailed, &eventlog.Failure{Attempt: 1, Error: "model not found", Status: 404})
	add("a.started2", f.a, eventlog.JobStarted, &eventlog.Started{Attempt: 2})
	add("a.artifact", f.a, eventlog.ArtifactStored, &eventlog.Artifact{
		Name: "response", ContentType: "application/json", Size: 42, SHA256: sum[:], Blob: eventlog.ArtifactBlob(f.a, "response"),
	}, eventlog.Blob{Key: eventlog.ArtifactBlob(f.a, "response"), Data: bytes.Repeat([]byte("x"), 42)})
	add("a.succeeded", f.a, eventlog.JobSucceeded, &eventlog.Succeeded{Attempt: 2, Result: "response"})
	add("c.submitted", f.c, eventlog.JobSubmitted, &eventlog.Submitted{
		Model: "tiny-c", Kind: eventlog.KindChat, RequestBlob: eventlog.RequestBlob(f.c), RequestSize: 100_000, MaxAttempts: 3,
	}, eventlog.Blob{Key: eventlog.RequestBlob(f.c), Data: make([]byte, 100_000)})
	add("a.webhook_attempted", f.a, eventlog.WebhookAttempted, &eventlog.WebhookAttempt{Event: f.offs["a.succeeded"], Attempt: 1, Status: 500})
	add("a.webhook_delivered", f.a, eventlog.WebhookDelivered, &eventlog.WebhookAttempt{Event: f.offs["a.succeeded"], Attempt: 2, Status: 200})
	add("c.future", f.c, "job.future_thing", map[string]any{"foo": "bar", "n": 3, "nested": map[string]any{"bin": []byte{1, 2}}})
	add("d.submitted", f.d, eventlog.JobSubmitted, &eventlog.Submitted{Model: "tiny-d", Kind: eventlog.KindChat, MaxAttempts: 3})
	add("d.expired", f.d, eventlog.JobExpired, &eventlog.Expiry{Reason: "retention"})
	p, err := projections.Open(ctx, l, l)
	if err != nil {
		t.Fatal(err)
	}
	if err := p.CatchUp(ctx, 0); err != nil {
		t.Fatal(err)
	}
	if p.Applied() != f.last {
		t.Fatalf("checkpoint at %d, log ends at %d", p.Applied(), f.last)
	}
	return f
}

// runLog runs `foreman log args...` in process with FOREMAN_DATA_DIR=dir.
func runLog(t *testing.T, dir string, args ...string) (stdout, stderr string, err error) {
	t.Helper()
	var out, errOut bytes.Buffer
	m := &Main{Stdin: strings.NewReader(""), Stdout: &out, Stderr: &errOut, Getenv: func(k string) string {
		if k == "FOREMAN_DATA_DIR" {
			return dir
		}
		return ""
	}}
	err = m.Run(context.Background(), append([]string{"log"}, args...))
	return out.String(), errOut.String(), err
}

// mustRunLog is runLog that fails the test on an error.
func mustRunLog(t *testing.T, dir string, args ...string) string {
	t.Helper()
	out, errOut, err := runLog(t, dir, args...)
	if err != nil {
		t.Fatalf("foreman log %s: %v\nstdout:\n%s\nstderr:\n%s", strings.Join(args, " "), err, out, errOut)
	}
	return out
}

// openPebble opens a closed data dir with Pebble directly, quietly.
func openPebble(t *testing.T, dir string) *pebble.DB {
	t.Helper()
	db, err := pebble.Open(dir, &pebble.Options{Logger: quietPebble{}})
	if err != nil {
		t.Fatal(err)
	}
	return db
}

type quietPebble struct{}

func (quietPebble) Infof(string, ...any)              {}
func (quietPebble) Errorf(string, ...any)             {}
func (quietPebble) Fatalf(format string, args ...any) { panic(fmt.Sprintf(format, args...)) }

// overwrite sets raw Pebble keys in a closed data dir.
func overwrite(t *testing.T, dir string, kvs ...[]byte) {
	t.Helper()
	db := openPebble(t, dir)
	defer db.Close()
	for i := 0; i+1 < len(kvs); i += 2 {
		if err := db.Set(kvs[i], kvs[i+1], pebble.Sync); err != nil {
			t.Fatal(err)
		}
	}
}

func eventKeyOf(off uint64) []byte { return binary.BigEndian.AppendUint64([]byte("e/"), off) }

// encodeTestEvent builds a stored event value (format byte, CRC-32C,
// msgpack envelope) so tests can plant well-formed events with odd content.
func encodeTestEvent(t *testing.T, e eventlog.Event) []byte {
	t.Helper()
	body, err := msgpack.Marshal(&struct {
		Offset  uint64             `msgpack:"o"`
		Time    int64              `msgpack:"t"`
		Job     []byte             `msgpack:"j"`
		Type    string             `msgpack:"y"`
		Version uint8              `msgpack:"v"`
		Payload msgpack.RawMessage `msgpack:"p"`
	}{e.Offset, e.Time.UnixNano(), e.Job[:], string(e.Type), e.Version, e.Payload})
	if err != nil {
		t.Fatal(err)
	}
	v := append([]byte{1, 0, 0, 0, 0}, body...)
	binary.BigEndian.PutUint32(v[1:5], crc32.Checksum(v[5:], crc32.MakeTable(crc32.Castagnoli)))
	if _, err := eventlog.DecodeValue(e.Offset, v); err != nil {
		t.Fatalf("test event encoding is out of date: %v", err)
	}
	return v
}

// dirDigest hashes every file name and content under dir.
func dirDigest(t *testing.T, dir string) string {
	t.Helper()
	h := sha256.New()
	err := filepath.WalkDir(dir, func(path string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		b, err := os.ReadFile(path)
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(dir, path)
		sum := sha256.Sum256(b)
		h.Write([]byte(rel + "\x00" + hex.EncodeToString(sum[:]) + "\n"))
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return hex.EncodeToString(h.Sum(nil))
}

func TestLogDoesNotModifyTheDataDir(t *testing.T) {
	t.Parallel()
	f := newLogFixture(t)
	before := dirDigest(t, f.dir)
	for _, args := range [][]string{
		{"dump"}, {"dump", "--json", "--job", f.a.String()}, {"job", f.c.String()}, {"stats"},
		{"verify"}, {"export", "--format", "jsonl"},
	} {
		mustRunLog(t, f.dir, args...)
		if after := dirDigest(t, f.dir); after != before {
			t.Fatalf("foreman log %s changed the data dir", strings.Join(args, " "))
		}
	}
	// The store still opens read-write with the same end and checkpoint.
	l, err := eventlog.Open(eventlog.Config{Dir: f.dir})
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	if l.LastOffset() != f.last {
		t.Fatalf("last offset %d, want %d", l.LastOffset(), f.last)
	}
	rep, err := projections.Verify(context.Background(), l, l, mustScratch(t))
	if err != nil || rep.Checkpoint != f.last {
		t.Fatalf("checkpoint %d (want %d): %v", rep.Checkpoint, f.last, err)
	}
}

func mustScratch(t *testing.T) *eventlog.Log {
	t.Helper()
	s, err := openScratch()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

func TestLogLockedDataDir(t *testing.T) {
	t.Parallel()
	f := newLogFixture(t)
	l, err := eventlog.Open(eventlog.Config{Dir: f.dir}) // a running daemon holds it
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	for _, cmd := range []string{"dump", "stats", "verify", "export"} {
		_, _, err := runLog(t, f.dir, cmd)
		if !errors.Is(err, eventlog.ErrLocked) || !strings.Contains(err.Error(), "foreman backup DIR") ||
			!strings.Contains(err.Error(), "running foreman") {
			t.Fatalf("log %s on a locked dir: %v", cmd, err)
		}
		if exitCode(err) != ExitError {
			t.Fatalf("exit code %d", exitCode(err))
		}
	}
}

func TestLogInspectsABackup(t *testing.T) {
	t.Parallel()
	f := newLogFixture(t)
	dest := filepath.Join(t.TempDir(), "backup")
	l := openLogForTest(t, f.dir)
	if err := l.Backup(context.Background(), dest); err != nil {
		t.Fatal(err)
	}
	l.Close()
	out := mustRunLog(t, "", "verify", "--data-dir", dest)
	if !strings.Contains(out, "ok") {
		t.Fatalf("verify of a backup:\n%s", out)
	}
}

func TestLogUsage(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	for _, args := range [][]string{
		{}, {"bogus"}, {"dump", "extra"}, {"dump", "--from", "5", "--to", "2"}, {"dump", "--job", "nope"},
		{"export", "--format", "csv"}, {"job"}, {"job", "a", "b"}, {"stats", "--no-such-flag"},
	} {
		_, _, err := runLog(t, dir, args...)
		if code := exitCode(err); code != ExitUsage {
			t.Errorf("foreman log %q: exit %d (%v), want %d", args, code, err, ExitUsage)
		}
	}
	if out := mustRunLog(t, dir, "help"); !strings.Contains(out, "export") {
		t.Fatalf("help:\n%s", out)
	}
}

func TestLogMissingDataDir(t *testing.T) {
	t.Parallel()
	dir := filepath.Join(t.TempDir(), "nowhere")
	_, _, err := runLog(t, dir, "stats")
	if err == nil || !strings.Contains(err.Error(), dir) {
		t.Fatalf("stats of a missing dir: %v", err)
	}
	if _, statErr := os.Stat(dir); !errors.Is(statErr, fs.ErrNotExist) {
		t.Fatalf("the inspector created %s", dir)
	}
}

func openLogForTest(t *testing.T, dir string) *eventlog.Log {
	t.Helper()
	l, err := eventlog.Open(eventlog.Config{Dir: dir})
	if err != nil {
		t.Fatal(err)
	}
	return l
}
