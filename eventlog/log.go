package eventlog

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"path/filepath"
	"sync"
	"sync/atomic"
	"time"

	"github.com/cockroachdb/pebble/v2"
)

// Log is the append-only event log. It is safe for concurrent use.
type Log struct {
	cfg  Config
	db   *pebble.DB
	lock io.Closer

	mu     sync.RWMutex // guards closed against concurrent Append sends
	closed bool
	reqs   chan *appendReq
	quit   chan struct{}
	done   chan struct{}

	durable  atomic.Uint64 // highest offset readers may see
	low      atomic.Uint64 // lowest offset still stored (the low watermark)
	changed  atomic.Pointer[chan struct{}]
	failed   atomic.Pointer[error] // sticky commit failure: the log is fail-stop (failstop.go)
	failedCh chan struct{}         // closed when failed is set

	// sequencer-owned
	next     uint64
	lastTime int64
	held     *appendReq // taken from reqs but left for the next group (MaxGroupBytes)

	tail    *tail // the newest events, for readers that follow the log
	commits atomic.Uint64
	events  atomic.Uint64

	trunc sync.Mutex // one Truncate at a time

	ack     *ackFile // nil when read-only
	ackQuit chan struct{}
	ackDone chan struct{}
	loss    *LossError // found at Open (read-only or RepairLoss)
}

// Open opens (creating if needed, unless read-only) the log in cfg.Dir.
func Open(cfg Config) (*Log, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	cfg.setDefaults()
	if !cfg.ReadOnly {
		if err := cfg.FS.MkdirAll(cfg.Dir, 0o755); err != nil {
			return nil, fmt.Errorf("create data dir: %w", err)
		}
	} else {
		if err := checkReadOnly(cfg); err != nil {
			return nil, err
		}
		cfg.FS = readOnlyFS{cfg.FS}
	}
	lock, err := cfg.FS.Lock(filepath.Join(cfg.Dir, "FOREMAN.LOCK"))
	if err != nil {
		return nil, fmt.Errorf("%w: %s (%v)", ErrLocked, cfg.Dir, err)
	}
	opts := pebbleOptions(cfg)
	db, err := pebble.Open(cfg.Dir, opts)
	opts.Cache.Unref() // the DB holds its own reference
	if err != nil {
		lock.Close()
		return nil, fmt.Errorf("open pebble: %w", err)
	}
	l := &Log{cfg: cfg, db: db, lock: lock, failedCh: make(chan struct{}), tail: newTail()}
	if err := l.load(); err != nil {
		db.Close()
		lock.Close()
		return nil, err
	}
	acked, err := readAcked(cfg.FS, cfg.Dir)
	if err == nil && acked > l.durable.Load() {
		l.loss = &LossError{From: l.durable.Load() + 1, To: acked}
		if !cfg.ReadOnly && !cfg.acceptLoss {
			err = l.loss
		}
	}
	if err == nil && !cfg.ReadOnly {
		l.ack, err = openAckFile(cfg.FS, cfg.Dir, acked)
	}
	if err != nil {
		db.Close()
		lock.Close()
		return nil, err
	}
	ch := make(chan struct{})
	l.changed.Store(&ch)
	if !cfg.ReadOnly {
		l.reqs = make(chan *appendReq, 1024)
		l.quit = make(chan struct{})
		l.done = make(chan struct{})
		l.ackQuit = make(chan struct{})
		l.ackDone = make(chan struct{})
		go l.run()
		go l.ackLoop()
	}
	return l, nil
}

// load reads the format, the low watermark and the last offset.
func (l *Log) load() error {
	switch v, err := l.get(keyFormat); {
	case errors.Is(err, ErrNotFound):
		if !l.cfg.ReadOnly {
			if err := l.guard(func() error { return l.db.Set(keyFormat, []byte{storeFormat}, pebble.Sync) }); err != nil {
				return fmt.Errorf("write format: %w", err)
			}
		}
	case err != nil:
		return fmt.Errorf("read format: %w", err)
	case len(v) != 1 || v[0] != storeFormat:
		return fmt.Errorf("eventlog: unsupported store format %v in %s", v, l.cfg.Dir)
	}
	low := uint64(1)
	switch v, err := l.get(keyLow); {
	case err == nil && len(v) == 8:
		low = binary.BigEndian.Uint64(v)
	case err == nil:
		return &CorruptError{Offset: 0, Reason: "low watermark has a bad length"}
	case !errors.Is(err, ErrNotFound):
		return fmt.Errorf("read low watermark: %w", err)
	}
	l.low.Store(low)
	last, lastTime, err := l.lastEvent()
	if err != nil {
		return err
	}
	l.next = max(last+1, low)
	l.lastTime = lastTime
	l.durable.Store(l.next - 1)
	return nil
}

