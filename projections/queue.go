package projections

import (
	"cmp"
	"slices"
	"sync"
	"time"

	"github.com/google/btree"
	"github.com/oklog/ulid/v2"
)

// Queue is the queue projection: the active jobs indexed so that the
// scheduler's pick, admission, GET /queue and metrics cost O(log n) or
// less in the number of queued jobs, never a walk of the queue. It is kept
// in memory beside Projections.active, updated with it on every flush (so
// it agrees with Applied), and rebuilt from the active views at Open.
//
// A queued job is ready (runnable now) unless it waits out a retry delay
// (RetryAt) or its cancellation was requested. Delayed jobs sit in a set
// ordered by RetryAt and move into the ready sets when a reader asks at a
// time past their RetryAt: the projection itself knows no clock.
type Queue struct {
	mu      sync.Mutex
	version uint64
	recs    map[ulid.ULID]*qrec // every queued or working job
	ready   *btree.BTreeG[qkey] // ready jobs in queue order
	prios   map[int]*prioBucket // ready jobs by priority, then model
	delayed *btree.BTreeG[dkey] // jobs waiting out a retry delay
	depth   map[Depth]int       // queued jobs per (model, priority); Queued of the key is 0
	queued  int
	cancels map[ulid.ULID]struct{} // queued jobs whose cancel is requested
	working map[ulid.ULID]*qrec
}

// Entry is what the queue knows of one job: enough to schedule it.
type Entry struct {
	ID          ulid.ULID
	Model       string
	Priority    int
	QueueOffset uint64
	QueuedAt    int64 // unix ns
	StartedAt   int64 // unix ns of the last attempt's start; 0 if none
	RetryAt     int64 // unix ns; 0 if none
}

// Depth counts queued jobs of one model at one priority.
type Depth struct {
	Model    string
	Priority int
	Queued   int
}

type qrec struct {
	Entry
	state  State
	cancel bool
	where  int8 // whereNone, whereReady, whereDelayed
}

const (
	whereNone int8 = iota
	whereReady
	whereDelayed
)

// qkey orders ready jobs: by the offset at which they entered the queue.
type qkey struct {
	off uint64
	id  ulid.ULID
}

func lessQ(a, b qkey) bool {
	if a.off != b.off {
		return a.off < b.off
	}
	return a.id.Compare(b.id) < 0
}

// dkey orders delayed jobs by when they may run.
type dkey struct {
	at int64
	q  qkey
}

func lessD(a, b dkey) bool {
	if a.at != b.at {
		return a.at < b.at
	}
	return lessQ(a.q, b.q)
}

// prioBucket holds the ready jobs of one priority, all and per model.
type prioBucket struct {
	all    *btree.BTreeG[qkey]
	models map[string]*btree.BTreeG[qkey]
}

const btreeDegree = 32

func newQTree() *btree.BTreeG[qkey] { return btree.NewG(btreeDegree, lessQ) }

func newQueue() *Queue {
	q := &Queue{}
	q.init()
	return q
}

func (q *Queue) init() {
	q.recs, q.ready, q.prios = map[ulid.ULID]*qrec{}, newQTree(), map[int]*prioBucket{}
	q.delayed, q.depth, q.queued = btree.NewG(btreeDegree, lessD), map[Depth]int{}, 0
	q.cancels, q.working = map[ulid.ULID]struct{}{}, map[ulid.ULID]*qrec{}
}

// set records a job's new view (nil or terminal: it left the queue).
// Called by the applier with p.mu held.
func (q *Queue) set(id ulid.ULID, j *Job) {
	q.mu.Lock()
	defer q.mu.Unlock()
	q.version++
	if r, ok := q.recs[id]; ok {
		q.drop(r)
	}
	if j == nil || j.State.Terminal() {
		return
	}
	r := &qrec{Entry: Entry{ID: id, Model: j.Model, Priority: j.Priority, QueueOffset: j.QueueOffset,
		QueuedAt: j.QueuedAt, StartedAt: j.StartedAt, RetryAt: j.RetryAt}, state: j.State, cancel: j.CancelRequested}
	q.recs[id] = r
	switch r.state {
	case Working:
		q.working[id] = r
	case Queued:
		q.queued++
		q.depth[Depth{Model: r.Model, Priority: r.Priority}]++
		switch {
		case r.cancel:
			q.cancels[id] = struct{}{}
		case r.RetryAt != 0:
			q.delayed.ReplaceOrInsert(dkey{r.RetryAt, r.key()})
			r.where = whereDelayed
		default:
			q.insertReady(r)
		}
	}
}

