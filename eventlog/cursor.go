package eventlog

import (
	"encoding/binary"
	"errors"
	"fmt"

	"github.com/cockroachdb/pebble/v2"
)

// Consumers of the log outside the projections (the webhook dispatcher)
// keep a named cursor: every event at or below it is settled. A cursor is a
// hint that saves work at start, never the truth: losing it only means
// re-reading more of the log, so it is written without a sync.
var prefixCursor = []byte("c/")

func cursorKey(name string) []byte { return append(append([]byte(nil), prefixCursor...), name...) }

// Cursor returns the named cursor, or 0.
func (l *Log) Cursor(name string) (uint64, error) {
	v, err := l.get(cursorKey(name))
	if errors.Is(err, ErrNotFound) {
		return 0, nil
	}
	if err != nil {
		return 0, err
	}
	if len(v) != 8 {
		return 0, fmt.Errorf("cursor %s: bad length %d", name, len(v))
	}
	return binary.BigEndian.Uint64(v), nil
}

// SetCursor stores the named cursor.
func (l *Log) SetCursor(name string, off uint64) error {
	if l.cfg.ReadOnly {
		return ErrReadOnly
	}
	return l.guard(func() error { return l.db.Set(cursorKey(name), binary.BigEndian.AppendUint64(nil, off), pebble.NoSync) })
}
