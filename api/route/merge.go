package route

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strings"
	"sync"

	"github.com/foreman-dev/foreman/client"
)

// answer is one daemon's answer to a GET asked of all.
type answer struct {
	url    string
	status int
	body   []byte
	err    error
}

// getAll asks every daemon the same GET, concurrently.
func (rt *Router) getAll(r *http.Request, path string) []answer {
	out := make([]answer, len(rt.cfg.Daemons))
	var wg sync.WaitGroup
	for i, d := range rt.cfg.Daemons {
		wg.Go(func() {
			a := &out[i]
			a.url = rt.trim(d.URL)
			resp, err := rt.send(r, a.url, path, nil)
			if err != nil {
				a.err = err
				return
			}
			defer resp.Body.Close()
			a.status = resp.StatusCode
			a.body, a.err = io.ReadAll(io.LimitReader(resp.Body, rt.cfg.MaxBody))
			if a.err == nil && a.status != http.StatusOK {
				a.err = fmt.Errorf("%s: %s", resp.Status, strings.TrimSpace(string(a.body)))
			}
		})
	}
	wg.Wait()
	return out
}

// mergeLists merges the daemons' lists of JSON objects under listKey,
// each once by idKey (the first daemon's wins), keeping each object's
// bytes: fields foreman does not know reach the caller. No daemon
// answering is a 502 (a 401 from them all is passed on).
func (rt *Router) mergeLists(w http.ResponseWriter, r *http.Request, path, listKey, idKey string, top map[string]any) {
	merged := []json.RawMessage{}
	seen := map[string]bool{}
	answered := 0
	var lastErr error
	for _, a := range rt.getAll(r, path) {
		if a.err != nil {
			lastErr = a.err
			continue
		}
		var v map[string]json.RawMessage
		var items []json.RawMessage
		if json.Unmarshal(a.body, &v) != nil || json.Unmarshal(v[listKey], &items) != nil {
			lastErr = fmt.Errorf("%s%s: not a list under %q", a.url, path, listKey)
			continue
		}
		answered++
		for _, it := range items {
			var id map[string]json.RawMessage
			json.Unmarshal(it, &id)
			key := string(id[idKey])
			if idKey == "" || !seen[key] {
				seen[key] = true
				merged = append(merged, it)
			}
		}
	}
	if answered == 0 {
		writeError(w, r, http.StatusBadGateway, fmt.Sprintf("no daemon answered %s: %v", path, lastErr))
		return
	}
	out := map[string]any{listKey: merged}
	for k, v := range top {
		out[k] = v
	}
	writeJSON(w, http.StatusOK, out)
}

// tags is GET /api/tags: every daemon's models, each once.
func (rt *Router) tags(w http.ResponseWriter, r *http.Request) {
	rt.mergeLists(w, r, "/api/tags", "models", "name", nil)
}

// ps is GET /api/ps: the models loaded on every daemon's target.
func (rt *Router) ps(w http.ResponseWriter, r *http.Request) {
	rt.mergeLists(w, r, "/api/ps", "models", "", nil)
}

// models is GET /v1/models: every daemon's models, each once.
func (rt *Router) models(w http.ResponseWriter, r *http.Request) {
	rt.mergeLists(w, r, "/v1/models", "data", "id", map[string]any{"object": "list"})
}

// model is GET /v1/models/{model}: from a daemon that has it.
func (rt *Router) model(w http.ResponseWriter, r *http.Request) {
	name := r.PathValue("model")
	cands, err := rt.candidates(r.Context(), name)
	if err != nil {
		rt.routeFailed(w, openAIErrors, name, err)
		return
	}
	rt.relayTo(w, r, cands, nil, openAIErrors)
}

// list is GET /jobs: the daemons' lists merged newest first, each row
// naming its daemon; daemons that do not answer are named in
// "unreachable".
func (rt *Router) list(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	if q.Has("idempotency_key") {
		q.Set("idempotency_key", rt.scopedKey(r, q.Get("idempotency_key")))
		r.URL.RawQuery = q.Encode()
	}
	o := client.ListOptions{State: q.Get("state"), Model: q.Get("model"), Cursor: q.Get("cursor")}
	fmt.Sscan(q.Get("limit"), &o.Limit)
	answers := rt.getAll(r, "/jobs")
	var rows []client.JobSummary
	var down []string
	more := false
	for _, a := range answers {
		var l client.JobList
		if a.err != nil || json.Unmarshal(a.body, &l) != nil {
			if a.status == http.StatusBadRequest {
				w.Header().Set("Content-Type", "application/json; charset=utf-8")
				w.WriteHeader(a.status)
				w.Write(a.body)
				return
			}
			down = append(down, a.url)
			continue
		}
		more = more || l.NextCursor != ""
		for _, j := range l.Jobs {
			j.Daemon = a.url
			rows = append(rows, j)
		}
	}
	if len(down) == len(answers) {
		writeError(w, r, http.StatusBadGateway, "no daemon answered GET /jobs")
		return
	}
	sortNewestFirst(rows)
	limit := o.Limit
	if limit <= 0 {
		limit = 50
	}
	if len(rows) > limit {
		rows, more = rows[:limit], true
	}
	out := map[string]any{"jobs": rows}
	if more && len(rows) > 0 {
		out["next_cursor"] = rows[len(rows)-1].JobID
	}
	if len(down) > 0 {
		out["unreachable"] = down
	}
	writeJSON(w, http.StatusOK, out)
}

// queue is GET /queue: the daemons' queues summed; with ?model=, the best
// daemon's forecast for it.
func (rt *Router) queue(w http.ResponseWriter, r *http.Request) {
	q, err := rt.fleet.Queue(r.Context())
	if q == nil {
		writeError(w, r, http.StatusBadGateway, err.Error())
		return
	}
	if m := r.URL.Query().Get("model"); m != "" {
		if chs := rt.fleet.Forecast(r.Context(), m); len(chs) > 0 && chs[0].Forecast != nil {
			q.Forecast = chs[0].Forecast
		} else {
			q.Forecast = &client.Forecast{Model: m}
		}
	}
	writeJSON(w, http.StatusOK, q)
}
