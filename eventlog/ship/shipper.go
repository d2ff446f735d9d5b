package ship

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"sync/atomic"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/foreman-dev/foreman/eventlog"
)

// Log is the part of the event log the shipper reads.
type Log interface {
	Scan(ctx context.Context, from, to uint64, fn func(eventlog.Event) error) error
	Get(off uint64) (eventlog.Event, error)
	Wait(ctx context.Context, after uint64) error
	LastOffset() uint64
	LowWatermark() uint64
	Cursor(name string) (uint64, error)
	SetCursor(name string, off uint64) error
}

// ErrForeignLog is returned when the stream holds events of this node that
// this log does not: two daemons share a FOREMAN_NODE, or the data dir was
// replaced. The shipper refuses to go on rather than mix two histories
// under one node.
var ErrForeignLog = errors.New("ship: the stream's history of this node is not this log's")

// Shipper copies the event log into a JetStream stream, one message per
// event in the export JSON (docs/export-format.md), in offset order.
//
// It keeps no position of its own: each (re)connection reads the last
// message of its node in the stream and goes on after it, so a crash of
// either side loses nothing and re-sends nothing that was stored. Its log
// cursor (CursorName) is only the retention watermark: every event at or
// below it is in the stream.
type Shipper struct {
	cfg Config
	log Log

	shipped atomic.Uint64                 // every offset at or below is in the stream
	moved   atomic.Pointer[chan struct{}] // closed when shipped moves
	sent    atomic.Uint64                 // messages published since start
	up      atomic.Bool                   // connected and shipping
	// missing holds offsets whose publish failed while later ones were
	// stored (a JetStream leader change can do that); they are sent again,
	// out of order, before anything else.
	missing []uint64
}

// New returns a shipper; call Run.
func New(log Log, cfg Config) (*Shipper, error) {
	if log == nil {
		return nil, fmt.Errorf("%w: Log is required", ErrConfig)
	}
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	s := &Shipper{cfg: cfg.withDefaults(), log: log}
	ch := make(chan struct{})
	s.moved.Store(&ch)
	return s, nil
}

// WaitShipped blocks until every event at or below off is in the stream,
// or ctx ends.
func (s *Shipper) WaitShipped(ctx context.Context, off uint64) error {
	for {
		ch := *s.moved.Load()
		if s.shipped.Load() >= off {
			return nil
		}
		select {
		case <-ch:
		case <-ctx.Done():
			return ctx.Err()
		}
	}
}

// Shipped is the offset at or below which every event is in the stream.
func (s *Shipper) Shipped() uint64 { return s.shipped.Load() }

// Sent counts the messages published since start (re-sends included).
func (s *Shipper) Sent() uint64 { return s.sent.Load() }

// Connected says whether the shipper is connected and shipping.
func (s *Shipper) Connected() bool { return s.up.Load() }

// Run ships until ctx ends. NATS being down or refusing is logged and
// retried with backoff; it never returns an error, and nothing in the
// daemon waits for it.
func (s *Shipper) Run(ctx context.Context) error {
	wait := s.cfg.MinBackoff
	for {
		before := s.shipped.Load()
		err := s.session(ctx)
		s.up.Store(false)
		if ctx.Err() != nil {
			return nil
		}
		if s.shipped.Load() > before {
			wait = s.cfg.MinBackoff
		}
		lvl := "shipping to NATS paused"
		if errors.Is(err, ErrForeignLog) {
			s.cfg.Logger.Error(lvl, "err", err, "retry_in", wait)
		} else {
			s.cfg.Logger.Warn(lvl, "err", err, "retry_in", wait, "shipped", s.shipped.Load())
		}
		t := time.NewTimer(wait)
		select {
		case <-ctx.Done():
			t.Stop()
			return nil
		case <-t.C:
		}
		wait = min(wait*2, s.cfg.MaxBackoff)
	}
}

// session connects, finds where the stream ends for this node and ships
// from there until something fails.
func (s *Shipper) session(parent context.Context) error {
	// A closed connection ends the session even while it waits for new
	// events, so that Connected tells the truth and the retry starts.
	ctx, cancel := context.WithCancel(parent)
	defer cancel()
	opts := []nats.Option{nats.Name("foreman " + s.cfg.Node), nats.NoReconnect(), nats.Timeout(5 * time.Second),
		nats.ClosedHandler(func(*nats.Conn) { s.up.Store(false); cancel() })}
	if s.cfg.Credentials != "" {
		opts = append(opts, nats.UserCredentials(s.cfg.Credentials))
	}
	nc, err := nats.Connect(s.cfg.URL, opts...)
	if err != nil {
		return fmt.Errorf("connect %s: %w", RedactURL(s.cfg.URL), err)
	}
	defer nc.Close()
	js, err := jetstream.New(nc, jetstream.WithPublishAsyncMaxPending(s.cfg.Window), jetstream.WithPublishAsyncTimeout(s.cfg.AckTimeout))
	if err != nil {
		return err
	}
	st, err := EnsureStream(ctx, js, s.cfg.Stream, s.cfg.Replicas)
	if err != nil {
		return err
	}
	last, err := s.resumePoint(ctx, st)
	if err != nil {
		return err
	}
	if err := s.resend(ctx, js); err != nil {
		return err
	}
	s.settle(last)
	s.up.Store(true)
	s.cfg.Logger.Info("shipping to NATS", "url", RedactURL(s.cfg.URL), "stream", s.cfg.Stream, "node", s.cfg.Node, "from", last+1)
	next := last + 1
	for {
		if low := s.log.LowWatermark(); next < low {
			s.cfg.Logger.Warn("events deleted before they were shipped (retention ran while shipping was off)", "from", next, "to", low-1)
			next = low
		}
		end := s.log.LastOffset()
		if next > end {
			if err := s.log.Wait(ctx, end); err != nil {
				if parent.Err() == nil {
					return errors.New("connection to NATS closed")
				}
				return err
			}
			continue
		}
		to := min(end, next+uint64(s.cfg.Window)-1)
		if err := s.window(ctx, js, next, to); err != nil {
			return err
		}
		next = to + 1
	}
}

