package projtest

import (
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
)

// CloneDir copies the closed data dir src to dst, which must not exist.
// Pebble never rewrites a table file, so *.sst files are hard-linked
// (copied if linking fails); everything else (manifest, WAL, options,
// markers) is copied. Opening the clone read-write thus leaves src as it
// was, and a fixture can be restarted on again and again.
func CloneDir(src, dst string) error {
	if _, err := os.Stat(dst); err == nil {
		return fmt.Errorf("clone: %s already exists", dst)
	}
	return filepath.WalkDir(src, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, err := filepath.Rel(src, path)
		if err != nil {
			return err
		}
		to := filepath.Join(dst, rel)
		switch {
		case d.IsDir():
			return os.MkdirAll(to, 0o755)
		case !d.Type().IsRegular():
			return fmt.Errorf("clone: %s is not a regular file", path)
		case strings.HasSuffix(path, ".sst"):
			if err := os.Link(path, to); err == nil {
				return nil
			}
		}
		return copyFile(path, to)
	})
}

func copyFile(from, to string) error {
	in, err := os.Open(from)
	if err != nil {
		return err
	}
	defer in.Close()
	out, err := os.OpenFile(to, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o644)
	if err != nil {
		return err
	}
	if _, err := io.Copy(out, in); err != nil {
		out.Close()
		return fmt.Errorf("clone %s: %w", from, err)
	}
	return out.Close()
}
