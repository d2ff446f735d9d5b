package projections

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"slices"
	"sync"
	"sync/atomic"

	"github.com/oklog/ulid/v2"
	"github.com/vmihailenco/msgpack/v5"

	"github.com/foreman-dev/foreman/eventlog"
)

// Version is the projection format. Changing apply or the view layout in a
// way that changes stored bytes must bump it: a checkpoint of another
// version forces a rebuild.
const Version = 4 // 2: views stored as arrays (encode.go); 3: the last runs (runs.go); 4: batches and files (batch.go)

// flushEvery bounds the events applied between two state batches.
const flushEvery = 4096

// rebuildFlushEvery is flushEvery during a rebuild into an emptied store.
const rebuildFlushEvery = 16384

// ErrNotFound is returned for a job the projections do not know.
var ErrNotFound = errors.New("projections: job not found")

// ErrStopped is WaitFor's answer once Run has returned short of the
// offset: the projections will not advance (the daemon is stopping, or
// the log failed), and a reader serves what they hold rather than wait
// for ever.
var ErrStopped = errors.New("projections: stopped")

// checkpoint is stored with every state batch: what the state reflects.
type checkpoint struct {
	Version int    `msgpack:"version"`
	Offset  uint64 `msgpack:"offset"`
	Counts  []int  `msgpack:"counts"` // jobs per state, in States order
}

// Projections holds the derived state. Reads are safe concurrently with the
// one goroutine that applies events (Run or CatchUp).
type Projections struct {
	src Source
	st  Store

	apply   sync.Mutex // one applier at a time
	mu      sync.RWMutex
	ck      checkpoint
	active  map[ulid.ULID]*Job   // non-terminal jobs
	queue   *Queue               // the active jobs indexed for the scheduler
	runs    runs                 // the last finished runs, for run-time estimates
	batches map[ulid.ULID]*Batch // every batch (batch.go): few, and read on every poll
	files   map[ulid.ULID]*File  // every stored file
	changed atomic.Pointer[chan struct{}]
	stopped chan struct{} // closed when Run returns
	stop    sync.Once
	recent  recentViews // finished views lately flushed; the applier's own
	// fresh is set while a rebuild fills a store that reset emptied: the
	// only views stored are those this Projections flushed since, so a job
	// not in fresh has no stored view and its lookup (a miss that costs a
	// Pebble read down to the last level) is skipped. The applier's own;
	// dropped when the rebuilding CatchUp ends, to bound memory.
	fresh map[ulid.ULID]struct{}

	// Rebuilt says why Open rebuilt from the low watermark ("" if it did not).
	Rebuilt string
}

// Open loads the last checkpoint (rebuilding when it is missing, of another
// version, or unusable) and applies the log up to its current end.
func Open(ctx context.Context, src Source, st Store) (*Projections, error) {
	p := newProjections(src, st)
	if err := p.load(); err != nil {
		return nil, err
	}
	if err := p.CatchUp(ctx, 0); err != nil {
		return nil, err
	}
	return p, nil
}

func newProjections(src Source, st Store) *Projections {
	p := &Projections{src: src, st: st, active: map[ulid.ULID]*Job{}, queue: newQueue(), stopped: make(chan struct{}),
		batches: map[ulid.ULID]*Batch{}, files: map[ulid.ULID]*File{}}
	ch := make(chan struct{})
	p.changed.Store(&ch)
	return p
}

func (p *Projections) load() error {
	v, err := p.st.StateGet(keyCheckpoint)
	switch {
	case errors.Is(err, eventlog.ErrNotFound):
		return p.reset("no checkpoint")
	case err != nil:
		return fmt.Errorf("read checkpoint: %w", err)
	}
	var ck checkpoint
	if err := msgpack.Unmarshal(v, &ck); err != nil {
		return p.reset("unreadable checkpoint")
	}
	switch low, last := p.src.LowWatermark(), p.src.LastOffset(); {
	case ck.Version != Version:
		return p.reset(fmt.Sprintf("projection version %d, want %d", ck.Version, Version))
	case ck.Offset+1 < low:
		return p.reset(fmt.Sprintf("checkpoint %d is below the low watermark %d", ck.Offset, low))
	case ck.Offset > last:
		return p.reset(fmt.Sprintf("checkpoint %d is past the log end %d", ck.Offset, last))
	case len(ck.Counts) != len(States):
		return p.reset("checkpoint counts malformed")
	}
	p.ck = ck
	var ids []ulid.ULID
	err = p.st.StateScan(prefixActive, func(k, _ []byte) error {
		var id ulid.ULID
		copy(id[:], k[len(prefixActive):])
		ids = append(ids, id)
		return nil
	})
	if err != nil {
		return err
	}
	keys := make([][]byte, len(ids))
	for i, id := range ids {
		keys[i] = jobKey(id)
	}
	err = p.st.StateGetSorted(keys, func(i int, v []byte) error {
		j, err := decodeJob(v)
		if err != nil {
			return fmt.Errorf("load active job %s: %w", ids[i], err)
		}
		p.active[ids[i]] = j
		p.queue.set(ids[i], j)
		return nil
	})
	if err != nil {
		return fmt.Errorf("load active jobs: %w", err)
	}
	if err := p.loadBatches(); err != nil {
		return err
	}
	return p.loadRuns()
}

