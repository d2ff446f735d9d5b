package projections

import (
	"bytes"
	"context"
	"errors"
	"fmt"

	"github.com/vmihailenco/msgpack/v5"

	"github.com/foreman-dev/foreman/eventlog"
)

// ErrMismatch matches every *MismatchError.
var ErrMismatch = errors.New("projections: stored state differs from a rebuild")

// MismatchError names the first state key where the stored projections and
// a rebuild from the log disagree.
type MismatchError struct {
	Key    []byte
	Reason string
}

func (e *MismatchError) Error() string {
	return fmt.Sprintf("projections: state key %q: %s", e.Key, e.Reason)
}

// Is makes errors.Is(err, ErrMismatch) true.
func (e *MismatchError) Is(target error) bool { return target == ErrMismatch }

// VerifyReport says what Verify compared.
type VerifyReport struct {
	Checkpoint uint64 // offset of the stored checkpoint (0: none stored)
	Keys       int    // state keys compared
}

// Verify rebuilds the projections from the low watermark into scratch (an
// empty store), up to the offset of the checkpoint stored in st, and
// compares every state key and value byte for byte. It never writes to st.
func Verify(ctx context.Context, src Source, st, scratch Store) (VerifyReport, error) {
	var rep VerifyReport
	v, err := st.StateGet(keyCheckpoint)
	if errors.Is(err, eventlog.ErrNotFound) {
		return rep, nil // nothing stored to compare with
	}
	if err != nil {
		return rep, fmt.Errorf("read checkpoint: %w", err)
	}
	var ck checkpoint
	if err := msgpack.Unmarshal(v, &ck); err != nil {
		return rep, &MismatchError{Key: keyCheckpoint, Reason: "unreadable: " + err.Error()}
	}
	rep.Checkpoint = ck.Offset
	if ck.Version != Version {
		return rep, &MismatchError{Key: keyCheckpoint, Reason: fmt.Sprintf("version %d, this foreman writes %d (a restart rebuilds it)", ck.Version, Version)}
	}
	p := newProjections(src, scratch)
	if err := p.reset("verify"); err != nil {
		return rep, err
	}
	if ck.Offset >= src.LowWatermark() {
		if err := p.CatchUp(ctx, ck.Offset); err != nil {
			return rep, err
		}
	}
	if p.Applied() != ck.Offset {
		return rep, &MismatchError{Key: keyCheckpoint, Reason: fmt.Sprintf("checkpoint at %d, log ends at %d", ck.Offset, p.Applied())}
	}
	n, err := compareInto(st, scratch, "stored", "rebuilt")
	if err != nil {
		return rep, err
	}
	m, err := compareInto(scratch, st, "rebuilt", "stored")
	if err != nil {
		return rep, err
	}
	if n != m {
		return rep, &MismatchError{Reason: fmt.Sprintf("%d stored keys, %d rebuilt", n, m)}
	}
	rep.Keys = n
	return rep, nil
}

// compareInto checks that every key of a has the same value in b. The
// last runs (r/) are left out: they only feed estimates, and once
// retention has truncated the log a rebuild cannot learn the runs of the
// expired jobs it no longer sees.
func compareInto(a, b Store, an, bn string) (int, error) {
	n := 0
	err := a.StateScan(nil, func(k, v []byte) error {
		if bytes.HasPrefix(k, prefixRun) {
			return nil
		}
		n++
		w, err := b.StateGet(k)
		if errors.Is(err, eventlog.ErrNotFound) {
			return &MismatchError{Key: bytes.Clone(k), Reason: fmt.Sprintf("in %s state, not in %s", an, bn)}
		}
		if err != nil {
			return err
		}
		if !bytes.Equal(v, w) {
			return &MismatchError{Key: bytes.Clone(k), Reason: fmt.Sprintf("%s and %s values differ", an, bn)}
		}
		return nil
	})
	return n, err
}
