package eventlog

import (
	"encoding/binary"
	"fmt"
	"hash/crc32"
	"time"

	"github.com/oklog/ulid/v2"
	"github.com/vmihailenco/msgpack/v5"
)

// Event is one durable entry of the log.
type Event struct {
	Offset  uint64
	Time    time.Time
	Job     ulid.ULID
	Type    Type
	Version uint8              // schema version of Payload
	Payload msgpack.RawMessage // msgpack map; decode with Decode
}

// Decode unmarshals the payload into v (a pointer to one of the payload
// structs in payloads.go). Unknown fields are ignored so that events written
// by a newer foreman still decode. Byte slices in v may share memory with
// e.Payload: treat them as read-only.
func (e Event) Decode(v any) error {
	if decodePayloadFast(e.Payload, v) {
		return nil
	}
	if err := msgpack.Unmarshal(e.Payload, v); err != nil {
		return &CorruptError{Offset: e.Offset, Reason: fmt.Sprintf("payload of %s: %v", e.Type, err)}
	}
	return nil
}

// valueFormat is byte 0 of every event value.
const valueFormat = 1

// envelope is the msgpack form of an Event; short keys keep the log small.
type envelope struct {
	Offset  uint64             `msgpack:"o"`
	Time    int64              `msgpack:"t"`
	Job     []byte             `msgpack:"j"`
	Type    string             `msgpack:"y"`
	Version uint8              `msgpack:"v"`
	Payload msgpack.RawMessage `msgpack:"p"`
}

var crcTable = crc32.MakeTable(crc32.Castagnoli)

// encodeEvent returns the stored value: format byte, CRC-32C of the rest,
// msgpack envelope.
func encodeEvent(e *Event) ([]byte, error) {
	env := envelope{
		Offset:  e.Offset,
		Time:    e.Time.UnixNano(),
		Job:     e.Job[:],
		Type:    string(e.Type),
		Version: e.Version,
		Payload: e.Payload,
	}
	body, err := msgpack.Marshal(&env)
	if err != nil {
		return nil, fmt.Errorf("encode event: %w", err)
	}
	v := make([]byte, 5, 5+len(body))
	v[0] = valueFormat
	v = append(v, body...)
	putCRC(v)
	return v, nil
}

// DecodeValue decodes a stored event value found at key offset off. Every
// failure is a *CorruptError naming off.
func DecodeValue(off uint64, v []byte) (Event, error) {
	bad := func(format string, args ...any) (Event, error) {
		return Event{}, &CorruptError{Offset: off, Reason: fmt.Sprintf(format, args...)}
	}
	if len(v) < 5 {
		return bad("value truncated to %d bytes", len(v))
	}
	if v[0] != valueFormat {
		return bad("unknown value format %d", v[0])
	}
	body := v[5:]
	if want, got := binary.BigEndian.Uint32(v[1:5]), crc32.Checksum(body, crcTable); want != got {
		return bad("checksum mismatch (stored %08x, computed %08x)", want, got)
	}
	env, ok := decodeEnvelopeFast(body)
	if ok {
		// body belongs to the caller (an iterator's buffer): copy.
		env.Payload = append(msgpack.RawMessage(nil), env.Payload...)
	} else if err := msgpack.Unmarshal(body, &env); err != nil {
		return bad("envelope: %v", err)
	}
	if env.Offset != off {
		return bad("envelope says offset %d", env.Offset)
	}
	if len(env.Job) != len(ulid.ULID{}) {
		return bad("job id has %d bytes", len(env.Job))
	}
	if env.Type == "" {
		return bad("empty event type")
	}
	e := Event{
		Offset:  env.Offset,
		Time:    time.Unix(0, env.Time).UTC(),
		Type:    Type(env.Type),
		Version: env.Version,
		Payload: env.Payload,
	}
	copy(e.Job[:], env.Job)
	return e, nil
}

// putCRC fills in the checksum of a value whose body is already in place.
func putCRC(v []byte) {
	binary.BigEndian.PutUint32(v[1:5], crc32.Checksum(v[5:], crcTable))
}
