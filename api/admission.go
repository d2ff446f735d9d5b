package api

import (
	"math"
	"time"

	"github.com/oklog/ulid/v2"

	"github.com/foreman-dev/foreman/projections"
)

// queueFull reports whether MaxQueue jobs are waiting, and a Retry-After
// in seconds: the forecast time until enough queued jobs have started for
// the queue to be below the cap again (eta.go), at least a second.
func (s *Server) queueFull() (retryAfter int, full bool) {
	if s.cfg.MaxQueue <= 0 {
		return 0, false
	}
	active := s.cfg.Jobs.Active()
	waiting := 0
	for _, j := range active {
		if j.State == projections.Queued {
			waiting++
		}
	}
	if waiting < s.cfg.MaxQueue {
		return 0, false
	}
	return s.retryAfter(active, waiting-s.cfg.MaxQueue+1), true
}

// retryAfter is the whole seconds, at least 1, until n queued jobs have
// started.
func (s *Server) retryAfter(active []projections.Job, n int) int {
	now := s.cfg.Now()
	return seconds(s.forecast(active, now, ulid.ULID{}, n).untilStarted(n, now))
}

// seconds rounds d up to whole seconds, at least 1.
func seconds(d time.Duration) int {
	return max(1, int(math.Ceil(d.Seconds())))
}

// estimate fills in a queued or working job's position and ETA.
func (s *Server) estimate(v *JobView, j projections.Job) {
	if j.State != projections.Queued && j.State != projections.Working {
		return
	}
	now := s.cfg.Now()
	fc := s.forecast(s.cfg.Jobs.Active(), now, j.ID, 0)
	var end time.Time
	switch sl, pos, ok := fc.of(j.ID); {
	case ok:
		end, v.Position = sl.end, &pos
	case j.State == projections.Working:
		end = now.Add(remaining(fc.rt.Of(j.Model), now.Sub(projections.Time(j.StartedAt))))
	default:
		return // cancel requested, or not active any more
	}
	end = end.UTC()
	secs := int64(math.Ceil(max(end.Sub(now), 0).Seconds()))
	v.ETA, v.ETASeconds = &end, &secs
}
