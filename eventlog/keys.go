package eventlog

import (
	"encoding/binary"

	"github.com/oklog/ulid/v2"
)

// Key layout. Every key starts with a one-byte family and '/', so the
// families sort apart and a hex dump stays readable.
var (
	prefixEvent = []byte("e/") // e/<offset:8 BE>        → event value
	prefixJob   = []byte("j/") // j/<ulid:16><offset:8>  → empty (per-job index)
	prefixBlob  = []byte("b/") // b/<blob key>           → blob bytes
	prefixState = []byte("p/") // p/<projection key>     → projection state
	// c/<name> → cursor of a log consumer (cursor.go); m/ → metadata.
	keyLow    = []byte("m/low")
	keyFormat = []byte("m/format")
)

// storeFormat is the layout version recorded in m/format.
const storeFormat = 1

func eventKey(off uint64) []byte {
	k := make([]byte, 0, len(prefixEvent)+8)
	k = append(k, prefixEvent...)
	return binary.BigEndian.AppendUint64(k, off)
}

func eventKeyOffset(k []byte) (uint64, bool) {
	if len(k) != len(prefixEvent)+8 {
		return 0, false
	}
	return binary.BigEndian.Uint64(k[len(prefixEvent):]), true
}

func jobKey(id ulid.ULID, off uint64) []byte {
	k := make([]byte, 0, len(prefixJob)+16+8)
	k = append(k, prefixJob...)
	k = append(k, id[:]...)
	return binary.BigEndian.AppendUint64(k, off)
}

func jobPrefix(id ulid.ULID) []byte {
	k := make([]byte, 0, len(prefixJob)+16)
	k = append(k, prefixJob...)
	return append(k, id[:]...)
}

func blobKey(key string) []byte {
	k := make([]byte, 0, len(prefixBlob)+len(key))
	k = append(k, prefixBlob...)
	return append(k, key...)
}

func stateKey(key []byte) []byte {
	k := make([]byte, 0, len(prefixState)+len(key))
	k = append(k, prefixState...)
	return append(k, key...)
}

// ArtifactBlob is the blob key of a job's artifact.
func ArtifactBlob(job ulid.ULID, name string) string {
	return "a/" + string(job[:]) + name
}

// RequestBlob is the blob key of a job's request body when it is too large
// to live inline in the job.submitted event.
func RequestBlob(job ulid.ULID) string {
	return "r/" + string(job[:])
}

// prefixEnd returns the smallest key greater than every key with prefix p.
func prefixEnd(p []byte) []byte {
	end := append([]byte(nil), p...)
	for i := len(end) - 1; i >= 0; i-- {
		end[i]++
		if end[i] != 0 {
			return end[:i+1]
		}
	}
	return nil
}
