package api

import (
	"strings"
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

// TestALateSubscriberGetsTheAnswerSoFar: a stream joined mid-answer gets
// the running attempt's output so far, then the rest, each line once; a
// retry's answer replaces the failed attempt's.
func TestALateSubscriberGetsTheAnswerSoFar(t *testing.T) {
	t.Parallel()
	h := NewHub()
	job := ulid.Make()
	h.Begin(job, 200, "application/x-ndjson")
	h.Chunk(job, []byte("lost"))
	h.Begin(job, 200, "application/x-ndjson") // the retry
	h.Chunk(job, []byte("a"))
	s := h.Subscribe(job)
	defer s.Close()
	h.Chunk(job, []byte("b"))
	h.End(job, 9, "")
	<-s.Ready()
	msgs, lagged := s.Next()
	var got []string
	for _, m := range msgs {
		switch {
		case m.Begin:
			got = append(got, "begin")
		case m.End:
			got = append(got, "end")
		default:
			got = append(got, string(m.Data))
		}
	}
	if lagged || strings.Join(got, ",") != "begin,a,b,end" {
		t.Fatalf("late subscriber got %v (lagged %v)", got, lagged)
	}
	if s2 := h.Subscribe(job); len(s2.msgs) != 0 {
		t.Fatalf("after the end a subscriber still gets %d messages", len(s2.msgs))
	}
}
