package eventlog

import (
	"encoding/binary"
	"errors"
	"fmt"
	"hash/crc32"
	"io"
	"os"
	"path/filepath"

	"github.com/cockroachdb/pebble/v2/vfs"
)

// The ack record (ADR-0025) is FOREMAN.ACKED beside the store: the highest
// offset ever acknowledged, kept outside Pebble so that events Pebble drops
// as a torn WAL tail (a damaged or truncated WAL) are noticed at Open
// instead of silently missing. A writer goroutine rewrites it after commits,
// off the appenders' path: it lags the WAL by at most one of its own
// fsyncs. Two slots are written in turn, each with a checksum, so a torn
// write of one leaves the other.
const (
	ackFileName = "FOREMAN.ACKED"
	ackSlotSize = 16  // magic, offset, CRC-32C
	ackSlotGap  = 512 // slots in separate sectors
	ackMagic    = 0x464d4143
)

// ackFile is the open ack record.
type ackFile struct {
	f    vfs.File
	slot int64
	last uint64 // highest offset recorded; never written lower
	buf  [ackSlotSize]byte
}

// readAcked returns the offset in the ack record of dir, 0 when there is
// none (a new store, or one made before the record existed, or a backup).
func readAcked(fs vfs.FS, dir string) (uint64, error) {
	f, err := fs.Open(filepath.Join(dir, ackFileName))
	if errors.Is(err, os.ErrNotExist) {
		return 0, nil
	}
	if err != nil {
		return 0, fmt.Errorf("open ack record: %w", err)
	}
	defer f.Close()
	var buf [ackSlotGap + ackSlotSize]byte
	n, err := f.ReadAt(buf[:], 0)
	if err != nil && !errors.Is(err, io.EOF) {
		return 0, fmt.Errorf("read ack record: %w", err)
	}
	var best uint64
	valid := false
	for _, at := range []int{0, ackSlotGap} {
		if at+ackSlotSize > n {
			continue
		}
		if off, ok := decodeAckSlot(buf[at : at+ackSlotSize]); ok {
			best, valid = max(best, off), true
		}
	}
	if !valid && n > 0 {
		return 0, fmt.Errorf("ack record %s: no slot with a valid checksum (remove the file to skip the check once)", filepath.Join(dir, ackFileName))
	}
	return best, nil
}

func crc32c(b []byte) uint32 { return crc32.Checksum(b, crcTable) }

func decodeAckSlot(b []byte) (uint64, bool) {
	if binary.BigEndian.Uint32(b) != ackMagic {
		return 0, false
	}
	if crc := binary.BigEndian.Uint32(b[12:]); crc != crc32c(b[:12]) {
		return 0, false
	}
	return binary.BigEndian.Uint64(b[4:]), true
}

// openAckFile opens (creating) the ack record for writing; last is the
// offset it already holds.
func openAckFile(fs vfs.FS, dir string, last uint64) (*ackFile, error) {
	path := filepath.Join(dir, ackFileName)
	_, statErr := fs.Stat(path)
	f, err := fs.OpenReadWrite(path, vfs.WriteCategoryUnspecified)
	if err != nil {
		return nil, fmt.Errorf("open ack record: %w", err)
	}
	a := &ackFile{f: f, last: last}
	if statErr != nil { // new: make it and its directory entry durable
		if err := a.writeSlot(last); err == nil {
			err = a.writeSlot(last)
		}
		if err == nil {
			err = syncDir(fs, dir)
		}
		if err != nil {
			f.Close()
			return nil, err
		}
	}
	return a, nil
}

// record writes off if it is above what the record holds.
func (a *ackFile) record(off uint64) error {
	if off <= a.last {
		return nil
	}
	if err := a.writeSlot(off); err != nil {
		return err
	}
	a.last = off
	return nil
}

func (a *ackFile) writeSlot(off uint64) error {
	b := a.buf[:]
	binary.BigEndian.PutUint32(b, ackMagic)
	binary.BigEndian.PutUint64(b[4:], off)
	binary.BigEndian.PutUint32(b[12:], crc32c(b[:12]))
	if _, err := a.f.WriteAt(b, a.slot*ackSlotGap); err != nil {
		return fmt.Errorf("write ack record: %w", err)
	}
	if err := a.f.SyncData(); err != nil {
		return fmt.Errorf("sync ack record: %w", err)
	}
	a.slot ^= 1
	return nil
}

func (a *ackFile) close() error { return a.f.Close() }

func syncDir(fs vfs.FS, dir string) error {
	d, err := fs.OpenDir(dir)
	if err != nil {
		return fmt.Errorf("sync data dir: %w", err)
	}
	defer d.Close()
	if err := d.Sync(); err != nil {
		return fmt.Errorf("sync data dir: %w", err)
	}
	return nil
}

// ackLoop records the durable offset after commits until quit, then once
// more for the last commits before Close.
func (l *Log) ackLoop() {
	defer close(l.ackDone)
	for {
		ch := l.Changed()
		if err := l.ack.record(l.durable.Load()); err != nil {
			l.fail(err)
			return
		}
		select {
		case <-ch:
		case <-l.ackQuit:
			return
		}
	}
}
