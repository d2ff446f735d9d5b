package eventlog

// Type names an event. Types are strings so that a dump is readable and a
// type added later is skipped, not misread, by an older reader.
type Type string

// The job event vocabulary; docs/events.md documents every field.
const (
	JobSubmitted       Type = "job.submitted"
	JobStarted         Type = "job.started"
	AttemptFailed      Type = "job.attempt_failed"
	JobSucceeded       Type = "job.succeeded"
	JobFailed          Type = "job.failed"
	CancelRequested    Type = "job.cancel_requested"
	JobCancelled       Type = "job.cancelled"
	ArtifactStored     Type = "artifact.stored"
	JobInterrupted     Type = "job.interrupted"
	JobExpired         Type = "job.expired"
	JobRequeued        Type = "job.requeued"
	WebhookAttempted   Type = "webhook.attempted"
	WebhookDelivered   Type = "webhook.delivered"
	WebhookGaveUp      Type = "webhook.gave_up"
	WebhookReplay      Type = "webhook.replay_requested"
	currentPayloadVers      = 1
)

// Types lists every known type, in lifecycle order.
var Types = []Type{
	JobSubmitted, JobStarted, AttemptFailed, JobSucceeded, JobFailed,
	CancelRequested, JobCancelled, ArtifactStored, JobInterrupted,
	JobExpired, JobRequeued, WebhookAttempted, WebhookDelivered, WebhookGaveUp, WebhookReplay, LogLost,
	FilePart, FileUploaded, FileDeleted, BatchCreated, BatchInProgress, BatchFailed,
	BatchCancelRequested, BatchFinalizing, BatchEnded, BatchDeleted,
}

// Kind is the Ollama endpoint a job targets.
type Kind string

const (
	KindChat     Kind = "chat"
	KindGenerate Kind = "generate"

	// The OpenAI kinds carry the caller's /v1 body as it came; the worker
	// relays it to the target's own /v1 route (issue 13: relay, do not
	// translate). OpenAIEmbedding is queued only for batches; a direct
	// /v1/embeddings call bypasses the queue like /api/embed.
	KindOpenAIChat       Kind = "openai.chat"       // POST /v1/chat/completions
	KindOpenAICompletion Kind = "openai.completion" // POST /v1/completions
	KindOpenAIResponse   Kind = "openai.response"   // POST /v1/responses
	KindOpenAIEmbedding  Kind = "openai.embedding"  // POST /v1/embeddings, in a batch
)

// Submitted is the payload of job.submitted.
type Submitted struct {
	Model          string `msgpack:"model"`
	Kind           Kind   `msgpack:"kind"`
	Request        []byte `msgpack:"request,omitempty"`      // raw Ollama JSON, when inline
	RequestBlob    string `msgpack:"request_blob,omitempty"` // blob key, when over InlineRequestMax
	RequestSize    int    `msgpack:"request_size"`
	RequestSHA256  []byte `msgpack:"request_sha256,omitempty"`
	WebhookURL     string `msgpack:"webhook_url,omitempty"`
	IdempotencyKey string `msgpack:"idempotency_key,omitempty"`
	// BodySHA256 hashes the whole POST /jobs body, foreman's fields
	// included: a reused idempotency key with another body is refused.
	BodySHA256  []byte `msgpack:"body_sha256,omitempty"`
	Priority    int    `msgpack:"priority"`
	Sync        bool   `msgpack:"sync"` // came through /api/chat or /api/generate
	Submitter   string `msgpack:"submitter,omitempty"`
	MaxAttempts int    `msgpack:"max_attempts"`
	// Timeout bounds each attempt of this job (ns), the caller's own
	// "timeout"; 0: the daemon's FOREMAN_JOB_TIMEOUT.
	Timeout int64 `msgpack:"timeout,omitempty"`
	// Batch is the batch a line job belongs to (ULID text), CustomID and
	// Line (1-based) its input line's; empty for other jobs.
	Batch    string `msgpack:"batch,omitempty"`
	CustomID string `msgpack:"custom_id,omitempty"`
	Line     int    `msgpack:"line,omitempty"`
}

