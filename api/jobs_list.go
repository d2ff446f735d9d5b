package api

import (
	"fmt"
	"net/http"
	"strconv"
	"time"

	"github.com/julienschmidt/httprouter"
	"github.com/oklog/ulid/v2"

	"github.com/foreman-dev/foreman/projections"
)

// MaxListLimit caps GET /jobs?limit=.
const MaxListLimit = 500

// listJobs serves GET /jobs?state=&model=&limit=&cursor=, newest first;
// GET /jobs?idempotency_key=K, the caller's job submitted with K (a fleet
// asks each daemon before submitting a retry elsewhere).
func (s *Server) listJobs(w http.ResponseWriter, r *http.Request, _ httprouter.Params) {
	q := r.URL.Query()
	if q.Has("idempotency_key") {
		s.jobByKey(w, r, q.Get("idempotency_key"))
		return
	}
	f := projections.Filter{State: projections.State(q.Get("state")), Model: q.Get("model"), Limit: 50}
	if f.State != "" && !validState(f.State) {
		writeError(w, http.StatusBadRequest, fmt.Sprintf("invalid state %q: want queued, working, done, failed or cancelled", f.State))
		return
	}
	if v := q.Get("limit"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 || n > MaxListLimit {
			writeError(w, http.StatusBadRequest, fmt.Sprintf("invalid limit %q: want 1 to %d", v, MaxListLimit))
			return
		}
		f.Limit = n
	}
	if v := q.Get("cursor"); v != "" {
		id, err := ulid.ParseStrict(v)
		if err != nil {
			writeError(w, http.StatusBadRequest, fmt.Sprintf("invalid cursor %q", v))
			return
		}
		f.Before = id
	}
	if err := s.readLatest(r.Context()); err != nil {
		return // the caller left
	}
	jobs, next, err := s.cfg.Jobs.List(f)
	if err != nil {
		writeError(w, http.StatusInternalServerError, err.Error())
		return
	}
	out := struct {
		Jobs       []JobSummary `json:"jobs"`
		NextCursor string       `json:"next_cursor,omitempty"`
	}{Jobs: make([]JobSummary, 0, len(jobs))}
	for _, j := range jobs {
		out.Jobs = append(out.Jobs, s.summary(j))
	}
	if next != (ulid.ULID{}) {
		out.NextCursor = next.String()
	}
	writeJSON(w, http.StatusOK, out)
}

// jobByKey lists the caller's job submitted under key: none or one.
func (s *Server) jobByKey(w http.ResponseWriter, r *http.Request, key string) {
	if key == "" || len(key) > MaxIdempotencyKey {
		writeError(w, http.StatusBadRequest, fmt.Sprintf("invalid idempotency_key: want 1 to %d bytes", MaxIdempotencyKey))
		return
	}
	if err := s.readLatest(r.Context()); err != nil {
		return // the caller left
	}
	out := struct {
		Jobs []JobSummary `json:"jobs"`
	}{Jobs: []JobSummary{}}
	id, ok, err := s.cfg.Jobs.Idempotent(Caller(r.Context()), key)
	if err != nil {
		writeError(w, http.StatusInternalServerError, err.Error())
		return
	}
	if ok {
		if j, err := s.cfg.Jobs.Job(id); err == nil {
			out.Jobs = append(out.Jobs, s.summary(j))
		}
	}
	writeJSON(w, http.StatusOK, out)
}

// JobSummary is one row of GET /jobs.
type JobSummary struct {
	JobID      string `json:"job_id"`
	State      string `json:"state"`
	Model      string `json:"model"`
	Kind       string `json:"kind"`
	Priority   int    `json:"priority"`
	Attempts   int    `json:"attempts"`
	Submitter  string `json:"submitter,omitempty"`
	CreatedAt  string `json:"created_at"`
	FinishedAt string `json:"finished_at,omitempty"`
	Error      string `json:"error,omitempty"`
	// Position, ETA and ETASeconds are as in GET /jobs/{id}, for queued
	// and working jobs: a list of the queue shows when each job should end.
	Position   *int       `json:"position,omitempty"`
	ETA        *time.Time `json:"eta,omitempty"`
	ETASeconds *int64     `json:"eta_seconds,omitempty"`
}

// summary is a job's row, with its position and ETA from the shared
// forecast (O(1) each, eta.go).
func (s *Server) summary(j projections.Job) JobSummary {
	sm := JobSummary{JobID: j.ID.String(), State: string(j.State), Model: j.Model, Kind: string(j.Kind),
		Priority: j.Priority, Attempts: j.Attempts, Submitter: j.Submitter,
		CreatedAt: projections.Time(j.SubmittedAt).Format(timeFormat)}
	if j.FinishedAt != 0 {
		sm.FinishedAt = projections.Time(j.FinishedAt).Format(timeFormat)
	}
	if j.State != projections.Done {
		sm.Error = j.LastError
	}
	if j.State == projections.Queued || j.State == projections.Working {
		var v JobView
		s.estimate(&v, j)
		sm.Position, sm.ETA, sm.ETASeconds = v.Position, v.ETA, v.ETASeconds
	}
	return sm
}

const timeFormat = "2006-01-02T15:04:05.999999999Z07:00"

func validState(s projections.State) bool {
	for _, v := range projections.States {
		if v == s {
			return true
		}
	}
	return false
}
