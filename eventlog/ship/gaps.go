package ship

import (
	"context"
	"errors"
	"fmt"

	"github.com/nats-io/nats.go/jetstream"
)

// gaps returns the offsets in (after, last] that the stream lacks for node;
// lastSeq is the stream sequence of offset last. A node's messages are in
// offset order except after a re-send, so the first one above after is
// found by bisecting stream sequences, and the range is then read once.
//
// This is what makes a gap survive a crash of the daemon: the ship cursor
// (after) never passes a missing offset, so the next start looks again.
func gaps(ctx context.Context, st jetstream.Stream, node string, after, last, lastSeq uint64) ([]uint64, error) {
	if after >= last {
		return nil, nil
	}
	info, err := st.Info(ctx)
	if err != nil {
		return nil, fmt.Errorf("stream info: %w", err)
	}
	filter := NodeFilter(node)
	// offsetAt is the offset of node's first message at or after seq.
	offsetAt := func(seq uint64) (uint64, uint64, error) {
		m, err := st.GetMsg(ctx, seq, jetstream.WithGetMsgSubject(filter))
		if err != nil {
			return 0, 0, err
		}
		_, off, err := ParseMsgID(m.Header.Get(jetstream.MsgIDHeader))
		return off, m.Sequence, err
	}
	lo, hi := info.State.FirstSeq, lastSeq // find the first seq whose node offset is > after
	for lo < hi {
		mid := lo + (hi-lo)/2
		off, seq, err := offsetAt(mid)
		switch {
		case errors.Is(err, jetstream.ErrMsgNotFound):
			hi = mid
		case err != nil:
			return nil, fmt.Errorf("look for offset %d: %w", after+1, err)
		case off > after:
			hi = mid
		default:
			lo = seq + 1
		}
	}
	cons, err := st.OrderedConsumer(ctx, jetstream.OrderedConsumerConfig{
		FilterSubjects: []string{filter}, DeliverPolicy: jetstream.DeliverByStartSequencePolicy, OptStartSeq: lo,
	})
	if err != nil {
		return nil, fmt.Errorf("read offsets %d..%d: %w", after+1, last, err)
	}
	present := make(map[uint64]bool, last-after)
	for done := false; !done; {
		batch, err := cons.FetchNoWait(readBatch)
		if err != nil {
			return nil, fmt.Errorf("read offsets %d..%d: %w", after+1, last, err)
		}
		n := 0
		for m := range batch.Messages() {
			n++
			meta, err := m.Metadata()
			if err != nil {
				return nil, err
			}
			if meta.Sequence.Stream > lastSeq {
				done = true
				continue
			}
			if _, off, err := ParseMsgID(m.Headers().Get(jetstream.MsgIDHeader)); err == nil && off > after && off <= last {
				present[off] = true
			}
			done = done || meta.Sequence.Stream == lastSeq || meta.NumPending == 0
		}
		if err := batch.Error(); err != nil && !errors.Is(err, jetstream.ErrNoMessages) {
			return nil, fmt.Errorf("read offsets %d..%d: %w", after+1, last, err)
		}
		done = done || n == 0
	}
	var missing []uint64
	for off := after + 1; off <= last; off++ {
		if !present[off] {
			missing = append(missing, off)
		}
	}
	return missing, nil
}