// clear empties the queue (a rebuild starts over).
func (q *Queue) clear() {
	q.mu.Lock()
	defer q.mu.Unlock()
	q.init()
	q.version++
}

func (r *qrec) key() qkey { return qkey{r.QueueOffset, r.ID} }

func (q *Queue) drop(r *qrec) {
	delete(q.recs, r.ID)
	switch r.state {
	case Working:
		delete(q.working, r.ID)
	case Queued:
		q.queued--
		k := Depth{Model: r.Model, Priority: r.Priority}
		if q.depth[k]--; q.depth[k] <= 0 {
			delete(q.depth, k)
		}
		delete(q.cancels, r.ID)
		switch r.where {
		case whereReady:
			q.removeReady(r)
		case whereDelayed:
			q.delayed.Delete(dkey{r.RetryAt, r.key()})
		}
	}
}

func (q *Queue) insertReady(r *qrec) {
	k := r.key()
	q.ready.ReplaceOrInsert(k)
	b := q.prios[r.Priority]
	if b == nil {
		b = &prioBucket{all: newQTree(), models: map[string]*btree.BTreeG[qkey]{}}
		q.prios[r.Priority] = b
	}
	b.all.ReplaceOrInsert(k)
	t := b.models[r.Model]
	if t == nil {
		t = newQTree()
		b.models[r.Model] = t
	}
	t.ReplaceOrInsert(k)
	r.where = whereReady
}

func (q *Queue) removeReady(r *qrec) {
	k := r.key()
	q.ready.Delete(k)
	b := q.prios[r.Priority]
	b.all.Delete(k)
	if t := b.models[r.Model]; t != nil {
		t.Delete(k)
		if t.Len() == 0 {
			delete(b.models, r.Model)
		}
	}
	if b.all.Len() == 0 {
		delete(q.prios, r.Priority)
	}
	r.where = whereNone
}

// promote makes the delayed jobs whose RetryAt is not after now ready.
func (q *Queue) promote(now time.Time) {
	t := now.UnixNano()
	for {
		d, ok := q.delayed.Min()
		if !ok || d.at > t {
			return
		}
		q.delayed.DeleteMin()
		q.insertReady(q.recs[d.q.id])
	}
}

// Version changes whenever the queue does: a reader may cache what it
// derives from the queue per version.
func (q *Queue) Version() uint64 {
	q.mu.Lock()
	defer q.mu.Unlock()
	return q.version
}

// Len is the number of queued jobs (delayed and cancel-requested included).
func (q *Queue) Len() int {
	q.mu.Lock()
	defer q.mu.Unlock()
	return q.queued
}

// Depths counts the queued jobs per model and priority, by priority
// (highest first), then model.
func (q *Queue) Depths() []Depth {
	q.mu.Lock()
	out := make([]Depth, 0, len(q.depth))
	for k, n := range q.depth {
		k.Queued = n
		out = append(out, k)
	}
	q.mu.Unlock()
	slices.SortFunc(out, func(a, b Depth) int {
		return cmp.Or(cmp.Compare(b.Priority, a.Priority), cmp.Compare(a.Model, b.Model))
	})
	return out
}

// Working returns the jobs being run (at most one with one worker).
func (q *Queue) Working() []Entry {
	q.mu.Lock()
	defer q.mu.Unlock()
	out := make([]Entry, 0, len(q.working))
	for _, r := range q.working {
		out = append(out, r.Entry)
	}
	slices.SortFunc(out, func(a, b Entry) int { return cmp.Compare(a.QueueOffset, b.QueueOffset) })
	return out
}

// CancelRequested returns the queued jobs whose cancellation was asked for.
func (q *Queue) CancelRequested() []ulid.ULID {
	q.mu.Lock()
	defer q.mu.Unlock()
	out := make([]ulid.ULID, 0, len(q.cancels))
	for id := range q.cancels {
		out = append(out, id)
	}
	return out
}

// Clone returns an independent copy of the queue, cheaply (the trees copy
// on write): the forecast simulates picks on it.
func (q *Queue) Clone() *Queue {
	q.mu.Lock()
	defer q.mu.Unlock()
	c := &Queue{
		version: q.version, recs: make(map[ulid.ULID]*qrec, len(q.recs)), ready: q.ready.Clone(),
		prios: make(map[int]*prioBucket, len(q.prios)), delayed: q.delayed.Clone(),
		depth: maps(q.depth), queued: q.queued, cancels: maps(q.cancels), working: map[ulid.ULID]*qrec{},
	}
	for id, r := range q.recs {
		cr := *r
		c.recs[id] = &cr
		if cr.state == Working {
			c.working[id] = &cr
		}
	}
	for p, b := range q.prios {
		cb := &prioBucket{all: b.all.Clone(), models: make(map[string]*btree.BTreeG[qkey], len(b.models))}
		for m, t := range b.models {
			cb.models[m] = t.Clone()
		}
		c.prios[p] = cb
	}
	return c
}

