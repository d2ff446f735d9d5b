package eventlog

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"

	"github.com/cockroachdb/pebble/v2"
	"github.com/oklog/ulid/v2"
)

// Scan calls fn for each event with from ≤ offset ≤ to, in order. from 0
// means the low watermark; to 0 means the last durable offset. A from below
// the low watermark is ErrTruncated. A gap or an undecodable value stops the
// scan with a *CorruptError naming the offset. An error from fn stops the
// scan and is returned as is.
func (l *Log) Scan(ctx context.Context, from, to uint64, fn func(Event) error) error {
	low, durable := l.low.Load(), l.durable.Load()
	if from == 0 {
		from = low
	} else if from < low {
		return fmt.Errorf("%w: %d < %d", ErrTruncated, from, low)
	}
	if to == 0 || to > durable {
		to = durable
	}
	var buf []Event
	for from <= to { // from memory while the tail holds the events
		if err := ctx.Err(); err != nil {
			return err
		}
		if buf = l.tail.read(buf[:0], from, to, 256); len(buf) == 0 {
			return l.scanStore(ctx, from, to, fn)
		}
		for _, e := range buf {
			if err := fn(e); err != nil {
				return err
			}
		}
		from += uint64(len(buf))
	}
	return nil
}

// scanStore is Scan from the store, for the events the tail no longer holds.
func (l *Log) scanStore(ctx context.Context, from, to uint64, fn func(Event) error) error {
	it, err := l.db.NewIter(&pebble.IterOptions{LowerBound: eventKey(from), UpperBound: eventKey(to + 1)})
	if err != nil {
		return fmt.Errorf("open iterator: %w", err)
	}
	defer it.Close()
	want := from
	for ok := it.First(); ok; ok = it.Next() {
		if want&0xfff == 0 {
			if err := ctx.Err(); err != nil {
				return err
			}
		}
		off, ok := eventKeyOffset(it.Key())
		if !ok {
			return &CorruptError{Offset: want, Reason: fmt.Sprintf("bad event key %x", it.Key())}
		}
		if off != want {
			if want < l.low.Load() { // truncated while we opened the iterator
				return fmt.Errorf("%w: %d < %d", ErrTruncated, want, l.low.Load())
			}
			return &CorruptError{Offset: want, Reason: fmt.Sprintf("missing (next stored offset is %d)", off)}
		}
		e, err := DecodeValue(off, it.Value())
		if err != nil {
			return err
		}
		if err := fn(e); err != nil {
			return err
		}
		want++
	}
	if err := it.Error(); err != nil {
		return fmt.Errorf("scan at offset %d: %w", want, storeError(want, err))
	}
	if want <= to {
		return &CorruptError{Offset: want, Reason: "missing (log ends early)"}
	}
	return nil
}

// Get returns the event at off.
func (l *Log) Get(off uint64) (Event, error) {
	if off == 0 || off > l.durable.Load() {
		return Event{}, ErrNotFound
	}
	if off < l.low.Load() {
		return Event{}, ErrTruncated
	}
	v, err := l.get(eventKey(off))
	if errors.Is(err, ErrNotFound) {
		return Event{}, &CorruptError{Offset: off, Reason: "missing"}
	}
	if err != nil {
		return Event{}, storeError(off, err)
	}
	return DecodeValue(off, v)
}

// JobOffsets returns the offsets of a job's events, oldest first.
func (l *Log) JobOffsets(id ulid.ULID) ([]uint64, error) {
	p := jobPrefix(id)
	it, err := l.db.NewIter(&pebble.IterOptions{LowerBound: p, UpperBound: prefixEnd(p)})
	if err != nil {
		return nil, fmt.Errorf("open iterator: %w", err)
	}
	defer it.Close()
	var offs []uint64
	durable := l.durable.Load()
	for ok := it.First(); ok; ok = it.Next() {
		k := it.Key()
		if len(k) != len(p)+8 {
			return nil, &CorruptError{Reason: fmt.Sprintf("bad job index key %x", k)}
		}
		if off := binary.BigEndian.Uint64(k[len(p):]); off <= durable {
			offs = append(offs, off)
		}
	}
	return offs, storeError(0, it.Error())
}

// JobEvents returns a job's whole stored history, oldest first.
func (l *Log) JobEvents(id ulid.ULID) ([]Event, error) {
	offs, err := l.JobOffsets(id)
	if err != nil {
		return nil, err
	}
	out := make([]Event, 0, len(offs))
	for _, off := range offs {
		e, err := l.Get(off)
		if err != nil {
			return nil, err
		}
		out = append(out, e)
	}
	return out, nil
}

// Blob returns the bytes stored under a blob key.
func (l *Log) Blob(key string) ([]byte, error) {
	return l.get(blobKey(key))
}

// Wait blocks until the log holds an offset above after, or ctx ends. It is
// how a consumer tails the log without polling.
func (l *Log) Wait(ctx context.Context, after uint64) error {
	for {
		ch := l.Changed()
		if l.durable.Load() > after {
			return nil
		}
		select {
		case <-ch:
		case <-ctx.Done():
			return ctx.Err()
		}
	}
}
