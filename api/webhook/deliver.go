package webhook

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"time"

	"github.com/foreman-dev/foreman/eventlog"
)

// attempt makes one attempt of a delivery and records its outcome in
// the job's history: 2xx is delivered, 410 or the last retry gives up,
// anything else is retried after the Backoff step (or the receiver's
// Retry-After). The body is built again for each attempt, so that memory
// holds at most one per worker.
func (d *Dispatcher) attempt(ctx context.Context, t *delivery) {
	attempt := t.attempts + 1
	hist, err := d.cfg.Log.JobEvents(t.event.Job)
	var body []byte
	if err == nil {
		body, err = build(t.event, hist, d.cfg.Render)
	}
	if err != nil {
		d.record(ctx, t, eventlog.WebhookGaveUp, t.attempts, 0, "cannot build the payload: "+err.Error())
		d.settle(t)
		return
	}
	status, wait, err := d.post(ctx, t, body)
	if err != nil && ctx.Err() == nil {
		d.cfg.Logger.Warn("webhook attempt failed", "job", t.event.Job, "event", t.event.Offset, "attempt", attempt, "err", err)
	}
	switch {
	case ctx.Err() != nil: // made again after restart; stays held until Run returns
		d.mu.Lock()
		t.rcv.inflight--
		delete(d.busy, t.event.Offset)
		d.mu.Unlock()
		return
	case err == nil && status >= 200 && status < 300:
		d.record(ctx, t, eventlog.WebhookDelivered, attempt, status, "")
	case status == http.StatusGone:
		d.record(ctx, t, eventlog.WebhookGaveUp, attempt, status, "receiver answered 410 Gone")
	case attempt > len(d.cfg.Backoff):
		d.record(ctx, t, eventlog.WebhookGaveUp, attempt, status, describe(status, err))
	default:
		d.record(ctx, t, eventlog.WebhookAttempted, attempt, status, describe(status, err))
		t.attempts = attempt
		if wait == 0 {
			wait = d.cfg.Backoff[attempt-1]
		}
		d.retryLater(t, wait)
		return
	}
	d.settle(t)
}

// describe is what a failed attempt records in the job's history, which
// whoever submitted the job can read. A connection error says no more than
// that: telling refused from reset from timed out would make deliveries a
// port scanner of the daemon's network. The daemon log has the details.
func describe(status int, err error) string {
	switch {
	case err == nil && status >= 300 && status < 400:
		return fmt.Sprintf("receiver answered %d %s (redirects are not followed)", status, http.StatusText(status))
	case err == nil:
		return fmt.Sprintf("receiver answered %d %s", status, http.StatusText(status))
	case errors.Is(err, ErrRefused):
		return "the receiver's address is not allowed (FOREMAN_WEBHOOK_ALLOW; link-local and metadata addresses)"
	}
	return "no answer: the connection failed or timed out (the daemon log has details)"
}

// post makes one attempt; wait is the receiver's Retry-After, if any.
func (d *Dispatcher) post(ctx context.Context, t *delivery, body []byte) (status int, wait time.Duration, err error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, t.url, bytes.NewReader(body))
	if err != nil {
		return 0, 0, err
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("User-Agent", "foreman-webhooks")
	req.Header.Set("X-Foreman-Event", string(t.event.Type))
	req.Header.Set("X-Foreman-Offset", strconv.FormatUint(t.event.Offset, 10))
	Sign(req.Header, d.key, ID(t.event), d.cfg.Now().Unix(), body)
	resp, err := d.cfg.Client.Do(req)
	if err != nil {
		return 0, 0, fmt.Errorf("post to %s: %w", Redact(t.url), unwrapURL(err))
	}
	io.Copy(io.Discard, io.LimitReader(resp.Body, 64<<10))
	resp.Body.Close()
	return resp.StatusCode, d.retryAfter(resp.Header.Get("Retry-After")), nil
}

func unwrapURL(err error) error {
	if ue, ok := err.(*url.Error); ok {
		return ue.Err
	}
	return err
}

// retryAfter parses seconds or an HTTP date, capped by MaxRetryAfter.
func (d *Dispatcher) retryAfter(v string) time.Duration {
	if v == "" {
		return 0
	}
	var w time.Duration
	if n, err := strconv.Atoi(v); err == nil && n >= 0 {
		w = time.Duration(n) * time.Second
	} else if at, err := http.ParseTime(v); err == nil {
		w = at.Sub(d.cfg.Now())
	}
	return min(max(w, 0), d.cfg.MaxRetryAfter)
}

// record appends the outcome of an attempt to the job's history. These
// records never trigger webhooks themselves.
func (d *Dispatcher) record(ctx context.Context, t *delivery, typ eventlog.Type, attempt, status int, msg string) {
	_, err := d.cfg.Log.Append(context.WithoutCancel(ctx), eventlog.Record{Job: t.event.Job, Type: typ,
		Payload: &eventlog.WebhookAttempt{Event: t.event.Offset, Attempt: attempt, Status: status, Error: msg, Replay: t.replay}})
	if err != nil {
		d.cfg.Logger.Error("could not record a webhook attempt", "job", t.event.Job, "event", t.event.Offset, "err", err)
	}
}

// Redact drops the query and the credentials of a URL, for logs and
// exports: webhook URLs often carry tokens.
func Redact(raw string) string {
	u, err := url.Parse(raw)
	if err != nil {
		return "(unparseable URL)"
	}
	u.User, u.RawQuery, u.Fragment = nil, "", ""
	return u.String()
}