// resumePoint is the last offset of this node in the stream, checked
// against the log. Offsets missing between the ship cursor and it (a
// publish lost mid-window, not re-sent before a crash) go to missing.
func (s *Shipper) resumePoint(ctx context.Context, st jetstream.Stream) (uint64, error) {
	last, m, err := lastMsg(ctx, st, s.cfg.Node)
	if err != nil || last == 0 {
		return last, err
	}
	if end := s.log.LastOffset(); last > end {
		return 0, fmt.Errorf("%w: node %q is at offset %d in stream %s but this log ends at %d (two daemons with one FOREMAN_NODE, or a new data dir?)",
			ErrForeignLog, s.cfg.Node, last, s.cfg.Stream, end)
	}
	low := s.log.LowWatermark()
	if last < low {
		return last, nil // deleted here: nothing to compare
	}
	e, err := s.log.Get(last)
	if err != nil {
		return 0, fmt.Errorf("read offset %d: %w", last, err)
	}
	if err := sameEvent(e, m.Data); err != nil {
		return 0, fmt.Errorf("%w: node %q offset %d: %v", ErrForeignLog, s.cfg.Node, last, err)
	}
	c, err := s.log.Cursor(CursorName)
	if err != nil {
		return 0, err
	}
	miss, err := gaps(ctx, st, s.cfg.Node, max(c, low-1), last, m.Sequence)
	if err != nil {
		return 0, err
	}
	if len(miss) > 0 {
		s.cfg.Logger.Error("offsets missing from the stream below its last message; sending them again", "offsets", miss)
		s.missing = slices.Compact(slices.Sorted(slices.Values(append(s.missing, miss...))))
	}
	return last, nil
}

// window publishes the events from..to asynchronously and waits for their
// acknowledgements. One connection delivers them in order, so what the
// stream stored is a prefix of the window unless a publish failed in the
// middle; then the failed ones are remembered in missing.
func (s *Shipper) window(ctx context.Context, js jetstream.JetStream, from, to uint64) error {
	futs := make([]jetstream.PubAckFuture, 0, to-from+1)
	err := s.log.Scan(ctx, from, to, func(e eventlog.Event) error {
		m, err := s.message(e)
		if err != nil {
			return err
		}
		f, err := js.PublishMsgAsync(m)
		if err != nil {
			return fmt.Errorf("publish offset %d: %w", e.Offset, err)
		}
		futs = append(futs, f)
		return nil
	})
	s.sent.Add(uint64(len(futs)))
	stored := -1 // index of the last acknowledged message
	var failed []uint64
	var firstErr error
	for i, f := range futs {
		select {
		case <-f.Ok():
			stored = i
		case ferr := <-f.Err():
			failed = append(failed, from+uint64(i))
			if firstErr == nil {
				firstErr = fmt.Errorf("publish offset %d: %w", from+uint64(i), ferr)
			}
		case <-ctx.Done():
			return ctx.Err()
		}
	}
	if len(failed) > 0 && failed[0] < from+uint64(stored) {
		gap := slices.DeleteFunc(failed, func(off uint64) bool { return off > from+uint64(stored) })
		s.cfg.Logger.Error("stored out of order: publishes failed while later ones were stored; sending them again", "offsets", gap)
		s.missing = append(s.missing, gap...)
	}
	if stored >= 0 && len(s.missing) == 0 {
		s.settle(from + uint64(stored))
	}
	if firstErr != nil {
		return firstErr
	}
	return err
}

// resend publishes the missing offsets one at a time, waiting for each.
func (s *Shipper) resend(ctx context.Context, js jetstream.JetStream) error {
	for len(s.missing) > 0 {
		e, err := s.log.Get(s.missing[0])
		if errors.Is(err, eventlog.ErrTruncated) {
			s.cfg.Logger.Error("an offset missing from the stream was deleted before it could be sent again", "offset", s.missing[0])
			s.missing = s.missing[1:]
			continue
		}
		if err != nil {
			return fmt.Errorf("resend offset %d: %w", s.missing[0], err)
		}
		m, err := s.message(e)
		if err != nil {
			return err
		}
		if _, err := js.PublishMsg(ctx, m); err != nil {
			return fmt.Errorf("resend offset %d: %w", e.Offset, err)
		}
		s.sent.Add(1)
		s.missing = s.missing[1:]
	}
	return nil
}

// message is e as a JetStream message.
func (s *Shipper) message(e eventlog.Event) (*nats.Msg, error) {
	body, err := eventlog.JSON(e)
	if err != nil {
		return nil, fmt.Errorf("render offset %d: %w", e.Offset, err)
	}
	m := nats.NewMsg(Subject(s.cfg.Node, e.Type))
	m.Data = body
	m.Header.Set(jetstream.MsgIDHeader, MsgID(s.cfg.Node, e.Offset))
	return m, nil
}

// settle records that everything at or below off is in the stream: the
// watermark retention reads. Below a missing offset nothing settles.
func (s *Shipper) settle(off uint64) {
	if len(s.missing) > 0 {
		off = min(off, s.missing[0]-1)
	}
	if off <= s.shipped.Load() {
		return
	}
	if err := s.log.SetCursor(CursorName, off); err != nil {
		s.cfg.Logger.Warn("could not save the ship cursor", "err", err)
		return
	}
	s.shipped.Store(off)
	ch := make(chan struct{})
	close(*s.moved.Swap(&ch))
}
