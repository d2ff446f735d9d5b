package api

import (
	"context"
	"net/http"
	"time"

	"github.com/oklog/ulid/v2"
	ollama "github.com/ollama/ollama/api"

	"github.com/foreman-dev/foreman/eventlog"
	"github.com/foreman-dev/foreman/projections"
)

// The small interfaces through which the API reaches the rest of foreman;
// cmd/foreman wires them.

// Inventory is the target's model inventory (worker/target.Inventory).
type Inventory interface {
	// TagsJSON and PsJSON are the target's last /api/tags and /api/ps
	// answers, byte for byte; an error when there has been none.
	TagsJSON(ctx context.Context) ([]byte, error)
	PsJSON(ctx context.Context) ([]byte, error)
	Running() []ollama.ProcessModelResponse
	// Has says whether the last known /api/tags lists the model, without
	// asking the target (GET /queue?model=: cheap, asked per routing).
	Has(model string) bool
	// HasOrRefresh re-polls the target once before saying no.
	HasOrRefresh(ctx context.Context, model string) (bool, error)
	// Show is what the target says of a model (/api/show: capabilities,
	// parameters, remote host), cached while the model stays the same.
	Show(ctx context.Context, model string) (ollama.ShowResponse, error)
}

// Forwarder sends a request straight to the target and returns its answer
// unread (worker/target.Client). Used by the routes that bypass the queue.
type Forwarder interface {
	Forward(ctx context.Context, method, path string, body []byte) (*http.Response, error)
}

// Log is the part of the event log the API writes and reads.
type Log interface {
	Append(ctx context.Context, recs ...eventlog.Record) ([]eventlog.Event, error)
	JobEvents(id ulid.ULID) ([]eventlog.Event, error)
	Blob(key string) ([]byte, error)
	// LastOffset is the newest durable offset.
	LastOffset() uint64
}

// Jobs is the read side: the projections.
type Jobs interface {
	Job(id ulid.ULID) (projections.Job, error)
	// Queue is the queue projection: counts, depths and the ready jobs
	// indexed, so that nothing on a request path walks the queue.
	Queue() *projections.Queue
	// Runs are the last finished runs, for run-time estimates.
	Runs() []projections.Run
	Applied() uint64 // the offset the views reflect
	WaitFor(ctx context.Context, off uint64) error
	Idempotent(submitter, key string) (ulid.ULID, bool, error)
	List(f projections.Filter) ([]projections.Job, ulid.ULID, error)
}

// Picker chooses the next job from the ready ones, remembering its picks
// as the worker's scheduler does (worker.Scheduler.Choose).
type Picker interface {
	Choose(r projections.Ready, loaded []string, now time.Time) (projections.Entry, bool)
}

// Scheduler tells what the worker would run next (worker.Scheduler).
type Scheduler interface {
	// Peek is what the worker would pick now.
	Peek(r projections.Ready, loaded []string, now time.Time) (projections.Entry, bool)
	// Fork is a copy of the scheduler for the forecast to simulate on.
	Fork() Picker
}

// EventSource is the log read in order and tailed (eventlog.Log): GET
// /events. Wait returns once an offset above after is durable.
type EventSource interface {
	Scan(ctx context.Context, from, to uint64, fn func(eventlog.Event) error) error
	Wait(ctx context.Context, after uint64) error
	LowWatermark() uint64
	LastOffset() uint64
}
