package batch

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/cockroachdb/pebble/v2/vfs"
	"github.com/oklog/ulid/v2"

	"github.com/foreman-dev/foreman/eventlog"
	"github.com/foreman-dev/foreman/projections"
)

// models is a target inventory with a fixed set of models.
type models map[string]bool

func (m models) HasOrRefresh(_ context.Context, model string) (bool, error) { return m[model], nil }

// harness is a real log and projections on an in-memory filesystem, a
// driver, and a scripted stand-in for the worker that settles line jobs.
type harness struct {
	t      *testing.T
	fs     vfs.FS
	log    *eventlog.Log
	p      *projections.Projections
	d      *Driver
	now    time.Time
	stop   context.CancelFunc
	wg     sync.WaitGroup
	models models
}

func newHarness(t *testing.T) *harness {
	h := &harness{t: t, fs: vfs.NewMem(), now: time.Now(), models: models{"tiny-a": true, "tiny-b": true}}
	h.open()
	t.Cleanup(h.close)
	return h
}

func (h *harness) open() {
	h.t.Helper()
	l, err := eventlog.Open(eventlog.Config{Dir: "data", FS: h.fs})
	if err != nil {
		h.t.Fatal(err)
	}
	p, err := projections.Open(context.Background(), l, l)
	if err != nil {
		h.t.Fatal(err)
	}
	d, err := New(Config{Log: l, Views: p, Models: h.models, Now: func() time.Time { return h.now }, RetryEvery: time.Hour})
	if err != nil {
		h.t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	h.log, h.p, h.d, h.stop = l, p, d, cancel
	h.wg.Add(1)
	go func() { defer h.wg.Done(); p.Run(ctx) }()
}

func (h *harness) close() {
	if h.log == nil {
		return
	}
	h.stop()
	h.wg.Wait()
	h.log.Close()
	h.log = nil
}

// restart is a crash and a start: the store as the log left it.
func (h *harness) restart() {
	h.close()
	h.open()
}

func (h *harness) append(recs ...eventlog.Record) {
	h.t.Helper()
	if _, err := h.log.Append(context.Background(), recs...); err != nil {
		h.t.Fatal(err)
	}
	h.settle()
}

// settle waits for the projections to show everything appended.
func (h *harness) settle() {
	h.t.Helper()
	if err := h.p.WaitFor(context.Background(), h.log.LastOffset()); err != nil {
		h.t.Fatal(err)
	}
}

// pass runs the driver until it has nothing more to do right now.
func (h *harness) pass() {
	h.t.Helper()
	for range 100 {
		before := h.log.LastOffset()
		if _, err := h.d.Pass(context.Background()); err != nil {
			h.t.Fatal(err)
		}
		h.settle()
		if h.log.LastOffset() == before {
			return
		}
	}
	h.t.Fatal("the driver never settles")
}

// upload stores a file as the API does.
func (h *harness) upload(data string) ulid.ULID {
	h.t.Helper()
	id := ulid.Make()
	w := h.log.NewFileWriter(id)
	io.WriteString(w, data)
	up, err := w.Close()
	if err != nil {
		h.t.Fatal(err)
	}
	up.Filename, up.Purpose = "in.jsonl", "batch"
	h.append(eventlog.Record{Job: id, Type: eventlog.FileUploaded, Payload: &up})
	return id
}

// create records a batch over file as POST /v1/batches does.
func (h *harness) create(file ulid.ULID, endpoint string) ulid.ULID {
	h.t.Helper()
	id := ulid.Make()
	h.append(eventlog.Record{Job: id, Type: eventlog.BatchCreated, Payload: &eventlog.BatchCreate{
		InputFile: eventlog.FileID(file), Endpoint: endpoint, CompletionWindow: "24h",
		ExpiresAt: h.now.Add(24 * time.Hour).UnixNano(), Priority: -10, MaxAttempts: 3}})
	return id
}

func (h *harness) batch(id ulid.ULID) projections.Batch {
	h.t.Helper()
	b, err := h.p.Batch(id)
	if err != nil {
		h.t.Fatal(err)
	}
	return b
}

// outcome is what the stand-in worker does with a line.
type outcome int

const (
	succeed outcome = iota
	fail
	leave // stays queued
)

// work settles queued line jobs as the worker would (cancelled ones are
// cancelled), at most n of them (0: all), and returns how many it settled.
func (h *harness) work(n int, decide func(j projections.Job) outcome) int {
	h.t.Helper()
	done := 0
	for _, j := range h.p.Active() {
		if n > 0 && done == n {
			break
		}
		if j.State != projections.Queued {
			continue
		}
		var recs []eventlog.Record
		rec := func(t eventlog.Type, p any) { recs = append(recs, eventlog.Record{Job: j.ID, Type: t, Payload: p}) }
		if j.CancelRequested {
			rec(eventlog.JobCancelled, &eventlog.Cancellation{Reason: "cancelled"})
		} else {
			switch decide(j) {
			case leave:
				continue
			case succeed:
				body := fmt.Sprintf(`{"object":"chat.completion","model":%q,"choices":[{"message":{"content":"answer to %s"}}]}`, j.Model, j.CustomID)
				key := eventlog.ArtifactBlob(j.ID, "response")
				rec(eventlog.JobStarted, &eventlog.Started{Attempt: j.Attempts + 1})
				recs = append(recs, eventlog.Record{Job: j.ID, Type: eventlog.ArtifactStored, Blobs: []eventlog.Blob{{Key: key, Data: []byte(body)}},
					Payload: &eventlog.Artifact{Name: "response", ContentType: "application/json", Size: int64(len(body)), Blob: key}})
				rec(eventlog.JobSucceeded, &eventlog.Succeeded{Attempt: j.Attempts + 1, Result: "response"})
			case fail:
				rec(eventlog.JobStarted, &eventlog.Started{Attempt: j.Attempts + 1})
				rec(eventlog.JobFailed, &eventlog.Failure{Attempt: j.Attempts + 1, Error: "model runner crashed", Status: 500})
			}
		}
		h.append(recs...)
		done++
	}
	return done
}

// file reads a stored file's lines.
func (h *harness) file(id string) []OutputLine {
	h.t.Helper()
	if id == "" {
		return nil
	}
	fid, err := eventlog.ParseFileID(id)
	if err != nil {
		h.t.Fatal(err)
	}
	f, err := h.p.File(fid)
	if err != nil {
		h.t.Fatal(err)
	}
	raw, err := io.ReadAll(h.log.NewFileReader(fid, f.Parts))
	if err != nil || int64(len(raw)) != f.Bytes {
		h.t.Fatalf("file %s: %d bytes of %d: %v", id, len(raw), f.Bytes, err)
	}
	var out []OutputLine
	for _, line := range bytes.Split(bytes.TrimSpace(raw), []byte("\n")) {
		var l OutputLine
		if err := json.Unmarshal(line, &l); err != nil {
			h.t.Fatalf("file %s: bad line %q: %v", id, line, err)
		}
		out = append(out, l)
	}
	return out
}

// chatLines is a JSONL input of n chat lines over the given models.
func chatLines(n int, models ...string) string {
	var b strings.Builder
	for i := range n {
		fmt.Fprintf(&b, `{"custom_id":"req-%d","method":"POST","url":"/v1/chat/completions","body":{"model":%q,"messages":[{"role":"user","content":"hi %d"}]}}`+"\n",
			i, models[i%len(models)], i)
	}
	return b.String()
}

// exactlyOnce checks that output ∪ error holds every custom_id of the
// input once, and that the batch's counts say the same.
func (h *harness) exactlyOnce(b projections.Batch, n int) (out, errs []OutputLine) {
	h.t.Helper()
	out, errs = h.file(b.OutputFile), h.file(b.ErrorFile)
	seen := map[string]int{}
	for _, l := range append(append([]OutputLine(nil), out...), errs...) {
		seen[l.CustomID]++
	}
	for i := range n {
		if c := seen[fmt.Sprintf("req-%d", i)]; c != 1 {
			h.t.Errorf("req-%d appears %d times in output ∪ error", i, c)
		}
	}
	if len(seen) != n {
		h.t.Errorf("%d custom_ids in the files, want %d", len(seen), n)
	}
	if b.Completed != len(out) || b.Failed != len(errs) || b.Completed+b.Failed != n {
		h.t.Errorf("counts completed %d failed %d total %d; files %d + %d", b.Completed, b.Failed, b.Total, len(out), len(errs))
	}
	return out, errs
}

func cancelRec(id ulid.ULID) eventlog.Record {
	return eventlog.Record{Job: id, Type: eventlog.BatchCancelRequested, Payload: &eventlog.BatchCancel{By: "test"}}
}
