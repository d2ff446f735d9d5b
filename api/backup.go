package api

import (
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"strings"

	"github.com/julienschmidt/httprouter"

	"github.com/foreman-dev/foreman/eventlog"
)

// BackupRequest is the body of POST /admin/backup: the new backup's name
// in the backup directory, or its absolute path there (what `foreman
// backup DEST` sends).
type BackupRequest struct {
	Name string `json:"name,omitempty"`
	Dir  string `json:"dir,omitempty"`
}

// backup writes a consistent copy of the running daemon's store into a new
// directory directly inside BackupDir, and nowhere else: a token holder
// must not be able to write the store (every request and answer) where
// the daemon's user can write. The copy is private to that user
// (eventlog.Backup); the backup directory is made 0700 when missing.
func (s *Server) backup(w http.ResponseWriter, r *http.Request, _ httprouter.Params) {
	if s.cfg.Backup == nil || s.cfg.BackupDir == "" {
		writeError(w, http.StatusNotImplemented, "backup is not available")
		return
	}
	body, ok := s.readBody(w, r)
	if !ok {
		return
	}
	var req BackupRequest
	if err := json.Unmarshal(body, &req); err != nil {
		writeError(w, http.StatusBadRequest, "invalid body: "+err.Error())
		return
	}
	dest, err := s.backupDest(req)
	if err != nil {
		s.refuse(w, err)
		return
	}
	err = s.cfg.Backup.Backup(r.Context(), dest)
	switch {
	case errors.Is(err, eventlog.ErrBackupExists):
		writeError(w, http.StatusConflict, fmt.Sprintf("backup %q already exists in FOREMAN_BACKUP_DIR", filepath.Base(dest)))
		return
	case err != nil:
		writeError(w, http.StatusInternalServerError, "backup: "+err.Error())
		return
	}
	writeJSON(w, http.StatusOK, map[string]string{"dir": dest})
}

// backupDest is the directory to write: BackupDir/name, where name is a
// plain file name, given as such or as the last element of an absolute
// path whose parent is BackupDir (symbolic links resolved).
func (s *Server) backupDest(req BackupRequest) (string, error) {
	root, err := backupRoot(s.cfg.BackupDir)
	if err != nil {
		return "", fmt.Errorf("FOREMAN_BACKUP_DIR: %w", err)
	}
	name := req.Name
	switch {
	case req.Name != "" && req.Dir != "":
		return "", &requestError{http.StatusBadRequest, `give "name" or "dir", not both`}
	case req.Dir != "":
		if !filepath.IsAbs(req.Dir) {
			return "", &requestError{http.StatusBadRequest, `"dir" must be an absolute path on the daemon's host`}
		}
		dir := filepath.Clean(req.Dir)
		parent, err := filepath.EvalSymlinks(filepath.Dir(dir))
		if err != nil || parent != root {
			return "", &requestError{http.StatusForbidden, fmt.Sprintf(
				`backups are written only directly inside FOREMAN_BACKUP_DIR (%s): give "dir" there, or just a "name"`, s.cfg.BackupDir)}
		}
		name = filepath.Base(dir)
	case req.Name == "":
		return "", &requestError{http.StatusBadRequest, `"name" (a new directory in FOREMAN_BACKUP_DIR) is required`}
	}
	if !validArtifactName(name) || strings.HasPrefix(name, ".") {
		return "", &requestError{http.StatusBadRequest, fmt.Sprintf("invalid backup name %q: want a plain directory name, not starting with a dot", name)}
	}
	return filepath.Join(root, name), nil
}

// backupRoot makes the backup directory (0700) when missing and returns
// its real path.
func backupRoot(dir string) (string, error) {
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return "", err
	}
	return filepath.EvalSymlinks(dir)
}
