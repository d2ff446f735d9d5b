// Package client is the Go client of a foreman daemon: a synchronous
// facade over its asynchronous job API (ADR-0011), plus the operational
// calls a program or the foreman CLI needs.
//
// Submit posts a job and blocks until it is terminal. It learns of state
// changes from an ephemeral webhook receiver when it can, and by polling
// GET /jobs/{id} when it cannot; either way the answer it returns is read
// back with GET, so a forged or stale notification can at most cause one
// extra request.
//
// The package imports nothing from the rest of this module, so programs
// can depend on it without pulling the daemon in.
package client

import (
	"bytes"
	"cmp"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strings"
	"time"
)

// Defaults for the options.
const (
	DefaultPollInterval   = 2 * time.Second
	DefaultWebhookTimeout = 10 * time.Second
	DefaultWebhookListen  = "127.0.0.1:0"
)

// Client talks to one foreman daemon. It is safe for concurrent use.
type Client struct {
	base           string
	token          string
	secret         string
	http           *http.Client
	poll           time.Duration
	webhookTimeout time.Duration
	polling        bool
	listen         string
	advertise      string

	forecastTimeout time.Duration // a Fleet's, WithForecastTimeout
}

// Option configures a Client.
type Option func(*Client)

// WithToken sets the bearer token sent on every request (FOREMAN_TOKEN).
func WithToken(token string) Option { return func(c *Client) { c.token = token } }

// WithWebhookSecret sets the daemon's FOREMAN_WEBHOOK_SECRET; the webhook
// receiver then refuses deliveries whose signature does not verify.
func WithWebhookSecret(secret string) Option { return func(c *Client) { c.secret = secret } }

// WithHTTPClient replaces http.DefaultClient.
func WithHTTPClient(hc *http.Client) Option { return func(c *Client) { c.http = hc } }

// WithPollInterval sets how often GET /jobs/{id} is asked in polling mode.
func WithPollInterval(d time.Duration) Option { return func(c *Client) { c.poll = d } }

// WithPolling forces polling: no webhook receiver is started. Use it when
// the daemon cannot reach the caller (NAT, firewall).
func WithPolling() Option { return func(c *Client) { c.polling = true } }

// WithWebhookListen sets the address the webhook receiver binds
// (default 127.0.0.1:0, a random loopback port).
func WithWebhookListen(addr string) Option { return func(c *Client) { c.listen = addr } }

// WithWebhookAdvertise sets the base URL the daemon is told to post to,
// for a caller behind a proxy or in a container; the receiver's own path is
// appended to it. By default it is http://<bound address>.
func WithWebhookAdvertise(url string) Option {
	return func(c *Client) { c.advertise = strings.TrimRight(url, "/") }
}

// WithWebhookTimeout bounds the silence Submit tolerates in webhook mode:
// if no valid webhook arrives within it after submission, the client falls
// back to polling; after one has arrived, it still checks the job itself
// at this interval, in case a delivery was lost.
func WithWebhookTimeout(d time.Duration) Option { return func(c *Client) { c.webhookTimeout = d } }

// New returns a client of the daemon at baseURL (e.g.
// http://127.0.0.1:8080).
func New(baseURL string, opts ...Option) *Client {
	c := &Client{base: strings.TrimRight(baseURL, "/")}
	for _, o := range opts {
		o(c)
	}
	c.http = cmp.Or(c.http, http.DefaultClient)
	c.poll = cmp.Or(c.poll, DefaultPollInterval)
	c.webhookTimeout = cmp.Or(c.webhookTimeout, DefaultWebhookTimeout)
	c.listen = cmp.Or(c.listen, DefaultWebhookListen)
	return c
}

// BaseURL is the daemon's address as given to New.
func (c *Client) BaseURL() string { return c.base }

// request sends one call. body, when not nil, is sent as JSON (a []byte or
// json.RawMessage as is). The caller closes the response body; a non-2xx
// answer is returned as *APIError and the body is already closed.
func (c *Client) request(ctx context.Context, method, path string, body any, hdr http.Header) (*http.Response, error) {
	var rd io.Reader
	switch b := body.(type) {
	case nil:
	case []byte:
		rd = bytes.NewReader(b)
	case json.RawMessage:
		rd = bytes.NewReader(b)
	case io.Reader: // streamed as is; hdr gives its Content-Type
		rd = b
	default:
		data, err := json.Marshal(b)
		if err != nil {
			return nil, fmt.Errorf("encode request: %w", err)
		}
		rd = bytes.NewReader(data)
	}
	req, err := http.NewRequestWithContext(ctx, method, c.base+path, rd)
	if err != nil {
		return nil, err
	}
	for k, v := range hdr {
		req.Header[k] = v
	}
	if rd != nil && req.Header.Get("Content-Type") == "" {
		req.Header.Set("Content-Type", "application/json")
	}
	if c.token != "" {
		req.Header.Set("Authorization", "Bearer "+c.token)
	}
	resp, err := c.http.Do(req)
	if err != nil {
		if ctx.Err() != nil {
			return nil, ctx.Err()
		}
		return nil, &UnreachableError{URL: c.base, Err: err}
	}
	if resp.StatusCode < 200 || resp.StatusCode > 299 {
		defer resp.Body.Close()
		return nil, readAPIError(resp)
	}
	return resp, nil
}

// call sends a request and decodes a JSON answer into out (if not nil).
func (c *Client) call(ctx context.Context, method, path string, body, out any) error {
	resp, err := c.request(ctx, method, path, body, nil)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	if out == nil {
		_, err = io.Copy(io.Discard, resp.Body)
		return err
	}
	if err := json.NewDecoder(resp.Body).Decode(out); err != nil {
		return fmt.Errorf("%s %s: decode answer: %w", method, path, err)
	}
	return nil
}
