package api

import (
	"encoding/json"
	"net/http"
	"path/filepath"

	"github.com/julienschmidt/httprouter"
)

// healthz is open (no token), so that load balancers and probes can use it.
func (s *Server) healthz(w http.ResponseWriter, r *http.Request, _ httprouter.Params) {
	degraded := s.cfg.Health != nil && s.cfg.Health.Degraded()
	writeJSON(w, http.StatusOK, map[string]any{"status": "ok", "degraded": degraded})
}

// backup writes a consistent copy of the running daemon's store into a new
// directory on the daemon's host: POST /admin/backup {"dir": "/abs/path"}.
func (s *Server) backup(w http.ResponseWriter, r *http.Request, _ httprouter.Params) {
	if s.cfg.Backup == nil {
		writeError(w, http.StatusNotImplemented, "backup is not available")
		return
	}
	var req struct {
		Dir string `json:"dir"`
	}
	if err := json.NewDecoder(http.MaxBytesReader(w, r.Body, 4096)).Decode(&req); err != nil {
		writeError(w, http.StatusBadRequest, "invalid body: "+err.Error())
		return
	}
	if req.Dir == "" || !filepath.IsAbs(req.Dir) {
		writeError(w, http.StatusBadRequest, `"dir" must be an absolute path on the daemon's host`)
		return
	}
	if err := s.cfg.Backup.Backup(r.Context(), req.Dir); err != nil {
		writeError(w, http.StatusInternalServerError, "backup: "+err.Error())
		return
	}
	writeJSON(w, http.StatusOK, map[string]string{"dir": req.Dir})
}
