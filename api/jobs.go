package api

import (
	"context"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"time"
	"unicode"

	"github.com/julienschmidt/httprouter"
	"github.com/oklog/ulid/v2"

	"github.com/foreman-dev/foreman/eventlog"
	"github.com/foreman-dev/foreman/projections"
)

// InlineArtifactMax is the largest artifact GET /jobs/{id} carries inline;
// larger ones are given by URL (ADR-0006).
const InlineArtifactMax = 256 << 10

func (s *Server) jobRoutes() {
	r, a := s.router, s.auth.require
	r.POST("/jobs", a(s.submits(s.submitJob)))
	r.GET("/jobs/:id", a(s.getJob))
	r.DELETE("/jobs/:id", a(s.writes(s.cancelJob)))
	r.POST("/jobs/:id/retry", a(s.submits(s.retryJob)))
	r.GET("/jobs/:id/artifacts/*name", a(s.getArtifact))
	r.GET("/jobs", a(s.listJobs))
	r.GET("/jobs/:id/stream", a(s.streamJob))
	r.GET("/jobs/:id/events", a(s.jobEvents))
	r.GET("/queue", a(s.queue))
	r.POST("/webhooks/replay", a(s.writes(s.replayWebhooks)))
}

// JobView is the JSON of GET /jobs/{id} (docs/api.md).
type JobView struct {
	JobID       string          `json:"job_id"`
	State       string          `json:"state"`
	Model       string          `json:"model"`
	Kind        string          `json:"kind"`
	Priority    int             `json:"priority"`
	Submitter   string          `json:"submitter,omitempty"`
	CreatedAt   time.Time       `json:"created_at"`
	StartedAt   *time.Time      `json:"started_at,omitempty"`
	FinishedAt  *time.Time      `json:"finished_at,omitempty"`
	UpdatedAt   time.Time       `json:"updated_at"`
	Attempts    int             `json:"attempts"`
	MaxAttempts int             `json:"max_attempts"`
	Error       string          `json:"error,omitempty"`
	Status      int             `json:"status,omitempty"`
	Result      json.RawMessage `json:"result,omitempty"`
	Artifacts   []ArtifactView  `json:"artifacts"`
	// Position (queued only) is 1 + the jobs that should run before this
	// one, the running job included.
	Position *int `json:"position,omitempty"`
	// ETA (queued or working) is when the job should finish, and
	// ETASeconds the seconds until then, rounded up (docs/api.md, eta.go).
	ETA        *time.Time `json:"eta,omitempty"`
	ETASeconds *int64     `json:"eta_seconds,omitempty"`
	// ETAConfidence is "normal", or "low" when the running job has overrun
	// its estimate and so the ETA is a guess (eta.go).
	ETAConfidence string `json:"eta_confidence,omitempty"`
	// Tokens (working only) is what the running attempt has produced so
	// far: the lines Ollama streamed, about one token each (progress.go).
	Tokens *int   `json:"tokens,omitempty"`
	Offset uint64 `json:"offset"`
}

// ArtifactView is one artifact: inline (data, base64) up to 256 KiB, by
// absolute URL above.
type ArtifactView struct {
	Name        string `json:"name"`
	ContentType string `json:"content_type"`
	Size        int64  `json:"size"`
	SHA256      string `json:"sha256"`
	Data        []byte `json:"data,omitempty"`
	URL         string `json:"url,omitempty"`
}

func stamp(ns int64) *time.Time {
	if ns == 0 {
		return nil
	}
	t := projections.Time(ns)
	return &t
}

