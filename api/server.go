// Package api serves foreman's HTTP surface: the Ollama-compatible routes,
// the async job API and the operational endpoints. It reads projections and
// appends events; the worker and the Ollama target reach it only through
// the small interfaces declared here, which cmd/foreman wires.
package api

import (
	"cmp"
	"context"
	"log/slog"
	"net/http"
	"sync/atomic"
	"time"

	"github.com/julienschmidt/httprouter"

	"github.com/foreman-dev/foreman/api/ui"
)

// Health reports whether the Ollama target is reachable.
type Health interface {
	Degraded() bool
}

// Backuper writes a consistent copy of the store (eventlog.Log).
type Backuper interface {
	Backup(ctx context.Context, dir string) error
}

// HostPolicy is the check of a webhook URL's host at submission; delivery
// checks the address it dials again.
type HostPolicy interface {
	AllowsHost(host string) bool
}

// Config wires a Server.
type Config struct {
	// Tokens maps a caller's name to its bearer token. Empty: no auth.
	Tokens map[string]string
	Health Health   // nil: never degraded
	Backup Backuper // nil: POST /admin/backup answers 501
	// BackupDir is the only directory POST /admin/backup writes in
	// (FOREMAN_BACKUP_DIR); empty: the route answers 501.
	BackupDir string
	Log       Log
	Jobs      Jobs
	Hub       *Hub
	Inventory Inventory
	Target    Forwarder
	Scheduler Scheduler // nil: GET /queue shows no next pick
	Retention Retention
	// Metrics serves GET /metrics behind the token (api/metrics); nil:
	// 404.
	Metrics http.Handler
	// Activity serves GET /stats (metrics.Collector); nil: 404.
	Activity Activity
	// Batches serves /v1/files and /v1/batches and below them, behind
	// the token (api/batch, batches.go); nil: those answer like any /v1
	// route foreman does not serve.
	Batches http.Handler
	// Events serves GET /events; nil: Log, when it is one (eventlog.Log).
	Events EventSource
	// Now is the clock of estimates (ETA, Retry-After); nil: time.Now.
	Now func() time.Time
	// DefaultRunTime is a job's estimated run time before any job of any
	// model has finished (DefaultDefaultRunTime).
	DefaultRunTime time.Duration
	// SwapCost is added to an estimate each time the queue walk switches
	// to another model; 0: run times learned per model already include
	// their loads.
	SwapCost time.Duration
	// JobTimeout is when the worker cuts a run (FOREMAN_JOB_TIMEOUT; 0:
	// never): the latest an overrunning job can end, for its ETA.
	JobTimeout time.Duration
	// MaxBody bounds request bodies (FOREMAN_MAX_BODY).
	MaxBody int64
	// BodyTimeout bounds the time to receive a request's body
	// (FOREMAN_BODY_TIMEOUT); past it the request is answered 408 and
	// the connection closed.
	BodyTimeout time.Duration
	// WriteTimeout is how long a response may wait for the client to
	// take the next bytes (FOREMAN_WRITE_TIMEOUT); a slower reader is cut.
	WriteTimeout time.Duration
	// MaxAttempts is recorded on each job (FOREMAN_MAX_ATTEMPTS).
	MaxAttempts int
	// MaxQueue caps waiting jobs (FOREMAN_MAX_QUEUE); 0: no cap.
	MaxQueue int
	// WebhookHosts decides which state_webhook_url hosts are accepted
	// (webhook.Guard, from FOREMAN_WEBHOOK_ALLOW); nil: any.
	WebhookHosts HostPolicy
	// MaxJobTimeout bounds a job's own "timeout", which replaces
	// JobTimeout for that job (FOREMAN_MAX_JOB_TIMEOUT); 0: no maximum.
	MaxJobTimeout time.Duration
	// DefaultNumPredict is the options.num_predict added to a chat or
	// generate request that sets none (FOREMAN_DEFAULT_NUM_PREDICT); 0:
	// none added.
	DefaultNumPredict int
	// PublicURL is the base of artifact URLs (FOREMAN_PUBLIC_URL); empty:
	// the request's own host.
	PublicURL string
	Logger    *slog.Logger

	// Store is the log's write health (storage.go); nil: Log, when it is
	// one (eventlog.Log).
	Store Store
	// MinFreeDisk is the free space on the data dir below which new jobs
	// get 507 (FOREMAN_MIN_FREE_DISK); 0: no guard.
	MinFreeDisk uint64
}

