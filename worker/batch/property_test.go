package batch

import (
	"context"
	"math/rand/v2"
	"testing"
	"time"

	"github.com/cockroachdb/pebble/v2/vfs"
	"github.com/oklog/ulid/v2"

	"github.com/foreman-dev/foreman/eventlog"
	"github.com/foreman-dev/foreman/projections"
)

// TestPropertyEveryLineOnce: whatever mix of successes, failures, manual
// retries, cancels, expiry and restarts a batch goes through, its output
// and error files hold every input custom_id exactly once, the counts add
// up, the batch ends once, and the projections rebuild identically.
func TestPropertyEveryLineOnce(t *testing.T) {
	for seed := range uint64(40) {
		rng := rand.New(rand.NewPCG(seed, 14))
		n := 1 + rng.IntN(30)
		h := newHarness(t)
		id := h.create(h.upload(chatLines(n, "tiny-a", "tiny-b")), "/v1/chat/completions")
		random := func(projections.Job) outcome { return outcome(rng.IntN(3)) }
		for step := 0; step < 60 && !h.batch(id).Status.Terminal(); step++ {
			switch rng.IntN(10) {
			case 0:
				h.restart()
			case 1:
				if rng.IntN(4) == 0 {
					h.append(cancelRec(id))
				}
			case 2:
				if rng.IntN(6) == 0 {
					h.now = h.now.Add(25 * time.Hour)
				}
			case 3: // a manual retry of a failed line
				for _, j := range failedLines(t, h) {
					h.append(eventlog.Record{Job: j, Type: eventlog.JobRequeued, Payload: &eventlog.Requeue{By: "test"}})
					break
				}
			case 4, 5, 6:
				h.work(1+rng.IntN(5), random)
			default:
				if _, err := h.d.Pass(context.Background()); err != nil {
					t.Fatal(err)
				}
				h.settle()
			}
		}
		for range 20 { // then let it finish
			if h.batch(id).Status.Terminal() {
				break
			}
			h.pass()
			h.work(0, func(projections.Job) outcome { return succeed })
		}
		b := h.batch(id)
		if !b.Status.Terminal() {
			t.Fatalf("seed %d: batch never ended: %+v", seed, b)
		}
		if b.Status == projections.BatchFailed {
			t.Fatalf("seed %d: a valid batch failed: %+v", seed, b.Errors)
		}
		h.exactlyOnce(b, n)
		evs, err := h.log.JobEvents(id)
		if err != nil {
			t.Fatal(err)
		}
		ends := 0
		for _, e := range evs {
			if e.Type == eventlog.BatchEnded {
				ends++
			}
		}
		if ends != 1 {
			t.Fatalf("seed %d: %d batch.ended events", seed, ends)
		}
		scratch, _ := eventlog.Open(eventlog.Config{Dir: "s", FS: vfs.NewMem()})
		h.stop()
		h.wg.Wait()
		if _, err := projections.Verify(context.Background(), h.log, h.log, scratch); err != nil {
			t.Fatalf("seed %d: verify: %v", seed, err)
		}
		scratch.Close()
		if t.Failed() {
			t.Fatalf("seed %d failed", seed)
		}
		h.close()
	}
}

func failedLines(t *testing.T, h *harness) []ulid.ULID {
	var out []ulid.ULID
	jobs, _, err := h.p.List(projections.Filter{State: projections.Failed, Limit: 100})
	if err != nil {
		t.Fatal(err)
	}
	for _, j := range jobs {
		out = append(out, j.ID)
	}
	return out
}
