package projections

import (
	"context"

	"github.com/foreman-dev/foreman/eventlog"
)

// Source is where events come from: *eventlog.Log.
type Source interface {
	Scan(ctx context.Context, from, to uint64, fn func(eventlog.Event) error) error
	LowWatermark() uint64
	LastOffset() uint64
	Wait(ctx context.Context, after uint64) error
}

// Store is where projection state lives: *eventlog.Log's p/ prefix, or a
// scratch log for verification.
type Store interface {
	StateGet(key []byte) ([]byte, error)
	StateScan(prefix []byte, fn func(k, v []byte) error) error
	StateGetSorted(keys [][]byte, fn func(i int, v []byte) error) error
	StateScanBack(prefix, before []byte, fn func(k, v []byte) bool) error
	NewStateBatchSize(size int) *eventlog.StateBatch
	CommitState(b *eventlog.StateBatch) error
	ClearState() error
}

var (
	_ Source = (*eventlog.Log)(nil)
	_ Store  = (*eventlog.Log)(nil)
)
