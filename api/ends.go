package api

import (
	"context"
	"fmt"

	"github.com/oklog/ulid/v2"

	"github.com/foreman-dev/foreman/eventlog"
)

// EndLog is the part of the log Hub.Follow reads.
type EndLog interface {
	Scan(ctx context.Context, from, to uint64, fn func(eventlog.Event) error) error
	Wait(ctx context.Context, after uint64) error
}

// Follow tells the subscribers of a job that it ended when its terminal
// event reaches the log, whoever appended it: the worker's own End is
// only the faster of the two, and a path that never calls it (a request
// the worker cannot read, a cancellation, an expiry) still ends every
// wait. from is the log's last offset before the HTTP server starts, so
// that a subscriber can never miss an end (see streamJob). It returns
// when ctx ends, or the log's error.
func (h *Hub) Follow(ctx context.Context, log EndLog, from uint64) error {
	seen := from
	for {
		if err := log.Wait(ctx, seen); err != nil {
			if ctx.Err() != nil {
				return nil
			}
			return fmt.Errorf("hub: %w", err)
		}
		err := log.Scan(ctx, seen+1, 0, func(e eventlog.Event) error {
			seen = e.Offset
			if msg, ok := endOf(e); ok && h.watched(e.Job) {
				h.End(e.Job, e.Offset, msg)
			}
			return nil
		})
		if err != nil {
			if ctx.Err() != nil {
				return nil
			}
			return fmt.Errorf("hub: %w", err)
		}
	}
}

// endOf says whether e ends its job, and with what error: the same text
// the worker gives its own End.
func endOf(e eventlog.Event) (string, bool) {
	switch e.Type {
	case eventlog.JobSucceeded:
		return "", true
	case eventlog.JobFailed:
		var p eventlog.Failure
		if e.Decode(&p) != nil || p.Error == "" {
			return "job failed", true
		}
		return p.Error, true
	case eventlog.JobCancelled:
		var p eventlog.Cancellation
		if e.Decode(&p) != nil || p.Reason == "" || p.Reason == "cancelled" {
			return "job cancelled", true
		}
		return p.Reason, true
	case eventlog.JobExpired:
		return "job expired", true
	}
	return "", false
}

// watched reports whether job has subscribers.
func (h *Hub) watched(job ulid.ULID) bool {
	h.mu.Lock()
	defer h.mu.Unlock()
	return len(h.subs[job]) > 0
}
