package api

import (
	"fmt"
	"net/http"
	"strconv"

	"github.com/foreman-dev/foreman/projections"
)

// MaxUpcoming caps GET /queue?upcoming=N.
const MaxUpcoming = 50

// parseUpcoming reads ?upcoming=N (0 when absent), answering 400 itself.
func parseUpcoming(w http.ResponseWriter, r *http.Request) (int, bool) {
	v := r.URL.Query().Get("upcoming")
	if v == "" {
		return 0, true
	}
	n, err := strconv.Atoi(v)
	if err != nil || n < 1 || n > MaxUpcoming {
		writeError(w, http.StatusBadRequest, fmt.Sprintf("invalid upcoming %q: want 1 to %d", v, MaxUpcoming))
		return 0, false
	}
	return n, true
}

// upcoming is the first n queued jobs in the order the shared forecast
// expects them to start: the dashboard's "next up". A list of jobs newest
// first cannot say this under a deep queue. Jobs that left the queue since
// the forecast was made are skipped; a job submitted since is not there
// yet (the next walk places it, within refreshGap).
//
// pending reports whether the estimates predate the queue's latest change:
// a new forecast is being made (or will be, on the next read after
// refreshGap), so a reader that wants settled numbers asks again.
func (s *Server) upcoming(n int) (out []JobSummary, pending bool) {
	out = make([]JobSummary, 0, n)
	fc := s.forecast()
	pending = fc.version != s.cfg.Jobs.Queue().Version()
	for i := 0; i < len(fc.slots) && len(out) < n && i < n+maxStale; i++ {
		j, err := s.cfg.Jobs.Job(fc.slots[i].id)
		if err != nil || j.State != projections.Queued || j.CancelRequested {
			continue
		}
		out = append(out, s.summary(j))
	}
	return out, pending
}

// maxStale bounds the slots upcoming skips, so that a forecast made before
// a burst of starts costs a bounded number of lookups.
const maxStale = 1000
