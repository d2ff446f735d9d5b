package eventlog

import (
	"errors"
	"testing"
	"time"

	"github.com/oklog/ulid/v2"
	"github.com/vmihailenco/msgpack/v5"
)

// FuzzDecodeValue feeds arbitrary bytes to the event decoder: it must never
// panic, and every failure must be a *CorruptError naming the offset.
// Seeds live in testdata/fuzz/FuzzDecodeValue.
func FuzzDecodeValue(f *testing.F) {
	p, _ := msgpack.Marshal(&Submitted{Model: "tiny-a", Kind: KindChat, Request: []byte(`{"model":"tiny-a"}`)})
	good, _ := encodeEvent(&Event{Offset: 7, Time: time.Unix(0, 1), Job: ulid.Make(), Type: JobSubmitted, Version: 1, Payload: p})
	f.Add(uint64(7), good)
	f.Add(uint64(7), good[:len(good)-1])
	f.Add(uint64(1), []byte{})
	f.Fuzz(func(t *testing.T, off uint64, v []byte) {
		e, err := DecodeValue(off, v)
		if err != nil {
			var ce *CorruptError
			if !errors.As(err, &ce) || ce.Offset != off {
				t.Fatalf("error %v is not a CorruptError at %d", err, off)
			}
			return
		}
		if e.Offset != off {
			t.Fatalf("decoded offset %d at key %d", e.Offset, off)
		}
		var s Submitted
		_ = e.Decode(&s) // must not panic
	})
}

// TestDecodeToleratesNewFields checks that a payload written by a newer
// foreman, with fields this one does not know, still decodes.
func TestDecodeToleratesNewFields(t *testing.T) {
	p, _ := msgpack.Marshal(map[string]any{"attempt": 2, "added_later": "x", "also": []int{1}})
	v, _ := encodeEvent(&Event{Offset: 1, Time: time.Now(), Job: ulid.Make(), Type: JobStarted, Version: 2, Payload: p})
	e, err := DecodeValue(1, v)
	if err != nil {
		t.Fatal(err)
	}
	var s Started
	if err := e.Decode(&s); err != nil || s.Attempt != 2 || e.Version != 2 {
		t.Fatalf("decode: %+v %v", s, err)
	}
	// An envelope with an extra key decodes too.
	env := map[string]any{"o": uint64(1), "t": int64(5), "j": make([]byte, 16), "y": "job.started", "v": 1, "p": p, "new": true}
	body, _ := msgpack.Marshal(env)
	raw := append([]byte{valueFormat, 0, 0, 0, 0}, body...)
	putCRC(raw)
	if _, err := DecodeValue(1, raw); err != nil {
		t.Fatalf("envelope with an extra key: %v", err)
	}
}
