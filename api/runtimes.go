package api

import (
	"cmp"
	"slices"
	"sync"
	"time"

	"github.com/foreman-dev/foreman/projections"
)

// Run-time estimates come from the jobs that finished recently: a job's run
// is FinishedAt - StartedAt of its last attempt, which includes the model
// load when the target had to swap. They are derived from the projections
// only (no state of their own), so they survive a restart and agree with
// the log.

// RunTimeWindow is how many recently finished jobs the estimates learn from.
const RunTimeWindow = 200

// runTimeAlpha weighs each newer run in the exponentially weighted mean:
// recent runs count more, so the estimate follows a model that got slower.
const runTimeAlpha = 0.3

// runTimeTTL is how long learned estimates are reused before the recent
// jobs are read again.
const runTimeTTL = 5 * time.Second

// RunTimes is what the estimator learned.
type RunTimes struct {
	// PerModel is the weighted mean run time of each model's jobs.
	PerModel map[string]time.Duration
	// Overall is the weighted mean over every model: the guess for a model
	// with no history yet.
	Overall time.Duration
	// Default is used when nothing has finished at all.
	Default time.Duration
}

// LearnRunTimes computes the estimates from finished jobs (any order;
// those without both times are skipped), oldest finish first so that the
// newest runs weigh most.
func LearnRunTimes(finished []projections.Job, def time.Duration) RunTimes {
	js := slices.Clone(finished)
	slices.SortFunc(js, func(a, b projections.Job) int { return cmp.Compare(a.FinishedAt, b.FinishedAt) })
	rt := RunTimes{PerModel: map[string]time.Duration{}, Default: def}
	ewma := func(prev time.Duration, seen bool, d time.Duration) time.Duration {
		if !seen {
			return d
		}
		return prev + time.Duration(runTimeAlpha*float64(d-prev))
	}
	seenAny := false
	for _, j := range js {
		if j.StartedAt == 0 || j.FinishedAt < j.StartedAt {
			continue
		}
		d := time.Duration(j.FinishedAt - j.StartedAt)
		prev, seen := rt.PerModel[j.Model]
		rt.PerModel[j.Model] = ewma(prev, seen, d)
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
	if d, ok := rt.PerModel[model]; ok {
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

// runTimes returns the estimates, reading the recent done jobs again when
// the cached ones are older than runTimeTTL. A failed read keeps the last
// estimates (or the default).
func (s *Server) runTimes() RunTimes {
	now := s.cfg.Now()
	c := &s.est
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.rt != nil && now.Sub(c.at) < runTimeTTL && !now.Before(c.at) {
		return *c.rt
	}
	done, _, err := s.cfg.Jobs.List(projections.Filter{State: projections.Done, Limit: RunTimeWindow})
	if err != nil {
		s.cfg.Logger.Warn("cannot read recent jobs for run-time estimates", "err", err)
		if c.rt != nil {
			return *c.rt
		}
	}
	rt := LearnRunTimes(done, s.cfg.DefaultRunTime)
	c.rt, c.at = &rt, now
	return rt
}
