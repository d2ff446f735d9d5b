package eventlog

import (
	"errors"
	"fmt"
	"io"
	"os"

	"github.com/cockroachdb/pebble/v2"
	"github.com/cockroachdb/pebble/v2/vfs"
)

var (
	// ErrNoStore is returned by a read-only Open of a directory that holds
	// no store: a read-only open creates nothing, so it cannot make one.
	ErrNoStore = errors.New("eventlog: no store in this directory")
	// ErrNotDir is returned by Open when the data dir is not a directory.
	ErrNotDir = errors.New("eventlog: not a directory")
)

// checkReadOnly makes sure a read-only open will find a store, reading
// only: the data dir is a directory and Pebble has a manifest there.
func checkReadOnly(cfg Config) error {
	fi, err := cfg.FS.Stat(cfg.Dir)
	if err != nil {
		return fmt.Errorf("open data dir: %w", err)
	}
	if !fi.IsDir() {
		return fmt.Errorf("%w: %s is a file; the data dir is the directory holding the store", ErrNotDir, cfg.Dir)
	}
	desc, err := pebble.Peek(cfg.Dir, cfg.FS)
	if err != nil {
		return fmt.Errorf("%w: %s: %v", ErrNoStore, cfg.Dir, err)
	}
	if !desc.Exists {
		return fmt.Errorf("%w: %s", ErrNoStore, cfg.Dir)
	}
	return nil
}

// readOnlyFS is the filesystem of a read-only open. Locking takes the lock
// file when it exists, as a running daemon's does, and otherwise (a backup,
// which holds no lock files) takes nothing instead of creating the file:
// a read-only open writes nothing, ever.
type readOnlyFS struct{ vfs.FS }

func (fs readOnlyFS) Lock(name string) (io.Closer, error) {
	if _, err := fs.FS.Stat(name); errors.Is(err, os.ErrNotExist) {
		return noLock{}, nil
	}
	return fs.FS.Lock(name)
}

type noLock struct{}

func (noLock) Close() error { return nil }
