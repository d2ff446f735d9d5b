package ollamatest

import (
	"bufio"
	"context"
	"errors"
	"io"
	"net/http"
	"strings"
	"testing"
)

func TestFailNextQueuesAndSkipsNonInferenceRoutes(t *testing.T) {
	t.Parallel()
	s := New(t)
	s.FailNext(2, HTTPFault(http.StatusTeapot, "no"))
	s.FailNext(1, HTTPFault(http.StatusBadGateway, "bad"))
	get(t, s, "/api/tags", http.StatusOK) // not an inference route: untouched
	for _, want := range []int{http.StatusTeapot, http.StatusTeapot, http.StatusBadGateway, http.StatusOK} {
		resp, err := http.Post(s.URL()+"/api/chat", "application/json", strings.NewReader(`{"model":"tiny-a","messages":[{"role":"user","content":"x"}],"stream":false}`))
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != want {
			t.Fatalf("status %d, want %d", resp.StatusCode, want)
		}
	}
}

func TestFailPath(t *testing.T) {
	t.Parallel()
	s := New(t)
	s.FailPath("/api/tags", 1, HTTPFault(http.StatusInternalServerError, "boom"))
	if b := get(t, s, "/api/tags", http.StatusInternalServerError); string(b) != `{"error":"boom"}` {
		t.Fatalf("body %s", b)
	}
	get(t, s, "/api/tags", http.StatusOK)
}

func TestHangUntilClientGivesUp(t *testing.T) {
	t.Parallel()
	s := New(t)
	s.FailNext(1, Hang())
	ctx, cancel := context.WithCancel(t.Context())
	req, _ := http.NewRequestWithContext(ctx, http.MethodPost, s.URL()+"/api/generate", strings.NewReader(`{"model":"tiny-a","prompt":"x"}`))
	done := make(chan error, 1)
	go func() {
		resp, err := http.DefaultClient.Do(req)
		if err == nil {
			resp.Body.Close()
		}
		done <- err
	}()
	// The request is hanging once it is recorded; no answer comes.
	select {
	case err := <-done:
		t.Fatalf("answered while hanging: %v", err)
	default:
	}
	cancel()
	if err := <-done; !errors.Is(err, context.Canceled) {
		t.Fatalf("err = %v, want context.Canceled", err)
	}
}

func TestGateHoldsRequestInFlight(t *testing.T) {
	t.Parallel()
	s := New(t)
	g := s.Block("tiny-a")
	done := make(chan []byte, 1)
	go func() { done <- post(t, s, "/api/generate", `{"model":"tiny-a","prompt":"x","stream":false}`) }()
	<-g.Arrived()
	if got := s.Loaded(); len(got) != 1 {
		t.Fatalf("held request: Loaded = %v, want the model loaded", got)
	}
	select {
	case <-done:
		t.Fatal("answered through a closed gate")
	default:
	}
	g.Release()
	if b := <-done; !strings.Contains(string(b), `"done":true`) {
		t.Fatalf("answer %s", b)
	}
	post(t, s, "/api/generate", `{"model":"tiny-a","prompt":"x","stream":false}`) // gate gone
}

func TestOnChunkRunsBetweenChunks(t *testing.T) {
	t.Parallel()
	s := New(t)
	var seen []int
	s.OnChunk(func(model string, i int) {
		if model != "tiny-a" {
			t.Errorf("model %q", model)
		}
		seen = append(seen, i)
	})
	resp, err := http.Post(s.URL()+"/api/chat", "application/json", strings.NewReader(`{"model":"tiny-a","messages":[{"role":"user","content":"x"}],"options":{"num_predict":3}}`))
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	sc := bufio.NewScanner(resp.Body)
	lines := 0
	for sc.Scan() {
		lines++
	}
	if lines != 4 || len(seen) != 3 || seen[2] != 2 {
		t.Fatalf("%d lines, hook saw %v", lines, seen)
	}
}

func TestCutAfterEndsStreamWithoutDoneLine(t *testing.T) {
	t.Parallel()
	s := New(t)
	s.FailNext(1, CutAfter(2))
	resp, err := http.Post(s.URL()+"/api/generate", "application/json", strings.NewReader(`{"model":"tiny-a","prompt":"x"}`))
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if !errors.Is(err, io.ErrUnexpectedEOF) {
		t.Fatalf("read err = %v, want unexpected EOF", err)
	}
	if n := strings.Count(string(b), "\n"); n != 2 || strings.Contains(string(b), `"done":true`) {
		t.Fatalf("got %q", b)
	}
}

func get(t *testing.T, s *Server, path string, status int) []byte {
	t.Helper()
	resp, err := http.Get(s.URL() + path)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != status {
		t.Fatalf("GET %s: %d %s, want %d", path, resp.StatusCode, b, status)
	}
	return b
}

func TestStopAfterEndsCleanlyWithoutDone(t *testing.T) {
	t.Parallel()
	s := New(t)
	s.FailNext(2, StopAfter(3))
	resp, err := http.Post(s.URL()+"/api/generate", "application/json", strings.NewReader(`{"model":"tiny-a","prompt":"x"}`))
	if err != nil {
		t.Fatal(err)
	}
	b, err := io.ReadAll(resp.Body)
	resp.Body.Close()
	if err != nil || resp.StatusCode != 200 {
		t.Fatalf("stream: %d %v", resp.StatusCode, err)
	}
	if n := strings.Count(string(b), "\n"); n != 3 || strings.Contains(string(b), `"done":true`) || strings.Contains(string(b), `"error"`) {
		t.Fatalf("stream got %q", b)
	}
	resp, err = http.Post(s.URL()+"/api/generate", "application/json", strings.NewReader(`{"model":"tiny-a","prompt":"x","stream":false}`))
	if err != nil {
		t.Fatal(err)
	}
	b, _ = io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 200 || !strings.Contains(string(b), `"done":false`) || strings.Contains(string(b), "done_reason") {
		t.Fatalf("stream:false got %d %s", resp.StatusCode, b)
	}
}
