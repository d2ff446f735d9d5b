package api

import (
	"context"
	"math"
	"time"

	"github.com/foreman-dev/foreman/projections"
)

// ModelForecast is GET /queue?model=M: what a job of model M submitted now
// at the default priority could expect of this daemon. A fleet (the Go
// client's Fleet, `foreman route`) asks every daemon and submits to the
// one with the earliest ETA among those that have the model.
type ModelForecast struct {
	Model string `json:"model"`
	// Available: the target's last known /api/tags lists the model. When
	// false, a submission would be refused (404) and nothing else is set.
	Available bool `json:"available"`
	// Swap: a model load is expected before it runs (counted in the ETA).
	Swap          bool       `json:"swap"`
	Position      int        `json:"position,omitempty"`
	ETA           *time.Time `json:"eta,omitempty"`
	ETASeconds    *int64     `json:"eta_seconds,omitempty"`
	ETAConfidence string     `json:"eta_confidence,omitempty"`
}

// forecastFor answers for model from the shared forecast in O(models ×
// priorities), corrected for what the queue did since the walk.
func (s *Server) forecastFor(ctx context.Context, q *projections.Queue, model string) *ModelForecast {
	mf := &ModelForecast{Model: model}
	if s.cfg.Inventory == nil || !s.hasModel(ctx, model) {
		return mf
	}
	mf.Available = true
	now := s.cfg.Now()
	rt := s.runTimes()
	run := s.runningLeft(q, rt, now)
	fc := s.forecast()
	pl := fc.newcomers.of(model)
	start, ahead := pl.start, pl.ahead
	if q.Version() != fc.version {
		ahead, start = sinceWalk(fc, q.Depths(), rt, ahead, start)
	}
	d := rt.Of(model)
	if pl.swap && s.cfg.SwapCost > 0 {
		d += s.cfg.SwapCost
	}
	end := now.Add(run.left + start + d).UTC()
	secs := int64(math.Ceil(max(end.Sub(now), 0).Seconds()))
	mf.Swap = pl.swap
	mf.Position = len(q.Working()) + ahead + 1
	mf.ETA, mf.ETASeconds, mf.ETAConfidence = &end, &secs, ConfidenceNormal
	if run.overrun {
		mf.ETAConfidence = ConfidenceLow
	}
	return mf
}

// inventoryRecheck is the least time between two re-polls of the target
// for a model its last list lacked: a model pulled since shows up within
// it, and a fleet asking every daemon for a model only some have does not
// make the others poll their targets on every submission.
const inventoryRecheck = 5 * time.Second

// hasModel is whether the target has model, re-polling it (at most once
// per inventoryRecheck) before saying no: right after start, before the
// first poll, and for a model pulled since.
func (s *Server) hasModel(ctx context.Context, model string) bool {
	if s.cfg.Inventory.Has(model) {
		return true
	}
	now, last := time.Now().UnixNano(), s.rechecked.Load()
	if now-last < int64(inventoryRecheck) || !s.rechecked.CompareAndSwap(last, now) {
		return false
	}
	ok, _ := s.cfg.Inventory.HasOrRefresh(ctx, model)
	return ok
}

// sinceWalk corrects a newcomer's place for the queue's changes since the
// walk, until the next walk places them: a job queued since at the
// newcomer's priority or above counts as ahead of it, and one of those
// that has left (started, cancelled) no longer does, each at its model's
// run time.
func sinceWalk(fc *forecast, now []projections.Depth, rt RunTimes, ahead int, start time.Duration) (int, time.Duration) {
	diff := map[projections.Depth]int{}
	for k, n := range fc.depths {
		diff[k] -= n
	}
	for _, d := range now {
		diff[projections.Depth{Model: d.Model, Priority: d.Priority}] += d.Queued
	}
	for k, n := range diff {
		if k.Priority < fc.newcomers.prio || n == 0 {
			continue
		}
		ahead += n
		start += time.Duration(n) * rt.Of(k.Model)
	}
	return max(ahead, 0), max(start, 0)
}
