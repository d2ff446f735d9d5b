package projections

import (
	"time"

	"github.com/oklog/ulid/v2"

	"github.com/foreman-dev/foreman/eventlog"
)

// State is a job's place in its lifecycle.
type State string

const (
	Queued    State = "queued"
	Working   State = "working"
	Done      State = "done"
	Failed    State = "failed"
	Cancelled State = "cancelled"
)

// States lists every state in a fixed order (used for counts).
var States = []State{Queued, Working, Done, Failed, Cancelled}

// Terminal reports whether a job in s waits for nothing more.
func (s State) Terminal() bool { return s == Done || s == Failed || s == Cancelled }

// Job is the view of one job. Times are unix nanoseconds from event times,
// so that views are deterministic.
type Job struct {
	ID             ulid.ULID     `msgpack:"id"`
	Model          string        `msgpack:"model"`
	Kind           eventlog.Kind `msgpack:"kind"`
	State          State         `msgpack:"state"`
	Priority       int           `msgpack:"priority"`
	Sync           bool          `msgpack:"sync"`
	Submitter      string        `msgpack:"submitter,omitempty"`
	WebhookURL     string        `msgpack:"webhook_url,omitempty"`
	IdempotencyKey string        `msgpack:"idempotency_key,omitempty"`
	RequestSHA256  []byte        `msgpack:"request_sha256,omitempty"`
	BodySHA256     []byte        `msgpack:"body_sha256,omitempty"`
	SubmitOffset   uint64        `msgpack:"submit_offset"`
	SubmittedAt    int64         `msgpack:"submitted_at"`
	StartedAt      int64         `msgpack:"started_at,omitempty"`
	FinishedAt     int64         `msgpack:"finished_at,omitempty"`
	UpdatedAt      int64         `msgpack:"updated_at"`
	// QueueOffset orders the queue: the offset at which the job last
	// entered it anew (submission or manual retry). A retried attempt keeps
	// its place.
	QueueOffset uint64 `msgpack:"queue_offset,omitempty"`
	QueuedAt    int64  `msgpack:"queued_at,omitempty"`
	RetryAt     int64  `msgpack:"retry_at,omitempty"` // not before, after a failed attempt
	Attempts    int    `msgpack:"attempts"`           // attempts started, ever
	Used        int    `msgpack:"used"`               // attempts counted against MaxAttempts
	MaxAttempts int    `msgpack:"max_attempts"`
	// CancelRequested is set while a cancel of a working job is pending.
	CancelRequested bool       `msgpack:"cancel_requested,omitempty"`
	LastError       string     `msgpack:"last_error,omitempty"`
	LastStatus      int        `msgpack:"last_status,omitempty"`
	Result          string     `msgpack:"result,omitempty"` // artifact name
	Artifacts       []Artifact `msgpack:"artifacts,omitempty"`
	LastOffset      uint64     `msgpack:"last_offset"`
	// Batch (ULID text) and CustomID link a batch line's job to its batch
	// and input line; empty for other jobs.
	Batch    string `msgpack:"batch,omitempty"`
	CustomID string `msgpack:"custom_id,omitempty"`
}

// Artifact is one entry of the artifact index.
type Artifact struct {
	Name        string `msgpack:"name"`
	ContentType string `msgpack:"content_type"`
	Size        int64  `msgpack:"size"`
	SHA256      []byte `msgpack:"sha256"`
	Blob        string `msgpack:"blob"`
	Offset      uint64 `msgpack:"offset"`
}

// AttemptsLeft is how many more attempts the job may start.
func (j *Job) AttemptsLeft() int { return max(j.MaxAttempts-j.Used, 0) }

// Artifact returns the named artifact.
func (j *Job) Artifact(name string) (Artifact, bool) {
	for _, a := range j.Artifacts {
		if a.Name == name {
			return a, true
		}
	}
	return Artifact{}, false
}

// Time converts a view timestamp; zero stays zero.
func Time(ns int64) time.Time {
	if ns == 0 {
		return time.Time{}
	}
	return time.Unix(0, ns).UTC()
}

func (j *Job) clone() Job {
	c := *j
	c.Artifacts = append([]Artifact(nil), j.Artifacts...)
	return c
}
