// Package api serves foreman's HTTP surface: the Ollama-compatible routes,
// the async job API and the operational endpoints. It reads projections and
// appends events; the worker and the Ollama target reach it only through
// the small interfaces declared here, which cmd/foreman wires.
package api

import (
	"context"
	"log/slog"
	"net/http"

	"github.com/julienschmidt/httprouter"
)

// Health reports whether the Ollama target is reachable.
type Health interface {
	Degraded() bool
}

// Backuper writes a consistent copy of the store (eventlog.Log).
type Backuper interface {
	Backup(ctx context.Context, dir string) error
}

// Config wires a Server.
type Config struct {
	// Tokens maps a caller's name to its bearer token. Empty: no auth.
	Tokens map[string]string
	Health Health   // nil: never degraded
	Backup Backuper // nil: POST /admin/backup answers 501
	Logger *slog.Logger
}

// Server is foreman's HTTP handler.
type Server struct {
	cfg    Config
	router *httprouter.Router
	auth   *auth
}

// New builds the routes.
func New(cfg Config) *Server {
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	s := &Server{cfg: cfg, router: httprouter.New(), auth: newAuth(cfg.Tokens)}
	s.router.HandleMethodNotAllowed = true
	s.router.MethodNotAllowed = http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		http.Error(w, "405 method not allowed", http.StatusMethodNotAllowed)
	})
	s.router.GET("/healthz", s.healthz)
	s.router.POST("/admin/backup", s.auth.require(s.backup))
	return s
}

// ServeHTTP implements http.Handler.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	s.router.ServeHTTP(w, r)
}
