package eventlog

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"testing"
	"time"

	"github.com/oklog/ulid/v2"
)

// listing is a directory's file names with their sizes and times, to tell
// whether anything was written.
func listing(t *testing.T, dir string) []string {
	t.Helper()
	ents, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, e := range ents {
		fi, err := e.Info()
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, fi.Name()+" "+fi.ModTime().Format(time.RFC3339Nano)+" "+fi.Mode().String()+" "+strconv.FormatInt(fi.Size(), 10))
	}
	return out
}

func TestReadOnlyOpenOfANonStoreWritesNothing(t *testing.T) {
	dir := t.TempDir()
	os.WriteFile(filepath.Join(dir, "notes.txt"), []byte("not a store"), 0o644)
	before := listing(t, dir)
	_, err := Open(Config{Dir: dir, ReadOnly: true})
	if !errors.Is(err, ErrNoStore) {
		t.Fatalf("read-only open of a plain dir: %v, want ErrNoStore", err)
	}
	if after := listing(t, dir); !slices.Equal(before, after) {
		t.Fatalf("the dir changed:\nbefore %q\nafter  %q", before, after)
	}
}

func TestReadOnlyOpenOfAFileSaysSo(t *testing.T) {
	file := filepath.Join(t.TempDir(), "data")
	os.WriteFile(file, []byte("x"), 0o644)
	_, err := Open(Config{Dir: file, ReadOnly: true})
	if !errors.Is(err, ErrNotDir) || errors.Is(err, ErrLocked) {
		t.Fatalf("read-only open of a file: %v, want ErrNotDir", err)
	}
}

// A store without lock files (a backup: Pebble checkpoints hold none) is
// read without creating them.
func TestReadOnlyOpenCreatesNoLockFiles(t *testing.T) {
	src := t.TempDir()
	l, err := Open(Config{Dir: src})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := l.Append(context.Background(), submit(ulid.Make(), "a")); err != nil {
		t.Fatal(err)
	}
	dir := filepath.Join(t.TempDir(), "backup")
	if err := l.Backup(context.Background(), dir); err != nil {
		t.Fatal(err)
	}
	l.Close()
	for _, name := range []string{"LOCK", "FOREMAN.LOCK"} {
		os.Remove(filepath.Join(dir, name))
	}
	before := listing(t, dir)
	ro, err := Open(Config{Dir: dir, ReadOnly: true})
	if err != nil {
		t.Fatal(err)
	}
	if ro.LastOffset() != 1 {
		t.Fatalf("last offset %d", ro.LastOffset())
	}
	ro.Close()
	if after := listing(t, dir); !slices.Equal(before, after) {
		t.Fatalf("a read-only open changed the dir:\nbefore %q\nafter  %q", before, after)
	}
}