func maps[K comparable, V any](m map[K]V) map[K]V {
	c := make(map[K]V, len(m))
	for k, v := range m {
		c[k] = v
	}
	return c
}

// Remove takes a job out of a cloned queue (the forecast's simulated run).
func (q *Queue) Remove(id ulid.ULID) {
	q.mu.Lock()
	defer q.mu.Unlock()
	if r, ok := q.recs[id]; ok {
		q.drop(r)
	}
}

// Ready is the scheduler's view of the ready jobs as of now (delayed jobs
// whose time has come included), taken under the queue's lock: fn must
// not call the queue's other methods.
func (q *Queue) Ready(now time.Time, fn func(Ready)) {
	q.mu.Lock()
	defer q.mu.Unlock()
	q.promote(now)
	fn(Ready{q})
}

// Ready answers the scheduler's questions in O(log n) each.
type Ready struct{ q *Queue }

// Len is the number of ready jobs.
func (r Ready) Len() int { return r.q.ready.Len() }

// Oldest is the ready job that entered the queue first.
func (r Ready) Oldest() (Entry, bool) {
	k, ok := r.q.ready.Min()
	if !ok {
		return Entry{}, false
	}
	return r.q.recs[k.id].Entry, true
}

// OldestAtLeast is the oldest ready job of priority min or above, in
// O(priorities): the scheduler's starvation bound looks only there.
func (r Ready) OldestAtLeast(min int) (Entry, bool) {
	var best qkey
	found := false
	for p, b := range r.q.prios {
		if p < min {
			continue
		}
		if k, ok := b.all.Min(); ok && (!found || lessQ(k, best)) {
			best, found = k, true
		}
	}
	if !found {
		return Entry{}, false
	}
	return r.q.recs[best.id].Entry, true
}

// TopPriority is the highest priority of a ready job.
func (r Ready) TopPriority() (int, bool) {
	top, ok := 0, false
	for p := range r.q.prios {
		if !ok || p > top {
			top, ok = p, true
		}
	}
	return top, ok
}

// OldestIn is the oldest ready job of priority p whose model match
// accepts (nil: any model).
func (r Ready) OldestIn(p int, match func(model string) bool) (Entry, bool) {
	b := r.q.prios[p]
	if b == nil {
		return Entry{}, false
	}
	if match == nil {
		k, _ := b.all.Min()
		return r.q.recs[k.id].Entry, true
	}
	var best qkey
	found := false
	for m, t := range b.models {
		if !match(m) {
			continue
		}
		if k, ok := t.Min(); ok && (!found || lessQ(k, best)) {
			best, found = k, true
		}
	}
	if !found {
		return Entry{}, false
	}
	return r.q.recs[best.id].Entry, true
}

// ModelsIn calls fn with each model that has a ready job of priority p.
func (r Ready) ModelsIn(p int, fn func(model string)) {
	if b := r.q.prios[p]; b != nil {
		for m := range b.models {
			fn(m)
		}
	}
}

// NextRetry is the earliest time a delayed job becomes ready (zero: none).
func (r Ready) NextRetry() time.Time {
	d, ok := r.q.delayed.Min()
	if !ok {
		return time.Time{}
	}
	return time.Unix(0, d.at)
}

// Walk calls fn for ready jobs in queue order until it returns false.
func (r Ready) Walk(fn func(Entry) bool) {
	r.q.ready.Ascend(func(k qkey) bool { return fn(r.q.recs[k.id].Entry) })
}

// NewQueue indexes views outside a Projections (tests, simulations).
func NewQueue(jobs ...Job) *Queue {
	q := newQueue()
	for i := range jobs {
		q.set(jobs[i].ID, &jobs[i])
	}
	return q
}

// WalkByPriority calls fn for every queued job that is not cancelled:
// the ready ones by priority (highest first), then age, then the delayed
// ones by when they may run.
func (r Ready) WalkByPriority(fn func(Entry)) {
	prios := make([]int, 0, len(r.q.prios))
	for p := range r.q.prios {
		prios = append(prios, p)
	}
	slices.Sort(prios)
	for i := len(prios) - 1; i >= 0; i-- {
		r.q.prios[prios[i]].all.Ascend(func(k qkey) bool {
			fn(r.q.recs[k.id].Entry)
			return true
		})
	}
	r.q.delayed.Ascend(func(d dkey) bool {
		fn(r.q.recs[d.q.id].Entry)
		return true
	})
}
