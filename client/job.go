package client

import (
	"encoding/json"
	"fmt"
	"time"

	ollama "github.com/ollama/ollama/api"
)

// Job states.
const (
	StateQueued    = "queued"
	StateWorking   = "working"
	StateDone      = "done"
	StateFailed    = "failed"
	StateCancelled = "cancelled"
)

// Terminal reports whether a job in state s will not change again (unless
// retried by hand).
func Terminal(s string) bool {
	return s == StateDone || s == StateFailed || s == StateCancelled
}

// Job is a job as GET /jobs/{id} shows it.
type Job struct {
	JobID       string          `json:"job_id"`
	State       string          `json:"state"`
	Model       string          `json:"model"`
	Kind        string          `json:"kind"`
	Priority    int             `json:"priority"`
	Submitter   string          `json:"submitter,omitempty"`
	CreatedAt   time.Time       `json:"created_at"`
	StartedAt   *time.Time      `json:"started_at,omitempty"`
	FinishedAt  *time.Time      `json:"finished_at,omitempty"`
	UpdatedAt   time.Time       `json:"updated_at"`
	Attempts    int             `json:"attempts"`
	MaxAttempts int             `json:"max_attempts"`
	Error       string          `json:"error,omitempty"`
	Status      int             `json:"status,omitempty"`
	Result      json.RawMessage `json:"result,omitempty"`
	Artifacts   []Artifact      `json:"artifacts"`
	Position    *int            `json:"position,omitempty"`
	// ETA (queued or working) is when the job should finish, ETASeconds
	// the seconds until then, and ETAConfidence "normal", or "low" when
	// the running job has overrun its estimate.
	ETA           *time.Time `json:"eta,omitempty"`
	ETASeconds    *int64     `json:"eta_seconds,omitempty"`
	ETAConfidence string     `json:"eta_confidence,omitempty"`
	// Tokens (working only) is what the running attempt has produced so
	// far, about one token per line Ollama streamed.
	Tokens *int   `json:"tokens,omitempty"`
	Offset uint64 `json:"offset"`
}

// Artifact is one output of a job: inline (Data) up to 256 KiB, else by URL
// (fetch it with Client.Artifact).
type Artifact struct {
	Name        string `json:"name"`
	ContentType string `json:"content_type"`
	Size        int64  `json:"size"`
	SHA256      string `json:"sha256"`
	Data        []byte `json:"data,omitempty"`
	URL         string `json:"url,omitempty"`
}

// Result is a terminal job, read back from the daemon after it finished.
type Result struct {
	Job
}

// Chat decodes the result of a chat job.
func (r *Result) Chat() (*ollama.ChatResponse, error) {
	var v ollama.ChatResponse
	if err := r.decode(&v); err != nil {
		return nil, err
	}
	return &v, nil
}

// Generate decodes the result of a generate job.
func (r *Result) Generate() (*ollama.GenerateResponse, error) {
	var v ollama.GenerateResponse
	if err := r.decode(&v); err != nil {
		return nil, err
	}
	return &v, nil
}

// Text is the answer's text: the message content of a chat, the response of
// a generate; "" when the job has no result.
func (r *Result) Text() string {
	var v struct {
		Message  *ollama.Message `json:"message"`
		Response string          `json:"response"`
	}
	if json.Unmarshal(r.Result, &v) != nil {
		return ""
	}
	if v.Message != nil {
		return v.Message.Content
	}
	return v.Response
}

func (r *Result) decode(v any) error {
	if len(r.Result) == 0 {
		return fmt.Errorf("job %s (%s) has no result", r.JobID, r.State)
	}
	if err := json.Unmarshal(r.Result, v); err != nil {
		return fmt.Errorf("job %s: decode result: %w", r.JobID, err)
	}
	return nil
}

// outcome turns a terminal job into Submit's answer: a JobError when it
// did not end done.
func outcome(j *Job) (*Result, error) {
	r := &Result{Job: *j}
	if j.State == StateDone {
		return r, nil
	}
	return r, &JobError{JobID: j.JobID, State: j.State, Message: j.Error, Status: j.Status}
}

// JobSummary is one row of List.
type JobSummary struct {
	JobID      string    `json:"job_id"`
	State      string    `json:"state"`
	Model      string    `json:"model"`
	Kind       string    `json:"kind"`
	Priority   int       `json:"priority"`
	Attempts   int       `json:"attempts"`
	Submitter  string    `json:"submitter,omitempty"`
	CreatedAt  time.Time `json:"created_at"`
	FinishedAt time.Time `json:"finished_at,omitzero"`
	Error      string    `json:"error,omitempty"`
	// Daemon is the base URL of the daemon holding the job, set by a
	// Fleet's List.
	Daemon string `json:"daemon,omitempty"`
}
