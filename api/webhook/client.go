package webhook

import (
	"net/http"
	"time"
)

// newClient is the HTTP client of deliveries: every attempt bounded by
// timeout, and as many connections per receiver, busy or idle, as
// deliveries may be in flight to it.
func newClient(timeout time.Duration, perReceiver int) *http.Client {
	tr := http.DefaultTransport.(*http.Transport).Clone()
	tr.MaxConnsPerHost = perReceiver
	tr.MaxIdleConnsPerHost = perReceiver
	return &http.Client{Timeout: timeout, Transport: tr}
}
