package eventlog

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"syscall"
	"testing"

	"github.com/cockroachdb/pebble/v2/vfs"
	"github.com/cockroachdb/pebble/v2/vfs/errorfs"
	"github.com/oklog/ulid/v2"
)

// walWrites fails every write and sync of a WAL file with ENOSPC.
var walWrites = errorfs.InjectorFunc(func(op errorfs.Op) error {
	if !strings.HasSuffix(op.Path, ".log") || op.Kind.ReadOrWrite() != errorfs.OpIsWrite {
		return nil
	}
	return syscall.ENOSPC
})

// TestFailedCommitIsStickyNotAPanic: a WAL write error makes Pebble call
// Logger.Fatalf. The append that hit it gets the error, later appends get
// the same error, Err reports it and Failed is closed; nothing panics.
func TestFailedCommitIsStickyNotAPanic(t *testing.T) {
	on := &errorfs.Toggle{Injector: walWrites}
	fs := errorfs.Wrap(vfs.NewMem(), on)
	l := openMem(t, fs)
	ctx := context.Background()
	if _, err := l.Append(ctx, submit(ulid.Make(), "m")); err != nil {
		t.Fatal(err)
	}
	if l.Err() != nil {
		t.Fatalf("Err before a failure: %v", l.Err())
	}
	on.On()
	_, err := l.Append(ctx, submit(ulid.Make(), "m"))
	if !errors.Is(err, ErrFailed) || !errors.Is(err, syscall.ENOSPC) {
		t.Fatalf("append on a failing WAL: %v, want ErrFailed wrapping ENOSPC", err)
	}
	on.Off()
	if _, err2 := l.Append(ctx, submit(ulid.Make(), "m")); !errors.Is(err2, ErrFailed) {
		t.Fatalf("append after the failure: %v, want the sticky ErrFailed", err2)
	}
	if !errors.Is(l.Err(), ErrFailed) {
		t.Fatalf("Err: %v", l.Err())
	}
	select {
	case <-l.Failed():
	default:
		t.Fatal("Failed() not closed")
	}
	if got := l.LastOffset(); got != 1 {
		t.Fatalf("LastOffset %d after a failed commit, want 1", got)
	}
	if _, err := l.Get(1); err != nil {
		t.Fatalf("reads after the failure: %v", err)
	}
	if err := l.Close(); !errors.Is(err, ErrFailed) {
		t.Fatalf("Close of a failed log: %v, want ErrFailed", err)
	}
}

// A Fatalf on one of Pebble's own goroutines is not recovered; its panic
// must still say what failed.
func TestFatalfPanicSaysWhy(t *testing.T) {
	defer func() {
		p := recover()
		err, ok := p.(error)
		if !ok || !strings.Contains(err.Error(), "MANIFEST sync failed: no space left on device") {
			t.Fatalf("Fatalf panicked with %#v", p)
		}
		if s := fmt.Sprint(p); !strings.Contains(s, "no space left on device") {
			t.Fatalf("the panic prints %q", s)
		}
	}()
	pebbleLogger{slog.New(slog.DiscardHandler)}.Fatalf("MANIFEST sync failed: %v", syscall.ENOSPC)
}
