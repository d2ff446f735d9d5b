//go:build e2e

package e2e

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"
)

// delivery is one webhook POST the receiver got.
type delivery struct {
	Header  http.Header
	Body    []byte
	Payload webhookPayload
	At      time.Time
}

// webhookPayload is the part of a delivery's JSON the suite checks.
type webhookPayload struct {
	Event   string          `json:"event"`
	State   string          `json:"state"`
	JobID   string          `json:"job_id"`
	Offset  uint64          `json:"offset"`
	Attempt int             `json:"attempt"`
	Error   string          `json:"error"`
	Status  int             `json:"status"`
	Result  json.RawMessage `json:"result"`
}

// receiver records every delivery; it answers 204 to all of them (the
// suite checks the signatures itself, so that a bad one is a test failure
// rather than a retry).
type receiver struct {
	srv *httptest.Server
	mu  sync.Mutex
	got []delivery
	new chan struct{}
}

func newReceiver(t *testing.T) *receiver {
	r := &receiver{new: make(chan struct{}, 1)}
	r.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		body, _ := io.ReadAll(req.Body)
		d := delivery{Header: req.Header.Clone(), Body: body, At: time.Now()}
		if err := json.Unmarshal(body, &d.Payload); err != nil {
			t.Errorf("webhook: body is not JSON: %v: %q", err, body)
		}
		r.mu.Lock()
		r.got = append(r.got, d)
		r.mu.Unlock()
		select {
		case r.new <- struct{}{}:
		default:
		}
		w.WriteHeader(http.StatusNoContent)
	}))
	t.Cleanup(r.srv.Close)
	return r
}

// URL is where foreman is told to deliver.
func (r *receiver) URL() string { return r.srv.URL + "/hook" }

// For returns the deliveries for one job, in arrival order.
func (r *receiver) For(job string) []delivery {
	r.mu.Lock()
	defer r.mu.Unlock()
	var out []delivery
	for _, d := range r.got {
		if d.Payload.JobID == job {
			out = append(out, d)
		}
	}
	return out
}

// WaitEvent waits for a delivery of event for job.
func (r *receiver) WaitEvent(t *testing.T, job, event string, timeout time.Duration) delivery {
	t.Helper()
	deadline := time.After(timeout)
	for {
		for _, d := range r.For(job) {
			if d.Payload.Event == event {
				return d
			}
		}
		select {
		case <-r.new:
		case <-deadline:
			t.Fatalf("no %q webhook for job %s within %s; got %v", event, job, timeout, events(r.For(job)))
		}
	}
}

func events(ds []delivery) []string {
	var out []string
	for _, d := range ds {
		out = append(out, d.Payload.Event)
	}
	return out
}

// verifySignatures checks both documented schemes independently of
// foreman's code: X-Foreman-Signature is "sha256=" + hex HMAC-SHA256 of
// the body; webhook-signature (Standard Webhooks) is "v1," + base64
// HMAC-SHA256 of "<webhook-id>.<webhook-timestamp>.<body>". The key is
// the secret, base64-decoded after "whsec_".
func verifySignatures(d delivery, key []byte) error {
	mac := func(parts ...string) []byte {
		m := hmac.New(sha256.New, key)
		for _, p := range parts {
			m.Write([]byte(p))
		}
		return m.Sum(nil)
	}
	fs := d.Header.Get("X-Foreman-Signature")
	want := "sha256=" + hex.EncodeToString(mac(string(d.Body)))
	if fs != want {
		return fmt.Errorf("X-Foreman-Signature %q, want %q", fs, want)
	}
	id, ts, ss := d.Header.Get("webhook-id"), d.Header.Get("webhook-timestamp"), d.Header.Get("webhook-signature")
	if id == "" || ts == "" {
		return fmt.Errorf("webhook-id %q / webhook-timestamp %q missing", id, ts)
	}
	want = "v1," + base64.StdEncoding.EncodeToString(mac(id, ".", ts, ".", string(d.Body)))
	for _, s := range strings.Fields(ss) {
		if s == want {
			return nil
		}
	}
	return fmt.Errorf("webhook-signature %q, want %q", ss, want)
}
