package api

import (
	"net/http"

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
