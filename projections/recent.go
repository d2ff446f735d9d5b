package projections

import "github.com/oklog/ulid/v2"

// recentGeneration bounds one generation of recentViews.
const recentGeneration = 16384

// recentViews keeps the finished views of the last flushes in memory, so
// the events that trail a job's end (its artifact, webhook records) do not
// each cost a store read and a decode: that read was a quarter of a full
// rebuild. Two generations make it a bounded LRU without bookkeeping: when
// the young one is full it becomes the old one. Views are never modified
// in place (apply works on a clone), so sharing them is safe. Only the
// applier uses it.
type recentViews struct {
	young, old map[ulid.ULID]*Job
}

func (r *recentViews) get(id ulid.ULID) (*Job, bool) {
	if j, ok := r.young[id]; ok {
		return j, true
	}
	j, ok := r.old[id]
	return j, ok
}

// put records a flushed view; nil (deleted) and active views are dropped,
// since active ones live in Projections.active.
func (r *recentViews) put(id ulid.ULID, j *Job) {
	if j == nil || !j.State.Terminal() {
		delete(r.young, id)
		delete(r.old, id)
		return
	}
	if r.young == nil {
		r.young = make(map[ulid.ULID]*Job, recentGeneration)
	}
	if len(r.young) >= recentGeneration {
		r.old, r.young = r.young, make(map[ulid.ULID]*Job, recentGeneration)
	}
	r.young[id] = j
	delete(r.old, id)
}
