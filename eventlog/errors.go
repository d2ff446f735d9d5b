package eventlog

import (
	"errors"
	"fmt"
)

var (
	// ErrClosed is returned by operations on a closed Log.
	ErrClosed = errors.New("eventlog: closed")
	// ErrNotFound is returned when a key (event, blob, state) is absent.
	ErrNotFound = errors.New("eventlog: not found")
	// ErrLocked is returned by Open when another process holds the data dir.
	ErrLocked = errors.New("eventlog: data dir is in use by another process")
	// ErrReadOnly is returned by writes on a log opened read-only.
	ErrReadOnly = errors.New("eventlog: opened read-only")
	// ErrCorrupt matches every *CorruptError.
	ErrCorrupt = errors.New("eventlog: corrupt")
	// ErrFailed wraps the commit failure that made the log fail-stop: a
	// failed fsync cannot be retried safely, so every later write returns it.
	ErrFailed = errors.New("eventlog: the log failed and takes no more writes")
	// ErrTruncated is returned when reading below the low watermark.
	ErrTruncated = errors.New("eventlog: offset below low watermark")
)

// CorruptError names the offset of an event that cannot be decoded or that
// breaks the log's invariants (a gap, a mismatched offset, a bad checksum).
type CorruptError struct {
	Offset uint64
	Reason string
}

func (e *CorruptError) Error() string {
	if e.Offset == 0 { // not tied to one event (store metadata, an sstable)
		return "eventlog: corrupt store: " + e.Reason
	}
	return fmt.Sprintf("eventlog: corrupt event at offset %d: %s", e.Offset, e.Reason)
}

// Is makes errors.Is(err, ErrCorrupt) true for any *CorruptError.
func (e *CorruptError) Is(target error) bool { return target == ErrCorrupt }
