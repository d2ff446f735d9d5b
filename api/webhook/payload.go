package webhook

import (
	"encoding/json"
	"fmt"
	"strings"
	"time"

	"github.com/foreman-dev/foreman/eventlog"
	"github.com/foreman-dev/foreman/projections"
)

// Payload is the JSON body of a delivery (docs/webhooks.md, with the golden
// file docs/testdata/webhook-succeeded.json).
type Payload struct {
	// Event is the event type without its "job." prefix: submitted,
	// started, attempt_failed, succeeded, failed, cancel_requested,
	// cancelled, interrupted, requeued, expired.
	Event     string          `json:"event"`
	State     string          `json:"state"` // the job's state after the event
	JobID     string          `json:"job_id"`
	Offset    uint64          `json:"offset"`
	Time      time.Time       `json:"time"`
	Model     string          `json:"model"`
	Kind      string          `json:"kind"`
	Attempt   int             `json:"attempt"`
	Error     string          `json:"error,omitempty"`
	Status    int             `json:"status,omitempty"`
	Result    json.RawMessage `json:"result,omitempty"`
	Artifacts json.RawMessage `json:"artifacts,omitempty"`
}

// Renderer renders a job view the way GET /jobs/{id} does (api.Server);
// terminal deliveries carry its result, error and artifacts.
type Renderer interface {
	RenderJob(j projections.Job) ([]byte, error)
}

// ID is the webhook-id of an event: the same on every retry and replay.
func ID(e eventlog.Event) string {
	return fmt.Sprintf("evt_%d_%s", e.Offset, e.Job)
}

// delivered reports whether an event type is sent to webhooks: every job
// transition; not expiry (the job is gone), not artifact or webhook records.
func delivered(t eventlog.Type) bool {
	return strings.HasPrefix(string(t), "job.") && t != eventlog.JobExpired
}

// build makes the payload of event e from the job's history.
func build(e eventlog.Event, history []eventlog.Event, render Renderer) ([]byte, error) {
	j, err := projections.Replay(history, e.Offset)
	if err != nil {
		return nil, err
	}
	if j == nil {
		return nil, fmt.Errorf("job %s has no submission before offset %d", e.Job, e.Offset)
	}
	p := Payload{
		Event: strings.TrimPrefix(string(e.Type), "job."), State: string(j.State), JobID: e.Job.String(),
		Offset: e.Offset, Time: e.Time, Model: j.Model, Kind: string(j.Kind), Attempt: j.Attempts,
	}
	if j.State == projections.Failed || j.State == projections.Cancelled || e.Type == eventlog.AttemptFailed {
		p.Error, p.Status = j.LastError, j.LastStatus
	}
	if j.State == projections.Done {
		p.Status = j.LastStatus // the OpenAI kinds' 200; 0 (left out) for the others
	}
	if j.State.Terminal() && render != nil {
		view, err := render.RenderJob(*j)
		if err != nil {
			return nil, err
		}
		var v struct {
			Result    json.RawMessage `json:"result"`
			Artifacts json.RawMessage `json:"artifacts"`
		}
		if err := json.Unmarshal(view, &v); err != nil {
			return nil, err
		}
		p.Result, p.Artifacts = v.Result, v.Artifacts
	}
	return json.Marshal(p)
}
