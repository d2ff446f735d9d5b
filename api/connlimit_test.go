package api

import (
	"bufio"
	"io"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"
)

// dialFrom connects to addr from a given loopback address (all of
// 127.0.0.0/8 is loopback on Linux), so one test has several clients.
func dialFrom(t *testing.T, from, addr string) net.Conn {
	t.Helper()
	d := net.Dialer{LocalAddr: &net.TCPAddr{IP: net.ParseIP(from)}}
	c, err := d.Dial("tcp", addr)
	if err != nil {
		t.Skipf("cannot dial from %s (%v): this test needs 127.0.0.0/8 on loopback", from, err)
	}
	t.Cleanup(func() { c.Close() })
	return c
}

func healthz(t *testing.T, from, addr string) int {
	t.Helper()
	c := dialFrom(t, from, addr)
	c.SetDeadline(time.Now().Add(5 * time.Second))
	io.WriteString(c, "GET /healthz HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
	resp, err := http.ReadResponse(bufio.NewReader(c), nil)
	if err != nil {
		t.Fatalf("healthz from %s: %v", from, err)
	}
	body, _ := io.ReadAll(resp.Body)
	if resp.StatusCode == 503 && !strings.Contains(string(body), "too many open connections") {
		t.Fatalf("503 body %q", body)
	}
	return resp.StatusCode
}

// TestConnectionCaps: idle connections from one address fill its cap,
// after which it gets 503 at once, while another address still reaches
// /healthz; the total cap holds across addresses; a closed connection
// frees its place.
func TestConnectionCaps(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	lim := LimitConns(ln, ConnLimits{Total: 4, PerAddr: 2})
	accepted, closed := make(chan struct{}, 16), make(chan struct{}, 16)
	srv := &http.Server{Handler: New(Config{Health: fakeHealth(false)}), ReadHeaderTimeout: time.Minute,
		ConnState: func(_ net.Conn, st http.ConnState) {
			switch st {
			case http.StateNew:
				accepted <- struct{}{}
			case http.StateClosed:
				closed <- struct{}{}
			}
		}}
	wait := func(ch chan struct{}, n int) {
		for range n {
			<-ch
		}
	}
	go srv.Serve(lim)
	t.Cleanup(func() { srv.Close() })
	addr := ln.Addr().String()

	idle := []net.Conn{dialFrom(t, "127.0.0.2", addr), dialFrom(t, "127.0.0.2", addr)}
	wait(accepted, 2)
	if code := healthz(t, "127.0.0.2", addr); code != 503 {
		t.Fatalf("third connection from one address: %d, want 503", code)
	}
	if code := healthz(t, "127.0.0.3", addr); code != 200 {
		t.Fatalf("another address: %d, want 200", code)
	}
	wait(accepted, 1)
	wait(closed, 1)
	dialFrom(t, "127.0.0.3", addr)
	dialFrom(t, "127.0.0.4", addr)
	wait(accepted, 2)
	if code := healthz(t, "127.0.0.5", addr); code != 503 {
		t.Fatalf("over the total: %d, want 503", code)
	}
	idle[0].Close()
	wait(closed, 1)
	if code := healthz(t, "127.0.0.5", addr); code != 200 {
		t.Fatalf("after a close: %d, want 200", code)
	}
	if lim.Refused() != 2 {
		t.Fatalf("refused %d, want 2", lim.Refused())
	}
}
