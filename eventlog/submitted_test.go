package eventlog

import (
	"bytes"
	"crypto/sha256"
	"testing"

	"github.com/oklog/ulid/v2"
)

func TestSubmittedRecordInlineOrBlob(t *testing.T) {
	id := ulid.Make()
	for _, size := range []int{10, InlineRequestMax, InlineRequestMax + 1} {
		body := bytes.Repeat([]byte("x"), size)
		var p Submitted
		rec := SubmittedRecord(id, &p, body)
		sum := sha256.Sum256(body)
		if rec.Job != id || rec.Type != JobSubmitted || rec.Payload != &p || p.RequestSize != size || !bytes.Equal(p.RequestSHA256, sum[:]) {
			t.Fatalf("size %d: record %+v, payload %+v", size, rec, p)
		}
		inline := size <= InlineRequestMax
		if inline && (!bytes.Equal(p.Request, body) || p.RequestBlob != "" || len(rec.Blobs) != 0) {
			t.Fatalf("size %d: want the body inline, got blob %q and %d blobs", size, p.RequestBlob, len(rec.Blobs))
		}
		if !inline && (p.Request != nil || p.RequestBlob != RequestBlob(id) || len(rec.Blobs) != 1 || rec.Blobs[0].Key != p.RequestBlob || !bytes.Equal(rec.Blobs[0].Data, body)) {
			t.Fatalf("size %d: want the body in blob %q, got inline %d bytes, blobs %v", size, RequestBlob(id), len(p.Request), len(rec.Blobs))
		}
	}
}
