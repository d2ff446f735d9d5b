package projections

import (
	"encoding/binary"
	"math"

	"github.com/vmihailenco/msgpack/v5"
)

// storedJob is the stored form of a view (Version 2): a msgpack array of
// Job's fields in declaration order, without the field names that made up
// nearly half of every view written by a rebuild.
type storedJob struct {
	_msgpack struct{} `msgpack:",as_array"`
	Job
}

// decodeJob decodes a stored view (an Artifact's array decodes into the
// struct as well).
func decodeJob(v []byte) (*Job, error) {
	var sj storedJob
	if err := msgpack.Unmarshal(v, &sj); err != nil {
		return nil, err
	}
	return &sj.Job, nil
}

// encodeJob appends the stored form of j to dst, without reflection
// (encoding views was a fifth of a rebuild). Empty byte strings and
// artifact lists are written as nil, so that the bytes depend on the
// content only: a view read back from the store encodes as it was.
// TestEncodeJob holds it to msgpack's decoding; a new field of Job must be
// added here too.
func encodeJob(dst []byte, j *Job) []byte {
	b := mpArrayLen(dst, 30)
	b = mpBin(b, j.ID[:])
	b = mpStr(b, j.Model)
	b = mpStr(b, string(j.Kind))
	b = mpStr(b, string(j.State))
	b = mpInt(b, int64(j.Priority))
	b = mpBool(b, j.Sync)
	b = mpStr(b, j.Submitter)
	b = mpStr(b, j.WebhookURL)
	b = mpStr(b, j.IdempotencyKey)
	b = mpBin(b, j.RequestSHA256)
	b = mpBin(b, j.BodySHA256)
	b = mpUint64(b, j.SubmitOffset)
	b = mpInt64(b, j.SubmittedAt)
	b = mpInt64(b, j.StartedAt)
	b = mpInt64(b, j.FinishedAt)
	b = mpInt64(b, j.UpdatedAt)
	b = mpUint64(b, j.QueueOffset)
	b = mpInt64(b, j.QueuedAt)
	b = mpInt64(b, j.RetryAt)
	b = mpInt(b, int64(j.Attempts))
	b = mpInt(b, int64(j.Used))
	b = mpInt(b, int64(j.MaxAttempts))
	b = mpBool(b, j.CancelRequested)
	b = mpStr(b, j.LastError)
	b = mpInt(b, int64(j.LastStatus))
	b = mpStr(b, j.Result)
	if len(j.Artifacts) == 0 {
		b = append(b, 0xc0)
	} else {
		b = mpArrayLen(b, len(j.Artifacts))
		for i := range j.Artifacts {
			a := &j.Artifacts[i]
			b = mpArrayLen(b, 6)
			b = mpStr(b, a.Name)
			b = mpStr(b, a.ContentType)
			b = mpInt64(b, a.Size)
			b = mpBin(b, a.SHA256)
			b = mpStr(b, a.Blob)
			b = mpUint64(b, a.Offset)
		}
	}
	b = mpUint64(b, j.LastOffset)
	b = mpStr(b, j.Batch)
	return mpStr(b, j.CustomID)
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

// mpBin encodes a byte slice; an empty one is msgpack nil.
func mpBin(b []byte, v []byte) []byte {
	if len(v) == 0 {
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
