package projections

import (
	"context"
	"math/rand/v2"
	"testing"

	"github.com/cockroachdb/pebble/v2/vfs"
	"github.com/oklog/ulid/v2"

	"github.com/foreman-dev/foreman/eventlog"
)

// TestCrashThenRestartEqualsRebuild crashes (crash clone of the in-memory
// filesystem) while events are appended and projections follow, then checks
// that every acknowledged event is there and that the projections after
// restart equal a full rebuild.
func TestCrashThenRestartEqualsRebuild(t *testing.T) {
	for seed := uint64(0); seed < 5; seed++ {
		fs := vfs.NewCrashableMem()
		l, err := eventlog.Open(eventlog.Config{Dir: "data", FS: fs})
		if err != nil {
			t.Fatal(err)
		}
		p, err := Open(context.Background(), l, l)
		if err != nil {
			t.Fatal(err)
		}
		rng := rand.New(rand.NewPCG(seed, 3))
		var acked uint64
		for i := range 200 + rng.IntN(200) {
			id := ulid.Make()
			recs := []eventlog.Record{submitted(id, "m")}
			if i%3 == 0 {
				recs = append(recs, rec(id, eventlog.JobStarted, &eventlog.Started{Attempt: 1}))
			}
			evs, err := l.Append(context.Background(), recs...)
			if err != nil {
				t.Fatal(err)
			}
			acked = evs[len(evs)-1].Offset
			if rng.IntN(4) == 0 {
				if err := p.CatchUp(context.Background(), 0); err != nil {
					t.Fatal(err)
				}
			}
		}
		crashed := fs.CrashClone(vfs.CrashCloneCfg{UnsyncedDataPercent: 30, RNG: rand.New(rand.NewPCG(seed, 9))})
		l.Close()

		l2, err := eventlog.Open(eventlog.Config{Dir: "data", FS: crashed})
		if err != nil {
			t.Fatal(err)
		}
		if l2.LastOffset() < acked {
			t.Fatalf("seed %d: acknowledged %d, found %d after crash", seed, acked, l2.LastOffset())
		}
		p2, err := Open(context.Background(), l2, l2)
		if err != nil {
			t.Fatal(err)
		}
		if p2.Applied() != l2.LastOffset() {
			t.Fatalf("seed %d: projections at %d, log at %d", seed, p2.Applied(), l2.LastOffset())
		}
		scratch, _ := eventlog.Open(eventlog.Config{Dir: "s", FS: vfs.NewMem()})
		if _, err := Verify(context.Background(), l2, l2, scratch); err != nil {
			t.Fatalf("seed %d: restart differs from rebuild: %v", seed, err)
		}
		scratch.Close()
		l2.Close()
	}
}
