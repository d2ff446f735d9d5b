package client

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"
)

// Sentinel errors, matched with errors.Is.
var (
	// ErrJobFailed: the job ended failed (JobError matches it).
	ErrJobFailed = errors.New("job failed")
	// ErrJobCancelled: the job ended cancelled (JobError matches it).
	ErrJobCancelled = errors.New("job cancelled")
	// ErrUnauthorized: the daemon refused the token (APIError 401 matches it).
	ErrUnauthorized = errors.New("unauthorized")
	// ErrNotFound: no such job or artifact (APIError 404 matches it).
	ErrNotFound = errors.New("not found")
	// ErrBadSignature: a webhook's signature is missing or wrong.
	ErrBadSignature = errors.New("webhook signature does not verify")
)

// APIError is a non-2xx answer of the daemon: its status and the message
// of its {"error": "..."} body (or the body itself when it is not JSON).
type APIError struct {
	Status  int
	Message string
}

func (e *APIError) Error() string {
	// No "foreman:" prefix: callers add their own context (the CLI prints
	// "foreman: " before every error).
	return fmt.Sprintf("%d %s: %s", e.Status, http.StatusText(e.Status), e.Message)
}

// Is matches ErrUnauthorized for 401 and ErrNotFound for 404.
func (e *APIError) Is(target error) bool {
	return (target == ErrUnauthorized && e.Status == http.StatusUnauthorized) ||
		(target == ErrNotFound && e.Status == http.StatusNotFound)
}

// temporary reports answers worth asking again while waiting: the daemon
// restarting behind a proxy, or briefly overloaded.
func (e *APIError) temporary() bool {
	switch e.Status {
	case http.StatusBadGateway, http.StatusServiceUnavailable, http.StatusGatewayTimeout, http.StatusTooManyRequests:
		return true
	}
	return false
}

func readAPIError(resp *http.Response) error {
	b, _ := io.ReadAll(io.LimitReader(resp.Body, 64<<10))
	var e struct {
		Error json.RawMessage `json:"error"`
	}
	msg := strings.TrimSpace(string(b))
	if json.Unmarshal(b, &e) == nil && len(e.Error) > 0 {
		var s string
		var o struct {
			Message string `json:"message"`
		}
		switch {
		case json.Unmarshal(e.Error, &s) == nil:
			msg = s
		case json.Unmarshal(e.Error, &o) == nil && o.Message != "": // the OpenAI shape of 501s
			msg = o.Message
		}
	}
	if msg == "" {
		msg = resp.Status
	}
	return &APIError{Status: resp.StatusCode, Message: msg}
}

// UnreachableError is a request that got no answer: the daemon is down, the
// address is wrong, or the network failed.
type UnreachableError struct {
	URL string
	Err error
}

func (e *UnreachableError) Error() string {
	return fmt.Sprintf("foreman at %s is unreachable: %v", e.URL, e.Err)
}

func (e *UnreachableError) Unwrap() error { return e.Err }

// JobError is a job that ended failed or cancelled. Submit and Wait return
// it along with the job's Result.
type JobError struct {
	JobID   string
	State   string // "failed" or "cancelled"
	Message string // the job's last error
	Status  int    // the target's HTTP status, if it answered
}

func (e *JobError) Error() string {
	s := fmt.Sprintf("job %s %s", e.JobID, e.State)
	if e.Message != "" {
		s += ": " + e.Message
	}
	return s
}

// Is matches ErrJobFailed or ErrJobCancelled.
func (e *JobError) Is(target error) bool {
	return (target == ErrJobFailed && e.State == StateFailed) ||
		(target == ErrJobCancelled && e.State == StateCancelled)
}

// retryable reports errors Wait rides out: no answer at all (a daemon
// restart) or a temporary status.
func retryable(err error) bool {
	var ue *UnreachableError
	var ae *APIError
	return errors.As(err, &ue) || (errors.As(err, &ae) && ae.temporary())
}
