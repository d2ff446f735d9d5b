package api

import (
	"bufio"
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/oklog/ulid/v2"
	"go.uber.org/goleak"

	"github.com/foreman-dev/foreman/eventlog"
	"github.com/foreman-dev/foreman/projections"
)

// setupDisk is setupJobs on a real store on disk.
func setupDisk(t *testing.T, mod func(*Config)) *testBundle {
	t.Helper()
	l, err := eventlog.Open(eventlog.Config{Dir: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	p, err := projections.Open(context.Background(), l, l)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { p.Run(ctx); close(done) }()
	t.Cleanup(func() { cancel(); <-done; l.Close() })
	cfg := Config{Log: l, Jobs: p, Retention: l, Inventory: &fakeInventory{models: map[string]bool{"tiny-a": true, "tiny-b": true}}}
	if mod != nil {
		mod(&cfg)
	}
	return &testBundle{log: l, proj: p, srv: New(cfg)}
}

func (b *testBundle) append(t *testing.T, recs ...eventlog.Record) []eventlog.Event {
	t.Helper()
	evs, err := b.log.Append(context.Background(), recs...)
	if err != nil {
		t.Fatal(err)
	}
	if err := b.proj.WaitFor(context.Background(), evs[len(evs)-1].Offset); err != nil {
		t.Fatal(err)
	}
	return evs
}

func TestJobEventsIsTheAuditHistory(t *testing.T) {
	b := setupDisk(t, nil)
	id := b.submit(t, `{"model":"tiny-a","messages":[],"state_webhook_url":"https://u:pw@hooks.example/x?token=secret"}`)
	jid := ulid.MustParse(id)
	b.append(t, eventlog.Record{Job: ulid.Make(), Type: eventlog.JobSubmitted, Payload: &eventlog.Submitted{Model: "tiny-b"}},
		eventlog.Record{Job: jid, Type: eventlog.JobStarted, Payload: &eventlog.Started{Attempt: 1}})
	w := b.do(t, "GET", "/jobs/"+id+"/events", "")
	if w.Code != 200 || strings.Contains(w.Body.String(), "secret") || strings.Contains(w.Body.String(), "pw@") {
		t.Fatalf("GET events: %d %s", w.Code, w.Body.String())
	}
	var got struct {
		JobID  string `json:"job_id"`
		Events []struct {
			Offset  uint64         `json:"offset"`
			Job     string         `json:"job"`
			Type    string         `json:"type"`
			Payload map[string]any `json:"payload"`
		} `json:"events"`
	}
	if err := json.Unmarshal(w.Body.Bytes(), &got); err != nil {
		t.Fatal(err)
	}
	if got.JobID != id || len(got.Events) != 2 || got.Events[0].Offset != 1 || got.Events[1].Offset != 3 ||
		got.Events[0].Type != "job.submitted" || got.Events[1].Type != "job.started" || got.Events[1].Job != id {
		t.Fatalf("history %+v", got)
	}
	if u := got.Events[0].Payload["webhook_url"]; u != "https://hooks.example/x" {
		t.Fatalf("webhook url %v", u)
	}
	if w := b.do(t, "GET", "/jobs/nope/events", ""); w.Code != 400 {
		t.Fatalf("bad id: %d", w.Code)
	}
	if w := b.do(t, "GET", "/jobs/"+ulid.Make().String()+"/events", ""); w.Code != 404 {
		t.Fatalf("unknown id: %d", w.Code)
	}
}

// lines decodes an NDJSON body's offsets.
func offsets(t *testing.T, body string) []uint64 {
	t.Helper()
	var out []uint64
	for line := range strings.Lines(body) {
		var e eventlog.EventJSON
		if err := json.Unmarshal([]byte(line), &e); err != nil {
			t.Fatalf("line %q: %v", line, err)
		}
		out = append(out, e.Offset)
	}
	return out
}

func TestEventsWithoutFollowEndsAtTheCurrentEnd(t *testing.T) {
	b := setupDisk(t, nil)
	for range 3 {
		b.submit(t, chatBody)
	}
	w := b.do(t, "GET", "/events?from=2&follow=false", "")
	if w.Code != 200 || w.Header().Get("Content-Type") != "application/x-ndjson" {
		t.Fatalf("%d %v", w.Code, w.Header())
	}
	if got := offsets(t, w.Body.String()); len(got) != 2 || got[0] != 2 || got[1] != 3 {
		t.Fatalf("offsets %v", got)
	}
	if got := offsets(t, b.do(t, "GET", "/events?follow=0", "").Body.String()); len(got) != 3 || got[0] != 1 {
		t.Fatalf("default from: %v", got)
	}
	if w := b.do(t, "GET", "/events?from=9&follow=false", ""); w.Code != 200 || w.Body.Len() != 0 {
		t.Fatalf("past the end: %d %q", w.Code, w.Body.String())
	}
}

func TestEventsRefusals(t *testing.T) {
	b := setupDisk(t, nil)
	for q, want := range map[string]int{"from=abc": 400, "from=0": 400, "from=-1": 400, "follow=maybe": 400} {
		if w := b.do(t, "GET", "/events?"+q, ""); w.Code != want {
			t.Errorf("%s: %d %s", q, w.Code, w.Body.String())
		} else {
			errorOf(t, w)
		}
	}
	if w := do(t, New(Config{}), "GET", "/events", "", ""); w.Code != 501 {
		t.Fatalf("no log: %d", w.Code)
	}
	if w := do(t, New(Config{Tokens: map[string]string{"a": "tok"}}), "GET", "/events", "", ""); w.Code != 401 {
		t.Fatalf("no token: %d", w.Code)
	}
}

// retained is the log with a low watermark moved up by retention.
type retained struct {
	*eventlog.Log
	low uint64
}

func (r retained) LowWatermark() uint64 { return r.low }

func TestEventsBelowTheLowWatermarkIsGone(t *testing.T) {
	var src retained
	b := setupDisk(t, func(c *Config) { c.Events = &src })
	src = retained{Log: b.log, low: 3}
	for range 4 {
		b.submit(t, chatBody)
	}
	w := b.do(t, "GET", "/events?from=2", "")
	if w.Code != 410 || !strings.Contains(errorOf(t, w), "log starts at 3") {
		t.Fatalf("below the watermark: %d %s", w.Code, w.Body.String())
	}
	if got := offsets(t, b.do(t, "GET", "/events?follow=false", "").Body.String()); len(got) != 2 || got[0] != 3 {
		t.Fatalf("default from is the low watermark: %v", got)
	}
}

// TestEventsTailsUntilTheClientLeaves reads the history over real HTTP,
// then appends and sees the new event arrive, then hangs up and checks the
// handler returned and left no goroutine behind.
func TestEventsTailsUntilTheClientLeaves(t *testing.T) {
	t.Cleanup(func() { goleak.VerifyNone(t, goleak.IgnoreCurrent()) })
	b := setupDisk(t, nil)
	b.submit(t, chatBody)
	b.submit(t, chatBody)
	returned := make(chan struct{}, 1)
	hs := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b.srv.ServeHTTP(w, r)
		if r.URL.Path == "/events" {
			returned <- struct{}{}
		}
	}))
	defer hs.Close()
	client := hs.Client()
	defer client.CloseIdleConnections()
	ctx, cancel := context.WithCancel(t.Context())
	defer cancel()
	req, _ := http.NewRequestWithContext(ctx, "GET", hs.URL+"/events?from=1", nil)
	resp, err := client.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	sc := bufio.NewScanner(resp.Body)
	next := func() eventlog.EventJSON {
		t.Helper()
		if !sc.Scan() {
			t.Fatalf("stream ended: %v", sc.Err())
		}
		var e eventlog.EventJSON
		if err := json.Unmarshal(sc.Bytes(), &e); err != nil {
			t.Fatalf("line %q: %v", sc.Text(), err)
		}
		return e
	}
	if e1, e2 := next(), next(); e1.Offset != 1 || e2.Offset != 2 {
		t.Fatalf("history %d %d", e1.Offset, e2.Offset)
	}
	job := ulid.Make()
	b.append(t, eventlog.Record{Job: job, Type: eventlog.CancelRequested, Payload: &eventlog.CancelRequest{Reason: "tail test"}})
	if e := next(); e.Offset != 3 || e.Type != "job.cancel_requested" || e.Job != job.String() {
		t.Fatalf("tailed %+v", e)
	}
	cancel()
	<-returned
}
