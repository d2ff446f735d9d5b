// Package natstest runs a real NATS server with JetStream inside a test
// process, its store in a temp dir, on a port that survives a restart.
package natstest

import (
	"fmt"
	"net"
	"testing"
	"time"

	"github.com/nats-io/nats-server/v2/server"
)

// Server is an embedded NATS server with JetStream on.
type Server struct {
	t    testing.TB
	dir  string
	port int
	srv  *server.Server
}

// Start runs a server with its store in a new temp dir; it stops at the
// end of the test.
func Start(t testing.TB) *Server {
	t.Helper()
	s := &Server{t: t, dir: t.TempDir(), port: FreePort(t)}
	s.Restart()
	t.Cleanup(s.Stop)
	return s
}

// FreePort picks a loopback port.
func FreePort(t testing.TB) int {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().(*net.TCPAddr).Port
}

// URL is the client URL; it stays the same across restarts.
func (s *Server) URL() string { return fmt.Sprintf("nats://127.0.0.1:%d", s.port) }

// Dir is the JetStream store dir.
func (s *Server) Dir() string { return s.dir }

// Restart starts the server (again) on the same port and store; a stopped
// server's streams are recovered from the store.
func (s *Server) Restart() {
	s.t.Helper()
	srv, err := server.NewServer(&server.Options{
		Host: "127.0.0.1", Port: s.port, JetStream: true, StoreDir: s.dir,
		NoLog: true, NoSigs: true, ServerName: "natstest",
	})
	if err != nil {
		s.t.Fatal(err)
	}
	srv.Start()
	if !srv.ReadyForConnections(10 * time.Second) {
		s.t.Fatal("natstest: server not ready in 10s")
	}
	s.srv = srv
}

// Stop shuts the server down; Restart brings it back.
func (s *Server) Stop() {
	if s.srv == nil {
		return
	}
	s.srv.Shutdown()
	s.srv.WaitForShutdown()
	s.srv = nil
}

// StartOnPort is Start on a given port (one a test reserved earlier).
func StartOnPort(t testing.TB, port int) *Server {
	t.Helper()
	s := &Server{t: t, dir: t.TempDir(), port: port}
	s.Restart()
	t.Cleanup(s.Stop)
	return s
}
