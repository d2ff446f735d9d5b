package api

import (
	"net/http"

	"github.com/julienschmidt/httprouter"
)

// metrics hands GET /metrics to Config.Metrics once the token checked out:
// queue sizes and model names are not for anonymous callers.
func (s *Server) metrics(w http.ResponseWriter, r *http.Request, _ httprouter.Params) {
	s.cfg.Metrics.ServeHTTP(w, r)
}
