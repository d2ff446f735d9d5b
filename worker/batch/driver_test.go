package batch

import (
	"strings"
	"testing"
	"time"

	"github.com/foreman-dev/foreman/eventlog"
	"github.com/foreman-dev/foreman/projections"
)

// A batch validates, submits its lines as background jobs, and once they
// settle writes answers to the output file and failures to the error file.
func TestBatchRunsToCompletion(t *testing.T) {
	h := newHarness(t)
	id := h.create(h.upload(chatLines(5, "tiny-a", "tiny-b")), "/v1/chat/completions")
	h.pass()
	b := h.batch(id)
	if b.Status != projections.BatchInProgress || b.Total != 5 || b.Enqueued != 5 {
		t.Fatalf("after validation: %+v", b)
	}
	jobs := h.p.Active()
	if len(jobs) != 5 || jobs[0].Priority != -10 || jobs[0].CustomID != "req-0" || jobs[1].Model != "tiny-b" {
		t.Fatalf("line jobs: %+v", jobs)
	}
	h.work(0, func(j projections.Job) outcome {
		if j.CustomID == "req-3" {
			return fail
		}
		return succeed
	})
	h.pass()
	b = h.batch(id)
	if b.Status != projections.BatchCompleted || b.FinalizingAt == 0 || b.CompletedAt == 0 {
		t.Fatalf("after the lines: %+v", b)
	}
	out, errs := h.exactlyOnce(b, 5)
	if out[0].Response.StatusCode != 200 || !strings.Contains(string(out[0].Response.Body), "answer to req-0") || out[0].Error != nil {
		t.Fatalf("output line: %+v", out[0])
	}
	if errs[0].CustomID != "req-3" || errs[0].Error.Code != "request_failed" || errs[0].Error.Message != "model runner crashed" {
		t.Fatalf("error line: %+v %+v", errs[0], errs[0].Error)
	}
}

// Validation refuses a bad input with OpenAI's codes and runs nothing.
func TestValidationFailsTheBatch(t *testing.T) {
	for _, tc := range []struct {
		name, input string
		code        string
		line        int
	}{
		{"not json", `{"custom_id":"a","method":"POST","url":"/v1/chat/completions","body":{"model":"tiny-a"}}` + "\n{nope\n", "invalid_json_line", 2},
		{"duplicate", chatLines(2, "tiny-a") + `{"custom_id":"req-1","method":"POST","url":"/v1/chat/completions","body":{"model":"tiny-a"}}`, "duplicate_custom_id", 3},
		{"url", `{"custom_id":"a","method":"POST","url":"/v1/embeddings","body":{"model":"tiny-a"}}`, "invalid_url", 1},
		{"method", `{"custom_id":"a","method":"GET","url":"/v1/chat/completions","body":{"model":"tiny-a"}}`, "invalid_method", 1},
		{"no model", "\n" + `{"custom_id":"a","method":"POST","url":"/v1/chat/completions","body":{"messages":[]}}`, "missing_required_parameter", 2},
		{"no custom_id", `{"method":"POST","url":"/v1/chat/completions","body":{"model":"tiny-a"}}`, "missing_required_parameter", 1},
		{"unknown model", chatLines(3, "tiny-a", "nope"), "model_not_found", 0},
		{"empty", "\n\n", "empty_file", 0},
	} {
		t.Run(tc.name, func(t *testing.T) {
			h := newHarness(t)
			id := h.create(h.upload(tc.input), "/v1/chat/completions")
			h.pass()
			b := h.batch(id)
			if b.Status != projections.BatchFailed || b.FailedAt == 0 || len(b.Errors) == 0 {
				t.Fatalf("batch: %+v", b)
			}
			if e := b.Errors[0]; e.Code != tc.code || e.Line != tc.line || e.Message == "" {
				t.Fatalf("error %+v, want code %s line %d", e, tc.code, tc.line)
			}
			if n := len(h.p.Active()); n != 0 {
				t.Fatalf("%d jobs submitted by a failed batch", n)
			}
		})
	}
}

