package eventlog

import (
	"context"
	"fmt"
	"time"

	"github.com/cockroachdb/pebble/v2"
	"github.com/oklog/ulid/v2"
	"github.com/vmihailenco/msgpack/v5"
)

// Record is what a caller appends: one event, plus blobs written in the same
// durable batch.
type Record struct {
	Job     ulid.ULID
	Type    Type
	Payload any // one of the payload structs; msgpack-encoded by Append
	Blobs   []Blob
	// DeleteBlobs removes blobs in the same batch (retention).
	DeleteBlobs []string
}

// Blob is a value stored beside the log under its own key.
type Blob struct {
	Key  string
	Data []byte
}

type appendReq struct {
	events []Event // payload encoded; offset and time set by the sequencer
	recs   []Record
	size   int // payload and blob bytes, for MaxGroupBytes
	reply  chan appendResult
}

type appendResult struct {
	events []Event
	err    error
}

// Append durably appends recs as consecutive events, atomically, and returns
// them with their offsets and times. It returns only after the batch holding
// them is synced. A ctx cancelled after the records were handed to the
// sequencer does not stop the commit: Append then still waits for it, so
// that it never reports a failure for an event that is in the log.
func (l *Log) Append(ctx context.Context, recs ...Record) ([]Event, error) {
	if len(recs) == 0 {
		return nil, nil
	}
	if l.cfg.ReadOnly {
		return nil, ErrReadOnly
	}
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	req := &appendReq{events: make([]Event, len(recs)), recs: recs, reply: make(chan appendResult, 1)}
	for i, r := range recs {
		if r.Type == "" {
			return nil, fmt.Errorf("append: record %d has no type", i)
		}
		p, err := msgpack.Marshal(r.Payload)
		if err != nil {
			return nil, fmt.Errorf("append: encode %s payload: %w", r.Type, err)
		}
		req.events[i] = Event{Job: r.Job, Type: r.Type, Version: currentPayloadVers, Payload: p}
		req.size += len(p)
		for _, b := range r.Blobs {
			req.size += len(b.Key) + len(b.Data)
		}
	}
	l.mu.RLock()
	if l.closed {
		l.mu.RUnlock()
		return nil, ErrClosed
	}
	if errp := l.failed.Load(); errp != nil {
		l.mu.RUnlock()
		return nil, *errp
	}
	l.reqs <- req
	l.mu.RUnlock()
	res := <-req.reply
	return res.events, res.err
}

// run is the sequencer: it takes every request waiting, commits them as one
// synced batch and acknowledges them all. Concurrent appenders thus share
// one fsync.
func (l *Log) run() {
	defer close(l.done)
	for {
		if r := l.held; r != nil {
			l.held = nil
			l.commitGroup(l.collect(r))
			continue
		}
		select {
		case req := <-l.reqs:
			l.commitGroup(l.collect(req))
		case <-l.quit:
			for { // commit what was handed over before Close
				if r := l.held; r != nil {
					l.held = nil
					l.commitGroup(l.collect(r))
					continue
				}
				select {
				case req := <-l.reqs:
					l.commitGroup(l.collect(req))
				default:
					return
				}
			}
		}
	}
}

// collect takes the requests waiting behind first, up to MaxGroup events
// and MaxGroupBytes bytes. A request that would pass the byte bound waits
// for the next group.
func (l *Log) collect(first *appendReq) []*appendReq {
	group := []*appendReq{first}
	n, size := len(first.events), first.size
	for n < l.cfg.MaxGroup {
		var r *appendReq
		select {
		case r = <-l.reqs:
		default:
			return group
		}
		if size+r.size > l.cfg.MaxGroupBytes {
			l.held = r
			return group
		}
		group = append(group, r)
		n, size = n+len(r.events), size+r.size
	}
	return group
}

func (l *Log) commitGroup(group []*appendReq) {
	if errp := l.failed.Load(); errp != nil {
		for _, r := range group {
			r.reply <- appendResult{err: *errp}
		}
		return
	}
	b := l.db.NewBatch()
	defer b.Close()
	next, last := l.next, l.lastTime
	var err error
	n := 0
	for _, r := range group {
		for i := range r.events {
			last = nowNanos(last)
			r.events[i].Offset, r.events[i].Time = next, time.Unix(0, last).UTC()
			if err = l.stage(b, &r.events[i], &r.recs[i]); err != nil {
				break
			}
			next++
			n++
		}
	}
	if err == nil {
		err = l.guard(func() error { return b.Commit(pebble.Sync) })
	}
	if err != nil {
		err = l.fail(fmt.Errorf("commit: %w", err)) // a failed fsync cannot be retried safely
		for _, r := range group {
			r.reply <- appendResult{err: err}
		}
		return
	}
	l.next, l.lastTime = next, last
	l.commits.Add(1)
	l.events.Add(uint64(n))
	for _, r := range group {
		l.tail.add(r.events) // before durable: a reader that sees it finds them
	}
	l.durable.Store(next - 1)
	ch := make(chan struct{})
	close(*l.changed.Swap(&ch))
	for _, r := range group {
		r.reply <- appendResult{events: r.events}
	}
}

// stage writes one event, its job index entry and its blobs into b.
func (l *Log) stage(b *pebble.Batch, e *Event, r *Record) error {
	v, err := encodeEvent(e)
	if err != nil {
		return err
	}
	if err := b.Set(eventKey(e.Offset), v, nil); err != nil {
		return err
	}
	if err := b.Set(jobKey(e.Job, e.Offset), nil, nil); err != nil {
		return err
	}
	for _, bl := range r.Blobs {
		if err := b.Set(blobKey(bl.Key), bl.Data, nil); err != nil {
			return err
		}
	}
	for _, k := range r.DeleteBlobs {
		if err := b.Delete(blobKey(k), nil); err != nil {
			return err
		}
	}
	return nil
}