// view renders a job; base is the absolute URL prefix for artifacts.
func (s *Server) view(j projections.Job, base string) (JobView, error) {
	v := JobView{
		JobID: j.ID.String(), State: string(j.State), Model: j.Model, Kind: string(j.Kind),
		Priority: j.Priority, Submitter: j.Submitter, CreatedAt: projections.Time(j.SubmittedAt),
		StartedAt: stamp(j.StartedAt), FinishedAt: stamp(j.FinishedAt), UpdatedAt: projections.Time(j.UpdatedAt),
		Attempts: j.Attempts, MaxAttempts: j.MaxAttempts, Error: j.LastError, Status: j.LastStatus,
		Artifacts: []ArtifactView{}, Offset: j.LastOffset,
	}
	if j.State == projections.Done {
		v.Error = "" // Status stays: the OpenAI kinds record the target's 200
	}
	for _, a := range j.Artifacts {
		av := ArtifactView{Name: a.Name, ContentType: a.ContentType, Size: a.Size, SHA256: hex.EncodeToString(a.SHA256)}
		if a.Size <= InlineArtifactMax {
			data, err := s.cfg.Log.Blob(a.Blob)
			if err != nil {
				return v, fmt.Errorf("artifact %s: %w", a.Name, err)
			}
			av.Data = data
			if a.Name == j.Result && json.Valid(data) {
				v.Result = data
			}
		} else {
			av.URL = base + "/jobs/" + j.ID.String() + "/artifacts/" + a.Name
		}
		v.Artifacts = append(v.Artifacts, av)
	}
	s.estimate(&v, j)
	if n, ok := s.cfg.Hub.Tokens(j.ID); ok && j.State == projections.Working {
		v.Tokens = &n
	}
	return v, nil
}

func (s *Server) baseURL(r *http.Request) string {
	if s.cfg.PublicURL != "" {
		return strings.TrimRight(s.cfg.PublicURL, "/")
	}
	scheme := "http"
	if r.TLS != nil {
		scheme = "https"
	}
	return scheme + "://" + r.Host
}

// lookup parses the id and finds the job, answering 400 or 404 itself.
// A job the projections do not know yet may have been acknowledged a
// moment ago: it looks again once they include every durable event.
func (s *Server) lookup(ctx context.Context, w http.ResponseWriter, ps httprouter.Params) (projections.Job, bool) {
	id, err := ulid.ParseStrict(ps.ByName("id"))
	if err != nil {
		writeError(w, http.StatusBadRequest, fmt.Sprintf("invalid job id %q: want a ULID", ps.ByName("id")))
		return projections.Job{}, false
	}
	j, err := s.cfg.Jobs.Job(id)
	if errors.Is(err, projections.ErrNotFound) && s.cfg.Log != nil {
		switch werr := s.cfg.Jobs.WaitFor(ctx, s.cfg.Log.LastOffset()); {
		case werr == nil:
			j, err = s.cfg.Jobs.Job(id) // submitted a moment ago: applied now
		case errors.Is(werr, projections.ErrStopped): // it may be in the log all the same
			writeError(w, http.StatusServiceUnavailable, fmt.Sprintf("job %s is not in the job views, which stopped short of the log's end (the event log failed, or foreman is stopping)", id))
			return j, false
		}
	}
	if errors.Is(err, projections.ErrNotFound) {
		writeError(w, http.StatusNotFound, fmt.Sprintf("job %s not found", id))
		return j, false
	}
	if err != nil {
		writeError(w, http.StatusInternalServerError, err.Error())
		return j, false
	}
	return j, true
}

func (s *Server) getJob(w http.ResponseWriter, r *http.Request, ps httprouter.Params) {
	j, ok := s.lookup(r.Context(), w, ps)
	if !ok {
		return
	}
	v, err := s.view(j, s.baseURL(r))
	if err != nil {
		writeError(w, http.StatusInternalServerError, err.Error())
		return
	}
	writeJSON(w, http.StatusOK, v)
}

