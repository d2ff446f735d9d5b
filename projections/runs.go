package projections

import "sync"

// RunsKept is how many finished runs the projections remember for the
// run-time estimates.
const RunsKept = 256

// Run is one job that ended done: its model and the times of its last
// attempt, which include a model load when the target had to swap.
type Run struct {
	Model                 string
	StartedAt, FinishedAt int64 // unix ns
}

// runs is a ring of the last RunsKept finished runs, kept as jobs finish,
// so that the estimates never have to look for done jobs behind a deep
// queue of newer ones.
type runs struct {
	mu   sync.Mutex
	ring []Run
	next int
}

func (r *runs) add(rs []Run) {
	if len(rs) == 0 {
		return
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	for _, x := range rs {
		if len(r.ring) < RunsKept {
			r.ring = append(r.ring, x)
			continue
		}
		r.ring[r.next] = x
		r.next = (r.next + 1) % RunsKept
	}
}

func (r *runs) clear() {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.ring, r.next = nil, 0
}

// Runs returns the last finished runs, oldest first.
func (p *Projections) Runs() []Run {
	r := &p.runs
	r.mu.Lock()
	defer r.mu.Unlock()
	out := make([]Run, 0, len(r.ring))
	out = append(out, r.ring[r.next:]...)
	return append(out, r.ring[:r.next]...)
}

// seedRuns fills the ring at start from the stored done jobs, newest
// first, so that estimates survive a restart. It reads views back from the
// newest until RunsKept done ones are found: once per start.
func (p *Projections) seedRuns() error {
	done, _, err := p.List(Filter{State: Done, Limit: RunsKept})
	if err != nil {
		return err
	}
	rs := make([]Run, 0, len(done))
	for i := len(done) - 1; i >= 0; i-- {
		j := done[i]
		rs = append(rs, Run{Model: j.Model, StartedAt: j.StartedAt, FinishedAt: j.FinishedAt})
	}
	p.runs.add(rs)
	return nil
}