// lastEvent finds the highest stored offset and its time.
func (l *Log) lastEvent() (uint64, int64, error) {
	it, err := l.db.NewIter(&pebble.IterOptions{LowerBound: prefixEvent, UpperBound: prefixEnd(prefixEvent)})
	if err != nil {
		return 0, 0, fmt.Errorf("open iterator: %w", err)
	}
	defer it.Close()
	if !it.Last() {
		return 0, 0, storeError(0, it.Error())
	}
	off, ok := eventKeyOffset(it.Key())
	if !ok {
		return 0, 0, &CorruptError{Reason: fmt.Sprintf("bad event key %x", it.Key())}
	}
	e, err := DecodeValue(off, it.Value())
	if err != nil {
		return 0, 0, err
	}
	return off, e.Time.UnixNano(), nil
}

// Close stops the sequencer after it commits what was already handed to it,
// then closes Pebble and releases the lock. A failed log closes too, and
// Close returns its failure.
func (l *Log) Close() error {
	l.mu.Lock()
	if l.closed {
		l.mu.Unlock()
		return ErrClosed
	}
	l.closed = true
	l.mu.Unlock()
	var err error
	if l.quit != nil {
		close(l.quit)
		<-l.done
		close(l.ackQuit)
		<-l.ackDone
		if l.Err() == nil {
			err = l.ack.record(l.durable.Load())
		}
		if cerr := l.ack.close(); err == nil {
			err = cerr
		}
	}
	if cerr := l.db.Close(); err == nil {
		err = cerr
	}
	if lerr := l.lock.Close(); err == nil {
		err = lerr
	}
	if ferr := l.Err(); ferr != nil {
		err = ferr // the cause, rather than what closing a failed WAL said
	}
	return err
}

// Dir is the data dir the log was opened in.
func (l *Log) Dir() string { return l.cfg.Dir }

// LastOffset is the highest durable offset (0 for an empty log).
func (l *Log) LastOffset() uint64 { return l.durable.Load() }

// LowWatermark is the lowest offset still stored; readers start there.
func (l *Log) LowWatermark() uint64 { return l.low.Load() }

// Changed returns a channel closed at the next commit. Take it before
// checking LastOffset so that no commit is missed.
func (l *Log) Changed() <-chan struct{} { return *l.changed.Load() }

// Stats counts commit groups (one fsync each) and events since Open.
type Stats struct {
	Commits uint64
	Events  uint64
}

// Stats returns the group-commit counters.
func (l *Log) Stats() Stats {
	return Stats{Commits: l.commits.Load(), Events: l.events.Load()}
}

// Compacting is the number of Pebble flushes and compactions running: a
// store that has just taken a burst (a rebuild, a backlog) works on in the
// background for a while, and benchmarks wait for it to settle.
func (l *Log) Compacting() int64 {
	m := l.db.Metrics()
	return m.Compact.NumInProgress + m.Flush.NumInProgress
}

// DiskUsage is the bytes Pebble uses on disk.
func (l *Log) DiskUsage() uint64 { return l.db.Metrics().DiskSpaceUsage() }

// Backup writes a consistent copy of the whole store to dir, which must not
// exist. The copy opens like any data dir. On the OS filesystem it is
// private to the daemon's user (backup.go).
func (l *Log) Backup(ctx context.Context, dir string) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	if onOS(l.cfg.FS) {
		return l.backupPrivate(dir)
	}
	if err := l.db.Checkpoint(dir, pebble.WithFlushedWAL()); err != nil {
		return fmt.Errorf("checkpoint: %w", err)
	}
	return nil
}

func (l *Log) get(key []byte) ([]byte, error) {
	v, closer, err := l.db.Get(key)
	if errors.Is(err, pebble.ErrNotFound) {
		return nil, ErrNotFound
	}
	if err != nil {
		return nil, storeError(0, err)
	}
	out := append([]byte(nil), v...)
	return out, closer.Close()
}

func nowNanos(last int64) int64 {
	return max(time.Now().UnixNano(), last)
}