// validArtifactName refuses path tricks and control characters.
func validArtifactName(name string) bool {
	if name == "" || len(name) > 255 || name == "." || name == ".." || strings.ContainsAny(name, `/\`) {
		return false
	}
	for _, r := range name {
		if unicode.IsControl(r) || r == unicode.ReplacementChar {
			return false
		}
	}
	return true
}

func (s *Server) getArtifact(w http.ResponseWriter, r *http.Request, ps httprouter.Params) {
	name := strings.TrimPrefix(ps.ByName("name"), "/")
	if !validArtifactName(name) {
		writeError(w, http.StatusBadRequest, fmt.Sprintf("invalid artifact name %q", name))
		return
	}
	j, ok := s.lookup(r.Context(), w, ps)
	if !ok {
		return
	}
	a, ok := j.Artifact(name)
	if !ok {
		writeError(w, http.StatusNotFound, fmt.Sprintf("job %s has no artifact %q", j.ID, name))
		return
	}
	data, err := s.cfg.Log.Blob(a.Blob)
	if err != nil {
		writeError(w, http.StatusInternalServerError, err.Error())
		return
	}
	w.Header().Set("Content-Type", a.ContentType)
	w.Header().Set("X-Content-Type-Options", "nosniff")
	w.Header().Set("ETag", `"`+hex.EncodeToString(a.SHA256)+`"`)
	w.WriteHeader(http.StatusOK)
	// In pieces under the write guard: a reader that stops is cut, and
	// the artifact's bytes are not held for it.
	g := s.guardWrites(w)
	for len(data) > 0 {
		n := min(len(data), 64<<10)
		g.extend()
		if _, err := w.Write(data[:n]); err != nil {
			return
		}
		data = data[n:]
	}
}

// cancelJob records a cancel request; the worker removes a queued job at
// once or aborts a running one (which may still finish done first).
func (s *Server) cancelJob(w http.ResponseWriter, r *http.Request, ps httprouter.Params) {
	j, ok := s.lookup(r.Context(), w, ps)
	if !ok {
		return
	}
	if j.State.Terminal() {
		writeError(w, http.StatusConflict, fmt.Sprintf("job %s is already %s", j.ID, j.State))
		return
	}
	if _, err := s.cfg.Log.Append(r.Context(), eventlog.Record{Job: j.ID, Type: eventlog.CancelRequested,
		Payload: &eventlog.CancelRequest{Reason: "DELETE /jobs/{id}", By: Caller(r.Context())}}); err != nil {
		writeError(w, http.StatusServiceUnavailable, err.Error())
		return
	}
	writeJSON(w, http.StatusAccepted, map[string]string{"job_id": j.ID.String(), "state": string(j.State)})
}

// retryJob puts a failed or cancelled job back in the queue with a fresh
// attempt budget. Nothing leaves done.
func (s *Server) retryJob(w http.ResponseWriter, r *http.Request, ps httprouter.Params) {
	j, ok := s.lookup(r.Context(), w, ps)
	if !ok {
		return
	}
	if j.State != projections.Failed && j.State != projections.Cancelled {
		writeError(w, http.StatusConflict, fmt.Sprintf("job %s is %s: only failed or cancelled jobs can be retried", j.ID, j.State))
		return
	}
	evs, err := s.cfg.Log.Append(r.Context(), eventlog.Record{Job: j.ID, Type: eventlog.JobRequeued,
		Payload: &eventlog.Requeue{Reason: "POST /jobs/{id}/retry", By: Caller(r.Context())}})
	if err != nil {
		writeError(w, http.StatusServiceUnavailable, err.Error())
		return
	}
	if err := s.cfg.Jobs.WaitFor(r.Context(), evs[0].Offset); err != nil && !errors.Is(err, projections.ErrStopped) {
		return // the caller left; the requeue is durable all the same
	}
	writeJSON(w, http.StatusAccepted, map[string]string{"job_id": j.ID.String(), "state": string(projections.Queued)})
}

// RenderJob renders a job as GET /jobs/{id} does, with artifact URLs under
// PublicURL; the webhook dispatcher sends it with terminal events.
func (s *Server) RenderJob(j projections.Job) ([]byte, error) {
	v, err := s.view(j, strings.TrimRight(s.cfg.PublicURL, "/"))
	if err != nil {
		return nil, err
	}
	return json.Marshal(v)
}

// readLatest waits until the projections include every event durable now,
// so that a read follows every acknowledged write (POST /jobs answers
// before the projections apply the job). It returns at once when they
// are caught up, as they nearly always are, and once the projections
// have stopped (the log failed, or the daemon is stopping).
func (s *Server) readLatest(ctx context.Context) error {
	if s.cfg.Log == nil {
		return nil
	}
	err := s.cfg.Jobs.WaitFor(ctx, s.cfg.Log.LastOffset())
	if errors.Is(err, projections.ErrStopped) {
		return nil // they will not catch up: serve what they hold
	}
	return err
}
