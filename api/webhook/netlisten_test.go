package webhook

import (
	"net"
	"net/url"
)

// netListen listens again on the host:port of a URL.
func netListen(raw string) (net.Listener, error) {
	u, err := url.Parse(raw)
	if err != nil {
		return nil, err
	}
	return net.Listen("tcp", u.Host)
}
