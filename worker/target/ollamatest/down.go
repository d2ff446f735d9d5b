package ollamatest

import (
	"fmt"
	"net"
	"net/http"
	"sync"
	"time"
)

// netState owns the listener and the open connections, so the server can
// go down (refusing connections, like an Ollama that was stopped) and come
// back on the same address.
type netState struct {
	mu     sync.Mutex
	ln     net.Listener
	conns  map[net.Conn]struct{}
	down   bool
	closed bool
	serves sync.WaitGroup // http.Server.Serve loops
	active sync.WaitGroup // handlers running
}

func (s *Server) serve(ln net.Listener) {
	s.net.mu.Lock()
	s.net.ln = ln
	s.net.mu.Unlock()
	s.net.serves.Go(func() { _ = s.http.Serve(ln) })
}

// trackConn is the http.Server's ConnState hook: it remembers open
// connections so SetDown can cut them, and refuses new ones while down.
func (s *Server) trackConn(c net.Conn, st http.ConnState) {
	n := &s.net
	n.mu.Lock()
	defer n.mu.Unlock()
	switch st {
	case http.StateNew:
		if n.down || n.closed {
			_ = c.Close()
			return
		}
		if n.conns == nil {
			n.conns = make(map[net.Conn]struct{})
		}
		n.conns[c] = struct{}{}
	case http.StateClosed, http.StateHijacked:
		delete(n.conns, c)
	}
}

// SetDown(true) stops listening and cuts every open connection, so clients
// get a network error (connection refused), as when Ollama is not running.
// Requests in flight see their context end. SetDown(false) listens again on
// the same address. Counters, residency and recorded requests are kept.
func (s *Server) SetDown(down bool) {
	n := &s.net
	n.mu.Lock()
	if n.closed || n.down == down {
		n.mu.Unlock()
		return
	}
	n.down = down
	if down {
		ln := n.ln
		n.ln = nil
		conns := n.conns
		n.conns = nil
		n.mu.Unlock()
		_ = ln.Close()
		for c := range conns {
			_ = c.Close()
		}
		return
	}
	n.mu.Unlock()
	ln, err := relisten(s.addr)
	if err != nil {
		panic(fmt.Sprintf("ollamatest: SetDown(false): %v", err))
	}
	s.serve(ln)
}

// relisten binds addr again. The port was ours a moment ago; a short retry
// covers the kernel not having released it yet.
func relisten(addr string) (net.Listener, error) {
	var err error
	for range 50 {
		var ln net.Listener
		if ln, err = net.Listen("tcp", addr); err == nil {
			return ln, nil
		}
		time.Sleep(10 * time.Millisecond)
	}
	return nil, fmt.Errorf("listen %s: %w", addr, err)
}

// Down reports whether SetDown(true) is in effect.
func (s *Server) Down() bool {
	s.net.mu.Lock()
	defer s.net.mu.Unlock()
	return s.net.down
}

func (n *netState) close(h *http.Server) {
	n.mu.Lock()
	if n.closed {
		n.mu.Unlock()
		return
	}
	n.closed = true
	ln := n.ln
	n.ln = nil
	n.mu.Unlock()
	if ln != nil {
		_ = ln.Close()
	}
	_ = h.Close()
	n.serves.Wait()
	n.active.Wait()
}
