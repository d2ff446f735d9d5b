package projections

import (
	"context"
	"fmt"
	"math/rand/v2"
	"testing"

	"github.com/cockroachdb/pebble/v2/vfs"
	"github.com/oklog/ulid/v2"

	"github.com/foreman-dev/foreman/eventlog"
)

// refJob is the reference model: the job state machine written plainly,
// independent of apply.
type refJob struct {
	state     State
	attempts  int
	used      int
	artifacts map[string]bool
}

type refModel map[ulid.ULID]*refJob

// step applies an event to the model the way docs/events.md describes the
// state machine.
func (m refModel) step(id ulid.ULID, typ eventlog.Type, countsAttempt, requeued bool, name string) {
	j := m[id]
	if typ == eventlog.JobSubmitted {
		if j == nil {
			m[id] = &refJob{state: Queued, artifacts: map[string]bool{}}
		}
		return
	}
	if j == nil {
		return
	}
	from := func(states ...State) bool {
		for _, s := range states {
			if j.state == s {
				return true
			}
		}
		return false
	}
	switch typ {
	case eventlog.JobStarted:
		if from(Queued) {
			j.state, j.attempts, j.used = Working, j.attempts+1, j.used+1
		}
	case eventlog.AttemptFailed:
		if from(Working) {
			j.state = Queued
		}
	case eventlog.JobSucceeded:
		if from(Working) {
			j.state = Done
		}
	case eventlog.JobFailed:
		if from(Queued, Working) {
			j.state = Failed
		}
	case eventlog.JobCancelled:
		if from(Queued, Working) {
			j.state = Cancelled
		}
	case eventlog.JobRequeued:
		if from(Failed, Cancelled) {
			j.state, j.used = Queued, 0
		}
	case eventlog.JobInterrupted:
		if from(Working) {
			if !countsAttempt {
				j.used--
			}
			if requeued {
				j.state = Queued
			}
		}
	case eventlog.ArtifactStored:
		j.artifacts[name] = true
	case eventlog.JobExpired:
		delete(m, id)
	}
}

var randomTypes = []eventlog.Type{
	eventlog.JobStarted, eventlog.AttemptFailed, eventlog.JobSucceeded, eventlog.JobFailed,
	eventlog.CancelRequested, eventlog.JobCancelled, eventlog.ArtifactStored, eventlog.JobInterrupted,
	eventlog.JobRequeued, eventlog.JobExpired, eventlog.WebhookDelivered,
}

// TestRandomHistoriesAgree drives random histories of submit, start, fail,
// retry, succeed, cancel, expire and restarts, and checks that the live
// projections, a full rebuild and the reference model agree.
func TestRandomHistoriesAgree(t *testing.T) {
	for seed := uint64(1); seed <= 20; seed++ {
		t.Run(fmt.Sprint(seed), func(t *testing.T) {
			rng := rand.New(rand.NewPCG(seed, 7))
			b := setup(t)
			ref := refModel{}
			var ids []ulid.ULID
			for range 300 {
				switch r := rng.IntN(100); {
				case r < 3:
					b.reopen(t)
					continue
				case r < 20 || len(ids) == 0:
					id := ulid.Make()
					ids = append(ids, id)
					b.append(t, submitted(id, fmt.Sprint("m", rng.IntN(3))))
					ref.step(id, eventlog.JobSubmitted, false, false, "")
					continue
				}
				id := ids[rng.IntN(len(ids))]
				typ := randomTypes[rng.IntN(len(randomTypes))]
				counts, requeued := rng.IntN(2) == 0, rng.IntN(2) == 0
				name := fmt.Sprint("a", rng.IntN(3))
				var payload any
				switch typ {
				case eventlog.JobStarted:
					attempt := 1
					if j := ref[id]; j != nil {
						attempt = j.attempts + 1
					}
					payload = &eventlog.Started{Attempt: attempt}
				case eventlog.JobInterrupted:
					payload = &eventlog.Interruption{CountsAttempt: counts, Requeued: requeued}
				case eventlog.ArtifactStored:
					payload = &eventlog.Artifact{Name: name, Size: 1}
				default:
					payload = &struct{}{}
				}
				b.append(t, rec(id, typ, payload))
				ref.step(id, typ, counts, requeued, name)
			}
			compareWithModel(t, b.p, ref, ids)

			// A full rebuild from the low watermark gives identical bytes.
			scratch, err := eventlog.Open(eventlog.Config{Dir: "s", FS: vfs.NewMem()})
			if err != nil {
				t.Fatal(err)
			}
			defer scratch.Close()
			if _, err := Verify(context.Background(), b.log, b.log, scratch); err != nil {
				t.Fatalf("rebuild differs from live: %v", err)
			}
		})
	}
}

func compareWithModel(t *testing.T, p *Projections, ref refModel, ids []ulid.ULID) {
	t.Helper()
	counts := map[State]int{}
	for _, id := range ids {
		want := ref[id]
		got, err := p.Job(id)
		if want == nil {
			if err == nil {
				t.Fatalf("job %s: model says gone, projection has %+v", id, got)
			}
			continue
		}
		counts[want.state]++
		if err != nil {
			t.Fatalf("job %s: %v", id, err)
		}
		if got.State != want.state || got.Attempts != want.attempts || got.Used != want.used || len(got.Artifacts) != len(want.artifacts) {
			t.Fatalf("job %s: projection %s attempts=%d used=%d artifacts=%d, model %+v",
				id, got.State, got.Attempts, got.Used, len(got.Artifacts), *want)
		}
	}
	for s, n := range p.Counts() {
		if counts[s] != n {
			t.Fatalf("count of %s: projection %d, model %d", s, n, counts[s])
		}
	}
	active := 0
	for _, j := range ref {
		if !j.state.Terminal() {
			active++
		}
	}
	if len(p.Active()) != active {
		t.Fatalf("active: projection %d, model %d", len(p.Active()), active)
	}
}
