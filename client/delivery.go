package client

import (
	"encoding/json"
	"fmt"
	"net/http"
	"time"
)

// Delivery is the body of a webhook delivery (docs/webhooks.md): the job
// as GET /jobs/{id} shows it at that event (terminal deliveries carry the
// result, error and artifacts), plus the event itself. Deliveries are
// at-least-once and unordered: use Offset to order them and to drop
// repeats.
type Delivery struct {
	Result
	// Event is the event type without "job.": submitted, started,
	// attempt_failed, succeeded, failed, cancel_requested, cancelled,
	// interrupted, requeued.
	Event   string    `json:"event"`
	Time    time.Time `json:"time"`
	Attempt int       `json:"attempt"`
}

// ParseDelivery checks a delivery's signature (when secret is not empty;
// see VerifySignature) and decodes its body, for receivers of your own.
func ParseDelivery(secret string, h http.Header, body []byte) (*Delivery, error) {
	if secret != "" {
		if err := VerifySignature(secret, h, body); err != nil {
			return nil, err
		}
	}
	var d Delivery
	if err := json.Unmarshal(body, &d); err != nil {
		return nil, fmt.Errorf("webhook delivery: %w", err)
	}
	return &d, nil
}
