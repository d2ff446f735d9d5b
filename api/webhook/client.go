package webhook

import (
	"net"
	"net/http"
	"time"
)

// newClient is the HTTP client of deliveries: every attempt bounded by
// timeout; as many connections per receiver, busy or idle, as deliveries
// may be in flight to it; every address dialled checked by guard; no
// proxy (the guard must see the receiver's address); and no redirects: a
// 3xx is the receiver's answer, a failed attempt. Following one would
// send the signed payload to a URL nobody checked.
func newClient(timeout time.Duration, perReceiver int, guard *Guard) *http.Client {
	tr := http.DefaultTransport.(*http.Transport).Clone()
	tr.Proxy = nil
	tr.DialContext = guard.dialer(&net.Dialer{Timeout: 30 * time.Second, KeepAlive: 30 * time.Second})
	tr.MaxConnsPerHost = perReceiver
	tr.MaxIdleConnsPerHost = perReceiver
	return &http.Client{
		Timeout:   timeout,
		Transport: tr,
		CheckRedirect: func(*http.Request, []*http.Request) error {
			return http.ErrUseLastResponse
		},
	}
}
