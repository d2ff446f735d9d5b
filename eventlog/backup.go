package eventlog

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"

	"github.com/cockroachdb/pebble/v2"
	"github.com/cockroachdb/pebble/v2/vfs"
)

// ErrBackupExists is returned by Backup when the destination exists.
var ErrBackupExists = errors.New("eventlog: backup destination exists")

// onOS reports whether fsys is the OS filesystem (read-only or not).
func onOS(fsys vfs.FS) bool {
	if ro, ok := fsys.(readOnlyFS); ok {
		fsys = ro.FS
	}
	return fsys == vfs.Default
}

// backupPrivate writes the checkpoint so that nobody but the daemon's user
// can read it, at any moment: it is made inside a fresh 0700 directory
// beside dir, its directories set to 0700 and its files to 0600, and only
// then renamed to dir. A backup holds every request and answer.
func (l *Log) backupPrivate(dir string) error {
	dir = filepath.Clean(dir)
	if _, err := os.Lstat(dir); err == nil {
		return fmt.Errorf("%w: %s", ErrBackupExists, dir)
	}
	parent := filepath.Dir(dir)
	if err := os.MkdirAll(parent, 0o700); err != nil {
		return fmt.Errorf("backup: %w", err)
	}
	tmp, err := os.MkdirTemp(parent, "."+filepath.Base(dir)+".partial-")
	if err != nil {
		return fmt.Errorf("backup: %w", err)
	}
	defer os.RemoveAll(tmp)
	stage := filepath.Join(tmp, "store")
	if err := l.db.Checkpoint(stage, pebble.WithFlushedWAL()); err != nil {
		return fmt.Errorf("checkpoint: %w", err)
	}
	err = filepath.WalkDir(stage, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() {
			return os.Chmod(path, 0o700)
		}
		return os.Chmod(path, 0o600)
	})
	if err != nil {
		return fmt.Errorf("backup: %w", err)
	}
	if err := os.Rename(stage, dir); err != nil {
		return fmt.Errorf("backup: %w", err)
	}
	if d, err := os.Open(parent); err == nil { // make the rename durable
		d.Sync()
		d.Close()
	}
	return nil
}
