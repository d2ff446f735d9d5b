package main

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"strings"

	"github.com/oklog/ulid/v2"

	"github.com/foreman-dev/foreman/eventlog"
	"github.com/foreman-dev/foreman/projections"
)

// verifyReport is what `foreman log verify` reports.
type verifyReport struct {
	OK           bool   `json:"ok"`
	Events       uint64 `json:"events"`       // events whose envelope and payload decoded
	FirstOffset  uint64 `json:"first_offset"` // 0: no events
	LastOffset   uint64 `json:"last_offset"`
	LowWatermark uint64 `json:"low_watermark"`
	Checkpoint   uint64 `json:"checkpoint"` // stored projections checkpoint; 0: none
	StateKeys    int    `json:"state_keys"` // projection state keys compared
	Error        string `json:"error,omitempty"`
	BadOffset    uint64 `json:"bad_offset,omitempty"` // first corrupt event
	BadKey       string `json:"bad_key,omitempty"`    // first mismatching state key
	// LostFrom..LostTo were acknowledged (the ack record, ADR-0025) but
	// are not in the log.
	LostFrom uint64 `json:"lost_from,omitempty"`
	LostTo   uint64 `json:"lost_to,omitempty"`
}

// verify decodes every event and payload from the low watermark, then
// rebuilds the projections into a scratch store and compares them byte for
// byte with the stored state. Any problem is a *verifyFailure (exit 3).
func (c *LogCommand) verify(ctx context.Context, args []string) error {
	f := c.newLogFlags("verify", "verify [--data-dir DIR] [--json]")
	pos, err := f.parse(args)
	if err != nil {
		return err
	}
	if len(pos) != 0 {
		f.fs.Usage()
		return &usageError{fmt.Sprintf("log verify takes no arguments, got %q", pos)}
	}
	l, err := c.openLog(*f.dataDir)
	if errors.Is(err, eventlog.ErrCorrupt) { // damaged before any event is read
		if *f.json {
			writeJSON(c.m.Stdout, verifyReport{Error: err.Error()})
		} else {
			fmt.Fprintf(c.m.Stdout, "store:       FAILED: %v\n", err)
		}
		return &verifyFailure{fmt.Errorf("verify: %w", err)}
	}
	if err != nil {
		return err
	}
	defer l.Close()
	rep := verifyReport{LowWatermark: l.LowWatermark()}
	err = c.verifyEvents(ctx, l, &rep)
	if err == nil {
		err = c.verifyProjections(ctx, l, &rep)
	}
	if loss := l.Loss(); loss != nil && err == nil {
		rep.LostFrom, rep.LostTo = loss.From, loss.To
		err = loss
	}
	var ce *eventlog.CorruptError
	var me *projections.MismatchError
	switch {
	case errors.Is(err, eventlog.ErrLost):
		err = &verifyFailure{fmt.Errorf("verify: %w", err)}
	case errors.As(err, &ce):
		rep.BadOffset = ce.Offset
		err = &verifyFailure{fmt.Errorf("verify: %w", err)}
	case errors.As(err, &me):
		rep.BadKey = stateKeyName(me.Key)
		err = &verifyFailure{fmt.Errorf("verify: %w", mismatch{me})}
	case err != nil:
		return fmt.Errorf("verify: %w", err) // could not check, not a finding
	}
	if err != nil {
		rep.Error = err.Error()
	}
	rep.OK = err == nil
	if *f.json {
		if werr := writeJSON(c.m.Stdout, rep); werr != nil {
			return werr
		}
		return err
	}
	if werr := c.printVerify(rep); werr != nil {
		return werr
	}
	return err
}

// verifyEvents scans the whole stored log: Scan checks that offsets are
// dense and every envelope's checksum; this adds payloads and time order.
func (c *LogCommand) verifyEvents(ctx context.Context, l *eventlog.Log, rep *verifyReport) error {
	var last eventlog.Event
	return l.Scan(ctx, 0, 0, func(e eventlog.Event) error {
		if rep.Events > 0 && e.Time.Before(last.Time) {
			return &eventlog.CorruptError{Offset: e.Offset, Reason: fmt.Sprintf("time %s is before the previous event's %s", e.Time, last.Time)}
		}
		if _, err := renderPayload(e); err != nil {
			return err
		}
		if rep.Events == 0 {
			rep.FirstOffset = e.Offset
		}
		rep.Events++
		rep.LastOffset = e.Offset
		last = e
		return nil
	})
}

// verifyProjections compares the stored projection state with a rebuild.
func (c *LogCommand) verifyProjections(ctx context.Context, l *eventlog.Log, rep *verifyReport) error {
	scratch, err := openScratch()
	if err != nil {
		return err
	}
	defer scratch.Close()
	pr, err := projections.Verify(ctx, l, l, scratch)
	rep.Checkpoint, rep.StateKeys = pr.Checkpoint, pr.Keys
	return err
}

func (c *LogCommand) printVerify(rep verifyReport) error {
	out := newOutput(c.m.Stdout)
	eventsOK := rep.OK || rep.BadKey != ""
	switch {
	case !eventsOK && rep.Events > 0:
		fmt.Fprintf(out, "events:      %d good, offsets %d..%d\n", rep.Events, rep.FirstOffset, rep.LastOffset)
	case !eventsOK:
	case rep.Events == 0:
		fmt.Fprintf(out, "events:      none stored (low watermark %d)\n", rep.LowWatermark)
	default:
		fmt.Fprintf(out, "events:      %d checked, offsets %d..%d (low watermark %d): dense, checksums match, payloads decode\n",
			rep.Events, rep.FirstOffset, rep.LastOffset, rep.LowWatermark)
	}
	switch {
	case !eventsOK:
		fmt.Fprintf(out, "events:      FAILED at offset %d\n", rep.BadOffset)
	case rep.BadKey != "":
		fmt.Fprintf(out, "projections: FAILED at state key %s\n", rep.BadKey)
	case rep.Checkpoint == 0:
		fmt.Fprintf(out, "projections: no checkpoint stored, nothing to compare\n")
	default:
		fmt.Fprintf(out, "projections: checkpoint at offset %d, %d state keys match a rebuild\n", rep.Checkpoint, rep.StateKeys)
	}
	if rep.LostTo != 0 {
		fmt.Fprintf(out, "ack record:  FAILED: offsets %d..%d were acknowledged and are missing (see `foreman log repair`)\n", rep.LostFrom, rep.LostTo)
	}
	if rep.OK {
		fmt.Fprintln(out, "ok")
	}
	return out.flush()
}

// mismatch renders a projections.MismatchError with a readable key.
type mismatch struct{ *projections.MismatchError }

func (m mismatch) Error() string {
	if len(m.Key) == 0 {
		return "projection state: " + m.Reason
	}
	return fmt.Sprintf("projection state key %s: %s", stateKeyName(m.Key), m.Reason)
}

func (m mismatch) Unwrap() error { return m.MismatchError }

// stateKeyName renders a projection state key (below the p/ prefix) with
// job ids as ULID text: j/<ULID>, a/<ULID>, k/<submitter>/<key>.
func stateKeyName(k []byte) string {
	s := string(k)
	switch {
	case len(k) == 2+len(ulid.ULID{}) && (strings.HasPrefix(s, "j/") || strings.HasPrefix(s, "a/")):
		var id ulid.ULID
		copy(id[:], k[2:])
		return s[:2] + id.String()
	case strings.HasPrefix(s, "k/"):
		sub, key, _ := strings.Cut(s[2:], "\x00")
		return "k/" + strconv.Quote(sub) + "/" + strconv.Quote(key)
	}
	return strconv.Quote(s)
}
