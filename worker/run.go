package worker

import (
	"context"
	"errors"
	"fmt"
	"time"
)

// Causes with which an attempt's context is cancelled.
var (
	errCancelRequested = errors.New("job cancelled")
	errShutdown        = errors.New("foreman shutting down")
	errTimeout         = errors.New("attempt timed out")
)

// Run takes jobs until ctx ends. Then it takes no new job, gives the
// running one ShutdownGrace to finish, and after that aborts it and records
// an interruption that does not use up an attempt.
func (w *Worker) Run(ctx context.Context) error {
	w.warm(ctx)
	var cur *running
	stopping := ctx.Done()
	var grace <-chan time.Time
	for {
		changed := w.cfg.Jobs.Changed()
		var wake time.Time
		if w.cfg.Jobs.Applied() >= w.lastOff { // act only on views that include our own events
			q := w.cfg.Jobs.Queue()
			if err := w.cancelQueued(ctx, q.CancelRequested()); err != nil {
				return err
			}
			if cur != nil {
				cur.checkCancel(w.cfg.Jobs)
			} else if stopping != nil {
				e, ok, at := w.sched.Pick(q, w.cfg.Residency.Loaded(), w.cfg.Now())
				wake = at
				if ok {
					job, err := w.cfg.Jobs.Job(e.ID)
					if err != nil {
						return fmt.Errorf("worker: read picked job %s: %w", e.ID, err)
					}
					if cur, err = w.start(ctx, job); err != nil {
						return err
					}
					continue // a failed start (cur nil) picks again once applied
				}
			}
		}
		if cur == nil && stopping == nil {
			return nil
		}
		var timer *time.Timer
		var fire <-chan time.Time
		if !wake.IsZero() {
			timer = time.NewTimer(max(wake.Sub(w.cfg.Now()), 0))
			fire = timer.C
		}
		var done <-chan outcome
		if cur != nil {
			done = cur.done
		}
		select {
		case <-changed:
		case <-fire:
		case out := <-done:
			var err error
			// No next job once stopping, even before this select has seen it.
			if cur, err = w.finish(ctx, cur, out, stopping != nil && ctx.Err() == nil); err != nil {
				return err
			}
		case <-stopping:
			stopping = nil
			if cur != nil {
				grace = time.After(w.cfg.ShutdownGrace)
			}
		case <-grace:
			cur.cancel(errShutdown)
		}
		if timer != nil {
			timer.Stop()
		}
	}
}

// checkCancel aborts the running attempt when its job was asked to cancel.
func (r *running) checkCancel(jobs Jobs) {
	j, err := jobs.Job(r.job.ID)
	if err == nil && j.CancelRequested {
		r.cancel(errCancelRequested)
	}
	if err == nil && !j.State.Terminal() {
		return
	}
	r.cancel(errCancelRequested) // no longer active: nothing to run for
}
