package eventlog

import (
	"encoding/binary"
	"math"
)

// A hand-written reader for the msgpack that this package writes, used on
// the hot path of Scan: reflection-based msgpack.Unmarshal of the envelope
// was a fifth of a projections rebuild. It understands only the common
// shapes and reports !ok for anything else (nil values, unknown keys,
// out-of-range numbers, malformed input), in which case the caller falls
// back to msgpack.Unmarshal, so that every value decodes exactly as before.

// mpReader reads msgpack values from b.
type mpReader struct {
	b []byte
	i int
}

func (r *mpReader) byte() (byte, bool) {
	if r.i >= len(r.b) {
		return 0, false
	}
	c := r.b[r.i]
	r.i++
	return c, true
}

func (r *mpReader) n(k int) ([]byte, bool) {
	if k < 0 || len(r.b)-r.i < k {
		return nil, false
	}
	s := r.b[r.i : r.i+k]
	r.i += k
	return s, true
}

func (r *mpReader) be(k int) (uint64, bool) {
	s, ok := r.n(k)
	if !ok {
		return 0, false
	}
	switch k {
	case 1:
		return uint64(s[0]), true
	case 2:
		return uint64(binary.BigEndian.Uint16(s)), true
	case 4:
		return uint64(binary.BigEndian.Uint32(s)), true
	default:
		return binary.BigEndian.Uint64(s), true
	}
}

// mapLen reads a map header.
func (r *mpReader) mapLen() (int, bool) {
	c, ok := r.byte()
	switch {
	case !ok:
		return 0, false
	case c >= 0x80 && c <= 0x8f:
		return int(c & 0x0f), true
	case c == 0xde:
		n, ok := r.be(2)
		return int(n), ok
	case c == 0xdf:
		n, ok := r.be(4)
		return int(n), ok
	}
	return 0, false
}

// str reads a string (not nil) without copying it.
func (r *mpReader) str() ([]byte, bool) {
	c, ok := r.byte()
	if !ok {
		return nil, false
	}
	var n uint64
	switch {
	case c >= 0xa0 && c <= 0xbf:
		n = uint64(c & 0x1f)
	case c == 0xd9:
		n, ok = r.be(1)
	case c == 0xda:
		n, ok = r.be(2)
	case c == 0xdb:
		n, ok = r.be(4)
	default:
		return nil, false
	}
	if !ok {
		return nil, false
	}
	return r.n(int(n))
}

// bin reads a byte string (bin format, not nil) without copying it.
func (r *mpReader) bin() ([]byte, bool) {
	c, ok := r.byte()
	if !ok {
		return nil, false
	}
	var n uint64
	switch c {
	case 0xc4:
		n, ok = r.be(1)
	case 0xc5:
		n, ok = r.be(2)
	case 0xc6:
		n, ok = r.be(4)
	default:
		return nil, false
	}
	if !ok {
		return nil, false
	}
	return r.n(int(n))
}

// int reads any integer format: neg reports a negative value, in which
// case v is its two's complement.
func (r *mpReader) int() (v uint64, neg, ok bool) {
	c, ok := r.byte()
	if !ok {
		return 0, false, false
	}
	switch {
	case c <= 0x7f:
		return uint64(c), false, true
	case c >= 0xe0:
		return uint64(int64(int8(c))), true, true
	}
	switch c {
	case 0xcc, 0xcd, 0xce, 0xcf:
		v, ok = r.be(1 << (c - 0xcc))
		return v, false, ok
	case 0xd0:
		v, ok = r.be(1)
		x := int64(int8(v))
		return uint64(x), x < 0, ok
	case 0xd1:
		v, ok = r.be(2)
		x := int64(int16(v))
		return uint64(x), x < 0, ok
	case 0xd2:
		v, ok = r.be(4)
		x := int64(int32(v))
		return uint64(x), x < 0, ok
	case 0xd3:
		v, ok = r.be(8)
		x := int64(v)
		return uint64(x), x < 0, ok
	}
	return 0, false, false
}

// uint reads a non-negative integer no larger than max.
func (r *mpReader) uint(max uint64) (uint64, bool) {
	v, neg, ok := r.int()
	if !ok || neg || v > max {
		return 0, false
	}
	return v, true
}

