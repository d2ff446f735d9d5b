package api

import (
	"bytes"
	"context"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/oklog/ulid/v2"

	"github.com/foreman-dev/foreman/eventlog"
)

// stalledClient sends head and then never reads: its connection's
// buffers fill and the server's writes block. closed receives when the
// server closes the connection.
type stalledClient struct {
	conn   net.Conn
	closed chan struct{}
}

func serveStalled(t *testing.T, h http.Handler) (*httptest.Server, chan struct{}) {
	t.Helper()
	closed := make(chan struct{}, 8)
	srv := httptest.NewUnstartedServer(h)
	srv.Config.ConnState = func(_ net.Conn, st http.ConnState) {
		if st == http.StateClosed {
			closed <- struct{}{}
		}
	}
	srv.Start()
	t.Cleanup(srv.Close)
	return srv, closed
}

func stall(t *testing.T, srv *httptest.Server, head string) net.Conn {
	t.Helper()
	c, err := net.Dial("tcp", srv.Listener.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	c.(*net.TCPConn).SetReadBuffer(4 << 10) // fill up quickly
	if _, err := io.WriteString(c, head); err != nil {
		t.Fatal(err)
	}
	return c
}

// waitCut fails unless the server closes the stalled connection; ten
// seconds is far past the 100 ms WriteTimeout of these tests.
func waitCut(t *testing.T, closed chan struct{}, what string) {
	t.Helper()
	select {
	case <-closed:
	case <-time.After(10 * time.Second):
		t.Fatalf("%s: a reader that reads nothing is never cut", what)
	}
}

// flood publishes 32 MiB of output for id, more than any socket buffers
// hold, in 64 KiB lines, then ends the run.
func flood(h *Hub, id ulid.ULID, off uint64) {
	line := append(bytes.Repeat([]byte("x"), 64<<10-1), '}')
	h.Begin(id, 200, "application/x-ndjson")
	for range 512 {
		h.Chunk(id, line)
	}
	h.End(id, off, "")
}

// TestSlowSyncCallerIsCut: a sync /api/chat caller that never reads is
// cut after WriteTimeout and the job records the caller as gone; before,
// its handler blocked for ever on the write, holding the output.
func TestSlowSyncCallerIsCut(t *testing.T) {
	b := setupJobs(t, func(c *Config) { c.WriteTimeout = 100 * time.Millisecond })
	srv, closed := serveStalled(t, b.srv)
	stall(t, srv, "POST /api/chat HTTP/1.1\r\nHost: x\r\nContent-Length: "+strconv.Itoa(len(chatBody))+"\r\n\r\n"+chatBody)
	var id ulid.ULID
	for act := b.proj.Active(); ; act = b.proj.Active() {
		if len(act) > 0 {
			id = act[0].ID
			break
		}
		<-b.proj.Changed()
	}
	flood(b.srv.cfg.Hub, id, b.log.LastOffset())
	waitCut(t, closed, "POST /api/chat")
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
	evs, _ := b.log.JobEvents(id)
	last := evs[len(evs)-1]
	var cr eventlog.CancelRequest
	if last.Type != eventlog.CancelRequested || last.Decode(&cr) != nil || !strings.HasPrefix(cr.Reason, "caller") {
		t.Fatalf("last event %s %+v", last.Type, cr)
	}
}

// TestSlowStreamReaderIsCut: the same for GET /jobs/{id}/stream; the
// access log says the reader was cut.
func TestSlowStreamReaderIsCut(t *testing.T) {
	var logged lockedBuffer
	b := setupJobs(t, func(c *Config) {
		c.WriteTimeout = 100 * time.Millisecond
		c.Logger = slog.New(slog.NewTextHandler(&logged, nil))
	})
	id := ulid.MustParse(b.submit(t, chatBody))
	srv, closed := serveStalled(t, b.srv)
	c := stall(t, srv, "GET /jobs/"+id.String()+"/stream HTTP/1.1\r\nHost: x\r\n\r\n")
	// The handler answers its status once subscribed: read just that.
	buf := make([]byte, 12)
	if _, err := io.ReadFull(c, buf); err != nil || string(buf) != "HTTP/1.1 200" {
		t.Fatalf("%q %v", buf, err)
	}
	flood(b.srv.cfg.Hub, id, 0)
	waitCut(t, closed, "GET /jobs/{id}/stream")
	if !strings.Contains(logged.String(), "level=WARN msg=request method=GET path=/jobs/"+id.String()+"/stream status=200") ||
		!strings.Contains(logged.String(), "cut=true") {
		t.Fatalf("access log:\n%s", logged.String())
	}
}

// TestSlowEventsReaderIsCut: GET /events over a log larger than the
// socket buffers, never read: the handler, and its log scan, end.
func TestSlowEventsReaderIsCut(t *testing.T) {
	b := setupJobs(t, func(c *Config) { c.WriteTimeout = 100 * time.Millisecond })
	big := `{"model":"tiny-a","messages":[{"role":"user","content":"` + strings.Repeat("y", 60<<10) + `"}]}`
	for range 150 { // some 12 MiB rendered
		b.log.Append(context.Background(), submission(ulid.Make(), eventlog.Submitted{Model: "tiny-a", Kind: eventlog.KindChat}, []byte(big)))
	}
	srv, closed := serveStalled(t, b.srv)
	stall(t, srv, "GET /events?follow=false HTTP/1.1\r\nHost: x\r\n\r\n")
	waitCut(t, closed, "GET /events")
}

// TestSlowArtifactReaderIsCut: a download of a large artifact that is
// never read ends after WriteTimeout instead of holding the blob.
func TestSlowArtifactReaderIsCut(t *testing.T) {
	b := setupJobs(t, func(c *Config) { c.WriteTimeout = 100 * time.Millisecond })
	id := ulid.MustParse(b.submit(t, chatBody))
	data := bytes.Repeat([]byte("z"), 32<<20)
	key := eventlog.ArtifactBlob(id, "big.bin")
	b.append(t, eventlog.Record{Job: id, Type: eventlog.ArtifactStored, Blobs: []eventlog.Blob{{Key: key, Data: data}},
		Payload: &eventlog.Artifact{Name: "big.bin", ContentType: "application/octet-stream", Size: int64(len(data)), Blob: key}})
	srv, closed := serveStalled(t, b.srv)
	stall(t, srv, "GET /jobs/"+id.String()+"/artifacts/big.bin HTTP/1.1\r\nHost: x\r\n\r\n")
	waitCut(t, closed, "GET /jobs/{id}/artifacts/{name}")
}
