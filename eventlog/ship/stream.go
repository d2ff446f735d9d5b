package ship

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/foreman-dev/foreman/eventlog"
)

// EnsureStream returns the stream, creating it when it is missing: file
// storage, the given replicas, every foreman.> subject, limits left to the
// operator (docs/fleet-audit.md). An existing stream is used as it is.
func EnsureStream(ctx context.Context, js jetstream.JetStream, name string, replicas int) (jetstream.Stream, error) {
	st, err := js.Stream(ctx, name)
	if !errors.Is(err, jetstream.ErrStreamNotFound) {
		if err != nil {
			return nil, fmt.Errorf("stream %s: %w", name, err)
		}
		return st, nil
	}
	st, err = js.CreateStream(ctx, jetstream.StreamConfig{
		Name:        name,
		Description: "foreman event logs, one message per event (foreman.<node>.<type>)",
		Subjects:    []string{SubjectPrefix + ".>"},
		Storage:     jetstream.FileStorage,
		Replicas:    max(replicas, 1),
	})
	if errors.Is(err, jetstream.ErrStreamNameAlreadyInUse) { // another node created it first
		st, err = js.Stream(ctx, name)
	}
	if err != nil {
		return nil, fmt.Errorf("create stream %s: %w", name, err)
	}
	return st, nil
}

// LastOffset returns the offset and body of the last message of node in
// the stream; 0 when it has none.
func LastOffset(ctx context.Context, st jetstream.Stream, node string) (uint64, []byte, error) {
	off, m, err := lastMsg(ctx, st, node)
	if err != nil || m == nil {
		return 0, nil, err
	}
	return off, m.Data, nil
}

// lastMsg is node's last message and its offset; nil when it has none.
func lastMsg(ctx context.Context, st jetstream.Stream, node string) (uint64, *jetstream.RawStreamMsg, error) {
	m, err := st.GetLastMsgForSubject(ctx, NodeFilter(node))
	if errors.Is(err, jetstream.ErrMsgNotFound) {
		return 0, nil, nil
	}
	if err != nil {
		return 0, nil, fmt.Errorf("last message of node %s: %w", node, err)
	}
	id := m.Header.Get(jetstream.MsgIDHeader)
	n, off, err := ParseMsgID(id)
	if err != nil {
		return 0, nil, fmt.Errorf("last message of node %s (stream seq %d): %w", node, m.Sequence, err)
	}
	if n != node {
		return 0, nil, fmt.Errorf("last message of node %s (stream seq %d) has id %q", node, m.Sequence, id)
	}
	return off, m, nil
}

// sameEvent checks that a shipped body is e: the envelope, not the payload,
// whose rendering later versions may extend.
func sameEvent(e eventlog.Event, body []byte) error {
	var got eventlog.EventJSON
	if err := json.Unmarshal(body, &got); err != nil {
		return fmt.Errorf("shipped body: %w", err)
	}
	want := eventlog.NewEventJSON(e, nil)
	if got.Offset != want.Offset || got.Time != want.Time || got.Job != want.Job || got.Type != want.Type {
		return fmt.Errorf("stream has %s %s at %s, the log %s %s at %s", got.Type, got.Job, got.Time, want.Type, want.Job, want.Time)
	}
	return nil
}
