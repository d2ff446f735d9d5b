package eventlog

import (
	"context"
	"runtime"
	"strings"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/cockroachdb/pebble/v2/vfs"
	"github.com/cockroachdb/pebble/v2/vfs/errorfs"
	"github.com/oklog/ulid/v2"
)

// TestGroupCommitBoundedByBytes: requests piled up behind a slow WAL write
// are grouped up to MaxGroupBytes, not only up to MaxGroup events.
func TestGroupCommitBoundedByBytes(t *testing.T) {
	gate, blocked := make(chan struct{}), make(chan struct{})
	var armed atomic.Bool
	hold := errorfs.InjectorFunc(func(op errorfs.Op) error {
		if strings.HasSuffix(op.Path, ".log") && op.Kind.ReadOrWrite() == errorfs.OpIsWrite && armed.CompareAndSwap(true, false) {
			close(blocked)
			<-gate
		}
		return nil
	})
	l, err := Open(Config{Dir: "data", FS: errorfs.Wrap(vfs.NewMem(), hold), MaxGroupBytes: 1500})
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	rec := submit(ulid.Make(), "m")
	rec.Blobs = []Blob{{Key: "k", Data: make([]byte, 1024)}}
	ctx := context.Background()
	armed.Store(true)
	const n = 32
	var wg sync.WaitGroup
	wg.Add(n)
	go func() { defer wg.Done(); l.Append(ctx, rec) }()
	<-blocked // the first group is in its WAL write; the rest queue behind it
	for range n - 1 {
		go func() { defer wg.Done(); l.Append(ctx, rec) }()
	}
	for len(l.reqs) < n-1 {
		runtime.Gosched()
	}
	close(gate)
	wg.Wait()
	if st := l.Stats(); st.Events != n || st.Commits != n {
		t.Fatalf("%d events in %d commit groups; each ~1 KiB request must be its own group under MaxGroupBytes=1500", st.Events, st.Commits)
	}
}
