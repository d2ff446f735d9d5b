package route

import (
	"cmp"
	"errors"
	"net/http"
	"slices"

	"github.com/foreman-dev/foreman/client"
)

// submit is POST /jobs: routed by the body's model through the Fleet, so
// that a daemon that refuses without storing gives way to the next, and a
// daemon that may have stored the job is asked again rather than another.
// An Idempotency-Key is scoped to the caller (the daemons see the router's
// token, so the router prefixes the caller's name).
func (rt *Router) submit(w http.ResponseWriter, r *http.Request) {
	body, ok := rt.readBody(w, r, ollamaErrors)
	if !ok {
		return
	}
	model, err := modelOf(body)
	if err != nil {
		writeError(w, r, http.StatusBadRequest, err.Error())
		return
	}
	req := client.Request{Body: body}
	if k := r.Header.Get("Idempotency-Key"); k != "" {
		req.IdempotencyKey = rt.scopedKey(r, k)
	}
	id, err := rt.fleet.Enqueue(r.Context(), req)
	var ae *client.APIError
	switch {
	case err == nil:
		w.Header().Set("Location", "/jobs/"+id)
		writeJSON(w, http.StatusAccepted, map[string]string{"job_id": id})
	case errors.As(err, &ae):
		writeError(w, r, ae.Status, ae.Message)
	default:
		rt.routeFailed(w, ollamaErrors, model, err)
	}
}

// scopedKey is an Idempotency-Key as the daemons see it: the router's
// callers share its token there, so the key is prefixed with the caller.
func (rt *Router) scopedKey(r *http.Request, key string) string {
	return cmp.Or(rt.caller(r), "anonymous") + "/" + key
}

// job forwards /jobs/{id}/... to the daemon that holds the job.
func (rt *Router) job(w http.ResponseWriter, r *http.Request) {
	c, err := rt.fleet.Locate(r.Context(), r.PathValue("id"))
	var ae *client.APIError
	switch {
	case errors.As(err, &ae):
		writeError(w, r, ae.Status, ae.Message)
		return
	case err != nil:
		writeError(w, r, http.StatusBadGateway, err.Error())
		return
	}
	body, ok := rt.readBody(w, r, ollamaErrors)
	if !ok {
		return
	}
	if len(body) == 0 {
		body = nil
	}
	resp, err := rt.send(r, c.BaseURL(), r.URL.Path, body)
	if err != nil {
		writeError(w, r, http.StatusBadGateway, err.Error())
		return
	}
	rt.relay(w, resp)
}

// sortNewestFirst orders job rows by id, newest first (ULIDs sort by time).
func sortNewestFirst(rows []client.JobSummary) {
	slices.SortFunc(rows, func(a, b client.JobSummary) int { return cmp.Compare(b.JobID, a.JobID) })
}
