package eventlog

import (
	"bytes"
	"fmt"

	"github.com/cockroachdb/pebble/v2"
)

// The projections keep their state in the same Pebble database, under the
// p/ prefix; these methods are the whole of their access to it.

// StateGet returns the state value under key.
func (l *Log) StateGet(key []byte) ([]byte, error) {
	return l.get(stateKey(key))
}

// StateScan calls fn for each state key with the given prefix, in key order.
// k and v are valid only during the call.
func (l *Log) StateScan(prefix []byte, fn func(k, v []byte) error) error {
	lo := stateKey(prefix)
	it, err := l.db.NewIter(&pebble.IterOptions{LowerBound: lo, UpperBound: prefixEnd(lo)})
	if err != nil {
		return fmt.Errorf("open iterator: %w", err)
	}
	defer it.Close()
	for ok := it.First(); ok; ok = it.Next() {
		if err := fn(it.Key()[len(prefixState):], it.Value()); err != nil {
			return err
		}
	}
	return storeError(0, it.Error())
}

// StateGetSorted calls fn with the value under each of keys, which must be
// in ascending order, on one iterator: seeking forward from the last key
// found is much cheaper than a Get each (a start-up loads every active
// job's view this way). A missing key ends it with ErrNotFound. v is valid
// only during the call.
func (l *Log) StateGetSorted(keys [][]byte, fn func(i int, v []byte) error) error {
	if len(keys) == 0 {
		return nil
	}
	lo := stateKey(keys[0])
	it, err := l.db.NewIter(&pebble.IterOptions{LowerBound: lo, UpperBound: prefixEnd(stateKey(keys[len(keys)-1]))})
	if err != nil {
		return fmt.Errorf("open iterator: %w", err)
	}
	defer it.Close()
	var buf []byte
	for i, k := range keys {
		buf = append(append(buf[:0], prefixState...), k...)
		if !it.SeekGE(buf) || !bytes.Equal(it.Key(), buf) {
			if err := it.Error(); err != nil {
				return err
			}
			return fmt.Errorf("state key %x: %w", k, ErrNotFound)
		}
		if err := fn(i, it.Value()); err != nil {
			return err
		}
	}
	return storeError(0, it.Error())
}

// StateScanBack calls fn for each state key with the given prefix that
// sorts below before (nil: no bound), in descending key order, until fn
// returns false.
func (l *Log) StateScanBack(prefix, before []byte, fn func(k, v []byte) bool) error {
	lo := stateKey(prefix)
	hi := prefixEnd(lo)
	if before != nil {
		hi = stateKey(before)
	}
	it, err := l.db.NewIter(&pebble.IterOptions{LowerBound: lo, UpperBound: hi})
	if err != nil {
		return fmt.Errorf("open iterator: %w", err)
	}
	defer it.Close()
	for ok := it.Last(); ok; ok = it.Prev() {
		if !fn(it.Key()[len(prefixState):], it.Value()) {
			break
		}
	}
	return storeError(0, it.Error())
}

// StateBatch collects state writes that commit atomically.
type StateBatch struct {
	b *pebble.Batch
}

// NewStateBatch starts a batch of state writes.
func (l *Log) NewStateBatch() *StateBatch {
	return &StateBatch{b: l.db.NewBatch()}
}

// NewStateBatchSize is NewStateBatch with room for about size bytes, so a
// large batch (a rebuild's flush) does not grow by copying.
func (l *Log) NewStateBatchSize(size int) *StateBatch {
	return &StateBatch{b: l.db.NewBatchWithSize(size)}
}

// Set stages key = value.
func (s *StateBatch) Set(key, value []byte) error { return s.b.Set(stateKey(key), value, nil) }

// Delete stages the removal of key.
func (s *StateBatch) Delete(key []byte) error { return s.b.Delete(stateKey(key), nil) }

// CommitState applies the batch without a sync: state is derived from the
// synced log, so a lost write only means a longer replay.
func (l *Log) CommitState(s *StateBatch) error {
	defer s.b.Close()
	if l.cfg.ReadOnly {
		return ErrReadOnly
	}
	if err := l.guard(func() error { return s.b.Commit(pebble.NoSync) }); err != nil {
		return fmt.Errorf("commit state: %w", err)
	}
	return nil
}

// ClearState deletes all projection state (before a rebuild).
func (l *Log) ClearState() error {
	if l.cfg.ReadOnly {
		return ErrReadOnly
	}
	if err := l.guard(func() error { return l.db.DeleteRange(prefixState, prefixEnd(prefixState), pebble.NoSync) }); err != nil {
		return fmt.Errorf("clear state: %w", err)
	}
	return nil
}

// DeleteRange stages the removal of every key in [start, end).
func (s *StateBatch) DeleteRange(start, end []byte) error {
	return s.b.DeleteRange(stateKey(start), stateKey(end), nil)
}
