package api

import (
	"bufio"
	"bytes"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/oklog/ulid/v2"

	"github.com/foreman-dev/foreman/eventlog"
)

const openAIChatStream = `{"model":"tiny-a","messages":[{"role":"user","content":"hi"}],"stream":true}`

// firstActive waits for the first queued or working job, for tests that
// play the worker through the hub.
func firstActive(t *testing.T, b *testBundle) ulid.ULID {
	t.Helper()
	for act := b.proj.Active(); ; act = b.proj.Active() {
		if len(act) > 0 {
			return act[0].ID
		}
		<-b.proj.Changed()
	}
}

// TestSlowSSECallerIsCut: a /v1 streaming caller that stops reading is cut
// by the same rule as /api/chat's (nothing taken for FOREMAN_WRITE_TIMEOUT,
// or the hub's bound of buffered output), and its job is cancelled: the
// worker never waits for it.
func TestSlowSSECallerIsCut(t *testing.T) {
	b := setupJobs(t, func(c *Config) { c.WriteTimeout = 100 * time.Millisecond })
	srv, closed := serveStalled(t, b.srv)
	stall(t, srv, "POST /v1/chat/completions HTTP/1.1\r\nHost: x\r\nContent-Length: "+strconv.Itoa(len(openAIChatStream))+"\r\n\r\n"+openAIChatStream)
	id := firstActive(t, b)
	h := b.srv.cfg.Hub
	frame := append([]byte(`data: {"x":"`), bytes.Repeat([]byte("x"), 64<<10)...)
	frame = append(frame, `"}`...)
	h.Begin(id, 200, "text/event-stream")
	for range 512 { // 32 MiB, more than any socket buffers hold
		h.Chunk(id, frame)
	}
	h.End(id, b.log.LastOffset(), "")
	waitCut(t, closed, "POST /v1/chat/completions")
	for {
		ch := b.proj.Changed()
		j, err := b.proj.Job(id)
		if err != nil {
			t.Fatal(err)
		}
		if j.CancelRequested {
			break
		}
		<-ch
	}
}

// TestSSERelay: a /v1 stream reaches the caller frame by frame, each
// ended by its blank line, and a failure after the first byte ends it
// with an SSE frame in OpenAI's error shape (which the SDKs raise), never
// a [DONE] that would make it look complete.
func TestSSERelay(t *testing.T) {
	b := setupJobs(t, nil)
	srv := httptest.NewServer(b.srv)
	t.Cleanup(srv.Close)
	done := make(chan *http.Response, 1)
	go func() {
		resp, err := http.Post(srv.URL+"/v1/chat/completions", "application/json", strings.NewReader(openAIChatStream))
		if err != nil {
			t.Error(err)
		}
		done <- resp
	}()
	id := firstActive(t, b)
	h := b.srv.cfg.Hub
	h.Begin(id, 200, "text/event-stream")
	h.Chunk(id, []byte(`data: {"choices":[{"delta":{"content":"a"}}]}`))
	resp := <-done
	if resp == nil {
		t.FailNow()
	}
	defer resp.Body.Close()
	rd := bufio.NewReader(resp.Body)
	line, _ := rd.ReadString('\n')
	blank, _ := rd.ReadString('\n')
	if resp.Header.Get("Content-Type") != "text/event-stream" || line != "data: {\"choices\":[{\"delta\":{\"content\":\"a\"}}]}\n" || blank != "\n" {
		t.Fatalf("first frame %q %q (%s)", line, blank, resp.Header.Get("Content-Type"))
	}
	h.End(id, b.log.LastOffset(), "ollama stream: the model runner died")
	rest := new(bytes.Buffer)
	rest.ReadFrom(rd)
	if rest.String() != `data: {"error":{"message":"ollama stream: the model runner died","type":"api_error","param":null,"code":null}}`+"\n\n" {
		t.Fatalf("after the failure: %q", rest)
	}
}

// TestOpenAIPriorityHeader: X-Foreman-Priority sets a /v1 job's priority.
func TestOpenAIPriorityHeader(t *testing.T) {
	b := setupJobs(t, nil)
	srv := httptest.NewServer(b.srv)
	t.Cleanup(srv.Close)
	go func() {
		req, _ := http.NewRequest("POST", srv.URL+"/v1/chat/completions", strings.NewReader(openAIChatStream))
		req.Header.Set(PriorityHeader, "7")
		resp, err := http.DefaultClient.Do(req)
		if err == nil {
			resp.Body.Close()
		}
	}()
	id := firstActive(t, b)
	j, err := b.proj.Job(id)
	if err != nil || j.Priority != 7 || j.Kind != eventlog.KindOpenAIChat || !j.Sync {
		t.Fatalf("job %+v %v", j, err)
	}
	b.srv.cfg.Hub.End(id, b.log.LastOffset(), "done")
}

// TestStreamJobGivesSSEFramesAsNDJSON: GET /jobs/{id}/stream of an OpenAI
// job that streams gives each frame's data as one NDJSON line, without
// the [DONE] sentinel.
func TestStreamJobGivesSSEFramesAsNDJSON(t *testing.T) {
	b := setupJobs(t, nil)
	srv := httptest.NewServer(b.srv)
	t.Cleanup(srv.Close)
	id := b.submit(t, `{"kind":"openai.response","model":"tiny-a","input":"hi","stream":true}`)
	resp, err := http.Get(srv.URL + "/jobs/" + id + "/stream")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	h, jid := b.srv.cfg.Hub, ulid.MustParse(id)
	h.Begin(jid, 200, "text/event-stream")
	h.Chunk(jid, []byte("event: response.created\ndata: {\"type\":\"response.created\"}"))
	h.Chunk(jid, []byte(`data: {"type":"response.output_text.delta","delta":"a"}`))
	h.Chunk(jid, []byte("data: [DONE]"))
	h.End(jid, b.log.LastOffset(), "")
	sc := bufio.NewScanner(resp.Body)
	var lines []string
	for sc.Scan() {
		lines = append(lines, sc.Text())
	}
	// (No result line: no worker ran the job here.)
	if len(lines) != 2 || lines[0] != `{"type":"response.created"}` || lines[1] != `{"type":"response.output_text.delta","delta":"a"}` {
		t.Fatalf("stream %q", lines)
	}
}