// skip moves past one value of any type; depth bounds nesting.
func (r *mpReader) skip(depth int) bool {
	if depth > 64 {
		return false
	}
	c, ok := r.byte()
	if !ok {
		return false
	}
	var n, elems uint64 // bytes to skip, then values to skip
	switch {
	case c <= 0x7f || c >= 0xe0 || c == 0xc0 || c == 0xc2 || c == 0xc3:
		return true
	case c >= 0x80 && c <= 0x8f:
		elems = 2 * uint64(c&0x0f)
	case c >= 0x90 && c <= 0x9f:
		elems = uint64(c & 0x0f)
	case c >= 0xa0 && c <= 0xbf:
		n = uint64(c & 0x1f)
	default:
		switch c {
		case 0xc4, 0xd9:
			n, ok = r.be(1)
		case 0xc5, 0xda:
			n, ok = r.be(2)
		case 0xc6, 0xdb:
			n, ok = r.be(4)
		case 0xc7, 0xc8, 0xc9: // ext 8/16/32: length, type byte, data
			n, ok = r.be(1 << (c - 0xc7))
			n++
		case 0xca:
			n = 4
		case 0xcb:
			n = 8
		case 0xcc, 0xd0:
			n = 1
		case 0xcd, 0xd1:
			n = 2
		case 0xce, 0xd2:
			n = 4
		case 0xcf, 0xd3:
			n = 8
		case 0xd4, 0xd5, 0xd6, 0xd7, 0xd8: // fixext 1..16, plus the type byte
			n = 1 + 1<<(c-0xd4)
		case 0xdc:
			elems, ok = r.be(2)
		case 0xdd:
			elems, ok = r.be(4)
		case 0xde:
			elems, ok = r.be(2)
			elems *= 2
		case 0xdf:
			elems, ok = r.be(4)
			elems *= 2
		default: // 0xc1 is never used
			return false
		}
	}
	if !ok || n > math.MaxInt32 {
		return false
	}
	if _, ok := r.n(int(n)); !ok {
		return false
	}
	if elems > uint64(len(r.b)-r.i) { // each element takes a byte at least
		return false
	}
	for range elems {
		if !r.skip(depth + 1) {
			return false
		}
	}
	return true
}

// decodeEnvelopeFast decodes an envelope as msgpack.Unmarshal would, for
// the shapes encodeEvent writes. The payload aliases body.
func decodeEnvelopeFast(body []byte) (env envelope, ok bool) {
	r := mpReader{b: body}
	n, ok := r.mapLen()
	if !ok {
		return env, false
	}
	for range n {
		k, ok := r.str()
		if !ok || len(k) != 1 || r.i >= len(r.b) || r.b[r.i] == 0xc0 {
			return env, false
		}
		switch k[0] {
		case 'o':
			env.Offset, ok = r.uint(math.MaxUint64)
		case 't':
			var v uint64
			var neg bool
			v, neg, ok = r.int()
			if !neg && v > math.MaxInt64 {
				ok = false
			}
			env.Time = int64(v)
		case 'j':
			env.Job, ok = r.bin()
		case 'y':
			var s []byte
			s, ok = r.str()
			env.Type = string(s)
		case 'v':
			var v uint64
			v, ok = r.uint(math.MaxUint8)
			env.Version = uint8(v)
		case 'p':
			start := r.i
			ok = r.skip(0)
			env.Payload = body[start:r.i:r.i]
		default:
			return env, false
		}
		if !ok {
			return env, false
		}
	}
	if r.i != len(body) {
		return env, false
	}
	return env, true
}

