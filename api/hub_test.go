package api

import (
	"testing"

	"github.com/oklog/ulid/v2"
)

// TestHubBoundCountsEachMessage: a subscriber that reads nothing is cut
// once its queue reaches MaxBuffered counting each message's own cost, not
// only its data: a token-sized chunk costs more to queue than it carries.
// Before, 8 MiB of tiny chunks queued some 20 MiB per reader.
func TestHubBoundCountsEachMessage(t *testing.T) {
	h := NewHub()
	id := ulid.Make()
	sub := h.Subscribe(id)
	defer sub.Close()
	chunk := []byte(`{"message":{"content":" the"},"done":false}`)
	sent := 0
	for sent+len(chunk) <= DefaultMaxBuffered { // data alone stays within the bound
		h.Chunk(id, chunk)
		sent += len(chunk)
	}
	if msgs, lagged := sub.Next(); !lagged {
		t.Fatalf("%d bytes of chunks in %d messages queued, not cut", sent, len(msgs))
	}
}

// TestHubTakesOneLargeMessage: a whole non-streamed answer is one
// message; larger than the bound, it still reaches a reader that keeps up.
func TestHubTakesOneLargeMessage(t *testing.T) {
	h := NewHub()
	h.MaxBuffered = 1 << 10
	id := ulid.Make()
	sub := h.Subscribe(id)
	defer sub.Close()
	h.Chunk(id, make([]byte, 4<<10))
	if msgs, lagged := sub.Next(); lagged || len(msgs) != 1 {
		t.Fatalf("lagged %v, %d messages", lagged, len(msgs))
	}
	h.Chunk(id, make([]byte, 4<<10))
	h.Chunk(id, []byte("x"))
	if _, lagged := sub.Next(); !lagged {
		t.Fatal("a second message over the bound was queued")
	}
}
