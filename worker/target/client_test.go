package target_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"strings"
	"testing"

	"github.com/foreman-dev/foreman/worker/target"
	"github.com/foreman-dev/foreman/worker/target/ollamatest"
	ollama "github.com/ollama/ollama/api"
)

func newClient(t *testing.T, s *ollamatest.Server, token string) *target.Client {
	t.Helper()
	c, err := target.New(target.Config{URL: s.URL(), Token: token})
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// collect is an onChunk that keeps every line.
func collect(lines *[][]byte) func([]byte) error {
	return func(l []byte) error {
		*lines = append(*lines, bytes.Clone(l))
		return nil
	}
}

const chatHello = `{"model":"tiny-a","messages":[{"role":"user","content":"hello"}]}`

func TestRunStreams(t *testing.T) {
	t.Parallel()
	s := ollamatest.New(t)
	c := newClient(t, s, "")
	var lines [][]byte
	last, err := c.Run(t.Context(), "/api/chat", []byte(chatHello), collect(&lines))
	if err != nil {
		t.Fatal(err)
	}
	want := ollamatest.ChatAnswer("tiny-a", []ollama.Message{{Role: "user", Content: "hello"}}, nil)
	if len(lines) != len(want)+1 {
		t.Fatalf("%d lines, want %d chunks and the done line", len(lines), len(want))
	}
	var text strings.Builder
	for i, l := range lines {
		var r ollama.ChatResponse
		if err := json.Unmarshal(l, &r); err != nil {
			t.Fatalf("line %d %q: %v", i, l, err)
		}
		if r.Done != (i == len(lines)-1) {
			t.Fatalf("line %d: done=%v", i, r.Done)
		}
		text.WriteString(r.Message.Content)
	}
	if text.String() != strings.Join(want, "") {
		t.Fatalf("chunks in order make %q, want %q", text.String(), strings.Join(want, ""))
	}
	if !bytes.Equal(last, lines[len(lines)-1]) {
		t.Fatalf("last = %s, want the done line %s", last, lines[len(lines)-1])
	}
}

func TestRunNotStreamed(t *testing.T) {
	t.Parallel()
	s := ollamatest.New(t)
	c := newClient(t, s, "")
	var lines [][]byte
	last, err := c.Run(t.Context(), "/api/generate", []byte(`{"model":"tiny-b","prompt":"why","stream":false}`), collect(&lines))
	if err != nil {
		t.Fatal(err)
	}
	var r ollama.GenerateResponse
	if err := json.Unmarshal(last, &r); err != nil {
		t.Fatal(err)
	}
	if len(lines) != 1 || !r.Done || r.Response != strings.Join(ollamatest.Answer("tiny-b", "why", nil), "") || len(r.Context) == 0 {
		t.Fatalf("%d lines, last %s", len(lines), last)
	}
}

func TestRunForwardsBodyUntouched(t *testing.T) {
	t.Parallel()
	s := ollamatest.New(t)
	c := newClient(t, s, "")
	body := []byte(`{"model":"tiny-a","prompt":"x","stream":true,"x_unknown":{"a":[1,2]},"options":{"num_predict":2}}`)
	if _, err := c.Run(t.Context(), "/api/generate", body, func([]byte) error { return nil }); err != nil {
		t.Fatal(err)
	}
	if got := s.LastRequest("/api/generate"); !bytes.Equal(got, body) {
		t.Fatalf("target got %s, want %s", got, body)
	}
	if ct := s.Received("/api/generate")[0].Header.Get("Content-Type"); ct != "application/json" {
		t.Fatalf("Content-Type %q", ct)
	}
}

func TestRunHTTPError(t *testing.T) {
	t.Parallel()
	s := ollamatest.New(t)
	c := newClient(t, s, "")
	_, err := c.Run(t.Context(), "/api/chat", []byte(`{"model":"nope","messages":[{"role":"user","content":"hi"}]}`), collect(new([][]byte)))
	var he *target.HTTPError
	if !errors.As(err, &he) {
		t.Fatalf("err = %v, want *HTTPError", err)
	}
	if he.Status != http.StatusNotFound || he.Message != "model 'nope' not found" || string(he.Body) != `{"error":"model 'nope' not found"}` {
		t.Fatalf("HTTPError %d %q %s", he.Status, he.Message, he.Body)
	}
	if errors.Is(err, target.ErrUnreachable) {
		t.Fatal("an HTTP error is not unreachable")
	}

	s.FailNext(1, ollamatest.HTTPFault(http.StatusServiceUnavailable, "server busy"))
	_, err = c.Run(t.Context(), "/api/chat", []byte(chatHello), collect(new([][]byte)))
	if !errors.As(err, &he) || he.Status != http.StatusServiceUnavailable || he.Message != "server busy" {
		t.Fatalf("err = %v, want 503 server busy", err)
	}
}

func TestRunOpenAIErrorMessage(t *testing.T) {
	t.Parallel()
	s := ollamatest.New(t)
	c := newClient(t, s, "")
	_, err := c.Run(t.Context(), "/v1/chat/completions", []byte(`{"model":"nope","messages":[{"role":"user","content":"hi"}]}`), collect(new([][]byte)))
	var he *target.HTTPError
	if !errors.As(err, &he) || he.Status != http.StatusNotFound || he.Message != "model 'nope' not found" {
		t.Fatalf("err = %v, want 404 with the OpenAI error's message", err)
	}
	if he.ContentType != "application/json" || !strings.Contains(string(he.Body), `"type":"api_error"`) {
		t.Fatalf("error answer %q %s: want the target's own content type and body", he.ContentType, he.Body)
	}
}

// TestRunPassesWholeSSEFrames: a /v1 stream reaches onChunk one whole
// frame at a time (its event and data lines, without the blank line),
// ending with data: [DONE].
func TestRunPassesWholeSSEFrames(t *testing.T) {
	t.Parallel()
	s := ollamatest.New(t)
	c := newClient(t, s, "")
	var frames [][]byte
	last, err := c.Run(t.Context(), "/v1/chat/completions", []byte(`{"model":"tiny-a","messages":[{"role":"user","content":"hi"}],"stream":true}`), collect(&frames))
	if err != nil {
		t.Fatal(err)
	}
	if len(frames) < 3 || string(last) != "data: [DONE]" {
		t.Fatalf("frames %q, last %q", frames, last)
	}
	for _, f := range frames[:len(frames)-1] {
		if !bytes.HasPrefix(f, []byte(`data: {"id":"chatcmpl-`)) || bytes.Contains(f, []byte("\n")) {
			t.Fatalf("frame %q: want one whole data line", f)
		}
	}
	frames = nil
	if _, err := c.Run(t.Context(), "/v1/responses", []byte(`{"model":"tiny-a","input":"hi","stream":true}`), collect(&frames)); err != nil {
		t.Fatal(err)
	}
	if len(frames) < 3 || !bytes.HasPrefix(frames[0], []byte("event: response.created\ndata: {")) ||
		!bytes.HasPrefix(frames[len(frames)-1], []byte("event: response.completed\ndata: {")) {
		t.Fatalf("responses frames %q", frames)
	}
}

func TestRunStreamError(t *testing.T) {
	t.Parallel()
	s := ollamatest.New(t)
	c := newClient(t, s, "")
	s.FailNext(1, ollamatest.ErrorAfter(2))
	var lines [][]byte
	_, err := c.Run(t.Context(), "/api/chat", []byte(chatHello), collect(&lines))
	var se *target.StreamError
	if !errors.As(err, &se) || se.Message != ollamatest.RunnerCrash {
		t.Fatalf("err = %v, want StreamError %q", err, ollamatest.RunnerCrash)
	}
	if len(lines) != 2 {
		t.Fatalf("onChunk saw %d lines before the error, want 2", len(lines))
	}

	// Not streamed, the same crash is a 500.
	s.FailNext(1, ollamatest.ErrorAfter(2))
	_, err = c.Run(t.Context(), "/api/chat", []byte(`{"model":"tiny-a","messages":[{"role":"user","content":"x"}],"stream":false}`), collect(new([][]byte)))
	var he *target.HTTPError
	if !errors.As(err, &he) || he.Status != http.StatusInternalServerError || he.Message != ollamatest.RunnerCrash {
		t.Fatalf("err = %v, want 500 %q", err, ollamatest.RunnerCrash)
	}
}

func TestRunConnErrorWhenDown(t *testing.T) {
	t.Parallel()
	s := ollamatest.New(t)
	c := newClient(t, s, "")
	if _, err := c.Version(t.Context()); err != nil { // a pooled connection to cut
		t.Fatal(err)
	}
	s.SetDown(true)
	_, err := c.Run(t.Context(), "/api/chat", []byte(chatHello), collect(new([][]byte)))
	var ce *target.ConnError
	if !errors.As(err, &ce) || !errors.Is(err, target.ErrUnreachable) || ce.Op != "POST /api/chat" {
		t.Fatalf("err = %v, want ConnError for POST /api/chat", err)
	}
	s.SetDown(false)
	if _, err := c.Run(t.Context(), "/api/chat", []byte(chatHello), collect(new([][]byte))); err != nil {
		t.Fatalf("after SetDown(false): %v", err)
	}
}

func TestRunConnErrorWhenCut(t *testing.T) {
	t.Parallel()
	s := ollamatest.New(t)
	c := newClient(t, s, "")
	s.FailNext(1, ollamatest.CutAfter(3))
	var lines [][]byte
	_, err := c.Run(t.Context(), "/api/chat", []byte(chatHello), collect(&lines))
	if !errors.Is(err, target.ErrUnreachable) {
		t.Fatalf("err = %v, want ConnError", err)
	}
	if len(lines) != 3 {
		t.Fatalf("onChunk saw %d lines, want 3", len(lines))
	}
	s.FailNext(1, ollamatest.CutAfter(0))
	_, err = c.Run(t.Context(), "/api/chat", []byte(`{"model":"tiny-a","messages":[{"role":"user","content":"x"}],"stream":false}`), collect(new([][]byte)))
	if !errors.Is(err, target.ErrUnreachable) {
		t.Fatalf("not streamed: err = %v, want ConnError", err)
	}
}

var errStop = errors.New("stopped by the test")

func TestRunCancelMidStream(t *testing.T) {
	t.Parallel()
	s := ollamatest.New(t)
	c := newClient(t, s, "")
	ctx, cancel := context.WithCancelCause(t.Context())
	defer cancel(nil)
	s.OnChunk(func(_ string, i int) {
		if i == 0 {
			cancel(errStop)
		}
	})
	_, err := c.Run(ctx, "/api/chat", []byte(chatHello), collect(new([][]byte)))
	if !errors.Is(err, errStop) {
		t.Fatalf("err = %v, want the cancel cause", err)
	}
}

func TestRunCancelBeforeAnswer(t *testing.T) {
	t.Parallel()
	s := ollamatest.New(t)
	c := newClient(t, s, "")
	g := s.Block("tiny-a")
	defer g.Release()
	ctx, cancel := context.WithCancelCause(t.Context())
	defer cancel(nil)
	done := make(chan error, 1)
	go func() {
		_, err := c.Run(ctx, "/api/chat", []byte(chatHello), collect(new([][]byte)))
		done <- err
	}()
	<-g.Arrived()
	cancel(errStop)
	if err := <-done; !errors.Is(err, errStop) {
		t.Fatalf("err = %v, want the cancel cause", err)
	}
}

func TestRunOnChunkErrorStops(t *testing.T) {
	t.Parallel()
	s := ollamatest.New(t)
	c := newClient(t, s, "")
	n := 0
	_, err := c.Run(t.Context(), "/api/chat", []byte(chatHello), func([]byte) error {
		if n++; n == 2 {
			return errStop
		}
		return nil
	})
	if !errors.Is(err, errStop) || n != 2 {
		t.Fatalf("err = %v after %d chunks, want errStop after 2", err, n)
	}
}

func TestBearerToken(t *testing.T) {
	t.Parallel()
	s := ollamatest.New(t)
	if _, err := newClient(t, s, "sekret").Tags(t.Context()); err != nil {
		t.Fatal(err)
	}
	if _, err := newClient(t, s, "").Tags(t.Context()); err != nil {
		t.Fatal(err)
	}
	got := s.Received("/api/tags")
	if a := got[0].Header.Get("Authorization"); a != "Bearer sekret" {
		t.Fatalf("with a token: Authorization %q", a)
	}
	if a, ok := got[1].Header["Authorization"]; ok {
		t.Fatalf("without a token: Authorization %q", a)
	}
}

func TestTagsPsVersion(t *testing.T) {
	t.Parallel()
	s := ollamatest.New(t)
	c := newClient(t, s, "")
	v, err := c.Version(t.Context())
	if err != nil || v != ollamatest.Version {
		t.Fatalf("Version = %q, %v", v, err)
	}
	tags, err := c.Tags(t.Context())
	if err != nil || len(tags) != 4 || tags[0].Name != "tiny-a:latest" {
		t.Fatalf("Tags = %+v, %v", tags, err)
	}
	ps, err := c.Ps(t.Context())
	if err != nil || len(ps) != 0 {
		t.Fatalf("Ps = %+v, %v", ps, err)
	}
	s.FailPath("/api/ps", 1, ollamatest.HTTPFault(http.StatusInternalServerError, "boom"))
	var he *target.HTTPError
	if _, err := c.Ps(t.Context()); !errors.As(err, &he) || he.Status != 500 {
		t.Fatalf("Ps err = %v, want HTTPError 500", err)
	}
}

func TestConfigValidate(t *testing.T) {
	t.Parallel()
	for _, u := range []string{"ftp://x:1", "localhost:11434", "http://"} {
		if _, err := target.New(target.Config{URL: u}); err == nil {
			t.Errorf("URL %q accepted", u)
		}
	}
	c, err := target.New(target.Config{URL: "http://127.0.0.1:1/"})
	if err != nil || c.URL() != "http://127.0.0.1:1" {
		t.Fatalf("URL() = %q, %v", c.URL(), err)
	}
}