// Cancelling keeps what finished and answers every other line with
// batch_cancelled; the status passes through cancelling.
func TestCancelKeepsFinishedLines(t *testing.T) {
	h := newHarness(t)
	id := h.create(h.upload(chatLines(10, "tiny-a")), "/v1/chat/completions")
	h.pass()
	h.work(4, func(projections.Job) outcome { return succeed })
	h.append(cancelRec(id))
	if b := h.batch(id); b.Status != projections.BatchCancelling {
		t.Fatalf("status %s, want cancelling", b.Status)
	}
	h.pass() // asks the lines to cancel
	if b := h.batch(id); b.Status != projections.BatchCancelling {
		t.Fatalf("status %s before the lines settled", b.Status)
	}
	h.work(0, func(projections.Job) outcome { return leave }) // the worker cancels them
	h.pass()
	b := h.batch(id)
	if b.Status != projections.BatchCancelled || b.CancelledAt == 0 || b.CancellingAt == 0 {
		t.Fatalf("batch: %+v", b)
	}
	out, errs := h.exactlyOnce(b, 10)
	if len(out) != 4 || errs[0].Error.Code != "batch_cancelled" {
		t.Fatalf("%d answered; first error %+v", len(out), errs[0].Error)
	}
}

// Past its completion window a batch expires: finished lines are kept,
// the rest answered batch_expired.
func TestExpiry(t *testing.T) {
	h := newHarness(t)
	id := h.create(h.upload(chatLines(6, "tiny-a")), "/v1/chat/completions")
	h.pass()
	h.work(2, func(projections.Job) outcome { return succeed })
	h.now = h.now.Add(25 * time.Hour)
	h.pass()
	h.work(0, func(projections.Job) outcome { return leave })
	h.pass()
	b := h.batch(id)
	if b.Status != projections.BatchExpired || b.ExpiredAt == 0 {
		t.Fatalf("batch: %+v", b)
	}
	out, errs := h.exactlyOnce(b, 6)
	if len(out) != 2 || errs[0].Error.Code != "batch_expired" {
		t.Fatalf("%d answered; first error %+v", len(out), errs[0].Error)
	}
}

// A batch cancelled before it was validated ends cancelled, every line
// in the error file.
func TestCancelWhileValidating(t *testing.T) {
	h := newHarness(t)
	id := h.create(h.upload(chatLines(3, "tiny-a")), "/v1/chat/completions")
	h.append(cancelRec(id))
	h.pass()
	b := h.batch(id)
	if b.Status != projections.BatchCancelled || len(h.p.Active()) != 0 {
		t.Fatalf("batch: %+v, %d jobs", b, len(h.p.Active()))
	}
	if _, errs := h.exactlyOnce(b, 3); errs[0].Error.Code != "batch_cancelled" {
		t.Fatalf("error %+v", errs[0].Error)
	}
}

// FOREMAN_BATCH_FILE_TTL after it ended, a batch goes with its files; an
// input file goes FOREMAN_BATCH_FILE_TTL after its upload.
func TestRetentionDropsEndedBatches(t *testing.T) {
	h := newHarness(t)
	h.d.cfg.FileTTL = 48 * time.Hour
	in := h.upload(chatLines(2, "tiny-a"))
	id := h.create(in, "/v1/chat/completions")
	h.pass()
	h.work(0, func(projections.Job) outcome { return succeed })
	h.pass()
	b := h.batch(id)
	if b.Status != projections.BatchCompleted {
		t.Fatalf("batch %s", b.Status)
	}
	h.now = h.now.Add(47 * time.Hour)
	h.pass()
	if _, err := h.p.Batch(id); err != nil {
		t.Fatalf("dropped too early: %v", err)
	}
	h.now = h.now.Add(2 * time.Hour)
	h.pass()
	if _, err := h.p.Batch(id); err != projections.ErrBatchNotFound {
		t.Fatalf("batch after its TTL: %v", err)
	}
	if files := h.p.Files(); len(files) != 0 {
		t.Fatalf("files after the TTL: %+v", files)
	}
	out, _ := eventlog.ParseFileID(b.OutputFile)
	if _, err := h.log.Blob(eventlog.FilePartBlob(out, 0)); err != eventlog.ErrNotFound {
		t.Fatalf("output part after the TTL: %v", err)
	}
}
