package projections

import (
	"cmp"
	"math/rand/v2"
	"slices"
	"testing"
	"time"

	"github.com/oklog/ulid/v2"
)

// TestQueueAgreesWithTheViews drives the queue index with random view
// changes and checks every answer against a walk of the views.
func TestQueueAgreesWithTheViews(t *testing.T) {
	t.Parallel()
	rng := rand.New(rand.NewPCG(1, 2))
	q := newQueue()
	views := map[ulid.ULID]*Job{}
	var ids []ulid.ULID
	now := time.Unix(1_700_000_000, 0)
	models := []string{"a", "b", "c"}
	off := uint64(0)
	for step := range 1500 {
		off++
		var j *Job
		switch k := rng.IntN(10); {
		case k < 4 || len(ids) == 0: // submit
			j = &Job{ID: ulid.Make(), Model: models[rng.IntN(3)], Priority: rng.IntN(3), State: Queued, QueueOffset: off, QueuedAt: now.UnixNano()}
			ids = append(ids, j.ID)
		default:
			id := ids[rng.IntN(len(ids))]
			old := views[id]
			if old == nil {
				continue
			}
			c := old.clone()
			j = &c
			switch k {
			case 4:
				j.State, j.StartedAt, j.RetryAt = Working, now.UnixNano(), 0
			case 5: // failed attempt: back with a retry delay, same place
				j.State, j.RetryAt = Queued, now.Add(time.Duration(rng.IntN(3)-1)*time.Second).UnixNano()
			case 6:
				j.CancelRequested = true
			case 7:
				j.State = Done
			case 8:
				j = nil // expired
			case 9: // manual retry: a new place
				j.State, j.QueueOffset, j.RetryAt, j.CancelRequested = Queued, off, 0, false
			}
		}
		if j == nil {
			id := ids[rng.IntN(len(ids))]
			delete(views, id)
			q.set(id, nil)
		} else {
			if j.State.Terminal() {
				delete(views, j.ID)
			} else {
				views[j.ID] = j
			}
			q.set(j.ID, j)
		}
		if step%50 == 0 {
			now = now.Add(time.Second)
		}
		checkQueue(t, q, views, now)
	}
}

func checkQueue(t *testing.T, q *Queue, views map[ulid.ULID]*Job, now time.Time) {
	t.Helper()
	var queued, ready, working []Job
	var cancels []ulid.ULID
	depth := map[Depth]int{}
	for _, j := range views {
		switch {
		case j.State == Working:
			working = append(working, *j)
		case j.State == Queued:
			queued = append(queued, *j)
			depth[Depth{Model: j.Model, Priority: j.Priority}]++
			switch {
			case j.CancelRequested:
				cancels = append(cancels, j.ID)
			case !Time(j.RetryAt).After(now):
				ready = append(ready, *j)
			}
		}
	}
	slices.SortFunc(ready, func(a, b Job) int { return cmp.Compare(a.QueueOffset, b.QueueOffset) })
	if q.Len() != len(queued) {
		t.Fatalf("Len %d, want %d", q.Len(), len(queued))
	}
	if got := q.Depths(); len(got) != len(depth) {
		t.Fatalf("Depths %v, want %v", got, depth)
	} else {
		for _, d := range got {
			if depth[Depth{Model: d.Model, Priority: d.Priority}] != d.Queued {
				t.Fatalf("Depths %v, want %v", got, depth)
			}
		}
	}
	if len(q.Working()) != len(working) || len(q.CancelRequested()) != len(cancels) {
		t.Fatalf("working %d cancels %d, want %d %d", len(q.Working()), len(q.CancelRequested()), len(working), len(cancels))
	}
	q.Ready(now, func(r Ready) {
		if r.Len() != len(ready) {
			t.Fatalf("ready %d, want %d", r.Len(), len(ready))
		}
		e, ok := r.Oldest()
		if ok != (len(ready) > 0) || (ok && e.ID != ready[0].ID) {
			t.Fatalf("Oldest %v %v", e.ID, ok)
		}
		if !ok {
			return
		}
		top := slices.MaxFunc(ready, func(a, b Job) int { return cmp.Compare(a.Priority, b.Priority) }).Priority
		if p, _ := r.TopPriority(); p != top {
			t.Fatalf("TopPriority %d, want %d", p, top)
		}
		for _, m := range []string{"a", "b", "c"} {
			i := slices.IndexFunc(ready, func(j Job) bool { return j.Priority == top && j.Model == m })
			e, ok := r.OldestIn(top, func(x string) bool { return x == m })
			if ok != (i >= 0) || (ok && e.ID != ready[i].ID) {
				t.Fatalf("OldestIn(%d, %s) = %v %v", top, m, e.ID, ok)
			}
		}
		i := slices.IndexFunc(ready, func(j Job) bool { return j.Priority == top })
		if e, _ := r.OldestIn(top, nil); e.ID != ready[i].ID {
			t.Fatalf("OldestIn(%d) = %v", top, e.ID)
		}
		for _, p := range []int{top, top - 1} {
			var got, want []string
			r.ModelsIn(p, func(m string) { got = append(got, m) })
			for _, j := range ready {
				if j.Priority == p && !slices.Contains(want, j.Model) {
					want = append(want, j.Model)
				}
			}
			slices.Sort(got)
			slices.Sort(want)
			if !slices.Equal(got, want) {
				t.Fatalf("ModelsIn(%d) = %v, want %v", p, got, want)
			}
		}
	})
}

// TestQueueCloneIsIndependent: the forecast removes jobs from a clone.
func TestQueueCloneIsIndependent(t *testing.T) {
	t.Parallel()
	a := Job{ID: ulid.Make(), Model: "a", State: Queued, QueueOffset: 1}
	b := Job{ID: ulid.Make(), Model: "b", State: Queued, QueueOffset: 2}
	q := NewQueue(a, b)
	c := q.Clone()
	c.Remove(a.ID)
	now := time.Now()
	q.Ready(now, func(r Ready) {
		if e, _ := r.Oldest(); e.ID != a.ID || r.Len() != 2 {
			t.Fatalf("the original changed: oldest %v, %d ready", e.ID, r.Len())
		}
	})
	c.Ready(now, func(r Ready) {
		if e, _ := r.Oldest(); e.ID != b.ID || r.Len() != 1 {
			t.Fatalf("clone: oldest %v, %d ready", e.ID, r.Len())
		}
	})
}
