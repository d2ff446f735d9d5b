package client

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/url"
	"slices"
	"sync"
	"time"
)

// Enqueue submits a job to the daemon expected to finish it first and
// returns its id once that daemon has stored it. The daemons' forecasts
// (GET /queue?model=) are asked concurrently; a daemon that does not
// answer within the forecast timeout, or lacks the model, is skipped, and
// one that refuses the job without storing it (unreachable before the
// request was sent, queue full, model gone) gives way to the next best.
//
// With an IdempotencyKey, the fleet first asks every daemon whether it
// holds a job under it, and does not submit while a daemon that might
// hold it does not answer; and when a daemon fails after the request was
// sent (it may have stored the job), the fleet sends it again to that
// daemon only, until it answers. So a retried submission lands once even
// when the first choice died after accepting it. Cancel, then Enqueue
// again with the same key, moves a job: the daemon holding the cancelled
// one is passed over. Without a key, that failure is returned, as
// Client.Enqueue returns it.
func (f *Fleet) Enqueue(ctx context.Context, req Request) (string, error) {
	id, _, err := f.enqueue(ctx, req, "", false)
	return id, err
}

// Submit is Enqueue under a key (a random one unless the caller set one),
// then Client.Submit's wait on the chosen daemon. The webhook receiver is
// the first member's (its options: the daemons must share the webhook
// secret if one is set).
func (f *Fleet) Submit(ctx context.Context, req Request) (*Result, error) {
	if len(f.members) == 0 {
		return nil, &RouteError{Model: req.model()}
	}
	var rc *receiver
	webhook := ""
	if lead := f.members[0]; !lead.polling {
		if r, err := lead.startReceiver(); err == nil {
			rc, webhook = r, r.url
			defer rc.Close()
		}
	}
	fresh := req.IdempotencyKey == ""
	if fresh {
		var b [16]byte
		rand.Read(b[:])
		req.IdempotencyKey = "fleet-" + hex.EncodeToString(b[:])
	}
	id, c, err := f.enqueue(ctx, req, webhook, fresh)
	if err != nil {
		return nil, err
	}
	return c.wait(ctx, id, rc)
}

// enqueue routes req and submits it; see Enqueue. fresh: the key was
// made for this call, so no daemon can hold it yet.
func (f *Fleet) enqueue(ctx context.Context, req Request, webhook string, fresh bool) (string, *Client, error) {
	model := req.model()
	var moved []*Client
	if req.IdempotencyKey != "" && !fresh {
		id, c, cancelled, err := f.byKey(ctx, req.IdempotencyKey)
		if err != nil || id != "" {
			return id, c, err
		}
		moved = cancelled
	}
	cands, err := f.candidates(ctx, model)
	if err != nil {
		return "", nil, err
	}
	why := map[string]error{}
	for _, c := range cands {
		if slices.Contains(moved, c) {
			why[c.base] = errMoved
			continue
		}
		id, err := c.enqueue(ctx, req, webhook)
		switch {
		case err == nil:
			f.remember(id, c)
			return id, c, nil
		case ctx.Err() != nil:
			return "", nil, ctx.Err()
		case notSent(err) || refusedHere(err):
			why[c.base] = err
			continue
		case retryable(err) && req.IdempotencyKey != "":
			id, err := f.resend(ctx, c, req, webhook)
			if err == nil {
				f.remember(id, c)
			}
			return id, c, err
		default:
			return "", nil, err // the request itself is refused: so it would be anywhere
		}
	}
	return "", nil, &RouteError{Model: model, Daemons: why}
}

// resend sends req again to c, which may have stored it, until c answers.
func (f *Fleet) resend(ctx context.Context, c *Client, req Request, webhook string) (string, error) {
	timer := time.NewTimer(c.poll)
	defer timer.Stop()
	for {
		select {
		case <-ctx.Done():
			return "", ctx.Err()
		case <-timer.C:
		}
		id, err := c.enqueue(ctx, req, webhook)
		if err == nil || !retryable(err) || ctx.Err() != nil {
			return id, err
		}
		timer.Reset(c.poll)
	}
}

// errMoved: the daemon holds a cancelled job under the key; the job is
// being moved elsewhere.
var errMoved = errors.New("holds the key's cancelled job: moving it elsewhere")

// byKey asks every daemon for the caller's job under key, again while a
// daemon does not answer (it may hold the job), until ctx ends. A
// cancelled job under the key does not count: cancel, then submit again
// with the same key, moves a job to another daemon (ADR-0033); the
// daemons holding one are returned in cancelled.
func (f *Fleet) byKey(ctx context.Context, key string) (id string, at *Client, cancelled []*Client, err error) {
	pending := f.Members()
	poll := DefaultPollInterval
	if len(pending) > 0 {
		poll = pending[0].poll
	}
	for {
		var mu sync.Mutex
		var wg sync.WaitGroup
		var down []*Client
		var lastErr, refused error
		foundID, foundAt := "", (*Client)(nil)
		for _, c := range pending {
			wg.Go(func() {
				var l JobList
				err := c.call(ctx, http.MethodGet, "/jobs?idempotency_key="+url.QueryEscape(key), nil, &l)
				mu.Lock()
				defer mu.Unlock()
				switch {
				case err == nil && len(l.Jobs) > 0 && l.Jobs[0].State == StateCancelled:
					cancelled = append(cancelled, c)
				case err == nil && len(l.Jobs) > 0:
					foundID, foundAt = l.Jobs[0].JobID, c
				case err != nil && retryable(err):
					down, lastErr = append(down, c), err
				case err != nil:
					refused = err
				}
			})
		}
		wg.Wait()
		switch {
		case foundID != "":
			f.remember(foundID, foundAt)
			return foundID, foundAt, nil, nil
		case refused != nil:
			return "", nil, nil, refused
		case len(down) == 0:
			return "", nil, cancelled, nil
		}
		pending = down
		select {
		case <-ctx.Done():
			return "", nil, nil, fmt.Errorf("a daemon that may hold Idempotency-Key %q does not answer: %w (%v)", key, ctx.Err(), lastErr)
		case <-time.After(poll):
		}
	}
}

// notSent: the request never reached the daemon (nothing listens, no
// route), so it cannot have stored the job.
func notSent(err error) bool {
	var oe *net.OpError
	return errors.As(err, &oe) && oe.Op == "dial"
}

// refusedHere: the daemon answered without storing the job, for a reason
// of its own (model not there, queue full, log or disk unavailable).
func refusedHere(err error) bool {
	var ae *APIError
	if !errors.As(err, &ae) {
		return false
	}
	switch ae.Status {
	case http.StatusNotFound, http.StatusTooManyRequests, http.StatusServiceUnavailable, http.StatusInsufficientStorage:
		return true
	}
	return false
}

// model is the model the request names.
func (r Request) model() string {
	switch {
	case r.Chat != nil:
		return r.Chat.Model
	case r.Generate != nil:
		return r.Generate.Model
	}
	var m struct {
		Model string `json:"model"`
	}
	json.Unmarshal(r.Body, &m)
	return m.Model
}
