package projections

import (
	"bytes"
	"encoding/binary"

	"github.com/oklog/ulid/v2"
	"github.com/vmihailenco/msgpack/v5"

	"github.com/foreman-dev/foreman/eventlog"
)

// BatchStatus is a batch's place in OpenAI's batch lifecycle.
type BatchStatus string

// The statuses, as OpenAI names them.
const (
	BatchValidating BatchStatus = "validating"
	BatchFailed     BatchStatus = "failed"
	BatchInProgress BatchStatus = "in_progress"
	BatchFinalizing BatchStatus = "finalizing"
	BatchCompleted  BatchStatus = "completed"
	BatchExpired    BatchStatus = "expired"
	BatchCancelling BatchStatus = "cancelling"
	BatchCancelled  BatchStatus = "cancelled"
)

// Terminal reports whether a batch in s changes no more.
func (s BatchStatus) Terminal() bool {
	return s == BatchFailed || s == BatchCompleted || s == BatchExpired || s == BatchCancelled
}

// Batch is the view of one batch. Its counts follow its line jobs: a line
// counts as completed when its job is done, failed when it failed or was
// cancelled; batch.ended fixes them for good. Times are unix ns.
type Batch struct {
	ID               ulid.ULID             `msgpack:"id"`
	Status           BatchStatus           `msgpack:"status"`
	Endpoint         string                `msgpack:"endpoint"`
	InputFile        string                `msgpack:"input_file"`
	CompletionWindow string                `msgpack:"completion_window"`
	Metadata         map[string]string     `msgpack:"metadata,omitempty"`
	Priority         int                   `msgpack:"priority"`
	WebhookURL       string                `msgpack:"webhook_url,omitempty"`
	Submitter        string                `msgpack:"submitter,omitempty"`
	MaxAttempts      int                   `msgpack:"max_attempts"`
	Models           []string              `msgpack:"models,omitempty"`
	Errors           []eventlog.BatchError `msgpack:"errors,omitempty"`
	Reason           string                `msgpack:"reason,omitempty"` // why finalizing: "", cancelled, expired
	OutputFile       string                `msgpack:"output_file,omitempty"`
	ErrorFile        string                `msgpack:"error_file,omitempty"`
	Total            int                   `msgpack:"total"`
	Enqueued         int                   `msgpack:"enqueued"` // line jobs submitted: lines 1..Enqueued
	Completed        int                   `msgpack:"completed"`
	Failed           int                   `msgpack:"failed"`
	CreatedAt        int64                 `msgpack:"created_at"`
	ExpiresAt        int64                 `msgpack:"expires_at"`
	InProgressAt     int64                 `msgpack:"in_progress_at,omitempty"`
	FinalizingAt     int64                 `msgpack:"finalizing_at,omitempty"`
	CompletedAt      int64                 `msgpack:"completed_at,omitempty"`
	FailedAt         int64                 `msgpack:"failed_at,omitempty"`
	ExpiredAt        int64                 `msgpack:"expired_at,omitempty"`
	CancellingAt     int64                 `msgpack:"cancelling_at,omitempty"`
	CancelledAt      int64                 `msgpack:"cancelled_at,omitempty"`
	EndedAt          int64                 `msgpack:"ended_at,omitempty"` // any terminal status
	LastOffset       uint64                `msgpack:"last_offset"`
}

// Settled is the number of lines whose job has ended.
func (b *Batch) Settled() int { return b.Completed + b.Failed }

// File is the view of one stored file.
type File struct {
	ID        ulid.ULID `msgpack:"id"`
	Filename  string    `msgpack:"filename"`
	Purpose   string    `msgpack:"purpose"`
	Bytes     int64     `msgpack:"bytes"`
	Parts     int       `msgpack:"parts"`
	Lines     int       `msgpack:"lines,omitempty"`
	SHA256    []byte    `msgpack:"sha256,omitempty"`
	Batch     string    `msgpack:"batch,omitempty"`
	Submitter string    `msgpack:"submitter,omitempty"`
	CreatedAt int64     `msgpack:"created_at"`
	Offset    uint64    `msgpack:"offset"`
}

// State keys of the Batch API's views.
var (
	prefixBatch = []byte("b/") // b/<ulid16> → Batch
	prefixFile  = []byte("f/") // f/<ulid16> → File
	prefixLine  = []byte("l/") // l/<batch ulid16><line be32> → job ulid16
)

func batchKey(id ulid.ULID) []byte { return append(append([]byte(nil), prefixBatch...), id[:]...) }
func fileKey(id ulid.ULID) []byte  { return append(append([]byte(nil), prefixFile...), id[:]...) }
func lineKey(batch ulid.ULID, line int) []byte {
	k := append(append([]byte(nil), prefixLine...), batch[:]...)
	return binary.BigEndian.AppendUint32(k, uint32(line))
}
func linePrefix(batch ulid.ULID) []byte {
	return append(append([]byte(nil), prefixLine...), batch[:]...)
}

// encodeSorted is msgpack with map keys sorted, so that a view's stored
// bytes depend on its content only (projections are verified byte for byte).
func encodeSorted(v any) ([]byte, error) {
	var buf bytes.Buffer
	enc := msgpack.NewEncoder(&buf)
	enc.SetSortMapKeys(true)
	if err := enc.Encode(v); err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
}

func (b *Batch) clone() *Batch {
	c := *b
	return &c // slices and the map are replaced, never changed in place
}
