package api

import (
	"encoding/json"
	"net/http"
	"path/filepath"

	"github.com/julienschmidt/httprouter"
)

// healthz is open (no token), so that load balancers and probes can use it.
// 503 with the reason once the event log failed (the daemon is stopping);
// 200 "degraded" with the reasons while Ollama is unreachable or the disk
// is below FOREMAN_MIN_FREE_DISK (new jobs get 507).
func (s *Server) healthz(w http.ResponseWriter, r *http.Request, _ httprouter.Params) {
	if status, msg, ok := s.storeRefusal(false); !ok {
		writeJSON(w, status, map[string]any{"status": "failed", "degraded": true, "reasons": []string{msg}})
		return
	}
	var reasons []string
	if s.cfg.Health != nil && s.cfg.Health.Degraded() {
		reasons = append(reasons, "the Ollama target is unreachable")
	}
	if _, msg, ok := s.storeRefusal(true); !ok {
		reasons = append(reasons, msg)
	}
	body := map[string]any{"status": "ok", "degraded": len(reasons) > 0}
	if len(reasons) > 0 {
		body["reasons"] = reasons
	}
	writeJSON(w, http.StatusOK, body)
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
