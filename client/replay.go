package client

import (
	"context"
	"net/http"
)

// ReplayRequest asks for webhook deliveries to be sent again: the job
// events from offset From (≥ 1) to To (0: the end), of one job if JobID is
// set. They keep their original webhook-id, so receivers dedupe them.
type ReplayRequest struct {
	From  uint64 `json:"from_offset"`
	To    uint64 `json:"to_offset,omitempty"`
	JobID string `json:"job_id,omitempty"`
}

// Replay is the daemon's acknowledgement: the range, and the offset of the
// replay request in the log.
type Replay struct {
	From          uint64 `json:"from_offset"`
	To            uint64 `json:"to_offset"`
	RequestOffset uint64 `json:"request_offset"`
}

// ReplayWebhooks asks for a replay (POST /webhooks/replay). An offset
// removed by retention is an *APIError 410.
func (c *Client) ReplayWebhooks(ctx context.Context, req ReplayRequest) (*Replay, error) {
	var r Replay
	if err := c.call(ctx, http.MethodPost, "/webhooks/replay", req, &r); err != nil {
		return nil, err
	}
	return &r, nil
}
