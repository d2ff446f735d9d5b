// Package batch serves OpenAI's Files and Batches routes (/v1/files,
// /v1/batches) on the event log, so the official SDKs' batch calls work
// unchanged against foreman. It appends file and batch events and reads
// the projections; worker/batch drives the batches (ADR-0031).
package batch

import (
	"cmp"
	"context"
	"errors"
	"log/slog"
	"net/http"
	"time"

	"github.com/julienschmidt/httprouter"
	"github.com/oklog/ulid/v2"

	"github.com/foreman-dev/foreman/eventlog"
	"github.com/foreman-dev/foreman/projections"
)

// Log is the part of the event log the routes use (eventlog.Log).
type Log interface {
	Append(ctx context.Context, recs ...eventlog.Record) ([]eventlog.Event, error)
	NewFileWriter(id ulid.ULID) *eventlog.FileWriter
	NewFileReader(id ulid.ULID, parts int) *eventlog.FileReader
}

// Views is the part of the projections the routes read.
type Views interface {
	Batch(id ulid.ULID) (projections.Batch, error)
	Batches() []projections.Batch
	File(id ulid.ULID) (projections.File, error)
	Files() []projections.File
	WaitFor(ctx context.Context, off uint64) error
}

// Defaults for Config.
const (
	DefaultMaxFileBytes = 200 << 20 // OpenAI's limit on a batch input file
	DefaultPriority     = -10       // below interactive work (0)
	DefaultMaxWindow    = 7 * 24 * time.Hour
	DefaultFileTTL      = 30 * 24 * time.Hour
)

// Config wires a Handler.
type Config struct {
	Log   Log
	Views Views
	// MaxFileBytes bounds an uploaded file (FOREMAN_BATCH_MAX_FILE_BYTES).
	MaxFileBytes int64
	// DefaultPriority is a batch's lines' job priority unless the batch
	// sets its own (FOREMAN_BATCH_PRIORITY).
	DefaultPriority *int
	// MaxWindow bounds completion_window (OpenAI accepts only "24h";
	// foreman takes any duration up to this).
	MaxWindow time.Duration
	// MaxAttempts is recorded on each line job (FOREMAN_MAX_ATTEMPTS).
	MaxAttempts int
	// FileTTL is how long files are kept (FOREMAN_BATCH_FILE_TTL), shown
	// as a file's expires_at; 0: forever.
	FileTTL time.Duration
	// Caller names the authenticated caller of a request (api.Caller).
	Caller func(ctx context.Context) string
	// CheckWebhook vets a batch's state_webhook_url (nil: any http(s) URL).
	CheckWebhook func(raw string) error
	Now          func() time.Time
	Logger       *slog.Logger
}

// Validate names the first missing dependency.
func (c *Config) Validate() error {
	switch {
	case c.Log == nil:
		return errors.New("api/batch: Config.Log is required")
	case c.Views == nil:
		return errors.New("api/batch: Config.Views is required")
	case c.MaxFileBytes < 0:
		return errors.New("api/batch: Config.MaxFileBytes must not be negative")
	}
	return nil
}

// Handler serves /v1/files and /v1/batches.
type Handler struct {
	cfg    Config
	router *httprouter.Router
}

var _ http.Handler = (*Handler)(nil)

// New builds the routes.
func New(cfg Config) (*Handler, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	cfg.MaxFileBytes = cmp.Or(cfg.MaxFileBytes, DefaultMaxFileBytes)
	cfg.MaxWindow = cmp.Or(cfg.MaxWindow, DefaultMaxWindow)
	cfg.MaxAttempts = cmp.Or(cfg.MaxAttempts, 3)
	if cfg.DefaultPriority == nil {
		p := DefaultPriority
		cfg.DefaultPriority = &p
	}
	if cfg.Caller == nil {
		cfg.Caller = func(context.Context) string { return "" }
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	h := &Handler{cfg: cfg, router: httprouter.New()}
	r := h.router
	r.HandleMethodNotAllowed = true
	r.MethodNotAllowed = http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		writeError(w, &apiError{status: http.StatusMethodNotAllowed, Message: "method not allowed", Type: "invalid_request_error"})
	})
	r.NotFound = http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		writeError(w, &apiError{status: http.StatusNotFound, Message: "Invalid URL (" + req.Method + " " + req.URL.Path + ")", Type: "invalid_request_error"})
	})
	r.POST("/v1/files", h.uploadFile)
	r.GET("/v1/files", h.listFiles)
	r.GET("/v1/files/:id", h.getFile)
	r.DELETE("/v1/files/:id", h.deleteFile)
	r.GET("/v1/files/:id/content", h.fileContent)
	r.POST("/v1/batches", h.createBatch)
	r.GET("/v1/batches", h.listBatches)
	r.GET("/v1/batches/:id", h.getBatch)
	r.POST("/v1/batches/:id/cancel", h.cancelBatch)
	return h, nil
}

// ServeHTTP implements http.Handler.
func (h *Handler) ServeHTTP(w http.ResponseWriter, r *http.Request) { h.router.ServeHTTP(w, r) }

// appendAndWait appends and waits for the projections to show it, so a
// read right after the answer sees the write.
func (h *Handler) appendAndWait(ctx context.Context, recs ...eventlog.Record) error {
	evs, err := h.cfg.Log.Append(ctx, recs...)
	if err != nil {
		return err
	}
	return h.cfg.Views.WaitFor(ctx, evs[len(evs)-1].Offset)
}
