package eventlog

import (
	"bytes"
	"math"
	"math/rand/v2"
	"reflect"
	"strings"
	"testing"

	"github.com/vmihailenco/msgpack/v5"
)

// slowEnvelope is the reference: what msgpack.Unmarshal makes of body.
func slowEnvelope(body []byte) (envelope, error) {
	var env envelope
	err := msgpack.Unmarshal(body, &env)
	return env, err
}

func checkFastEnvelope(t *testing.T, body []byte) {
	t.Helper()
	fast, ok := decodeEnvelopeFast(body)
	if !ok {
		return // the slow path decides
	}
	slow, err := slowEnvelope(body)
	if err != nil {
		t.Fatalf("fast path accepted %x, msgpack refuses it: %v", body, err)
	}
	if len(fast.Payload) == 0 && len(slow.Payload) == 0 {
		fast.Payload, slow.Payload = nil, nil
	}
	if len(fast.Job) == 0 && len(slow.Job) == 0 {
		fast.Job, slow.Job = nil, nil
	}
	if !reflect.DeepEqual(fast, slow) {
		t.Fatalf("%x: fast %+v, msgpack %+v", body, fast, slow)
	}
}

// TestFastEnvelopeAgrees checks the hand-written envelope decoder against
// msgpack.Unmarshal on encoded events and on mutations of them.
func TestFastEnvelopeAgrees(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	payloads := []any{
		&Submitted{Model: "m", Kind: KindChat, Request: bytes.Repeat([]byte("x"), 300), RequestSHA256: make([]byte, 32), Priority: -3, MaxAttempts: 3},
		&Started{Attempt: 2},
		&AttemptFailure{Error: "boom", Status: 500, RetryAt: math.MaxInt64},
		&Artifact{Name: "result.json", Size: 1 << 40, SHA256: make([]byte, 32)},
		map[string]any{"a": []any{1.5, float32(2), nil, true, false, "s", []byte{1}, map[string]any{"x": int64(-1 << 40)}}, "b": msgpack.RawMessage{0xd4, 1, 2}},
		&struct{}{},
	}
	for i := range 2000 {
		p, err := msgpack.Marshal(payloads[i%len(payloads)])
		if err != nil {
			t.Fatal(err)
		}
		e := Event{Offset: rng.Uint64() >> rng.IntN(64), Type: Types[rng.IntN(len(Types))], Version: uint8(rng.IntN(256)), Payload: p}
		e.Time = e.Time.Add(0)
		v, err := encodeEvent(&e)
		if err != nil {
			t.Fatal(err)
		}
		body := v[5:]
		if _, ok := decodeEnvelopeFast(body); !ok {
			t.Fatalf("fast path refused a value encodeEvent wrote: %x", body)
		}
		checkFastEnvelope(t, body)
		for range 20 {
			m := bytes.Clone(body)
			switch rng.IntN(3) {
			case 0:
				m[rng.IntN(len(m))] = byte(rng.Uint32())
			case 1:
				m = m[:rng.IntN(len(m))]
			case 2:
				m = append(m, byte(rng.Uint32()))
			}
			checkFastEnvelope(t, m)
		}
	}
}

func FuzzFastEnvelope(f *testing.F) {
	e := Event{Offset: 7, Type: JobStarted, Payload: msgpack.RawMessage{0x80}}
	v, _ := encodeEvent(&e)
	f.Add(v[5:])
	f.Fuzz(func(t *testing.T, body []byte) { checkFastEnvelope(t, body) })
}

var fastPayloadTypes = []func() any{
	func() any { return new(Submitted) }, func() any { return new(Started) }, func() any { return new(Succeeded) },
	func() any { return new(AttemptFailure) }, func() any { return new(Failure) }, func() any { return new(Artifact) },
}

func checkFastPayload(t *testing.T, b []byte) {
	t.Helper()
	for _, mk := range fastPayloadTypes {
		fast, slow := mk(), mk()
		if !decodePayloadFast(b, fast) {
			if !reflect.DeepEqual(fast, mk()) {
				t.Fatalf("%T: refused %x but changed the value", fast, b)
			}
			continue
		}
		if err := msgpack.Unmarshal(b, slow); err != nil {
			t.Fatalf("%T: fast path accepted %x, msgpack refuses it: %v", fast, b, err)
		}
		if !reflect.DeepEqual(fast, slow) {
			t.Fatalf("%T %x: fast %+v, msgpack %+v", fast, b, fast, slow)
		}
	}
}

