package eventlog

import (
	"context"
	"math/rand/v2"
	"sync"
	"testing"

	"github.com/cockroachdb/pebble/v2/vfs"
	"github.com/oklog/ulid/v2"
)

// TestCrashKeepsEveryAcknowledgedAppend takes crash clones of the
// filesystem (only synced data is guaranteed) while appenders run, and
// checks that every append acknowledged before the crash survives, with no
// hole in the offsets.
func TestCrashKeepsEveryAcknowledgedAppend(t *testing.T) {
	for seed := int64(0); seed < 4; seed++ {
		fs := vfs.NewCrashableMem()
		l, err := Open(Config{Dir: "data", FS: fs})
		if err != nil {
			t.Fatal(err)
		}
		var mu sync.Mutex
		acked := map[uint64]ulid.ULID{}
		ctx, stop := context.WithCancel(context.Background())
		var wg sync.WaitGroup
		for w := 0; w < 8; w++ {
			wg.Add(1)
			go func() {
				defer wg.Done()
				for ctx.Err() == nil {
					job := ulid.Make()
					evs, err := l.Append(context.Background(), submit(job, "m"))
					if err != nil {
						t.Error(err)
						return
					}
					mu.Lock()
					acked[evs[0].Offset] = job
					mu.Unlock()
				}
			}()
		}
		// Crash once enough has been acknowledged.
		for {
			<-l.Changed()
			if l.LastOffset() > 200 {
				break
			}
		}
		mu.Lock()
		before := make(map[uint64]ulid.ULID, len(acked))
		for k, v := range acked {
			before[k] = v
		}
		mu.Unlock()
		crashed := fs.CrashClone(vfs.CrashCloneCfg{UnsyncedDataPercent: 50, RNG: rand.New(rand.NewPCG(uint64(seed), 1))})
		stop()
		wg.Wait()
		l.Close()

		r, err := Open(Config{Dir: "data", FS: crashed})
		if err != nil {
			t.Fatalf("seed %d: reopen after crash: %v", seed, err)
		}
		got := map[uint64]ulid.ULID{}
		if err := r.Scan(context.Background(), 0, 0, func(e Event) error { got[e.Offset] = e.Job; return nil }); err != nil {
			t.Fatalf("seed %d: scan after crash: %v", seed, err)
		}
		for off, job := range before {
			if got[off] != job {
				t.Fatalf("seed %d: acknowledged offset %d lost (have %v)", seed, off, got[off])
			}
		}
		// New appends continue right after what survived.
		evs, err := r.Append(context.Background(), submit(ulid.Make(), "m"))
		if err != nil || evs[0].Offset != uint64(len(got))+1 {
			t.Fatalf("seed %d: append after crash: %v %v (survived %d)", seed, evs, err, len(got))
		}
		r.Close()
	}
}
