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
	// finished are the runs that ended done in this burst, in order.
	finished []Run
	bb       batchBurst
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
	end := p.src.LastOffset()
	if to != 0 {
		end = min(end, to)
	}
	var err error
	if end >= from && end-from >= pipelineMin {
		err = p.catchUpPipelined(ctx, b, from, to)
	} else {
		var pl payload
		err = p.src.Scan(ctx, from, to, func(e eventlog.Event) error {
			pl.decode(e)
			return p.step(b, e, &pl)
		})
	}
	if err != nil {
		return fmt.Errorf("apply log: %w", err)
	}
	return p.flush(b)
}

// step applies one event and flushes when the burst is full.
func (p *Projections) step(b *burst, e eventlog.Event, pl *payload) error {
	if err := p.applyOne(b, e, pl); err != nil {
		return err
	}
	if b.n >= b.limit(p) {
		return p.flush(b)
	}
	return nil
}

// A long catch-up (a rebuild, a restart far behind) reads and decodes the
// log on a second goroutine, handing events to the applier in batches:
// reading and decoding is about half the work.
const (
	pipelineMin   = 4096 // events, below which a catch-up runs on one goroutine
	pipelineBatch = 256  // events per hand-over
	pipelineDepth = 8    // batches in flight
)

// scanned is one event read ahead, with its payload decoded.
type scanned struct {
	e  eventlog.Event
	pl payload
}

func (p *Projections) catchUpPipelined(ctx context.Context, b *burst, from, to uint64) error {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	full := make(chan []scanned, pipelineDepth)
	free := make(chan []scanned, pipelineDepth+2)
	scanErr := make(chan error, 1)
	go func() {
		defer close(full)
		batch := make([]scanned, 0, pipelineBatch)
		send := func() error {
			select {
			case full <- batch:
			case <-ctx.Done():
				return ctx.Err()
			}
			select {
			case batch = <-free:
			default:
				batch = make([]scanned, 0, pipelineBatch)
			}
			return nil
		}
		err := p.src.Scan(ctx, from, to, func(e eventlog.Event) error {
			batch = batch[:len(batch)+1]
			s := &batch[len(batch)-1]
			s.e = e
			s.pl.decode(e)
			if len(batch) == cap(batch) {
				return send()
			}
			return nil
		})
		if err == nil && len(batch) > 0 {
			err = send()
		}
		scanErr <- err
	}()
	var err error
	for batch := range full {
		for i := 0; i < len(batch) && err == nil; i++ {
			err = p.step(b, batch[i].e, &batch[i].pl)
		}
		if err != nil {
			cancel() // stop the reader; drain what it sent
			continue
		}
		clear(batch) // drop references to payloads and views
		select {
		case free <- batch[:0]:
		default:
		}
	}
	if serr := <-scanErr; err == nil {
		err = serr
	}
	return err
}

// limit is the number of events after which the burst is flushed: larger
// during a rebuild, when nobody reads the state before it completes.
func (b *burst) limit(p *Projections) int {
	if p.fresh != nil {
		return rebuildFlushEvery
	}
	return flushEvery
}

// viewBatchBytes is about what one view costs in a state batch (key,
// value, active marker), for sizing a flush's batch.
const viewBatchBytes = 448

// reset empties the burst, keeping its maps' room: the views it held
// were published by pointer, never through the map.
func (b *burst) reset() {
	if b.jobs == nil {
		b.jobs, b.idemSet, b.idemDel = map[ulid.ULID]*Job{}, map[string]ulid.ULID{}, map[string]bool{}
	}
	clear(b.jobs)
	clear(b.idemSet)
	clear(b.idemDel)
	b.finished = b.finished[:0]
	b.bb.reset()
	b.n = 0
}

