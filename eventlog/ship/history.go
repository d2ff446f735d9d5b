package ship

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/foreman-dev/foreman/eventlog"
)

// Record is one shipped event read back from the stream.
type Record struct {
	Node  string             `json:"node"`
	Seq   uint64             `json:"seq"` // the stream sequence
	Event eventlog.EventJSON `json:"event"`
}

// Filter narrows a Read.
type Filter struct {
	Node string    // "" every node
	From time.Time // zero: from the start of the stream (by store time)
}

// readBatch is how many messages one fetch asks for.
const readBatch = 1000

// Read calls fn for every event of the stream that f selects, in stream
// order, up to the end of the stream as it was when Read started. A
// message that is not a shipped event is an error naming its sequence.
func Read(ctx context.Context, js jetstream.JetStream, stream string, f Filter, fn func(Record) error) error {
	st, err := js.Stream(ctx, stream)
	if err != nil {
		return fmt.Errorf("stream %s: %w", stream, err)
	}
	cfg := jetstream.OrderedConsumerConfig{FilterSubjects: []string{NodeFilter(f.Node)}}
	if !f.From.IsZero() {
		from := f.From
		cfg.DeliverPolicy, cfg.OptStartTime = jetstream.DeliverByStartTimePolicy, &from
	}
	cons, err := st.OrderedConsumer(ctx, cfg)
	if err != nil {
		return fmt.Errorf("stream %s: %w", stream, err)
	}
	for {
		batch, err := cons.FetchNoWait(readBatch)
		if err != nil {
			return fmt.Errorf("stream %s: %w", stream, err)
		}
		n, done := 0, false
		for m := range batch.Messages() {
			n++
			meta, err := m.Metadata()
			if err != nil {
				return fmt.Errorf("stream %s: %w", stream, err)
			}
			r := Record{Node: NodeOf(m.Subject()), Seq: meta.Sequence.Stream}
			if err := json.Unmarshal(m.Data(), &r.Event); err != nil || r.Event.Offset == 0 {
				return fmt.Errorf("stream %s seq %d (%s): not a foreman event: %v", stream, r.Seq, m.Subject(), err)
			}
			if err := fn(r); err != nil {
				return err
			}
			done = meta.NumPending == 0
		}
		if err := batch.Error(); err != nil && !errors.Is(err, jetstream.ErrNoMessages) {
			return fmt.Errorf("stream %s: %w", stream, err)
		}
		if n == 0 || done {
			return ctx.Err()
		}
	}
}
