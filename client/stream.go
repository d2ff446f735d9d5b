package client

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
)

// StreamError is an {"error": "..."} line in a job's stream: the job failed,
// or the reader fell behind and output was dropped.
type StreamError struct {
	JobID   string
	Message string
}

func (e *StreamError) Error() string { return fmt.Sprintf("job %s: %s", e.JobID, e.Message) }

// maxLine bounds one NDJSON line: the final line is the whole result.
const maxLine = 64 << 20

// Stream follows a job's output (GET /jobs/{id}/stream): fn gets each
// NDJSON line as the target produces it (Ollama's streamed chunks), then
// the job's final result; for a job already finished, just the result. It
// returns when the stream ends, fn returns an error (returned as is), or
// ctx ends. An error line is returned as a *StreamError. A {"restart":true}
// line means the attempt failed and the job is being retried: the lines
// before it are void, and the next attempt's output follows.
func (c *Client) Stream(ctx context.Context, jobID string, fn func(line json.RawMessage) error) error {
	resp, err := c.request(ctx, http.MethodGet, jobPath(jobID, "stream"), nil, nil)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	sc := bufio.NewScanner(resp.Body)
	sc.Buffer(make([]byte, 64<<10), maxLine)
	for sc.Scan() {
		line := sc.Bytes()
		if len(line) == 0 {
			continue
		}
		var e struct {
			Error string `json:"error"`
			Model string `json:"model"`
		}
		if json.Unmarshal(line, &e) == nil && e.Error != "" && e.Model == "" {
			return &StreamError{JobID: jobID, Message: e.Error}
		}
		if err := fn(json.RawMessage(append([]byte(nil), line...))); err != nil {
			return err
		}
	}
	if err := sc.Err(); err != nil {
		if ctx.Err() != nil {
			return ctx.Err()
		}
		return fmt.Errorf("stream of job %s: %w", jobID, err)
	}
	return nil
}
