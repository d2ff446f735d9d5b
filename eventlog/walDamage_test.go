package eventlog

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/oklog/ulid/v2"
)

// newestWAL is the path of the data dir's newest Pebble WAL.
func newestWAL(t *testing.T, dir string) string {
	t.Helper()
	names, err := filepath.Glob(filepath.Join(dir, "*.log"))
	if err != nil || len(names) == 0 {
		t.Fatalf("no WAL in %s: %v", dir, err)
	}
	slices.Sort(names)
	return names[len(names)-1]
}

// damageWAL flips 64 bytes in the middle of the newest WAL, or truncates
// it there.
func damageWAL(t *testing.T, dir string, truncate bool) {
	t.Helper()
	path := newestWAL(t, dir)
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	mid := len(b) / 2
	if truncate {
		b = b[:mid]
	} else {
		for i := mid; i < mid+64 && i < len(b); i++ {
			b[i] ^= 0xff
		}
	}
	if err := os.WriteFile(path, b, 0o644); err != nil {
		t.Fatal(err)
	}
}

// appendN appends n events in groups of 10 and closes the log.
func appendN(t *testing.T, dir string, n int) {
	t.Helper()
	l, err := Open(Config{Dir: dir})
	if err != nil {
		t.Fatal(err)
	}
	for i := 0; i < n; i += 10 {
		recs := make([]Record, 10)
		for j := range recs {
			recs[j] = submit(ulid.Make(), "m")
		}
		if _, err := l.Append(context.Background(), recs...); err != nil {
			t.Fatal(err)
		}
	}
	if err := l.Close(); err != nil {
		t.Fatal(err)
	}
}

// TestDamagedWALRefusesToOpen: acknowledged events that Pebble drops as a
// torn WAL tail are noticed against the out-of-band ack record: Open
// refuses with a *LossError naming the missing range, read-only Open
// reports it, and RepairLoss records the range as log.lost events.
func TestDamagedWALRefusesToOpen(t *testing.T) {
	for _, truncate := range []bool{false, true} {
		name := map[bool]string{false: "flipped", true: "truncated"}[truncate]
		t.Run(name, func(t *testing.T) {
			dir := t.TempDir()
			appendN(t, dir, 2000)
			damageWAL(t, dir, truncate)

			_, err := Open(Config{Dir: dir})
			var le *LossError
			if !errors.As(err, &le) || !errors.Is(err, ErrLost) {
				t.Fatalf("open after WAL damage: %v, want a *LossError", err)
			}
			if le.To != 2000 || le.From < 2 || le.From > 2000 {
				t.Fatalf("loss %d..%d, want ..2000", le.From, le.To)
			}
			if !strings.Contains(err.Error(), "2000") {
				t.Fatalf("message does not name the range: %v", err)
			}

			ro, err := Open(Config{Dir: dir, ReadOnly: true})
			if err != nil {
				t.Fatalf("read-only open: %v", err)
			}
			if got := ro.Loss(); got == nil || *got != *le {
				t.Fatalf("read-only Loss() = %v, want %v", got, le)
			}
			ro.Close()

			got, err := RepairLoss(context.Background(), Config{Dir: dir}, "test")
			if err != nil || got == nil || *got != *le {
				t.Fatalf("repair: %v %v", got, err)
			}
			l, err := Open(Config{Dir: dir})
			if err != nil {
				t.Fatalf("open after repair: %v", err)
			}
			defer l.Close()
			if l.LastOffset() != 2000 || l.Loss() != nil {
				t.Fatalf("after repair: last %d loss %v", l.LastOffset(), l.Loss())
			}
			n := 0
			err = l.Scan(context.Background(), le.From, 0, func(e Event) error {
				var p Lost
				if e.Type != LogLost || e.Decode(&p) != nil || p.From != le.From || p.To != le.To {
					t.Fatalf("offset %d: %s %+v, want log.lost %d..%d", e.Offset, e.Type, p, le.From, le.To)
				}
				n++
				return nil
			})
			if err != nil || n != int(le.To-le.From+1) {
				t.Fatalf("scan of the repaired range: %d events, %v", n, err)
			}
			if _, err := l.Append(context.Background(), submit(ulid.Make(), "m")); err != nil {
				t.Fatal(err)
			}
		})
	}
}
