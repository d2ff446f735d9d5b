package eventlog

import (
	"context"
	"errors"
	"sync"
	"testing"

	"github.com/cockroachdb/pebble/v2/vfs"
	"github.com/oklog/ulid/v2"
)

func openMem(t *testing.T, fs vfs.FS) *Log {
	t.Helper()
	l, err := Open(Config{Dir: "data", FS: fs})
	if err != nil {
		t.Fatal(err)
	}
	return l
}

func submit(job ulid.ULID, model string) Record {
	return Record{Job: job, Type: JobSubmitted, Payload: &Submitted{Model: model, Kind: KindChat, Request: []byte(`{"model":"` + model + `"}`)}}
}

func TestAppendAssignsDenseOffsetsAndRoundTrips(t *testing.T) {
	l := openMem(t, vfs.NewMem())
	defer l.Close()
	ctx := context.Background()
	job := ulid.Make()
	evs, err := l.Append(ctx, submit(job, "tiny-a"), Record{Job: job, Type: JobStarted, Payload: &Started{Attempt: 1}})
	if err != nil {
		t.Fatal(err)
	}
	if evs[0].Offset != 1 || evs[1].Offset != 2 || l.LastOffset() != 2 {
		t.Fatalf("offsets %d %d last %d", evs[0].Offset, evs[1].Offset, l.LastOffset())
	}
	if evs[1].Time.Before(evs[0].Time) {
		t.Fatal("time went backwards")
	}
	var got []Event
	if err := l.Scan(ctx, 0, 0, func(e Event) error { got = append(got, e); return nil }); err != nil {
		t.Fatal(err)
	}
	if len(got) != 2 || got[0].Job != job || got[0].Type != JobSubmitted {
		t.Fatalf("scan: %+v", got)
	}
	var s Submitted
	if err := got[0].Decode(&s); err != nil || s.Model != "tiny-a" || s.Kind != KindChat {
		t.Fatalf("decode: %+v %v", s, err)
	}
	hist, err := l.JobEvents(job)
	if err != nil || len(hist) != 2 || hist[1].Type != JobStarted {
		t.Fatalf("job events: %+v %v", hist, err)
	}
}

func TestConcurrentAppendersShareCommits(t *testing.T) {
	l := openMem(t, vfs.NewMem())
	defer l.Close()
	const writers, each = 32, 50
	var wg sync.WaitGroup
	seen := make(chan uint64, writers*each)
	for w := 0; w < writers; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; i < each; i++ {
				evs, err := l.Append(context.Background(), submit(ulid.Make(), "m"))
				if err != nil {
					t.Error(err)
					return
				}
				seen <- evs[0].Offset
			}
		}()
	}
	wg.Wait()
	close(seen)
	uniq := map[uint64]bool{}
	for off := range seen {
		if uniq[off] {
			t.Fatalf("offset %d given twice", off)
		}
		uniq[off] = true
	}
	if l.LastOffset() != writers*each || len(uniq) != writers*each {
		t.Fatalf("last %d, %d distinct", l.LastOffset(), len(uniq))
	}
	n := 0
	if err := l.Scan(context.Background(), 0, 0, func(Event) error { n++; return nil }); err != nil || n != writers*each {
		t.Fatalf("scan %d %v", n, err)
	}
	if st := l.Stats(); st.Events != writers*each || st.Commits > st.Events {
		t.Fatalf("stats %+v", st)
	}
}

func TestReopenContinuesOffsets(t *testing.T) {
	fs := vfs.NewMem()
	l := openMem(t, fs)
	if _, err := l.Append(context.Background(), submit(ulid.Make(), "a"), submit(ulid.Make(), "b")); err != nil {
		t.Fatal(err)
	}
	if err := l.Close(); err != nil {
		t.Fatal(err)
	}
	l = openMem(t, fs)
	defer l.Close()
	evs, err := l.Append(context.Background(), submit(ulid.Make(), "c"))
	if err != nil || evs[0].Offset != 3 {
		t.Fatalf("offset after reopen %v %v", evs, err)
	}
}

func TestSecondOpenIsLocked(t *testing.T) {
	dir := t.TempDir()
	l, err := Open(Config{Dir: dir})
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	_, err = Open(Config{Dir: dir})
	if !errors.Is(err, ErrLocked) {
		t.Fatalf("second open: %v, want ErrLocked", err)
	}
	_, err = Open(Config{Dir: dir, ReadOnly: true})
	if !errors.Is(err, ErrLocked) {
		t.Fatalf("read-only open of a live dir: %v, want ErrLocked", err)
	}
}

func TestReadOnlyRefusesWrites(t *testing.T) {
	dir := t.TempDir()
	l, err := Open(Config{Dir: dir})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := l.Append(context.Background(), submit(ulid.Make(), "a")); err != nil {
		t.Fatal(err)
	}
	l.Close()
	ro, err := Open(Config{Dir: dir, ReadOnly: true})
	if err != nil {
		t.Fatal(err)
	}
	defer ro.Close()
	if ro.LastOffset() != 1 {
		t.Fatalf("read-only last offset %d", ro.LastOffset())
	}
	if _, err := ro.Append(context.Background(), submit(ulid.Make(), "a")); !errors.Is(err, ErrReadOnly) {
		t.Fatalf("append on read-only: %v", err)
	}
	if err := ro.CommitState(ro.NewStateBatch()); !errors.Is(err, ErrReadOnly) {
		t.Fatalf("state write on read-only: %v", err)
	}
}

func TestReadOnlyMissingDir(t *testing.T) {
	_, err := Open(Config{Dir: t.TempDir() + "/nope", ReadOnly: true})
	if err == nil {
		t.Fatal("read-only open of a missing dir succeeded")
	}
}

func TestBlobsCommitWithTheirEvent(t *testing.T) {
	l := openMem(t, vfs.NewMem())
	defer l.Close()
	job := ulid.Make()
	key := ArtifactBlob(job, "result.json")
	_, err := l.Append(context.Background(), Record{Job: job, Type: ArtifactStored,
		Payload: &Artifact{Name: "result.json", Size: 2, Blob: key}, Blobs: []Blob{{Key: key, Data: []byte("{}")}}})
	if err != nil {
		t.Fatal(err)
	}
	b, err := l.Blob(key)
	if err != nil || string(b) != "{}" {
		t.Fatalf("blob %q %v", b, err)
	}
	if _, err := l.Blob(ArtifactBlob(job, "other")); !errors.Is(err, ErrNotFound) {
		t.Fatalf("missing blob: %v", err)
	}
}

func TestWaitWakesOnAppend(t *testing.T) {
	l := openMem(t, vfs.NewMem())
	defer l.Close()
	woke := make(chan error, 1)
	go func() { woke <- l.Wait(context.Background(), 0) }()
	if _, err := l.Append(context.Background(), submit(ulid.Make(), "a")); err != nil {
		t.Fatal(err)
	}
	if err := <-woke; err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if err := l.Wait(ctx, 1); !errors.Is(err, context.Canceled) {
		t.Fatalf("wait with cancelled ctx: %v", err)
	}
}

func TestAppendAfterClose(t *testing.T) {
	l := openMem(t, vfs.NewMem())
	l.Close()
	if _, err := l.Append(context.Background(), submit(ulid.Make(), "a")); !errors.Is(err, ErrClosed) {
		t.Fatalf("append after close: %v", err)
	}
}
