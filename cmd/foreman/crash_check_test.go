package main

import (
	"encoding/json"
	"fmt"
	"strings"
	"testing"
)

// histEvent is one event as GET /jobs/{id}/events renders it.
type histEvent struct {
	Offset  uint64 `json:"offset"`
	Job     string `json:"job"`
	Type    string `json:"type"`
	Payload struct {
		Attempt       int    `json:"attempt"`
		Requeued      bool   `json:"requeued"`
		CountsAttempt bool   `json:"counts_attempt"`
		Error         string `json:"error"`
		Reason        string `json:"reason"`
		Event         uint64 `json:"event"`       // webhook.*: the job event delivered
		WebhookURL    string `json:"webhook_url"` // job.submitted, redacted
	} `json:"payload"`
}

// historyCheck is what checkHistory learned from one job's events.
type historyCheck struct {
	state    string   // final state
	attempts int      // highest attempt started
	terminal []uint64 // offsets of the events that ended in a terminal state
	delivery []uint64 // offsets of every job.* event (webhooks deliver them)
	problems []string
}

// checkHistory replays a job's raw history against the state machine of
// docs/events.md, strictly: the projections ignore an event that does not
// fit, so an event that does not fit here was appended by mistake. Nothing
// follows done but webhook records; failed and cancelled are left only by
// job.requeued; attempts start at 1 and each started attempt is the next
// one, except after an interruption that gave its attempt back.
func checkHistory(evs []histEvent) historyCheck {
	var c historyCheck
	bad := func(e histEvent, format string, args ...any) {
		c.problems = append(c.problems, fmt.Sprintf("offset %d %s (in state %q): %s", e.Offset, e.Type, c.state, fmt.Sprintf(format, args...)))
	}
	if len(evs) == 0 || evs[0].Type != "job.submitted" {
		c.problems = append(c.problems, "history does not start with job.submitted")
		return c
	}
	current := 0       // attempt of the running or last attempt
	givenBack := false // the last interruption gave its attempt back
	pendingFail := false
	var last uint64
	for i, e := range evs {
		if i > 0 && e.Offset <= last {
			bad(e, "offset not increasing after %d", last)
		}
		last = e.Offset
		if strings.HasPrefix(e.Type, "webhook.") {
			continue // delivery records, allowed in any state
		}
		if pendingFail && e.Type != "job.failed" {
			bad(e, "an interruption without requeue must be followed by job.failed")
		}
		if strings.HasPrefix(e.Type, "job.") && e.Type != "job.expired" {
			c.delivery = append(c.delivery, e.Offset)
		}
		switch e.Type {
		case "job.submitted":
			if i > 0 {
				bad(e, "submitted twice: job id reused")
				continue
			}
			c.state = "queued"
		case "job.started":
			want := current + 1
			if givenBack {
				want = current
			}
			if c.state != "queued" {
				bad(e, "start of a job that is not queued")
			} else if e.Payload.Attempt != want && !(givenBack && e.Payload.Attempt == current+1) {
				bad(e, "attempt %d, want %d (attempts counted monotonic)", e.Payload.Attempt, want)
			}
			current, givenBack = e.Payload.Attempt, false
			c.attempts = max(c.attempts, current)
			c.state = "working"
		case "job.attempt_failed":
			if c.state != "working" || e.Payload.Attempt != current {
				bad(e, "attempt %d failed, running attempt %d", e.Payload.Attempt, current)
			}
			if e.Payload.Error == "" {
				bad(e, "no error")
			}
			c.state = "queued"
		case "job.interrupted":
			if c.state != "working" || e.Payload.Attempt != current {
				bad(e, "attempt %d interrupted, running attempt %d", e.Payload.Attempt, current)
			}
			givenBack = !e.Payload.CountsAttempt
			if e.Payload.Requeued {
				c.state = "queued"
			} else {
				pendingFail = true
			}
		case "artifact.stored":
			if c.state != "working" {
				bad(e, "artifact stored outside an attempt")
			}
		case "job.succeeded":
			if c.state != "working" || e.Payload.Attempt != current {
				bad(e, "attempt %d succeeded, running attempt %d", e.Payload.Attempt, current)
			}
			c.state = "done"
			c.terminal = append(c.terminal, e.Offset)
		case "job.failed":
			if c.state != "queued" && c.state != "working" {
				bad(e, "failed from a terminal state")
			}
			if e.Payload.Error == "" {
				bad(e, "failed without an error")
			}
			pendingFail = false
			c.state = "failed"
			c.terminal = append(c.terminal, e.Offset)
		case "job.cancel_requested":
			if c.state != "queued" && c.state != "working" {
				bad(e, "cancel requested of a finished job")
			}
		case "job.cancelled":
			if c.state != "queued" && c.state != "working" {
				bad(e, "cancelled from a terminal state")
			}
			c.state = "cancelled"
			c.terminal = append(c.terminal, e.Offset)
		case "job.requeued":
			if c.state != "failed" && c.state != "cancelled" {
				bad(e, "requeued from a state that is not failed or cancelled")
			}
			c.state = "queued"
		default:
			bad(e, "unexpected event type")
		}
	}
	if pendingFail {
		c.problems = append(c.problems, "history ends with an interruption that was neither requeued nor failed")
	}
	return c
}

