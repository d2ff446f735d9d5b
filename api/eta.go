package api

import (
	"math"
	"slices"
	"time"

	"github.com/foreman-dev/foreman/projections"
)

// ETA confidence (JobView.ETAConfidence).
const (
	// ConfidenceNormal: every run ahead is within its estimate.
	ConfidenceNormal = "normal"
	// ConfidenceLow: the running job has overrun its estimate, so when it
	// ends, and so everything behind it, is a guess.
	ConfidenceLow = "low"
)

// runLeft is what the forecast expects of the running job.
type runLeft struct {
	left    time.Duration // until it ends (0 when nothing runs)
	overrun bool
}

// runningLeft is how long the running job (if any) should still run.
func (s *Server) runningLeft(q *projections.Queue, rt RunTimes, now time.Time) runLeft {
	var out runLeft
	for _, w := range q.Working() {
		left, over := s.remaining(rt.Of(w.Model), now.Sub(projections.Time(w.StartedAt)))
		out.left += left
		out.overrun = out.overrun || over
	}
	return out
}

// remaining is what is left of a run estimated at est after elapsed. Past
// its estimate the end of a run is unknown; a run that has overrun tends
// to go on about as long as it has run so far, so that is the guess,
// though never past the job timeout, when the worker cuts it. It is never
// zero: an overrunning job still holds the worker.
func (s *Server) remaining(est, elapsed time.Duration) (time.Duration, bool) {
	if elapsed < est {
		return est - elapsed, false
	}
	left := max(elapsed, time.Second)
	if t := s.cfg.JobTimeout; t > 0 {
		left = min(left, max(t-elapsed, time.Second))
	}
	return left, true
}

// seconds rounds d up to whole seconds, at least 1.
func seconds(d time.Duration) int {
	return max(1, int(math.Ceil(d.Seconds())))
}

// estimate fills in a queued or working job's position and ETA, from the
// shared forecast in O(1).
func (s *Server) estimate(v *JobView, j projections.Job) {
	if j.State != projections.Queued && j.State != projections.Working {
		return
	}
	now := s.cfg.Now()
	rt := s.runTimes()
	q := s.cfg.Jobs.Queue()
	run := s.runningLeft(q, rt, now)
	var end time.Time
	switch {
	case j.State == projections.Working:
		left, over := s.remaining(rt.Of(j.Model), now.Sub(projections.Time(j.StartedAt)))
		end, run.overrun = now.Add(left), over
	case j.CancelRequested:
		return
	default:
		fc := s.forecast()
		running := len(q.Working())
		if sl, i, ok := fc.of(j.ID); ok {
			end = now.Add(run.left + sl.end)
			pos := running + i + 1
			v.Position = &pos
		} else {
			// Submitted after the forecast was made: behind what it knew,
			// until the next walk places it.
			end = now.Add(run.left + fc.tail() + rt.Of(j.Model))
			pos := running + q.Len()
			v.Position = &pos
		}
	}
	end = end.UTC()
	secs := int64(math.Ceil(max(end.Sub(now), 0).Seconds()))
	conf := ConfidenceNormal
	if run.overrun {
		conf = ConfidenceLow
	}
	v.ETA, v.ETASeconds, v.ETAConfidence = &end, &secs, conf
}

// isLoaded matches a job's model against the loaded names, which the
// target reports with a tag ("m" is "m:latest").
func isLoaded(loaded []string, model string) bool {
	return slices.ContainsFunc(loaded, func(m string) bool { return normModel(m) == normModel(model) })
}
