package eventlog

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"testing"

	"github.com/oklog/ulid/v2"
)

// damageSSTables flips bytes in the middle of every sstable of dir.
func damageSSTables(t *testing.T, dir string) {
	t.Helper()
	names, _ := filepath.Glob(filepath.Join(dir, "*.sst"))
	if len(names) == 0 {
		t.Fatalf("no sstable in %s", dir)
	}
	for _, name := range names {
		b, err := os.ReadFile(name)
		if err != nil {
			t.Fatal(err)
		}
		for i := len(b) / 3; i < len(b)/3+64; i++ {
			b[i] ^= 0xff
		}
		if err := os.WriteFile(name, b, 0o644); err != nil {
			t.Fatal(err)
		}
	}
}

// A damaged sstable is a *CorruptError from Open or Scan, never a panic.
func TestCorruptSSTableIsATypedError(t *testing.T) {
	for _, readOnly := range []bool{false, true} {
		dir := t.TempDir()
		l, err := Open(Config{Dir: dir})
		if err != nil {
			t.Fatal(err)
		}
		for range 50 {
			recs := make([]Record, 100)
			for j := range recs {
				recs[j] = submit(ulid.Make(), "m")
			}
			if _, err := l.Append(context.Background(), recs...); err != nil {
				t.Fatal(err)
			}
		}
		if err := l.db.Flush(); err != nil {
			t.Fatal(err)
		}
		l.Close()
		damageSSTables(t, dir)

		err = func() (err error) {
			defer func() {
				if p := recover(); p != nil {
					if fp, ok := p.(*fatalPanic); ok {
						p = fp.err
					}
					t.Fatalf("read-only=%v: panic: %v", readOnly, p)
				}
			}()
			l, err := Open(Config{Dir: dir, ReadOnly: readOnly})
			if err != nil {
				return err
			}
			defer l.Close()
			return l.Scan(context.Background(), 0, 0, func(Event) error { return nil })
		}()
		if !errors.Is(err, ErrCorrupt) {
			t.Fatalf("read-only=%v: %v, want ErrCorrupt", readOnly, err)
		}
		t.Logf("read-only=%v: %v", readOnly, err)
	}
}