// Defaults for Config.
const (
	DefaultMaxBody      = 32 << 20
	DefaultMaxAttempts  = 3
	DefaultBodyTimeout  = time.Minute
	DefaultWriteTimeout = time.Minute
	// DefaultDefaultRunTime is the run time assumed with no history.
	DefaultDefaultRunTime = 30 * time.Second
)

// Server is foreman's HTTP handler.
type Server struct {
	cfg    Config
	router *httprouter.Router
	auth   *auth
	keys   keyLocks
	est    runTimeCache
	fc     forecaster
	// rechecked is when GET /queue?model= last re-polled the target for a
	// model it did not list (unix ns).
	rechecked atomic.Int64
}

// New builds the routes.
func New(cfg Config) *Server {
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	cfg.MaxBody = cmp.Or(cfg.MaxBody, DefaultMaxBody)
	cfg.MaxAttempts = cmp.Or(cfg.MaxAttempts, DefaultMaxAttempts)
	cfg.BodyTimeout = cmp.Or(cfg.BodyTimeout, DefaultBodyTimeout)
	cfg.WriteTimeout = cmp.Or(cfg.WriteTimeout, DefaultWriteTimeout)
	if cfg.Hub == nil {
		cfg.Hub = NewHub()
	}
	if cfg.Store == nil {
		cfg.Store, _ = cfg.Log.(Store)
	}
	if cfg.Events == nil {
		cfg.Events, _ = cfg.Log.(EventSource)
	}
	if cfg.Retention == nil {
		if r, ok := cfg.Log.(Retention); ok {
			cfg.Retention = r
		} else {
			cfg.Retention = noRetention{}
		}
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	cfg.DefaultRunTime = cmp.Or(cfg.DefaultRunTime, DefaultDefaultRunTime)
	s := &Server{cfg: cfg, router: httprouter.New(), auth: newAuth(cfg.Tokens)}
	s.router.HandleMethodNotAllowed = true
	s.router.MethodNotAllowed = openAIOr(openAIMethodNotAllowed, plain(http.StatusMethodNotAllowed, "405 method not allowed"))
	s.router.NotFound = openAIOr(openAINotFound, plain(http.StatusNotFound, "404 page not found"))
	s.router.GET("/healthz", s.healthz)
	s.router.POST("/admin/backup", s.auth.require(s.backup))
	s.ollamaRoutes()
	s.openAIRoutes()
	s.batchRoutes()
	s.jobRoutes()
	s.router.GET("/events", s.auth.require(s.tailEvents))
	if cfg.Metrics != nil {
		s.router.GET("/metrics", s.auth.require(s.metrics))
	}
	if cfg.Activity != nil {
		s.router.GET("/stats", s.auth.require(s.stats))
	}
	// The dashboard's files hold no data, so they load without a token;
	// the page sends one with every API call it makes (api/ui).
	page := ui.Handler("/ui")
	s.router.Handler(http.MethodGet, "/ui/*file", page)
	s.router.Handler(http.MethodHead, "/ui/*file", page)
	return s
}

// ServeHTTP implements http.Handler.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if r.ContentLength != 0 {
		// An announced body must arrive in time, whether the handler
		// reads it (readBody) or the server drains it after the answer;
		// readBody lifts the deadline once it has the body.
		http.NewResponseController(w).SetReadDeadline(time.Now().Add(s.cfg.BodyTimeout))
	}
	s.serveLogged(w, r, s.router)
}

// plain answers like Ollama's router does for a wrong path or method. A
// body sent along is not read: the connection is closed instead.
func plain(status int, msg string) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		dropBody(w, r)
		w.Header().Set("Content-Type", "text/plain")
		w.WriteHeader(status)
		w.Write([]byte(msg))
	})
}

// openAIOr answers a /v1 path with v1 (OpenAI's error shape), any other
// with h.
func openAIOr(v1 func(http.ResponseWriter, *http.Request) bool, h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if !v1(w, r) {
			h.ServeHTTP(w, r)
		}
	})
}

// noRetention is a log that was never truncated.
type noRetention struct{}

func (noRetention) LowWatermark() uint64 { return 1 }
func (noRetention) LastOffset() uint64   { return 0 }
