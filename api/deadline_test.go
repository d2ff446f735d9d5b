package api

import (
	"net/http/httptest"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/foreman-dev/foreman/eventlog"
	"github.com/foreman-dev/foreman/projections"
)

// TestBodyMustArriveInTime: an authorised caller that announces a body and
// never sends it gets 408 once BodyTimeout passes, on routes that read a
// body and on routes that do not; before, the connection was held forever.
func TestBodyMustArriveInTime(t *testing.T) {
	b := setupJobs(t, func(c *Config) { c.Tokens = map[string]string{"ci": "tok-ci"}; c.BodyTimeout = 50 * time.Millisecond })
	srv := httptest.NewServer(b.srv)
	defer srv.Close()
	auth := "Authorization: Bearer tok-ci\r\n"
	for path, want := range map[string]int{"POST /jobs": 408, "POST /api/chat": 408, "POST /webhooks/replay": 408, "GET /jobs": 200, "GET /queue": 200} {
		resp, body := rawRequest(t, srv, path+" HTTP/1.1\r\nHost: x\r\n"+auth+"Content-Length: 100\r\n\r\n{")
		if resp.StatusCode != want {
			t.Fatalf("%s: %d %s", path, resp.StatusCode, body)
		}
		if want == 408 && !strings.Contains(body, "FOREMAN_BODY_TIMEOUT") {
			t.Fatalf("%s: %s", path, body)
		}
	}
}

// TestBodyDeadlineIsLiftedOnceRead: a sync job waiting in the queue
// longer than BodyTimeout is not cut by the body's deadline (the server's
// read that notices a caller leaving would fail and cancel the job).
func TestBodyDeadlineIsLiftedOnceRead(t *testing.T) {
	b := setupJobs(t, func(c *Config) { c.BodyTimeout = 20 * time.Millisecond })
	srv := httptest.NewServer(b.srv)
	defer srv.Close()
	type answer struct {
		code int
		body string
	}
	got := make(chan answer, 1)
	go func() {
		resp, body := rawRequest(t, srv, "POST /api/chat HTTP/1.1\r\nHost: x\r\nConnection: close\r\nContent-Length: "+
			strconv.Itoa(len(chatBody))+"\r\n\r\n"+chatBody)
		got <- answer{resp.StatusCode, body}
	}()
	var active []projections.Job
	for active = b.proj.Active(); len(active) == 0; active = b.proj.Active() {
		<-b.proj.Changed()
	}
	id := active[0].ID
	time.Sleep(10 * 20 * time.Millisecond) // ten body deadlines: nothing may happen meanwhile
	b.srv.cfg.Hub.Begin(id, 200, "application/x-ndjson")
	b.srv.cfg.Hub.Chunk(id, []byte(`{"done":true}`))
	b.srv.cfg.Hub.End(id, 0, "")
	if a := <-got; a.code != 200 || a.body != "{\"done\":true}\n" {
		t.Fatalf("sync chat: %d %q", a.code, a.body)
	}
	evs, _ := b.log.JobEvents(id)
	for _, e := range evs {
		if e.Type == eventlog.CancelRequested {
			t.Fatal("the job was cancelled while it waited")
		}
	}
}
