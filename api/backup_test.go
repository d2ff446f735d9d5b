package api

import (
	"encoding/json"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestBackupBadInput(t *testing.T) {
	bk := t.TempDir()
	s := New(Config{Backup: &fakeBackup{}, BackupDir: bk})
	outside := t.TempDir()
	os.Symlink(outside, filepath.Join(bk, "link"))
	for body, want := range map[string]int{
		`{"dir":"relative"}`:                              400,
		`{"dir":`:                                         400,
		`{}`:                                              400,
		`{"name":"a","dir":"/x"}`:                         400,
		`{"name":"../escape"}`:                            400,
		`{"name":"a/b"}`:                                  400,
		`{"name":".."}`:                                   400,
		`{"name":".hidden"}`:                              400,
		`{"dir":"/etc/cron.d/x"}`:                         403,
		`{"dir":"` + outside + `/x"}`:                     403,
		`{"dir":"` + bk + `/sub/x"}`:                      403,
		`{"dir":"` + bk + `/link/x"}`:                     403,
		`{"dir":"` + bk + `/../x"}`:                       403,
		`{"dir":"` + bk + `"}`:                            403,
		`{"name":"x-exists"}`:                             500,
		`{"dir":"` + filepath.Join(bk, "ok") + `/"}`:      200,
		`{"dir":"` + filepath.Join(bk, ".", "ok2") + `"}`: 200,
	} {
		if w := do(t, s, "POST", "/admin/backup", "", body); w.Code != want {
			t.Errorf("%s: %d %s, want %d", body, w.Code, w.Body.String(), want)
		} else if want != 200 {
			errorOf(t, w)
		}
	}
	if w := do(t, New(Config{}), "POST", "/admin/backup", "", `{"name":"x"}`); w.Code != 501 {
		t.Fatalf("no backuper: %d", w.Code)
	}
	if w := do(t, New(Config{Backup: &fakeBackup{}}), "POST", "/admin/backup", "", `{"name":"x"}`); w.Code != 501 {
		t.Fatalf("no backup dir: %d", w.Code)
	}
	if w := do(t, s, "GET", "/admin/backup", "", ""); w.Code != 405 {
		t.Fatalf("wrong method: %d", w.Code)
	}
}

// TestBackupIsPrivateAndStaysInItsDir: a real backup lands in the backup
// directory (made 0700 when missing), with directories 0700 and files
// 0600; a second one with the same name is a 409. Before, any absolute
// path was written, parents created, files 0644.
func TestBackupIsPrivateAndStaysInItsDir(t *testing.T) {
	bk := filepath.Join(t.TempDir(), "backups")
	b := setupDisk(t, func(c *Config) { c.BackupDir, c.Backup = bk, c.Log.(Backuper) })
	b.submit(t, chatBody)
	w := b.do(t, "POST", "/admin/backup", `{"name":"nightly"}`)
	var got struct {
		Dir string `json:"dir"`
	}
	if w.Code != 200 || json.Unmarshal(w.Body.Bytes(), &got) != nil || got.Dir != filepath.Join(bk, "nightly") {
		t.Fatalf("backup: %d %s", w.Code, w.Body.String())
	}
	files := 0
	err := filepath.WalkDir(bk, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		fi, err := d.Info()
		if err != nil {
			return err
		}
		want := fs.FileMode(0o600)
		if d.IsDir() {
			want = 0o700
		} else {
			files++
		}
		if fi.Mode().Perm() != want {
			t.Errorf("%s: mode %v, want %v", path, fi.Mode().Perm(), want)
		}
		return nil
	})
	if err != nil || files == 0 {
		t.Fatalf("walk: %v, %d files", err, files)
	}
	entries, _ := os.ReadDir(bk)
	if len(entries) != 1 {
		t.Fatalf("backup dir holds %d entries (a partial one left behind?)", len(entries))
	}
	if w := b.do(t, "POST", "/admin/backup", `{"name":"nightly"}`); w.Code != 409 || !strings.Contains(errorOf(t, w), "already exists") {
		t.Fatalf("again: %d %s", w.Code, w.Body.String())
	}
}
