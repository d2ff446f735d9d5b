package api

import (
	"net/http"
	"time"

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
}

// QueueDepth counts queued jobs of one model at one priority.
type QueueDepth struct {
	Model    string `json:"model"`
	Priority int    `json:"priority"`
	Queued   int    `json:"queued"`
}

func (s *Server) queue(w http.ResponseWriter, r *http.Request, _ httprouter.Params) {
	active := s.cfg.Jobs.Active()
	v := QueueView{Loaded: []string{}, Depth: []QueueDepth{}}
	for _, m := range s.cfg.Inventory.Running() {
		v.Loaded = append(v.Loaded, m.Name)
	}
	idx := map[[2]any]int{}
	for _, j := range active {
		switch j.State {
		case projections.Working:
			sm := summary(j)
			v.Running = &sm
		case projections.Queued:
			v.Waiting++
			k := [2]any{j.Model, j.Priority}
			i, ok := idx[k]
			if !ok {
				i = len(v.Depth)
				idx[k] = i
				v.Depth = append(v.Depth, QueueDepth{Model: j.Model, Priority: j.Priority})
			}
			v.Depth[i].Queued++
		}
	}
	if s.cfg.Scheduler != nil && v.Running == nil {
		if next, ok := s.cfg.Scheduler.Peek(active, v.Loaded, time.Now()); ok {
			sm := summary(next)
			v.Next = &sm
		}
	}
	writeJSON(w, http.StatusOK, v)
}
