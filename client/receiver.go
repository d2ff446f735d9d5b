package client

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"io"
	"net"
	"net/http"
	"sync"
	"sync/atomic"
	"time"
)

// maxWebhookBody bounds a delivery the receiver reads: terminal deliveries
// carry artifacts inline up to 256 KiB each.
const maxWebhookBody = 32 << 20

// receiver is Submit's ephemeral webhook endpoint: one per call, on its own
// listener and under an unguessable path, closed when Submit returns. A
// delivery only means "look now": the job is always read back with GET,
// so the payload is not trusted for anything.
type receiver struct {
	url    string
	secret string
	srv    *http.Server
	notify chan struct{} // capacity 1: deliveries coalesce
	heard  atomic.Bool   // a delivery was accepted
	wg     sync.WaitGroup
}

// startReceiver binds the listener and serves; the caller must Close it.
func (c *Client) startReceiver() (*receiver, error) {
	ln, err := net.Listen("tcp", c.listen)
	if err != nil {
		return nil, err
	}
	var tok [16]byte
	rand.Read(tok[:])
	path := "/foreman-webhook/" + hex.EncodeToString(tok[:])
	base := c.advertise
	if base == "" {
		base = "http://" + ln.Addr().String()
	}
	r := &receiver{url: base + path, secret: c.secret, notify: make(chan struct{}, 1)}
	mux := http.NewServeMux()
	mux.HandleFunc("POST "+path, r.serve)
	r.srv = &http.Server{Handler: mux, ReadHeaderTimeout: 10 * time.Second}
	r.wg.Add(1)
	go func() {
		defer r.wg.Done()
		r.srv.Serve(ln)
	}()
	return r, nil
}

// serve accepts a delivery: 204 when it verifies (or no secret is set),
// 401 when its signature is wrong, so foreman records the refusal.
func (r *receiver) serve(w http.ResponseWriter, req *http.Request) {
	body, err := io.ReadAll(http.MaxBytesReader(w, req.Body, maxWebhookBody))
	if err != nil {
		http.Error(w, "cannot read body", http.StatusBadRequest)
		return
	}
	if r.secret != "" {
		if err := VerifySignature(r.secret, req.Header, body); err != nil {
			http.Error(w, err.Error(), http.StatusUnauthorized)
			return
		}
	}
	r.heard.Store(true)
	// Answer before waking the waiter, which may close the receiver: the
	// daemon must see its 204, not a cut connection it would retry.
	w.WriteHeader(http.StatusNoContent)
	_ = http.NewResponseController(w).Flush()
	select {
	case r.notify <- struct{}{}:
	default:
	}
}

// receiverDrain bounds how long Close lets deliveries in progress finish.
const receiverDrain = 2 * time.Second

// Close stops the server, letting deliveries in progress finish their
// answer, and waits for its goroutine.
func (r *receiver) Close() {
	ctx, cancel := context.WithTimeout(context.Background(), receiverDrain)
	defer cancel()
	if r.srv.Shutdown(ctx) != nil {
		r.srv.Close()
	}
	r.wg.Wait()
}
