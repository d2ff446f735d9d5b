package eventlog

import (
	"fmt"
	"strings"

	"github.com/cockroachdb/pebble/v2"
)

// Pebble reports a damaged sstable (a checksum mismatch) through its
// DataCorruption event, whose default calls Logger.Fatalf: a panic trace.
// onCorruption logs one line instead, and the read that hit the damage
// returns Pebble's corruption error, which storeError turns into the same
// *CorruptError as any other corruption.

func onCorruption(l pebbleLogger) func(pebble.DataCorruptionInfo) {
	return func(info pebble.DataCorruptionInfo) {
		l.l.Error("the store is damaged on disk", "file", info.Path, "err", firstLine(info.Details))
	}
}

// storeError turns Pebble's corruption errors into a *CorruptError at
// offset off (0: not tied to an event); other errors pass.
func storeError(off uint64, err error) error {
	if err == nil || !pebble.IsCorruptionError(err) {
		return err
	}
	return &CorruptError{Offset: off, Reason: fmt.Sprintf("the store is damaged on disk: %s", firstLine(err))}
}

// firstLine is err's message without Pebble's stack details.
func firstLine(err error) string {
	s, _, _ := strings.Cut(err.Error(), "\n")
	return s
}
