package projections

import (
	"encoding/binary"
	"math"
)

// encodeJob returns exactly the bytes msgpack.Marshal(j) gives (a map of
// the tagged fields in declaration order, omitempty ones left out when
// empty), without reflection: encoding views was a fifth of a rebuild.
// TestEncodeJobMatchesMsgpack holds it to msgpack's output; a new field of
// Job must be added here too.
func encodeJob(dst []byte, j *Job) []byte {
	n := 13
	for _, present := range [...]bool{
		j.Submitter != "", j.WebhookURL != "", j.IdempotencyKey != "",
		len(j.RequestSHA256) > 0, len(j.BodySHA256) > 0,
		j.StartedAt != 0, j.FinishedAt != 0, j.QueueOffset != 0, j.QueuedAt != 0, j.RetryAt != 0,
		j.CancelRequested, j.LastError != "", j.LastStatus != 0, j.Result != "", len(j.Artifacts) > 0,
	} {
		if present {
			n++
		}
	}
	b := mpMapLen(dst, n)
	b = mpStr(b, "id")
	b = mpBin(b, j.ID[:])
	b = mpStr(mpStr(b, "model"), j.Model)
	b = mpStr(mpStr(b, "kind"), string(j.Kind))
	b = mpStr(mpStr(b, "state"), string(j.State))
	b = mpInt(mpStr(b, "priority"), int64(j.Priority))
	b = mpBool(mpStr(b, "sync"), j.Sync)
	if j.Submitter != "" {
		b = mpStr(mpStr(b, "submitter"), j.Submitter)
	}
	if j.WebhookURL != "" {
		b = mpStr(mpStr(b, "webhook_url"), j.WebhookURL)
	}
	if j.IdempotencyKey != "" {
		b = mpStr(mpStr(b, "idempotency_key"), j.IdempotencyKey)
	}
	if len(j.RequestSHA256) > 0 {
		b = mpBin(mpStr(b, "request_sha256"), j.RequestSHA256)
	}
	if len(j.BodySHA256) > 0 {
		b = mpBin(mpStr(b, "body_sha256"), j.BodySHA256)
	}
	b = mpUint64(mpStr(b, "submit_offset"), j.SubmitOffset)
	b = mpInt64(mpStr(b, "submitted_at"), j.SubmittedAt)
	if j.StartedAt != 0 {
		b = mpInt64(mpStr(b, "started_at"), j.StartedAt)
	}
	if j.FinishedAt != 0 {
		b = mpInt64(mpStr(b, "finished_at"), j.FinishedAt)
	}
	b = mpInt64(mpStr(b, "updated_at"), j.UpdatedAt)
	if j.QueueOffset != 0 {
		b = mpUint64(mpStr(b, "queue_offset"), j.QueueOffset)
	}
	if j.QueuedAt != 0 {
		b = mpInt64(mpStr(b, "queued_at"), j.QueuedAt)
	}
	if j.RetryAt != 0 {
		b = mpInt64(mpStr(b, "retry_at"), j.RetryAt)
	}
	b = mpInt(mpStr(b, "attempts"), int64(j.Attempts))
	b = mpInt(mpStr(b, "used"), int64(j.Used))
	b = mpInt(mpStr(b, "max_attempts"), int64(j.MaxAttempts))
	if j.CancelRequested {
		b = mpBool(mpStr(b, "cancel_requested"), true)
	}
	if j.LastError != "" {
		b = mpStr(mpStr(b, "last_error"), j.LastError)
	}
	if j.LastStatus != 0 {
		b = mpInt(mpStr(b, "last_status"), int64(j.LastStatus))
	}
	if j.Result != "" {
		b = mpStr(mpStr(b, "result"), j.Result)
	}
	if len(j.Artifacts) > 0 {
		b = mpArrayLen(mpStr(b, "artifacts"), len(j.Artifacts))
		for i := range j.Artifacts {
			a := &j.Artifacts[i]
			b = mpMapLen(b, 6)
			b = mpStr(mpStr(b, "name"), a.Name)
			b = mpStr(mpStr(b, "content_type"), a.ContentType)
			b = mpInt64(mpStr(b, "size"), a.Size)
			b = mpBin(mpStr(b, "sha256"), a.SHA256)
			b = mpStr(mpStr(b, "blob"), a.Blob)
			b = mpUint64(mpStr(b, "offset"), a.Offset)
		}
	}
	return mpUint64(mpStr(b, "last_offset"), j.LastOffset)
}

