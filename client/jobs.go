package client

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"time"
)

// Get reads a job (GET /jobs/{id}).
func (c *Client) Get(ctx context.Context, jobID string) (*Job, error) {
	var j Job
	if err := c.call(ctx, http.MethodGet, jobPath(jobID), nil, &j); err != nil {
		return nil, err
	}
	return &j, nil
}

// Cancel asks for a job to be cancelled (DELETE /jobs/{id}): a queued job
// leaves the queue at once, a running one is aborted (it may still finish
// done first). A job that is already terminal is an *APIError 409.
func (c *Client) Cancel(ctx context.Context, jobID string) error {
	return c.call(ctx, http.MethodDelete, jobPath(jobID), nil, nil)
}

// Retry puts a failed or cancelled job back in the queue with a fresh
// attempt budget (POST /jobs/{id}/retry). Other states are an *APIError 409.
func (c *Client) Retry(ctx context.Context, jobID string) error {
	return c.call(ctx, http.MethodPost, jobPath(jobID, "retry"), nil, nil)
}

// ListOptions filters List. Zero values mean no filter and the daemon's
// default limit (50; at most 500).
type ListOptions struct {
	State  string
	Model  string
	Limit  int
	Cursor string // NextCursor of the previous page
}

// JobList is one page of jobs, newest first.
type JobList struct {
	Jobs       []JobSummary `json:"jobs"`
	NextCursor string       `json:"next_cursor,omitempty"`
}

// List lists jobs (GET /jobs). Pass NextCursor back as Cursor for the
// next page; it is empty on the last.
func (c *Client) List(ctx context.Context, o ListOptions) (*JobList, error) {
	q := url.Values{}
	for k, v := range map[string]string{"state": o.State, "model": o.Model, "cursor": o.Cursor} {
		if v != "" {
			q.Set(k, v)
		}
	}
	if o.Limit > 0 {
		q.Set("limit", strconv.Itoa(o.Limit))
	}
	path := "/jobs"
	if len(q) > 0 {
		path += "?" + q.Encode()
	}
	var l JobList
	if err := c.call(ctx, http.MethodGet, path, nil, &l); err != nil {
		return nil, err
	}
	return &l, nil
}

// Event is one event of a job's history (GET /jobs/{id}/events), as
// `foreman log export` renders it (docs/export-format.md).
type Event struct {
	Offset       uint64          `json:"offset"`
	Time         time.Time       `json:"time"`
	Job          string          `json:"job"`
	Type         string          `json:"type"` // e.g. job.submitted, webhook.attempted
	Version      uint8           `json:"version"`
	Payload      json.RawMessage `json:"payload"`
	PayloadError string          `json:"payload_error,omitempty"`
}

// Events reads a job's stored history, oldest first. Events older than
// the log's retention are gone.
func (c *Client) Events(ctx context.Context, jobID string) ([]Event, error) {
	var v struct {
		Events []Event `json:"events"`
	}
	if err := c.call(ctx, http.MethodGet, jobPath(jobID, "events"), nil, &v); err != nil {
		return nil, err
	}
	return v.Events, nil
}

// Artifact downloads one artifact of a job, however large
// (GET /jobs/{id}/artifacts/{name}).
func (c *Client) Artifact(ctx context.Context, jobID, name string) ([]byte, error) {
	resp, err := c.request(ctx, http.MethodGet, jobPath(jobID, "artifacts", url.PathEscape(name)), nil, nil)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	return io.ReadAll(resp.Body)
}

func decode(resp *http.Response, v any) error {
	return json.NewDecoder(resp.Body).Decode(v)
}
