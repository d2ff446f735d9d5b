package eventlog

import (
	"encoding/binary"
	"strings"

	"github.com/oklog/ulid/v2"
)

// The Batch API's vocabulary (issue 14): files and batches are recorded
// under their own ids in the envelope's job field, so `foreman log job ID`
// and JobEvents show a file's or a batch's history like a job's. Ids in
// payloads are ULID text, readable in every dump.
const (
	FileUploaded         Type = "file.uploaded"
	FilePart             Type = "file.part"
	FileDeleted          Type = "file.deleted"
	BatchCreated         Type = "batch.created"
	BatchInProgress      Type = "batch.in_progress"
	BatchFailed          Type = "batch.failed"
	BatchCancelRequested Type = "batch.cancel_requested"
	BatchFinalizing      Type = "batch.finalizing"
	BatchEnded           Type = "batch.ended"
	BatchDeleted         Type = "batch.deleted"
)

// BatchTypes lists the Batch API's types, in lifecycle order.
var BatchTypes = []Type{
	FilePart, FileUploaded, FileDeleted, BatchCreated, BatchInProgress, BatchFailed,
	BatchCancelRequested, BatchFinalizing, BatchEnded, BatchDeleted,
}

// FilePartSize is the most bytes one file.part carries: a file is stored
// as parts so that neither an upload nor an output file is ever held whole.
const FilePartSize = 4 << 20

// FilePartBlob is the blob key of part i of a file.
func FilePartBlob(file ulid.ULID, i int) string {
	return "f/" + string(file[:]) + string(binary.BigEndian.AppendUint32(nil, uint32(i)))
}

// Part is the payload of file.part: the file's bytes [Offset,
// Offset+Size) in blob FilePartBlob(file, Index). Parts come before their
// file.uploaded; parts with none after them are an upload cut short.
type Part struct {
	Index int    `msgpack:"index"`
	Size  int    `msgpack:"size"`
	Blob  string `msgpack:"blob"`
}

// FileUpload is the payload of file.uploaded: the file exists from here on.
type FileUpload struct {
	Filename string `msgpack:"filename"`
	Purpose  string `msgpack:"purpose"` // "batch" or "batch_output"
	Bytes    int64  `msgpack:"bytes"`
	Parts    int    `msgpack:"parts"`
	SHA256   []byte `msgpack:"sha256,omitempty"`
	// Lines is the number of JSONL lines (non-empty), when counted.
	Lines     int    `msgpack:"lines,omitempty"`
	Batch     string `msgpack:"batch,omitempty"` // the batch an output file belongs to
	Submitter string `msgpack:"submitter,omitempty"`
}

// FileDeletion is the payload of file.deleted; the same batch deletes the
// file's parts.
type FileDeletion struct {
	Reason string `msgpack:"reason,omitempty"`
	By     string `msgpack:"by,omitempty"`
}

// BatchCreate is the payload of batch.created (status validating).
type BatchCreate struct {
	InputFile        string            `msgpack:"input_file"`
	Endpoint         string            `msgpack:"endpoint"`
	CompletionWindow string            `msgpack:"completion_window"`
	ExpiresAt        int64             `msgpack:"expires_at"` // unix ns
	Metadata         map[string]string `msgpack:"metadata,omitempty"`
	Priority         int               `msgpack:"priority"`
	WebhookURL       string            `msgpack:"webhook_url,omitempty"`
	Submitter        string            `msgpack:"submitter,omitempty"`
	MaxAttempts      int               `msgpack:"max_attempts"`
}

// BatchStart is the payload of batch.in_progress: the input validated
// with Total lines, which are submitted as jobs after it, in line order.
type BatchStart struct {
	Total  int      `msgpack:"total"`
	Models []string `msgpack:"models,omitempty"`
}

// BatchError is one entry of a failed batch's errors.data, as OpenAI
// reports it; Line is 1-based, 0 for the whole file.
type BatchError struct {
	Code    string `msgpack:"code"`
	Message string `msgpack:"message"`
	Line    int    `msgpack:"line,omitempty"`
	Param   string `msgpack:"param,omitempty"`
}

// BatchFailure is the payload of batch.failed: validation refused the
// input, nothing ran.
type BatchFailure struct {
	Errors []BatchError `msgpack:"errors"`
}

// BatchCancel is the payload of batch.cancel_requested (status cancelling).
type BatchCancel struct {
	By string `msgpack:"by,omitempty"`
}

// BatchFinalize is the payload of batch.finalizing: every line is settled
// or being settled; Reason is "" (all ran), "cancelled" or "expired".
type BatchFinalize struct {
	Reason string `msgpack:"reason,omitempty"`
}

// BatchEnd is the payload of batch.ended, appended with the file.uploaded
// of its output and error files in one batch, so a batch's files are
// assembled once. Status is completed, cancelled or expired.
type BatchEnd struct {
	Status     string `msgpack:"status"`
	OutputFile string `msgpack:"output_file,omitempty"`
	ErrorFile  string `msgpack:"error_file,omitempty"`
	Completed  int    `msgpack:"completed"`
	Failed     int    `msgpack:"failed"`
}

// BatchDeletion is the payload of batch.deleted (retention): the batch
// view and its line index go.
type BatchDeletion struct {
	Reason string `msgpack:"reason,omitempty"`
}

// The public ids, as OpenAI shapes them: "batch_<ULID>", "file-<ULID>".
const (
	BatchIDPrefix = "batch_"
	FileIDPrefix  = "file-"
)

// BatchID is a batch's public id.
func BatchID(id ulid.ULID) string { return BatchIDPrefix + id.String() }

// FileID is a file's public id.
func FileID(id ulid.ULID) string { return FileIDPrefix + id.String() }

// ParseBatchID reads a public batch id (or a bare ULID).
func ParseBatchID(s string) (ulid.ULID, error) {
	return ulid.ParseStrict(strings.TrimPrefix(s, BatchIDPrefix))
}

// ParseFileID reads a public file id (or a bare ULID).
func ParseFileID(s string) (ulid.ULID, error) {
	return ulid.ParseStrict(strings.TrimPrefix(s, FileIDPrefix))
}

// BatchEndpoints maps the endpoints a batch may name to its lines' job
// kind. In a batch, embeddings are queued like the rest: scheduled work.
var BatchEndpoints = map[string]Kind{
	"/v1/chat/completions": KindOpenAIChat,
	"/v1/completions":      KindOpenAICompletion,
	"/v1/embeddings":       KindOpenAIEmbedding,
}
