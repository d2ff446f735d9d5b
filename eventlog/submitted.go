package eventlog

import (
	"crypto/sha256"

	"github.com/oklog/ulid/v2"
)

// SubmittedRecord is job id's job.submitted record for the request body,
// which it keeps (the caller must not reuse it): inline up to
// InlineRequestMax, in a blob written in the same append beyond. Every
// route that queues a job builds it so, the API's and the batch driver's.
func SubmittedRecord(id ulid.ULID, p *Submitted, body []byte) Record {
	sum := sha256.Sum256(body)
	p.RequestSize, p.RequestSHA256 = len(body), sum[:]
	rec := Record{Job: id, Type: JobSubmitted, Payload: p}
	if len(body) > InlineRequestMax {
		key := RequestBlob(id)
		p.RequestBlob = key
		rec.Blobs = []Blob{{Key: key, Data: body}}
	} else {
		p.Request = body
	}
	return rec
}