// decodePayloadFast decodes the payloads projections read on every event
// as msgpack.Unmarshal would; !ok leaves v as it was. The cases repeat
// their copy-then-commit steps on purpose: a generic helper taking a
// closure over the copy cost a tenth of the rebuild rate (measured with
// cmd/foreman-bench).
func decodePayloadFast(b []byte, v any) bool {
	switch p := v.(type) {
	case *Submitted:
		q := *p
		ok := decodeFields(b, func(k []byte, r *mpReader) bool {
			switch string(k) {
			case "model":
				return r.setStr(&q.Model)
			case "kind":
				var s string
				ok := r.setStr(&s)
				q.Kind = Kind(s)
				return ok
			case "request":
				return r.setBin(&q.Request)
			case "request_blob":
				return r.setStr(&q.RequestBlob)
			case "request_size":
				return r.setInt(&q.RequestSize)
			case "request_sha256":
				return r.setBin(&q.RequestSHA256)
			case "webhook_url":
				return r.setStr(&q.WebhookURL)
			case "idempotency_key":
				return r.setStr(&q.IdempotencyKey)
			case "body_sha256":
				return r.setBin(&q.BodySHA256)
			case "priority":
				return r.setInt(&q.Priority)
			case "sync":
				return r.setBool(&q.Sync)
			case "submitter":
				return r.setStr(&q.Submitter)
			case "max_attempts":
				return r.setInt(&q.MaxAttempts)
			case "timeout":
				return r.setInt64(&q.Timeout)
			case "batch":
				return r.setStr(&q.Batch)
			case "custom_id":
				return r.setStr(&q.CustomID)
			case "line":
				return r.setInt(&q.Line)
			}
			return r.skip(0)
		})
		if ok {
			*p = q
		}
		return ok
	case *Started:
		q := *p
		ok := decodeFields(b, func(k []byte, r *mpReader) bool {
			if string(k) == "attempt" {
				return r.setInt(&q.Attempt)
			}
			return r.skip(0)
		})
		if ok {
			*p = q
		}
		return ok
	case *Succeeded:
		q := *p
		ok := decodeFields(b, func(k []byte, r *mpReader) bool {
			switch string(k) {
			case "attempt":
				return r.setInt(&q.Attempt)
			case "result":
				return r.setStr(&q.Result)
			case "status":
				return r.setInt(&q.Status)
			}
			return r.skip(0)
		})
		if ok {
			*p = q
		}
		return ok
	case *AttemptFailure:
		q := *p
		ok := decodeFields(b, func(k []byte, r *mpReader) bool {
			switch string(k) {
			case "attempt":
				return r.setInt(&q.Attempt)
			case "retryable":
				return r.setBool(&q.Retryable)
			case "error":
				return r.setStr(&q.Error)
			case "status":
				return r.setInt(&q.Status)
			case "retry_at":
				return r.setInt64(&q.RetryAt)
			}
			return r.skip(0)
		})
		if ok {
			*p = q
		}
		return ok
	case *Failure:
		q := *p
		ok := decodeFields(b, func(k []byte, r *mpReader) bool {
			switch string(k) {
			case "attempt":
				return r.setInt(&q.Attempt)
			case "error":
				return r.setStr(&q.Error)
			case "status":
				return r.setInt(&q.Status)
			case "result":
				return r.setStr(&q.Result)
			}
			return r.skip(0)
		})
		if ok {
			*p = q
		}
		return ok
	case *Artifact:
		q := *p
		ok := decodeFields(b, func(k []byte, r *mpReader) bool {
			switch string(k) {
			case "name":
				return r.setStr(&q.Name)
			case "content_type":
				return r.setStr(&q.ContentType)
			case "size":
				return r.setInt64(&q.Size)
			case "sha256":
				return r.setBin(&q.SHA256)
			case "blob":
				return r.setStr(&q.Blob)
			}
			return r.skip(0)
		})
		if ok {
			*p = q
		}
		return ok
	}
	return false
}

// decodeFields walks a map with string keys; field reads one value (not
// nil: a nil value is left to msgpack).
func decodeFields(b []byte, field func(k []byte, r *mpReader) bool) bool {
	r := mpReader{b: b}
	n, ok := r.mapLen()
	if !ok {
		return false
	}
	for range n {
		k, ok := r.str()
		if !ok || r.i >= len(r.b) || r.b[r.i] == 0xc0 || !field(k, &r) {
			return false
		}
	}
	return r.i == len(b)
}

func (r *mpReader) setStr(dst *string) bool {
	s, ok := r.str()
	if ok {
		*dst = string(s)
	}
	return ok
}

// setBin shares the payload's memory instead of copying: Event.Payload is
// the event's own copy (DecodeValue and Append never hand out a buffer
// they reuse), and copying every request body was a tenth of a rebuild's
// allocations. The capacity is clipped so an append cannot write past it.
func (r *mpReader) setBin(dst *[]byte) bool {
	s, ok := r.bin()
	if ok {
		*dst = nil
		if len(s) > 0 {
			*dst = s[:len(s):len(s)]
		}
	}
	return ok
}

func (r *mpReader) setBool(dst *bool) bool {
	c, ok := r.byte()
	if !ok || (c != 0xc2 && c != 0xc3) {
		return false
	}
	*dst = c == 0xc3
	return true
}

func (r *mpReader) setInt64(dst *int64) bool {
	v, neg, ok := r.int()
	if !ok || (!neg && v > math.MaxInt64) {
		return false
	}
	*dst = int64(v)
	return true
}

func (r *mpReader) setInt(dst *int) bool {
	var v int64
	if !r.setInt64(&v) || int64(int(v)) != v {
		return false
	}
	*dst = int(v)
	return true
}