// InlineRequestMax is the largest request body kept inside job.submitted;
// larger bodies (images) go to a blob in the same batch.
const InlineRequestMax = 64 << 10

// Started is the payload of job.started.
type Started struct {
	Attempt int `msgpack:"attempt"`
}

// AttemptFailure is the payload of job.attempt_failed: the job goes back to
// the queue, not before RetryAt (unix ns).
type AttemptFailure struct {
	Attempt   int    `msgpack:"attempt"`
	Retryable bool   `msgpack:"retryable"`
	Error     string `msgpack:"error"`
	Status    int    `msgpack:"status,omitempty"`
	RetryAt   int64  `msgpack:"retry_at,omitempty"`
}

// Succeeded is the payload of job.succeeded; Result names the artifact
// holding the final Ollama response.
type Succeeded struct {
	Attempt int    `msgpack:"attempt"`
	Result  string `msgpack:"result"`
	// Status is the target's HTTP status (200), recorded for the OpenAI
	// kinds so that a batch reads every line's status from the job.
	Status int `msgpack:"status,omitempty"`
}

// Failure is the payload of job.failed.
type Failure struct {
	Attempt int    `msgpack:"attempt"`
	Error   string `msgpack:"error"`
	Status  int    `msgpack:"status,omitempty"`
	// Result names the artifact holding the target's own error body, kept
	// for the OpenAI kinds (a batch relays it); empty for the others.
	Result string `msgpack:"result,omitempty"`
}

// CancelRequest is the payload of job.cancel_requested.
type CancelRequest struct {
	Reason string `msgpack:"reason,omitempty"`
	By     string `msgpack:"by,omitempty"`
}

// Cancellation is the payload of job.cancelled.
type Cancellation struct {
	Reason string `msgpack:"reason,omitempty"`
}

// Artifact is the payload of artifact.stored.
type Artifact struct {
	Name        string `msgpack:"name"`
	ContentType string `msgpack:"content_type"`
	Size        int64  `msgpack:"size"`
	SHA256      []byte `msgpack:"sha256"`
	Blob        string `msgpack:"blob"`
}

// Interruption is the payload of job.interrupted (a crash or shutdown cut
// an attempt short).
type Interruption struct {
	Attempt       int    `msgpack:"attempt"`
	Reason        string `msgpack:"reason"`
	Requeued      bool   `msgpack:"requeued"`
	CountsAttempt bool   `msgpack:"counts_attempt"`
}

// Expiry is the payload of job.expired.
type Expiry struct {
	Reason string `msgpack:"reason,omitempty"`
}

// Requeue is the payload of job.requeued: a manual retry of a failed or
// cancelled job with a fresh attempt budget.
type Requeue struct {
	Reason string `msgpack:"reason,omitempty"`
	By     string `msgpack:"by,omitempty"`
}

// WebhookAttempt is the payload of the webhook.* events; Event is the offset
// of the job event being delivered.
type WebhookAttempt struct {
	Event   uint64 `msgpack:"event"`
	Attempt int    `msgpack:"attempt"`
	Status  int    `msgpack:"status,omitempty"`
	Error   string `msgpack:"error,omitempty"`
	// Replay is the offset of the webhook.replay_requested that caused
	// this delivery; 0 for the delivery the event itself caused.
	Replay uint64 `msgpack:"replay,omitempty"`
}

// Replay is the payload of webhook.replay_requested (recorded under the zero
// job id unless Job narrows it): re-deliver the job events with offsets in
// [From, To] (To 0: up to the request itself).
type Replay struct {
	From uint64 `msgpack:"from"`
	To   uint64 `msgpack:"to,omitempty"`
	Job  []byte `msgpack:"job,omitempty"`
	By   string `msgpack:"by,omitempty"`
}