// TestCheckHistoryCatchesBadTransitions keeps the checker honest: it must
// refuse what the harness relies on it to refuse.
func TestCheckHistoryCatchesBadTransitions(t *testing.T) {
	ev := func(off uint64, typ string, payload string) histEvent {
		var e histEvent
		raw := fmt.Sprintf(`{"offset":%d,"type":%q,"payload":%s}`, off, typ, payload)
		if err := json.Unmarshal([]byte(raw), &e); err != nil {
			t.Fatal(err)
		}
		return e
	}
	good := []histEvent{
		ev(1, "job.submitted", `{}`),
		ev(2, "job.started", `{"attempt":1}`),
		ev(3, "job.interrupted", `{"attempt":1,"requeued":true,"counts_attempt":true}`),
		ev(4, "job.started", `{"attempt":2}`),
		ev(5, "job.failed", `{"attempt":2,"error":"boom"}`),
		ev(6, "webhook.delivered", `{"event":5}`),
		ev(7, "job.requeued", `{}`),
		ev(8, "job.started", `{"attempt":3}`),
		ev(9, "artifact.stored", `{}`),
		ev(10, "job.succeeded", `{"attempt":3}`),
		ev(11, "webhook.delivered", `{"event":10}`),
	}
	if c := checkHistory(good); len(c.problems) != 0 || c.state != "done" || c.attempts != 3 || len(c.terminal) != 2 || len(c.delivery) != 8 {
		t.Fatalf("good history: %+v", c)
	}
	for name, h := range map[string][]histEvent{
		"start after done":   append(good[:10:10], ev(12, "job.started", `{"attempt":4}`)),
		"fail after done":    append(good[:10:10], ev(12, "job.failed", `{"error":"x"}`)),
		"attempt skipped":    {ev(1, "job.submitted", `{}`), ev(2, "job.started", `{"attempt":2}`)},
		"attempt reused":     {good[0], good[1], good[2], ev(4, "job.started", `{"attempt":1}`)},
		"second submission":  {good[0], ev(2, "job.submitted", `{}`)},
		"done twice":         append(good[:10:10], ev(12, "job.succeeded", `{"attempt":3}`)),
		"failed without why": {good[0], ev(2, "job.failed", `{}`)},
		"left failed":        {good[0], ev(2, "job.failed", `{"error":"x"}`), ev(3, "job.started", `{"attempt":1}`)},
	} {
		if c := checkHistory(h); len(c.problems) == 0 {
			t.Errorf("%s: no problem found", name)
		}
	}
}
