package api

import (
	"net/http"

	"github.com/julienschmidt/httprouter"
)

// batchRoutes hands the Batch API's routes (/v1/files, /v1/batches and
// below them) to Config.Batches (api/batch), behind the token like the
// rest of /v1 and with foreman's own refusals in OpenAI's shape; the
// caller's name goes along in the request's context (Caller).
func (s *Server) batchRoutes() {
	if s.cfg.Batches == nil {
		return // they answer 404 like any /v1 route foreman does not serve
	}
	serve := openAIShaped(s.auth.require(func(w http.ResponseWriter, r *http.Request, _ httprouter.Params) {
		s.cfg.Batches.ServeHTTP(w, r)
	}))
	for _, p := range []string{"/v1/files", "/v1/files/*rest", "/v1/batches", "/v1/batches/*rest"} {
		for _, m := range []string{http.MethodGet, http.MethodPost, http.MethodDelete} {
			s.router.Handle(m, p, serve)
		}
	}
}
