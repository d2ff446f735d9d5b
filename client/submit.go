package client

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"net"
	"net/http"
	"time"
)

// Enqueue submits a job (POST /jobs) and returns its id once the daemon has
// stored it durably. It does not wait for the job.
func (c *Client) Enqueue(ctx context.Context, req Request) (string, error) {
	return c.enqueue(ctx, req, "")
}

func (c *Client) enqueue(ctx context.Context, req Request, webhook string) (string, error) {
	body, err := req.body(webhook)
	if err != nil {
		return "", err
	}
	var hdr http.Header
	if req.IdempotencyKey != "" {
		hdr = http.Header{"Idempotency-Key": {req.IdempotencyKey}}
	}
	resp, err := c.request(ctx, http.MethodPost, "/jobs", body, hdr)
	if err != nil {
		return "", err
	}
	defer resp.Body.Close()
	var out struct {
		JobID string `json:"job_id"`
	}
	if err := decode(resp, &out); err != nil || out.JobID == "" {
		return "", fmt.Errorf("POST /jobs: answer without a job_id: %v", err)
	}
	return out.JobID, nil
}

// Submit submits a job and blocks until it is terminal or ctx ends.
//
// Unless WithPolling was given, it starts an ephemeral webhook receiver and
// passes it as the job's state_webhook_url; each valid delivery makes it
// read the job at once. If the receiver cannot bind, it polls from the
// start; if no delivery arrives within the webhook timeout, it polls from
// then on. The result is always the job read back with GET /jobs/{id}.
//
// The submission is sent under an idempotency key and repeated while the
// daemon does not answer (it may be restarting).
//
// A job that ended failed or cancelled is returned with a *JobError
// (errors.Is ErrJobFailed / ErrJobCancelled); a wait cut short by ctx
// returns a *WaitError holding the job id.
func (c *Client) Submit(ctx context.Context, req Request) (*Result, error) {
	var rc *receiver
	webhook := ""
	if !c.polling {
		if r, err := c.startReceiver(); err == nil {
			rc, webhook = r, r.url
			defer rc.Close()
		}
	}
	id, err := c.enqueueRetrying(ctx, req, webhook)
	if err != nil {
		return nil, err
	}
	return c.wait(ctx, id, rc)
}

// enqueueRetrying is enqueue under an idempotency key (a random one if the
// caller set none), sent again while the daemon does not answer, so that a
// daemon that crashed after storing the job but before answering yields
// the same job, not a second one. A daemon that refuses the very first
// connection is reported at once.
func (c *Client) enqueueRetrying(ctx context.Context, req Request, webhook string) (string, error) {
	if req.IdempotencyKey == "" {
		var b [16]byte
		rand.Read(b[:])
		req.IdempotencyKey = "client-" + hex.EncodeToString(b[:])
	}
	timer := time.NewTimer(0)
	defer timer.Stop()
	<-timer.C
	for first := true; ; first = false {
		id, err := c.enqueue(ctx, req, webhook)
		var oe *net.OpError
		switch {
		case err == nil || !retryable(err) || ctx.Err() != nil:
			return id, err
		case first && errors.As(err, &oe) && oe.Op == "dial":
			return "", err
		}
		timer.Reset(c.poll)
		select {
		case <-ctx.Done():
			return "", err
		case <-timer.C:
		}
	}
}
