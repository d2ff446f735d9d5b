package api

import (
	"fmt"
	"net"
	"sync"
	"sync/atomic"
	"time"
)

// ConnLimits caps the connections a listener keeps open, so that a flood
// of idle or stalled connections cannot take every file descriptor. The
// cap per client address keeps one client from using up the total: a
// probe of /healthz from elsewhere still gets in.
type ConnLimits struct {
	Total   int // FOREMAN_MAX_CONNS; 0: no cap
	PerAddr int // FOREMAN_MAX_CONNS_PER_ADDR; 0: no cap
}

// busy is written to a connection over the caps before it is closed: the
// request is not read, so the answer does not depend on it.
var busy = func() []byte {
	body := `{"error":"too many open connections, try again later"}` + "\n"
	return fmt.Appendf(nil, "HTTP/1.1 503 Service Unavailable\r\nConnection: close\r\n"+
		"Content-Type: application/json; charset=utf-8\r\nRetry-After: 1\r\nContent-Length: %d\r\n\r\n%s", len(body), body)
}()

// LimitConns wraps ln: a connection over a cap is answered 503 and closed
// as soon as it is accepted, rather than left waiting in the kernel's
// backlog, which would make every client, probes included, time out.
func LimitConns(ln net.Listener, lim ConnLimits) *LimitedListener {
	return &LimitedListener{Listener: ln, lim: lim, byAddr: map[string]int{}}
}

// LimitedListener is a listener under ConnLimits.
type LimitedListener struct {
	net.Listener
	lim     ConnLimits
	refused atomic.Uint64

	mu     sync.Mutex
	open   int
	byAddr map[string]int
}

// Accept returns the next connection within the caps.
func (l *LimitedListener) Accept() (net.Conn, error) {
	for {
		c, err := l.Listener.Accept()
		if err != nil {
			return nil, err
		}
		host := remoteHost(c)
		if l.admit(host) {
			return &limitedConn{Conn: c, release: func() { l.release(host) }}, nil
		}
		l.refused.Add(1)
		c.SetWriteDeadline(time.Now().Add(time.Second))
		c.Write(busy)
		c.Close()
	}
}

// Open is the number of connections open now.
func (l *LimitedListener) Open() int {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.open
}

// Refused is the number of connections refused so far.
func (l *LimitedListener) Refused() uint64 { return l.refused.Load() }

func (l *LimitedListener) admit(host string) bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	if (l.lim.Total > 0 && l.open >= l.lim.Total) || (l.lim.PerAddr > 0 && l.byAddr[host] >= l.lim.PerAddr) {
		return false
	}
	l.open++
	l.byAddr[host]++
	return true
}

func (l *LimitedListener) release(host string) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.open--
	if l.byAddr[host]--; l.byAddr[host] <= 0 {
		delete(l.byAddr, host)
	}
}

// remoteHost is the client's IP address, without the port.
func remoteHost(c net.Conn) string {
	a := c.RemoteAddr()
	if ta, ok := a.(*net.TCPAddr); ok {
		return ta.IP.String()
	}
	if host, _, err := net.SplitHostPort(a.String()); err == nil {
		return host
	}
	return a.String()
}

// limitedConn gives its place back once, when closed.
type limitedConn struct {
	net.Conn
	once    sync.Once
	release func()
}

func (c *limitedConn) Close() error {
	err := c.Conn.Close()
	c.once.Do(c.release)
	return err
}
