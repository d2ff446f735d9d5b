package client

import (
	"context"
	"net/url"
	"time"
)

// WaitError is a wait that ended before the job did: ctx was cancelled or
// its deadline passed. The job goes on in the daemon; JobID lets the
// caller Wait for it again, Get it or Cancel it.
type WaitError struct {
	JobID string
	State string // the last state seen, "" if none
	Err   error  // ctx.Err(), or the last error when the daemon could not be asked
}

func (e *WaitError) Error() string {
	s := "wait for job " + e.JobID
	if e.State != "" {
		s += " (last seen " + e.State + ")"
	}
	return s + ": " + e.Err.Error()
}

func (e *WaitError) Unwrap() error { return e.Err }

// Wait blocks until the job is terminal, asking GET /jobs/{id} every poll
// interval. It rides out a daemon that is briefly unreachable (a restart)
// and ends with ctx. A job that ended failed or cancelled is returned with
// a *JobError.
func (c *Client) Wait(ctx context.Context, jobID string) (*Result, error) {
	return c.wait(ctx, jobID, nil)
}

// wait is Wait, woken early by rc's deliveries when rc is not nil. In
// webhook mode it asks on each delivery, and by itself only after
// webhookTimeout of silence; if no delivery at all came by then, it polls
// from then on.
func (c *Client) wait(ctx context.Context, id string, rc *receiver) (*Result, error) {
	interval := c.poll
	var notify <-chan struct{}
	if rc != nil {
		interval, notify = c.webhookTimeout, rc.notify
	}
	timer := time.NewTimer(0)
	defer timer.Stop()
	<-timer.C
	state := ""
	for {
		j, err := c.Get(ctx, id)
		switch {
		case err == nil && Terminal(j.State):
			return outcome(j)
		case err == nil:
			state = j.State
		case ctx.Err() != nil:
			return nil, &WaitError{JobID: id, State: state, Err: ctx.Err()}
		case !retryable(err):
			return nil, err
		}
		timer.Reset(interval)
		select {
		case <-ctx.Done():
			return nil, &WaitError{JobID: id, State: state, Err: ctx.Err()}
		case <-notify:
			timer.Stop()
		case <-timer.C:
			if rc != nil && !rc.heard.Load() {
				interval = c.poll // no webhook in time: poll, but still listen
			}
		}
	}
}

// jobPath is /jobs/{id} with the id escaped.
func jobPath(id string, rest ...string) string {
	p := "/jobs/" + url.PathEscape(id)
	for _, r := range rest {
		p += "/" + r
	}
	return p
}