// The msgpack encodings msgpack/v5's Encoder uses by default.

func mpMapLen(b []byte, n int) []byte {
	switch {
	case n < 16:
		return append(b, 0x80|byte(n))
	case n <= math.MaxUint16:
		return binary.BigEndian.AppendUint16(append(b, 0xde), uint16(n))
	}
	return binary.BigEndian.AppendUint32(append(b, 0xdf), uint32(n))
}

func mpArrayLen(b []byte, n int) []byte {
	switch {
	case n < 16:
		return append(b, 0x90|byte(n))
	case n <= math.MaxUint16:
		return binary.BigEndian.AppendUint16(append(b, 0xdc), uint16(n))
	}
	return binary.BigEndian.AppendUint32(append(b, 0xdd), uint32(n))
}

func mpStr(b []byte, s string) []byte {
	switch n := len(s); {
	case n < 32:
		b = append(b, 0xa0|byte(n))
	case n < 256:
		b = append(b, 0xd9, byte(n))
	case n <= math.MaxUint16:
		b = binary.BigEndian.AppendUint16(append(b, 0xda), uint16(n))
	default:
		b = binary.BigEndian.AppendUint32(append(b, 0xdb), uint32(n))
	}
	return append(b, s...)
}

// mpBin encodes a byte slice; nil is msgpack nil.
func mpBin(b []byte, v []byte) []byte {
	if v == nil {
		return append(b, 0xc0)
	}
	switch n := len(v); {
	case n < 256:
		b = append(b, 0xc4, byte(n))
	case n <= math.MaxUint16:
		b = binary.BigEndian.AppendUint16(append(b, 0xc5), uint16(n))
	default:
		b = binary.BigEndian.AppendUint32(append(b, 0xc6), uint32(n))
	}
	return append(b, v...)
}

func mpBool(b []byte, v bool) []byte {
	if v {
		return append(b, 0xc3)
	}
	return append(b, 0xc2)
}

// mpUint64 and mpInt64 are the fixed-width forms of uint64 and int64 fields.
func mpUint64(b []byte, v uint64) []byte { return binary.BigEndian.AppendUint64(append(b, 0xcf), v) }
func mpInt64(b []byte, v int64) []byte {
	return binary.BigEndian.AppendUint64(append(b, 0xd3), uint64(v))
}

// mpInt is the compact form of an int field.
func mpInt(b []byte, n int64) []byte {
	if n >= 0 {
		switch {
		case n <= math.MaxInt8:
			return append(b, byte(n))
		case n <= math.MaxUint8:
			return append(b, 0xcc, byte(n))
		case n <= math.MaxUint16:
			return binary.BigEndian.AppendUint16(append(b, 0xcd), uint16(n))
		case n <= math.MaxUint32:
			return binary.BigEndian.AppendUint32(append(b, 0xce), uint32(n))
		}
		return mpUint64(b, uint64(n))
	}
	switch {
	case n >= -32:
		return append(b, byte(n))
	case n >= math.MinInt8:
		return append(b, 0xd0, byte(n))
	case n >= math.MinInt16:
		return binary.BigEndian.AppendUint16(append(b, 0xd1), uint16(n))
	case n >= math.MinInt32:
		return binary.BigEndian.AppendUint32(append(b, 0xd2), uint32(n))
	}
	return mpInt64(b, n)
}
