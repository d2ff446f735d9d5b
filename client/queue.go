package client

import (
	"context"
	"net/http"
)

// Queue is what the scheduler sees (GET /queue).
type Queue struct {
	Loaded  []string     `json:"loaded"`  // models loaded in the target
	Depth   []QueueDepth `json:"depth"`   // queued jobs per model and priority
	Waiting int          `json:"waiting"` // queued jobs in all
	Running *JobSummary  `json:"running,omitempty"`
	Next    *JobSummary  `json:"next,omitempty"` // the next pick, when nothing runs
}

// QueueDepth counts queued jobs of one model at one priority.
type QueueDepth struct {
	Model    string `json:"model"`
	Priority int    `json:"priority"`
	Queued   int    `json:"queued"`
}

// Queue reads the queue.
func (c *Client) Queue(ctx context.Context) (*Queue, error) {
	var q Queue
	if err := c.call(ctx, http.MethodGet, "/queue", nil, &q); err != nil {
		return nil, err
	}
	return &q, nil
}
