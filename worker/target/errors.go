package target

import (
	"errors"
	"fmt"
)

// ErrUnreachable matches every ConnError, for callers that only need to
// know the target could not be talked to.
var ErrUnreachable = errors.New("ollama target unreachable")

// ConnError is a network failure talking to the target: no answer, or an
// answer cut off. The request may be retried.
type ConnError struct {
	Op  string // "POST /api/chat"
	Err error
}

func (e *ConnError) Error() string { return fmt.Sprintf("ollama %s: %v", e.Op, e.Err) }
func (e *ConnError) Unwrap() error { return e.Err }

// Is makes errors.Is(err, ErrUnreachable) true.
func (e *ConnError) Is(target error) bool { return target == ErrUnreachable }

// HTTPError is a non-200 answer from the target. Status and Body are
// Ollama's own, so they can be relayed to a caller unchanged.
type HTTPError struct {
	Status  int
	Message string // the "error" field (its "message" on /v1), or the body as text
	Body    []byte
	// ContentType is the answer's, to relay the body as it came.
	ContentType string
}

func (e *HTTPError) Error() string { return fmt.Sprintf("ollama: %d %s", e.Status, e.Message) }

// StreamError is an {"error": ...} line inside a 200 stream: Ollama sends
// it when its runner dies mid-answer. The attempt failed; it is not a
// success, and may be retried.
type StreamError struct {
	Message string
}

func (e *StreamError) Error() string { return "ollama stream: " + e.Message }
