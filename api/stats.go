package api

import (
	"context"
	"math"
	"net/http"
	"time"

	"github.com/julienschmidt/httprouter"

	"github.com/foreman-dev/foreman/api/metrics"
)

// Activity is the last hour as the metrics collector folded it
// (metrics.Collector).
type Activity interface {
	Window() metrics.Window
	// WaitFor returns once the collector has folded offset off.
	WaitFor(ctx context.Context, off uint64) error
}

// StatsView is GET /stats: the few numbers a person looks at, over the
// last hour (or since Since, when the daemon has seen less of the log).
type StatsView struct {
	Since         time.Time `json:"since"`
	WindowSeconds int64     `json:"window_seconds"`
	JobsFinished  int       `json:"jobs_finished"`
	JobsFailed    int       `json:"jobs_failed"`
	// JobsPerMinute is JobsFinished over the window, at least a minute.
	JobsPerMinute float64 `json:"jobs_per_minute"`
	Swaps         int     `json:"swaps"`
	// Waits counts the attempts started; MeanWaitSeconds is their mean
	// time runnable in the queue (0 with none), as
	// foreman_job_wait_seconds measures it.
	Waits           int     `json:"waits"`
	MeanWaitSeconds float64 `json:"mean_wait_seconds"`
}

// stats serves GET /stats. The sums are the collector's: nothing here
// walks the log.
func (s *Server) stats(w http.ResponseWriter, r *http.Request, _ httprouter.Params) {
	if s.cfg.Log != nil {
		// Read after write: what was durable when the request came counts.
		if err := s.cfg.Activity.WaitFor(r.Context(), s.cfg.Log.LastOffset()); err != nil {
			return // the caller left
		}
	}
	win := s.cfg.Activity.Window()
	span := max(s.cfg.Now().Sub(win.Since), 0)
	v := StatsView{
		Since: win.Since.UTC(), WindowSeconds: int64(span.Seconds()),
		JobsFinished: win.Finished, JobsFailed: win.Failed, Swaps: win.Swaps, Waits: win.Waits,
		JobsPerMinute: round2(float64(win.Finished) / max(span.Minutes(), 1)),
	}
	if win.Waits > 0 {
		v.MeanWaitSeconds = round2(win.WaitSum.Seconds() / float64(win.Waits))
	}
	writeJSON(w, http.StatusOK, v)
}

func round2(f float64) float64 { return math.Round(f*100) / 100 }
