package eventlog

import (
	"bytes"
	"context"
	"sync"
	"testing"

	"github.com/cockroachdb/pebble/v2"
	"github.com/cockroachdb/pebble/v2/vfs"
	"github.com/oklog/ulid/v2"
)

// The newest events come from memory: with a stored value gone, a scan of
// it still returns the event as committed.
func TestScanServesTheNewestEventsFromMemory(t *testing.T) {
	l := openMem(t, vfs.NewMem())
	defer l.Close()
	var want []Event
	for range 3 {
		evs, err := l.Append(context.Background(), submit(ulid.Make(), "m"))
		if err != nil {
			t.Fatal(err)
		}
		want = append(want, evs...)
	}
	if err := l.db.Delete(eventKey(2), pebble.Sync); err != nil {
		t.Fatal(err)
	}
	var got []Event
	if err := l.Scan(context.Background(), 0, 0, func(e Event) error { got = append(got, e); return nil }); err != nil {
		t.Fatal(err)
	}
	if len(got) != 3 {
		t.Fatalf("got %d events, want 3", len(got))
	}
	for i := range got {
		if got[i].Offset != want[i].Offset || got[i].Job != want[i].Job || !bytes.Equal(got[i].Payload, want[i].Payload) || !got[i].Time.Equal(want[i].Time) {
			t.Fatalf("event %d = %+v, want %+v", i, got[i], want[i])
		}
	}
}

// A scan longer than the tail reads the older events from the store and
// the rest from memory, each offset once, in order, and the same as a
// reopened log (nothing in memory) reads.
func TestScanAcrossStoreAndTail(t *testing.T) {
	fs := vfs.NewMem()
	l := openMem(t, fs)
	const total = tailEvents + 1500
	for n := 0; n < total; {
		recs := make([]Record, min(500, total-n))
		for i := range recs {
			recs[i] = submit(ulid.Make(), "m")
		}
		if _, err := l.Append(context.Background(), recs...); err != nil {
			t.Fatal(err)
		}
		n += len(recs)
	}
	collect := func(l *Log, from uint64) []Event {
		var evs []Event
		if err := l.Scan(context.Background(), from, 0, func(e Event) error { evs = append(evs, e); return nil }); err != nil {
			t.Fatal(err)
		}
		return evs
	}
	live := collect(l, 1000)
	if l.tail.first <= 1000 {
		t.Fatalf("the tail holds offset %d on: the scan did not need the store", l.tail.first)
	}
	l.Close()
	l = openMem(t, fs)
	defer l.Close()
	cold := collect(l, 1000)
	if len(live) != total-999 || len(cold) != len(live) {
		t.Fatalf("live scan %d events, cold %d, want %d", len(live), len(cold), total-999)
	}
	for i := range live {
		if live[i].Offset != uint64(1000+i) || live[i].Job != cold[i].Job || !bytes.Equal(live[i].Payload, cold[i].Payload) || !live[i].Time.Equal(cold[i].Time) {
			t.Fatalf("event %d: live %+v, cold %+v", i, live[i], cold[i])
		}
	}
}

func TestTailBounds(t *testing.T) {
	tl := newTail()
	for off := uint64(1); off <= tailEvents+10; off++ {
		tl.add([]Event{{Offset: off, Payload: []byte{1}}})
	}
	if tl.n != tailEvents || tl.first != 11 {
		t.Fatalf("after %d events: %d held from %d, want %d from 11", tailEvents+10, tl.n, tl.first, tailEvents)
	}
	if got := tl.read(nil, 10, 20, 100); len(got) != 0 {
		t.Fatalf("read of an evicted offset = %d events, want none", len(got))
	}
	if got := tl.read(nil, 11, 20, 100); len(got) != 10 || got[9].Offset != 20 {
		t.Fatalf("read 11..20 = %v", got)
	}
	if got := tl.read(nil, 11, 0xffffffff, 5); len(got) != 5 {
		t.Fatalf("read at most 5 = %d events", len(got))
	}
	big := newTail()
	for off := uint64(1); off <= 40; off++ {
		big.add([]Event{{Offset: off, Payload: make([]byte, 1<<20)}})
	}
	if big.bytes > tailBytes || big.n != tailBytes>>20 || big.first+uint64(big.n) != 41 {
		t.Fatalf("1 MiB payloads: %d held (%d bytes) from %d", big.n, big.bytes, big.first)
	}
}

// A reader that follows the log while it is appended to sees every offset
// once, in order (run with -race).
func TestScanFollowsConcurrentAppends(t *testing.T) {
	l := openMem(t, vfs.NewMem())
	defer l.Close()
	const total = 3000
	var wg sync.WaitGroup
	for w := range 4 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for range total / 4 {
				if _, err := l.Append(context.Background(), submit(ulid.Make(), "m"+string(rune('a'+w)))); err != nil {
					t.Error(err)
					return
				}
			}
		}()
	}
	next := uint64(1)
	for next <= total {
		ch := l.Changed()
		if err := l.Scan(context.Background(), next, 0, func(e Event) error {
			if e.Offset != next {
				t.Fatalf("got offset %d, want %d", e.Offset, next)
			}
			next++
			return nil
		}); err != nil {
			t.Fatal(err)
		}
		if next <= total {
			<-ch
		}
	}
	wg.Wait()
}
