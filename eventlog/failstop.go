package eventlog

import (
	"errors"
	"fmt"
	"log/slog"
	"strings"
)

// A failed commit is sticky (ADR-0019): after a failed fsync the state of
// the WAL is unknown, so the log fails stop. Pebble reports a commit that
// failed through Logger.Fatalf, which must not return; pebbleLogger panics
// with a *fatalPanic, and every write of ours runs under guard, which turns
// that panic back into an error and marks the log failed. A Fatalf on one of
// Pebble's own goroutines (a MANIFEST write during a flush) still ends the
// process, after one clear log line.

// fatalPanic is what pebbleLogger.Fatalf panics with. It is an error so
// that a panic nobody recovers (on a Pebble goroutine) prints the cause.
type fatalPanic struct{ err error }

func (f *fatalPanic) Error() string { return "eventlog: the store failed: " + f.err.Error() }

// fail records err as the log's sticky failure (the first one wins) and
// returns the error every write now gets.
func (l *Log) fail(cause error) error {
	err := cause
	if !errors.Is(err, ErrFailed) {
		err = fmt.Errorf("%w: %w", ErrFailed, cause)
	}
	if l.failed.CompareAndSwap(nil, &err) {
		close(l.failedCh) // the daemon logs it and stops
		return err
	}
	return *l.failed.Load()
}

// guard runs a write against Pebble; a Fatalf inside it becomes the log's
// sticky failure and is returned, as is any error of a failed log.
func (l *Log) guard(write func() error) (err error) {
	if errp := l.failed.Load(); errp != nil {
		return *errp
	}
	defer func() {
		if r := recover(); r != nil {
			fp, ok := r.(*fatalPanic)
			if !ok {
				panic(r)
			}
			err = l.fail(fp.err)
		}
	}()
	return write()
}

// Err is nil while the log takes writes; after a failed commit it is the
// sticky error (errors.Is(err, ErrFailed)) that every write now returns.
func (l *Log) Err() error {
	if errp := l.failed.Load(); errp != nil {
		return *errp
	}
	return nil
}

// Failed returns a channel closed when the log fails, so that the daemon
// can stop once in-flight requests are answered.
func (l *Log) Failed() <-chan struct{} { return l.failedCh }

// pebbleLogger routes Pebble's messages to slog.
type pebbleLogger struct{ l *slog.Logger }

func (p pebbleLogger) Infof(format string, args ...any) {
	p.l.Debug(fmt.Sprintf(format, args...), "component", "pebble")
}

func (p pebbleLogger) Errorf(format string, args ...any) {
	p.l.Error(fmt.Sprintf(format, args...), "component", "pebble")
}

// Fatalf does not return: it panics with a *fatalPanic carrying the error
// Pebble passed (so that errors.Is still finds ENOSPC and the like).
func (p pebbleLogger) Fatalf(format string, args ...any) {
	msg := fmt.Sprintf(format, args...)
	var cause error
	for _, a := range args {
		if e, ok := a.(error); ok {
			prefix, found := strings.CutSuffix(msg, e.Error())
			if !found {
				prefix = msg + ": "
			}
			cause = fmt.Errorf("%s%w", prefix, e)
			break
		}
	}
	if cause == nil {
		cause = errors.New(msg)
	}
	panic(&fatalPanic{err: cause})
}

// FreeDisk is the bytes available to this process on the data dir's
// filesystem (statfs), for a headroom guard before the disk is full.
func (l *Log) FreeDisk() (uint64, error) {
	du, err := l.cfg.FS.GetDiskUsage(l.cfg.Dir)
	if err != nil {
		return 0, fmt.Errorf("free disk of %s: %w", l.cfg.Dir, err)
	}
	return du.AvailBytes, nil
}
