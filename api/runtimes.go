package api

import (
	"cmp"
	"slices"
	"sync"
	"time"

	"github.com/foreman-dev/foreman/projections"
)

// Run-time estimates come from the jobs that finished recently
// (projections.Runs, the last projections.RunsKept): a job's run is
// FinishedAt - StartedAt of its last attempt, which includes the model
// load when the target had to swap. They are derived from the projections
// only (no state of their own), so they survive a restart and agree with
// the log.

// runTimeAlpha weighs each newer run in the exponentially weighted mean:
// recent runs count more, so the estimate follows a model that got slower.
const runTimeAlpha = 0.3

// runTimeTTL is how long learned estimates are reused before the recent
// jobs are read again.
const runTimeTTL = 5 * time.Second

// RunTimes is what the estimator learned.
type RunTimes struct {
	// PerModel is the weighted mean run time of each model's jobs, by
	// normModel ("m" and "m:latest" are one model).
	PerModel map[string]time.Duration
	// Overall is the weighted mean over every model: the guess for a model
	// with no history yet.
	Overall time.Duration
	// Default is used when nothing has finished at all.
	Default time.Duration
}

// LearnRunTimes computes the estimates from finished runs, oldest finish
// first so that the newest runs weigh most (any order is sorted; runs
// without both times are skipped).
func LearnRunTimes(finished []projections.Run, def time.Duration) RunTimes {
	rs := slices.Clone(finished)
	slices.SortStableFunc(rs, func(a, b projections.Run) int { return cmp.Compare(a.FinishedAt, b.FinishedAt) })
	rt := RunTimes{PerModel: map[string]time.Duration{}, Default: def}
	ewma := func(prev time.Duration, seen bool, d time.Duration) time.Duration {
		if !seen {
			return d
		}
		return prev + time.Duration(runTimeAlpha*float64(d-prev))
	}
	seenAny := false
	for _, j := range rs {
		if j.StartedAt == 0 || j.FinishedAt < j.StartedAt {
			continue
		}
		d := time.Duration(j.FinishedAt - j.StartedAt)
		m := normModel(j.Model)
		prev, seen := rt.PerModel[m]
		rt.PerModel[m] = ewma(prev, seen, d)
		rt.Overall = ewma(rt.Overall, seenAny, d)
		seenAny = true
	}
	if !seenAny {
		rt.Overall = def
	}
	return rt
}

// Of is the estimated run time of a job of model.
func (rt RunTimes) Of(model string) time.Duration {
	if d, ok := rt.PerModel[normModel(model)]; ok {
		return d
	}
	return cmp.Or(rt.Overall, rt.Default)
}

// runTimeCache keeps the last learned RunTimes for runTimeTTL.
type runTimeCache struct {
	mu sync.Mutex
	at time.Time
	rt *RunTimes
}

// runTimes returns the estimates, learning them again from the
// projections' last runs when the cached ones are older than runTimeTTL.
func (s *Server) runTimes() RunTimes {
	now := s.cfg.Now()
	c := &s.est
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.rt != nil && now.Sub(c.at) < runTimeTTL && !now.Before(c.at) {
		return *c.rt
	}
	rt := LearnRunTimes(s.cfg.Jobs.Runs(), s.cfg.DefaultRunTime)
	c.rt, c.at = &rt, now
	return rt
}
