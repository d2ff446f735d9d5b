package projections

import (
	"context"
	"fmt"
	"slices"

	"github.com/oklog/ulid/v2"
	"github.com/vmihailenco/msgpack/v5"

	"github.com/foreman-dev/foreman/eventlog"
)

// burst collects the views changed since the last flush.
type burst struct {
	jobs    map[ulid.ULID]*Job // nil value: deleted
	idemSet map[string]ulid.ULID
	idemDel map[string]bool
	counts  []int
	offset  uint64
	n       int
}

// CatchUp applies the log from the applied offset up to `to` (0: the end).
func (p *Projections) CatchUp(ctx context.Context, to uint64) error {
	p.apply.Lock()
	defer p.apply.Unlock()
	p.mu.RLock()
	from := p.ck.Offset + 1
	b := &burst{counts: slices.Clone(p.ck.Counts), offset: p.ck.Offset}
	p.mu.RUnlock()
	b.reset()
	defer func() { p.fresh = nil }()
	err := p.src.Scan(ctx, from, to, func(e eventlog.Event) error {
		if err := p.applyOne(b, e); err != nil {
			return err
		}
		if b.n >= flushEvery {
			return p.flush(b)
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("apply log: %w", err)
	}
	return p.flush(b)
}

func (b *burst) reset() {
	b.jobs = map[ulid.ULID]*Job{}
	b.idemSet = map[string]ulid.ULID{}
	b.idemDel = map[string]bool{}
	b.n = 0
}

func (p *Projections) applyOne(b *burst, e eventlog.Event) error {
	old, err := p.current(b, e.Job)
	if err != nil {
		return err
	}
	var oldState State
	var work *Job
	if old != nil {
		oldState = old.State
		c := old.clone()
		work = &c
	}
	j, err := apply(work, e)
	if err != nil {
		return err
	}
	b.offset, b.n = e.Offset, b.n+1
	if old == nil && j == nil {
		return nil
	}
	b.jobs[e.Job] = j
	if old != nil {
		b.counts[slices.Index(States, oldState)]--
	}
	if j != nil {
		b.counts[slices.Index(States, j.State)]++
	}
	switch {
	case old == nil && j != nil && j.IdempotencyKey != "":
		k := string(idemKey(j.Submitter, j.IdempotencyKey))
		b.idemSet[k] = j.ID
		delete(b.idemDel, k)
	case old != nil && j == nil && old.IdempotencyKey != "":
		k := string(idemKey(old.Submitter, old.IdempotencyKey))
		b.idemDel[k] = true
		delete(b.idemSet, k)
	}
	return nil
}

// current is the latest view of a job: this burst's, else memory, else store.
func (p *Projections) current(b *burst, id ulid.ULID) (*Job, error) {
	if j, ok := b.jobs[id]; ok {
		return j, nil
	}
	p.mu.RLock()
	j, ok := p.active[id]
	p.mu.RUnlock()
	if ok {
		return j, nil
	}
	if j, ok := p.recent.get(id); ok {
		return j, nil
	}
	if p.fresh != nil {
		if _, ok := p.fresh[id]; !ok {
			return nil, nil
		}
	}
	j, err := p.stored(id)
	if err == ErrNotFound {
		return nil, nil
	}
	return j, err
}

// flush writes the burst's views with the checkpoint in one batch, then
// publishes them to readers.
func (p *Projections) flush(b *burst) error {
	p.mu.RLock()
	same := b.offset == p.ck.Offset
	p.mu.RUnlock()
	if same {
		return nil
	}
	ck := checkpoint{Version: Version, Offset: b.offset, Counts: slices.Clone(b.counts)}
	batch := p.st.NewStateBatch()
	var buf []byte
	for id, j := range b.jobs {
		var err error
		if buf, err = stageJob(batch, id, j, buf[:0]); err != nil {
			return err
		}
		if p.fresh != nil {
			if j != nil {
				p.fresh[id] = struct{}{}
			} else {
				delete(p.fresh, id)
			}
		}
	}
	for k, id := range b.idemSet {
		if err := batch.Set([]byte(k), id[:]); err != nil {
			return err
		}
	}
	for k := range b.idemDel {
		if err := batch.Delete([]byte(k)); err != nil {
			return err
		}
	}
	v, err := msgpack.Marshal(&ck)
	if err != nil {
		return err
	}
	if err := batch.Set(keyCheckpoint, v); err != nil {
		return err
	}
	if err := p.st.CommitState(batch); err != nil {
		return err
	}
	p.mu.Lock()
	for id, j := range b.jobs {
		if j != nil && !j.State.Terminal() {
			p.active[id] = j
		} else {
			delete(p.active, id)
		}
	}
	p.ck = ck
	p.mu.Unlock()
	for id, j := range b.jobs {
		p.recent.put(id, j)
	}
	b.reset()
	ch := make(chan struct{})
	close(*p.changed.Swap(&ch))
	return nil
}

func stageJob(batch *eventlog.StateBatch, id ulid.ULID, j *Job, buf []byte) ([]byte, error) {
	if j == nil {
		if err := batch.Delete(jobKey(id)); err != nil {
			return buf, err
		}
		return buf, batch.Delete(activeKey(id))
	}
	buf = encodeJob(buf, j) // the batch copies it
	if err := batch.Set(jobKey(id), buf); err != nil {
		return buf, err
	}
	if j.State.Terminal() {
		return buf, batch.Delete(activeKey(id))
	}
	return buf, batch.Set(activeKey(id), nil)
}