func (p *Projections) reset(why string) error {
	if err := p.st.ClearState(); err != nil {
		return err
	}
	p.Rebuilt = why
	p.ck = checkpoint{Version: Version, Offset: p.src.LowWatermark() - 1, Counts: make([]int, len(States))}
	clear(p.active)
	clear(p.batches)
	clear(p.files)
	p.queue.clear()
	p.runs.clear()
	p.recent = recentViews{}
	p.fresh = map[ulid.ULID]struct{}{}
	return nil
}

// Applied is the offset the state reflects.
func (p *Projections) Applied() uint64 {
	p.mu.RLock()
	defer p.mu.RUnlock()
	return p.ck.Offset
}

// WaitFor blocks until the state reflects offset off, so that a read after
// a write sees the write.
func (p *Projections) WaitFor(ctx context.Context, off uint64) error {
	for {
		ch := *p.changed.Load()
		if p.Applied() >= off {
			return nil
		}
		select {
		case <-ch:
		case <-p.stopped:
			if p.Applied() >= off {
				return nil
			}
			return ErrStopped
		case <-ctx.Done():
			return ctx.Err()
		}
	}
}

// Changed returns a channel closed when the state next advances.
func (p *Projections) Changed() <-chan struct{} { return *p.changed.Load() }

// Run applies new events as they are committed until ctx ends.
func (p *Projections) Run(ctx context.Context) error {
	defer p.stop.Do(func() { close(p.stopped) })
	for {
		if err := p.src.Wait(ctx, p.Applied()); err != nil {
			if ctx.Err() != nil {
				return nil
			}
			return err
		}
		if err := p.CatchUp(ctx, 0); err != nil {
			return err
		}
	}
}

// Job returns a copy of one job's view.
func (p *Projections) Job(id ulid.ULID) (Job, error) {
	p.mu.RLock()
	j, ok := p.active[id]
	var c Job
	if ok {
		c = j.clone()
	}
	p.mu.RUnlock()
	if ok {
		return c, nil
	}
	s, err := p.stored(id)
	if err != nil {
		return Job{}, err
	}
	return *s, nil
}

// Queue is the queue projection.
func (p *Projections) Queue() *Queue { return p.queue }

// Active returns the non-terminal jobs in queue order (QueueOffset): a
// copy and a sort of every active job, so for start-up and tests only;
// the hot paths use Queue.
func (p *Projections) Active() []Job {
	p.mu.RLock()
	out := make([]Job, 0, len(p.active))
	for _, j := range p.active {
		out = append(out, j.clone())
	}
	p.mu.RUnlock()
	slices.SortFunc(out, func(a, b Job) int { return cmp.Compare(a.QueueOffset, b.QueueOffset) })
	return out
}

// EachActive calls fn with each job not yet ended, in no order, under the
// read lock: fn must be quick, must not call p, and must not keep j or its
// slices. It is Active without the copy, for what goes over every active
// job once at start: at 100,000 queued the copy was 36 MB of the daemon's
// peak memory, twice (metrics, recovery).
func (p *Projections) EachActive(fn func(j *Job)) {
	p.mu.RLock()
	defer p.mu.RUnlock()
	for _, j := range p.active {
		fn(j)
	}
}

// Counts returns the number of jobs in each state.
func (p *Projections) Counts() map[State]int {
	p.mu.RLock()
	defer p.mu.RUnlock()
	m := make(map[State]int, len(States))
	for i, s := range States {
		m[s] = p.ck.Counts[i]
	}
	return m
}

// Idempotent returns the job submitted by submitter under key, if any.
func (p *Projections) Idempotent(submitter, key string) (ulid.ULID, bool, error) {
	v, err := p.st.StateGet(idemKey(submitter, key))
	if errors.Is(err, eventlog.ErrNotFound) {
		return ulid.ULID{}, false, nil
	}
	if err != nil || len(v) != 16 {
		return ulid.ULID{}, false, fmt.Errorf("read idempotency key: %v", cmp.Or(err, errors.New("bad value")))
	}
	var id ulid.ULID
	copy(id[:], v)
	return id, true, nil
}

func (p *Projections) stored(id ulid.ULID) (*Job, error) {
	v, err := p.st.StateGet(jobKey(id))
	if errors.Is(err, eventlog.ErrNotFound) {
		return nil, ErrNotFound
	}
	if err != nil {
		return nil, err
	}
	j, err := decodeJob(v)
	if err != nil {
		return nil, fmt.Errorf("decode view of %s: %w", id, err)
	}
	return j, nil
}
