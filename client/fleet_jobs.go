package client

import (
	"context"
	"encoding/json"
	"errors"
	"sync"
)

// locate finds the daemon that holds a job: the one it was submitted to
// or last found on, else the one of all, asked concurrently, that knows
// it. A job no daemon knows is ErrNotFound when every daemon answered,
// else the unreachable daemon's error (it may hold the job).
func (f *Fleet) locate(ctx context.Context, id string) (*Client, *Job, error) {
	if c := f.remembered(id); c != nil {
		return c, nil, nil
	}
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	type found struct {
		c   *Client
		j   *Job
		err error
	}
	ch := make(chan found, len(f.members))
	var wg sync.WaitGroup
	for _, c := range f.members {
		wg.Go(func() {
			j, err := c.Get(ctx, id)
			ch <- found{c, j, err}
		})
	}
	go func() { wg.Wait(); close(ch) }()
	var notFound, other error
	for r := range ch {
		switch {
		case r.err == nil:
			cancel()
			f.remember(id, r.c)
			return r.c, r.j, nil
		case errors.Is(r.err, ErrNotFound):
			notFound = r.err
		default:
			other = r.err
		}
	}
	if other != nil {
		return nil, nil, other
	}
	if notFound == nil {
		notFound = &APIError{Status: 404, Message: "no daemons in the fleet"}
	}
	return nil, nil, notFound
}

// Get reads a job from the daemon that holds it.
func (f *Fleet) Get(ctx context.Context, jobID string) (*Job, error) {
	c, j, err := f.locate(ctx, jobID)
	if err != nil || j != nil {
		return j, err
	}
	return c.Get(ctx, jobID)
}

// Wait blocks until the job is terminal (Client.Wait on its daemon).
func (f *Fleet) Wait(ctx context.Context, jobID string) (*Result, error) {
	c, _, err := f.locate(ctx, jobID)
	if err != nil {
		return nil, err
	}
	return c.Wait(ctx, jobID)
}

// Cancel asks the job's daemon to cancel it.
func (f *Fleet) Cancel(ctx context.Context, jobID string) error {
	c, _, err := f.locate(ctx, jobID)
	if err != nil {
		return err
	}
	return c.Cancel(ctx, jobID)
}

// Retry requeues a failed or cancelled job on its daemon. A job is never
// moved: to run it elsewhere, Cancel it and submit it again (ADR-0033).
func (f *Fleet) Retry(ctx context.Context, jobID string) error {
	c, _, err := f.locate(ctx, jobID)
	if err != nil {
		return err
	}
	return c.Retry(ctx, jobID)
}

// Events reads a job's history from its daemon.
func (f *Fleet) Events(ctx context.Context, jobID string) ([]Event, error) {
	c, _, err := f.locate(ctx, jobID)
	if err != nil {
		return nil, err
	}
	return c.Events(ctx, jobID)
}

// Stream follows a job's output on its daemon (Client.Stream).
func (f *Fleet) Stream(ctx context.Context, jobID string, fn func(line json.RawMessage) error) error {
	c, _, err := f.locate(ctx, jobID)
	if err != nil {
		return err
	}
	return c.Stream(ctx, jobID, fn)
}

// Artifact downloads an artifact of a job from its daemon.
func (f *Fleet) Artifact(ctx context.Context, jobID, name string) ([]byte, error) {
	c, _, err := f.locate(ctx, jobID)
	if err != nil {
		return nil, err
	}
	return c.Artifact(ctx, jobID, name)
}

// Locate is the daemon that holds a job.
func (f *Fleet) Locate(ctx context.Context, jobID string) (*Client, error) {
	c, _, err := f.locate(ctx, jobID)
	return c, err
}
