package eventlog

import (
	"context"
	"errors"
	"testing"

	"github.com/cockroachdb/pebble/v2"
	"github.com/cockroachdb/pebble/v2/vfs"
	"github.com/oklog/ulid/v2"
)

// damage overwrites the stored value of off with mutate(value). The tail
// (tail.go) is emptied, as after a restart: it holds what this process
// wrote, and damage comes from the disk.
func damage(t *testing.T, l *Log, off uint64, mutate func([]byte) []byte) {
	t.Helper()
	l.tail.reset()
	v, err := l.get(eventKey(off))
	if err != nil {
		t.Fatal(err)
	}
	if err := l.db.Set(eventKey(off), mutate(v), pebble.Sync); err != nil {
		t.Fatal(err)
	}
}

func TestCorruptValuesNameTheOffset(t *testing.T) {
	cases := map[string]func([]byte) []byte{
		"truncated":  func(v []byte) []byte { return v[:len(v)/2] },
		"bit flip":   func(v []byte) []byte { v[len(v)-3] ^= 0x40; return v },
		"empty":      func([]byte) []byte { return nil },
		"bad format": func(v []byte) []byte { v[0] = 9; return v },
	}
	for name, mutate := range cases {
		t.Run(name, func(t *testing.T) {
			l := openMem(t, vfs.NewMem())
			defer l.Close()
			for i := 0; i < 3; i++ {
				if _, err := l.Append(context.Background(), submit(ulid.Make(), "m")); err != nil {
					t.Fatal(err)
				}
			}
			damage(t, l, 2, mutate)
			err := l.Scan(context.Background(), 0, 0, func(Event) error { return nil })
			var ce *CorruptError
			if !errors.As(err, &ce) || ce.Offset != 2 || !errors.Is(err, ErrCorrupt) {
				t.Fatalf("scan: %v, want corrupt at 2", err)
			}
			if _, err := l.Get(2); !errors.As(err, &ce) || ce.Offset != 2 {
				t.Fatalf("get: %v", err)
			}
		})
	}
}

func TestGapIsCorruption(t *testing.T) {
	l := openMem(t, vfs.NewMem())
	defer l.Close()
	for i := 0; i < 3; i++ {
		if _, err := l.Append(context.Background(), submit(ulid.Make(), "m")); err != nil {
			t.Fatal(err)
		}
	}
	if err := l.db.Delete(eventKey(2), pebble.Sync); err != nil {
		t.Fatal(err)
	}
	l.tail.reset()
	var ce *CorruptError
	err := l.Scan(context.Background(), 0, 0, func(Event) error { return nil })
	if !errors.As(err, &ce) || ce.Offset != 2 {
		t.Fatalf("scan over a gap: %v", err)
	}
}

func TestCorruptLastEventRefusesOpen(t *testing.T) {
	fs := vfs.NewMem()
	l := openMem(t, fs)
	if _, err := l.Append(context.Background(), submit(ulid.Make(), "m")); err != nil {
		t.Fatal(err)
	}
	damage(t, l, 1, func(v []byte) []byte { return v[:3] })
	l.Close()
	_, err := Open(Config{Dir: "data", FS: fs})
	var ce *CorruptError
	if !errors.As(err, &ce) || ce.Offset != 1 {
		t.Fatalf("open: %v", err)
	}
}