// TestFastPayloadAgrees checks the hand-written payload decoders against
// msgpack.Unmarshal.
func TestFastPayloadAgrees(t *testing.T) {
	rng := rand.New(rand.NewPCG(5, 6))
	payloads := []any{
		&Submitted{Model: "m", Kind: KindChat, Request: bytes.Repeat([]byte("x"), 300), RequestSize: 300, RequestSHA256: make([]byte, 32),
			WebhookURL: "https://x", IdempotencyKey: "k", BodySHA256: []byte{}, Priority: -3, Sync: true, Submitter: "s", MaxAttempts: 3, RequestBlob: "b", Timeout: 90e9},
		&Submitted{Model: strings.Repeat("m", 70000)},
		&Started{Attempt: 2},
		&AttemptFailure{Attempt: 1, Retryable: true, Error: "boom", Status: 500, RetryAt: math.MaxInt64},
		&Succeeded{Attempt: 1 << 20, Result: "r"},
		&Succeeded{Attempt: 1, Result: "result.json", Status: 200},
		&Failure{Attempt: -40, Error: strings.Repeat("e", 300), Status: 503},
		&Failure{Attempt: 1, Error: "model 'nope' not found", Status: 404, Result: "result.json"},
		&Artifact{Name: "result.json", ContentType: "a/b", Size: 1 << 40, SHA256: make([]byte, 32), Blob: "x"},
		&Artifact{Size: math.MinInt64},
		map[string]any{"attempt": uint64(math.MaxUint64), "model": []byte("bin"), "x": []any{1.5, nil, map[string]any{"y": 1}}},
		map[string]any{"attempt": 1.0, "sync": nil, "error": 3},
		&struct{}{},
	}
	for i := range 3000 {
		b, err := msgpack.Marshal(payloads[i%len(payloads)])
		if err != nil {
			t.Fatal(err)
		}
		checkFastPayload(t, b)
		for range 10 {
			m := bytes.Clone(b)
			switch rng.IntN(3) {
			case 0:
				m[rng.IntN(len(m))] = byte(rng.Uint32())
			case 1:
				m = m[:rng.IntN(len(m))]
			case 2:
				m = append(m, byte(rng.Uint32()))
			}
			checkFastPayload(t, m)
		}
	}
}

func FuzzFastPayload(f *testing.F) {
	b, _ := msgpack.Marshal(&Submitted{Model: "m", Request: []byte("r"), Priority: 1})
	f.Add(b)
	b, _ = msgpack.Marshal(&Artifact{Name: "n", Size: 3, SHA256: []byte{1}})
	f.Add(b)
	f.Fuzz(func(t *testing.T, b []byte) { checkFastPayload(t, b) })
}

// TestFastPayloadKnowsEveryField guards against drift: a field added to a
// payload struct but not to its hand-written decoder would be dropped
// silently. Every exported field is set to a value that is not its zero,
// and the fast decode must agree with msgpack (or refuse).
func TestFastPayloadKnowsEveryField(t *testing.T) {
	for _, mk := range fastPayloadTypes {
		v := mk()
		rv := reflect.ValueOf(v).Elem()
		for i := range rv.NumField() {
			f := rv.Field(i)
			if !rv.Type().Field(i).IsExported() {
				continue
			}
			switch f.Kind() {
			case reflect.String:
				f.SetString("s" + rv.Type().Field(i).Name)
			case reflect.Bool:
				f.SetBool(true)
			case reflect.Int, reflect.Int64, reflect.Int32:
				f.SetInt(int64(7 + i))
			case reflect.Uint64, reflect.Uint32, reflect.Uint:
				f.SetUint(uint64(7 + i))
			case reflect.Slice:
				if f.Type().Elem().Kind() != reflect.Uint8 {
					t.Fatalf("%T.%s: a slice of %s; teach this test", v, rv.Type().Field(i).Name, f.Type().Elem())
				}
				f.SetBytes([]byte{byte(i), 1, 2})
			default:
				t.Fatalf("%T.%s: kind %s; teach this test", v, rv.Type().Field(i).Name, f.Kind())
			}
		}
		b, err := msgpack.Marshal(v)
		if err != nil {
			t.Fatal(err)
		}
		fast, slow := mk(), mk()
		if !decodePayloadFast(b, fast) {
			t.Fatalf("%T: the fast path refuses a plain encoding of every field", v)
		}
		if err := msgpack.Unmarshal(b, slow); err != nil {
			t.Fatal(err)
		}
		if !reflect.DeepEqual(fast, slow) || !reflect.DeepEqual(fast, v) {
			t.Fatalf("%T: fast %+v, msgpack %+v, encoded %+v: a field the fast decoder does not know?", v, fast, slow, v)
		}
	}
}
