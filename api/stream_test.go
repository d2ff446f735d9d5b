package api

import (
	"bufio"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/oklog/ulid/v2"
)

func TestJobStreamMarksARetry(t *testing.T) {
	b := setupJobs(t, nil)
	id := ulid.MustParse(b.submit(t, chatBody))
	srv := httptest.NewServer(b.srv)
	defer srv.Close()
	resp, err := http.Get(srv.URL + "/jobs/" + id.String() + "/stream")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != 200 || resp.Header.Get("Content-Type") != "application/x-ndjson" {
		t.Fatalf("%d %s", resp.StatusCode, resp.Header.Get("Content-Type"))
	}
	// The handler has subscribed before it answered: nothing is missed.
	hub := b.srv.cfg.Hub
	hub.Begin(id, 200, "application/x-ndjson")
	hub.Chunk(id, []byte(`{"message":{"content":"Hel"},"done":false}`))
	hub.Begin(id, 200, "application/x-ndjson") // attempt 2
	hub.Chunk(id, []byte(`{"message":{"content":"Hello"},"done":false}`))
	hub.End(id, b.log.LastOffset(), "")
	var lines []string
	sc := bufio.NewScanner(resp.Body)
	for sc.Scan() {
		lines = append(lines, sc.Text())
	}
	want := []string{`{"message":{"content":"Hel"},"done":false}`, `{"restart":true}`, `{"message":{"content":"Hello"},"done":false}`}
	if len(lines) != len(want) {
		t.Fatalf("lines %q", lines)
	}
	for i := range want {
		if lines[i] != want[i] {
			t.Fatalf("line %d: %s, want %s", i, lines[i], want[i])
		}
	}
}
