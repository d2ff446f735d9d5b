package eventlog

import (
	"context"
	"errors"
	"testing"

	"github.com/cockroachdb/pebble/v2/vfs"
	"github.com/oklog/ulid/v2"
)

func TestTruncateDeletesAPrefixAndKeepsOffsets(t *testing.T) {
	ctx := context.Background()
	fs := vfs.NewMem()
	l := openMem(t, fs)
	a, b := ulid.Make(), ulid.Make()
	var recs []Record
	for i := range 10 {
		job := a
		if i%2 == 1 {
			job = b
		}
		recs = append(recs, Record{Job: job, Type: JobStarted, Payload: &Started{Attempt: i}})
	}
	if _, err := l.Append(ctx, recs...); err != nil {
		t.Fatal(err)
	}
	n, err := l.Truncate(ctx, 5)
	if err != nil || n != 4 {
		t.Fatalf("truncate: %d %v", n, err)
	}
	if l.LowWatermark() != 5 {
		t.Fatalf("low %d", l.LowWatermark())
	}
	var first uint64
	if err := l.Scan(ctx, 0, 0, func(e Event) error {
		if first == 0 {
			first = e.Offset
		}
		return nil
	}); err != nil || first != 5 {
		t.Fatalf("scan from the watermark starts at %d: %v", first, err)
	}
	if err := l.Scan(ctx, 3, 0, func(Event) error { return nil }); !errors.Is(err, ErrTruncated) {
		t.Fatalf("scan below the watermark: %v", err)
	}
	if _, err := l.Get(2); !errors.Is(err, ErrTruncated) {
		t.Fatalf("get below the watermark: %v", err)
	}
	offs, err := l.JobOffsets(a)
	if err != nil || len(offs) != 3 || offs[0] != 5 {
		t.Fatalf("job index after truncate: %v %v", offs, err)
	}
	if _, err := l.Truncate(ctx, 12); err == nil {
		t.Fatal("truncating beyond the end succeeded")
	}
	if n, err := l.Truncate(ctx, 3); err != nil || n != 0 {
		t.Fatalf("truncate below the watermark: %d %v", n, err)
	}
	// Everything goes; a reopen keeps the watermark and never reuses an offset.
	if _, err := l.Truncate(ctx, 11); err != nil {
		t.Fatal(err)
	}
	if err := l.Close(); err != nil {
		t.Fatal(err)
	}
	l = openMem(t, fs)
	defer l.Close()
	if l.LowWatermark() != 11 {
		t.Fatalf("low after reopen %d", l.LowWatermark())
	}
	evs, err := l.Append(ctx, Record{Job: a, Type: JobStarted, Payload: &Started{}})
	if err != nil || evs[0].Offset != 11 {
		t.Fatalf("append after truncating everything: %v %v", evs, err)
	}
}

func TestTruncateLongPrefixInChunks(t *testing.T) {
	ctx := context.Background()
	l := openMem(t, vfs.NewMem())
	defer l.Close()
	job := ulid.Make()
	recs := make([]Record, truncateChunk+100)
	for i := range recs {
		recs[i] = Record{Job: job, Type: JobStarted, Payload: &Started{Attempt: i}}
	}
	if _, err := l.Append(ctx, recs...); err != nil {
		t.Fatal(err)
	}
	n, err := l.Truncate(ctx, truncateChunk+51)
	if err != nil || n != truncateChunk+50 {
		t.Fatalf("truncate %d %v", n, err)
	}
	offs, _ := l.JobOffsets(job)
	if len(offs) != 50 {
		t.Fatalf("%d index entries left", len(offs))
	}
}

func TestTruncateReadOnly(t *testing.T) {
	dir := t.TempDir()
	l, err := Open(Config{Dir: dir})
	if err != nil {
		t.Fatal(err)
	}
	l.Close()
	ro, err := Open(Config{Dir: dir, ReadOnly: true})
	if err != nil {
		t.Fatal(err)
	}
	defer ro.Close()
	if _, err := ro.Truncate(context.Background(), 1); !errors.Is(err, ErrReadOnly) {
		t.Fatalf("read-only truncate: %v", err)
	}
}
