package api

import (
	"net/http"

	"github.com/julienschmidt/httprouter"

	"github.com/foreman-dev/foreman/projections"
)

// QueueView is GET /queue: what the scheduler sees.
type QueueView struct {
	Loaded  []string     `json:"loaded"`
	Depth   []QueueDepth `json:"depth"`
	Waiting int          `json:"waiting"`
	Running *JobSummary  `json:"running,omitempty"`
	Next    *JobSummary  `json:"next,omitempty"`
	// Upcoming answers ?upcoming=N: the next queued jobs in the order they
	// should start (queue_upcoming.go).
	Upcoming []JobSummary `json:"upcoming,omitempty"`
	// EstimatesPending (with ?upcoming) says the forecast behind the
	// positions and ETAs predates the queue's latest change; a fresh one
	// is being made, so ask again in a second for settled numbers.
	EstimatesPending bool `json:"estimates_pending,omitempty"`
	// Forecast answers ?model=M (queue_model.go).
	Forecast *ModelForecast `json:"forecast,omitempty"`
	// Offset is the last event this view includes: a reader that follows
	// GET /events from Offset+1 misses no change after it (the dashboard).
	Offset uint64 `json:"offset"`
}

// QueueDepth counts queued jobs of one model at one priority.
type QueueDepth struct {
	Model    string `json:"model"`
	Priority int    `json:"priority"`
	Queued   int    `json:"queued"`
}

// queue serves GET /queue from the queue projection's counts and index:
// O(models × priorities + log n), whatever the depth; with ?model=M, also
// where a job of M submitted now would run, from the shared forecast; with
// ?upcoming=N, the next N queued jobs in the order they should start.
func (s *Server) queue(w http.ResponseWriter, r *http.Request, _ httprouter.Params) {
	upcoming, ok := parseUpcoming(w, r)
	if !ok {
		return
	}
	var off uint64
	if s.cfg.Log != nil {
		off = s.cfg.Log.LastOffset() // read first: the view then includes at least this
	}
	if err := s.readLatest(r.Context()); err != nil {
		return // the caller left
	}
	q := s.cfg.Jobs.Queue()
	v := QueueView{Loaded: []string{}, Depth: []QueueDepth{}, Waiting: q.Len(), Offset: off}
	for _, m := range s.cfg.Inventory.Running() {
		v.Loaded = append(v.Loaded, m.Name)
	}
	for _, d := range q.Depths() {
		v.Depth = append(v.Depth, QueueDepth{Model: d.Model, Priority: d.Priority, Queued: d.Queued})
	}
	if w := q.Working(); len(w) > 0 {
		v.Running = s.summaryOf(w[len(w)-1])
	}
	if s.cfg.Scheduler != nil && v.Running == nil {
		var next projections.Entry
		var ok bool
		now := s.cfg.Now()
		q.Ready(now, func(rd projections.Ready) { next, ok = s.cfg.Scheduler.Peek(rd, v.Loaded, now) })
		if ok {
			v.Next = s.summaryOf(next)
		}
	}
	if m := r.URL.Query().Get("model"); m != "" {
		v.Forecast = s.forecastFor(r.Context(), q, m)
	}
	if upcoming > 0 {
		v.Upcoming, v.EstimatesPending = s.upcoming(upcoming)
	}
	writeJSON(w, http.StatusOK, v)
}

// summaryOf is the summary of a queue entry's job (nil when it is gone).
func (s *Server) summaryOf(e projections.Entry) *JobSummary {
	j, err := s.cfg.Jobs.Job(e.ID)
	if err != nil {
		return nil
	}
	sm := s.summary(j)
	return &sm
}
