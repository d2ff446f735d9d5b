package api

import (
	"strings"
	"time"

	"github.com/foreman-dev/foreman/projections"
)

// A newcomer is a job not submitted yet: GET /queue?model=M asks where a
// job of model M submitted now at the default priority would run, so that
// a fleet can send it to the daemon that finishes it first. The answer is
// worked out in the forecast's walk for every model at once (the models
// queued or loaded, and one answer for all the others), so a question
// costs O(models), never a walk of the queue.
//
// The walk asks, before each simulated pick, whether the scheduler would
// pick the newcomer instead: it is the youngest job, so it goes first once
// nothing of a higher priority is ready, no older job of its model and
// priority is left, and either its model is loaded and no other loaded
// model has a job of its priority left, or no job of its priority is left
// at all. A starving job the scheduler would put first is not foreseen.

// DefaultPriority is the priority of a job that names none.
const DefaultPriority = 0

// place is where a newcomer would run: after ahead queued jobs, starting
// at start (relative to the running job's end), after a model load if swap.
type place struct {
	ahead int
	start time.Duration
	swap  bool
}

// newcomers follows the newcomers of one priority through a walk.
type newcomers struct {
	prio    int
	placed  map[string]place    // by normModel
	pending map[string]struct{} // models not placed yet
	other   *place              // any model neither queued nor loaded
	ready   map[string]bool     // scratch: models with a ready job of prio
}

// newNewcomers starts following the models queued in c or loaded.
func newNewcomers(prio int, c *projections.Queue, loaded []string) *newcomers {
	n := &newcomers{prio: prio, placed: map[string]place{}, pending: map[string]struct{}{}, ready: map[string]bool{}}
	for _, d := range c.Depths() {
		n.pending[normModel(d.Model)] = struct{}{}
	}
	for _, m := range loaded {
		n.pending[normModel(m)] = struct{}{}
	}
	return n
}

// step places, before a pick at simulated time t after picked jobs, the
// newcomers the scheduler would pick now.
func (n *newcomers) step(r projections.Ready, loaded []string, picked int, t time.Duration) {
	if len(n.pending) == 0 && n.other != nil {
		return
	}
	top, ok := r.TopPriority()
	if ok && top > n.prio {
		return
	}
	anyReady := ok && top == n.prio
	clear(n.ready)
	loadedReady := false
	if anyReady {
		r.ModelsIn(n.prio, func(m string) {
			n.ready[normModel(m)] = true
			loadedReady = loadedReady || isLoaded(loaded, m)
		})
	}
	at := func(swap bool) place { return place{ahead: picked, start: t, swap: swap} }
	for m := range n.pending {
		if n.ready[m] {
			continue // an older job of its model and priority goes first
		}
		switch {
		case !anyReady:
			n.placed[m] = at(!isLoaded(loaded, m))
		case isLoaded(loaded, m) && !loadedReady:
			n.placed[m] = at(false)
		default:
			continue
		}
		delete(n.pending, m)
	}
	if n.other == nil && !anyReady {
		p := at(true)
		n.other = &p
	}
}

// rest places what is still pending at t: the walk has gone past the
// jobs that would run before them.
func (n *newcomers) rest(loaded []string, picked int, t time.Duration) {
	for m := range n.pending {
		n.placed[m] = place{ahead: picked, start: t, swap: !isLoaded(loaded, m)}
		delete(n.pending, m)
	}
	if n.other == nil {
		n.other = &place{ahead: picked, start: t, swap: true}
	}
}

// of is where a newcomer of model m would run.
func (n *newcomers) of(m string) place {
	if p, ok := n.placed[normModel(m)]; ok {
		return p
	}
	return *n.other
}

// normModel spells a model as the target lists it ("m" is "m:latest").
func normModel(m string) string {
	if !strings.Contains(m, ":") {
		return m + ":latest"
	}
	return m
}