func (p *Projections) applyOne(b *burst, e eventlog.Event, pl *payload) error {
	if isBatchType(e.Type) {
		if err := p.applyBatch(b, e); err != nil {
			return err
		}
		b.offset, b.n = e.Offset, b.n+1
		return nil
	}
	if !affectsViews(e.Type) {
		b.offset, b.n = e.Offset, b.n+1
		return nil
	}
	old, private, err := p.current(b, e.Job)
	if err != nil {
		return err
	}
	var oldState State
	var oldSubmitter, oldKey string
	work := old
	if old != nil {
		oldState, oldSubmitter, oldKey = old.State, old.Submitter, old.IdempotencyKey
		if !private { // published views are shared with readers: change a copy
			c := old.clone()
			work = &c
		}
	}
	j, err := applyDecoded(work, e, pl)
	if err != nil {
		return err
	}
	b.offset, b.n = e.Offset, b.n+1
	if old == nil && j == nil {
		return nil
	}
	p.countLine(b, e, old != nil, oldState, j, pl)
	b.jobs[e.Job] = j
	if old != nil {
		b.counts[slices.Index(States, oldState)]--
	}
	if j != nil {
		b.counts[slices.Index(States, j.State)]++
		if j.State == Done && oldState != Done {
			b.finished = append(b.finished, Run{Model: j.Model, StartedAt: j.StartedAt, FinishedAt: j.FinishedAt, Offset: e.Offset})
		}
	}
	switch {
	case old == nil && j != nil && j.IdempotencyKey != "":
		k := string(idemKey(j.Submitter, j.IdempotencyKey))
		b.idemSet[k] = j.ID
		delete(b.idemDel, k)
	case old != nil && j == nil && oldKey != "":
		k := string(idemKey(oldSubmitter, oldKey))
		b.idemDel[k] = true
		delete(b.idemSet, k)
	}
	return nil
}

// current is the latest view of a job: this burst's, else memory, else
// store. private reports a view made in this burst and not yet published,
// which the applier may change in place.
func (p *Projections) current(b *burst, id ulid.ULID) (j *Job, private bool, err error) {
	if j, ok := b.jobs[id]; ok {
		return j, true, nil
	}
	p.mu.RLock()
	j, ok := p.active[id]
	p.mu.RUnlock()
	if ok {
		return j, false, nil
	}
	if j, ok := p.recent.get(id); ok {
		return j, false, nil
	}
	if p.fresh != nil {
		if _, ok := p.fresh[id]; !ok {
			return nil, false, nil
		}
	}
	j, err = p.stored(id)
	if err == ErrNotFound {
		return nil, false, nil
	}
	return j, true, err // decoded for us alone
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
	batch := p.st.NewStateBatchSize((len(b.jobs) + b.bb.size()) * viewBatchBytes)
	var buf []byte
	for id, j := range b.jobs {
		stored := true // whether the store may hold keys of id
		if p.fresh != nil {
			_, stored = p.fresh[id]
			if j != nil {
				p.fresh[id] = struct{}{}
			} else {
				delete(p.fresh, id)
			}
		}
		var err error
		if buf, err = stageJob(batch, id, j, stored, buf[:0]); err != nil {
			return err
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
	if err := stageBatches(batch, &b.bb); err != nil {
		return err
	}
	ring, err := p.runs.stage(batch, b.finished)
	if err != nil {
		return err
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
		p.queue.set(id, j)
	}
	p.runs.publish(ring)
	p.publishBatches(&b.bb)
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

// stageJob writes id's view (nil: deletes it). Unless stored, the store
// holds no key of id (a rebuild has not flushed it yet) and deleting one
// would only leave a tombstone.
func stageJob(batch *eventlog.StateBatch, id ulid.ULID, j *Job, stored bool, buf []byte) ([]byte, error) {
	if j == nil {
		if !stored {
			return buf, nil
		}
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
		if !stored {
			return buf, nil
		}
		return buf, batch.Delete(activeKey(id))
	}
	return buf, batch.Set(activeKey(id), nil)
}
