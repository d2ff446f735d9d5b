package client

import (
	"context"
	"net/http"
	"net/url"
	"time"
)

// Queue is what the scheduler sees (GET /queue).
type Queue struct {
	Loaded  []string     `json:"loaded"`  // models loaded in the target
	Depth   []QueueDepth `json:"depth"`   // queued jobs per model and priority
	Waiting int          `json:"waiting"` // queued jobs in all
	Running *JobSummary  `json:"running,omitempty"`
	Next    *JobSummary  `json:"next,omitempty"` // the next pick, when nothing runs
	// Forecast is set by QueueFor: where a job of its model would run.
	Forecast *Forecast `json:"forecast,omitempty"`
}

// Forecast is where a job of Model submitted now at the default priority
// would run on one daemon (GET /queue?model=).
type Forecast struct {
	Model string `json:"model"`
	// Available: the daemon's target has the model. When false, nothing
	// else is set and a submission there would be refused.
	Available     bool       `json:"available"`
	Swap          bool       `json:"swap"`               // a model load is expected first
	Position      int        `json:"position,omitempty"` // 1: it would run next
	ETA           *time.Time `json:"eta,omitempty"`
	ETASeconds    *int64     `json:"eta_seconds,omitempty"`
	ETAConfidence string     `json:"eta_confidence,omitempty"`
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

// QueueFor reads the queue with the forecast for a job of model.
func (c *Client) QueueFor(ctx context.Context, model string) (*Queue, error) {
	var q Queue
	if err := c.call(ctx, http.MethodGet, "/queue?model="+url.QueryEscape(model), nil, &q); err != nil {
		return nil, err
	}
	return &q, nil
}
