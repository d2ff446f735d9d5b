package target_test

import (
	"context"
	"net/http"
	"slices"
	"testing"
	"time"

	"github.com/foreman-dev/foreman/worker/target"
	"github.com/foreman-dev/foreman/worker/target/ollamatest"
)

func newInventory(t *testing.T, s *ollamatest.Server) *target.Inventory {
	t.Helper()
	return target.NewInventory(newClient(t, s, ""), time.Hour, nil)
}

func TestInventoryRefresh(t *testing.T) {
	t.Parallel()
	s := ollamatest.New(t)
	inv := newInventory(t, s)
	if inv.Has("tiny-a") {
		t.Fatal("Has before any poll")
	}
	if err := inv.Refresh(t.Context()); err != nil {
		t.Fatal(err)
	}
	if inv.Degraded() || len(inv.Models()) != 4 || len(inv.Running()) != 0 {
		t.Fatalf("degraded=%v models=%d running=%d", inv.Degraded(), len(inv.Models()), len(inv.Running()))
	}
	for _, name := range []string{"tiny-a", "tiny-a:latest", "tiny-embed"} {
		if !inv.Has(name) {
			t.Errorf("Has(%q) = false", name)
		}
	}
	for _, name := range []string{"nope", "tiny-a:v2", "tiny"} {
		if inv.Has(name) {
			t.Errorf("Has(%q) = true", name)
		}
	}
}

func TestInventoryDegradedWhileDown(t *testing.T) {
	t.Parallel()
	s := ollamatest.New(t)
	inv := newInventory(t, s)
	if err := inv.Refresh(t.Context()); err != nil {
		t.Fatal(err)
	}
	s.SetDown(true)
	if err := inv.Refresh(t.Context()); err == nil {
		t.Fatal("Refresh succeeded while down")
	}
	if !inv.Degraded() {
		t.Fatal("not degraded while down")
	}
	if !inv.Has("tiny-b") || len(inv.Models()) != 4 {
		t.Fatal("the last inventory was dropped while down")
	}
	s.SetDown(false)
	if err := inv.Refresh(t.Context()); err != nil {
		t.Fatal(err)
	}
	if inv.Degraded() {
		t.Fatal("still degraded after recovery")
	}
}

func TestInventoryHTTPErrors(t *testing.T) {
	t.Parallel()
	s := ollamatest.New(t)
	inv := newInventory(t, s)
	// Before any good poll, any failure means we know nothing: degraded.
	s.FailPath("/api/tags", 1, ollamatest.HTTPFault(http.StatusInternalServerError, "boom"))
	if err := inv.Refresh(t.Context()); err == nil || !inv.Degraded() {
		t.Fatalf("err=%v degraded=%v, want an error and degraded", err, inv.Degraded())
	}
	if err := inv.Refresh(t.Context()); err != nil || inv.Degraded() {
		t.Fatalf("err=%v degraded=%v after a good poll", err, inv.Degraded())
	}
	// Afterwards the target answered, so it is reachable: not degraded.
	s.FailPath("/api/ps", 1, ollamatest.HTTPFault(http.StatusInternalServerError, "boom"))
	if err := inv.Refresh(t.Context()); err == nil || inv.Degraded() {
		t.Fatalf("err=%v degraded=%v, want an error, not degraded", err, inv.Degraded())
	}
}

func TestInventoryHasOrRefresh(t *testing.T) {
	t.Parallel()
	s := ollamatest.New(t)
	inv := newInventory(t, s)
	ctx := t.Context()
	if err := inv.Refresh(ctx); err != nil {
		t.Fatal(err)
	}
	polls := s.Requests("/api/tags")
	if ok, err := inv.HasOrRefresh(ctx, "tiny-a"); !ok || err != nil {
		t.Fatalf("known model: %v, %v", ok, err)
	}
	if n := s.Requests("/api/tags"); n != polls {
		t.Fatalf("a known model re-polled (%d polls, want %d)", n, polls)
	}
	if ok, err := inv.HasOrRefresh(ctx, "nope"); ok || err != nil {
		t.Fatalf("unknown model: %v, %v", ok, err)
	}
	if n := s.Requests("/api/tags"); n != polls+1 {
		t.Fatalf("unknown model: %d polls, want exactly one more than %d", n, polls)
	}
	s.AddModel(ollamatest.Model{Name: "fresh"})
	if ok, err := inv.HasOrRefresh(ctx, "fresh:latest"); !ok || err != nil {
		t.Fatalf("model added since the last poll: %v, %v", ok, err)
	}
	s.SetDown(true)
	if ok, err := inv.HasOrRefresh(ctx, "gone"); ok || err == nil {
		t.Fatalf("down: %v, %v, want the poll's error", ok, err)
	}
}

func TestInventoryRefreshPs(t *testing.T) {
	t.Parallel()
	s := ollamatest.New(t)
	c := newClient(t, s, "")
	inv := target.NewInventory(c, time.Hour, nil)
	if err := inv.Refresh(t.Context()); err != nil {
		t.Fatal(err)
	}
	if len(inv.Loaded()) != 0 {
		t.Fatalf("Loaded = %v before any run", inv.Loaded())
	}
	if _, err := c.Run(t.Context(), "/api/chat", []byte(chatHello), collect(new([][]byte))); err != nil {
		t.Fatal(err)
	}
	tags := s.Requests("/api/tags")
	if err := inv.RefreshPs(t.Context()); err != nil {
		t.Fatal(err)
	}
	if got := inv.Loaded(); !slices.Equal(got, []string{"tiny-a:latest"}) {
		t.Fatalf("Loaded = %v, want [tiny-a:latest]", got)
	}
	if s.Requests("/api/tags") != tags {
		t.Fatal("RefreshPs polled /api/tags")
	}
}

// signalTransport sends on polled after each /api/ps answer.
type signalTransport struct{ polled chan struct{} }

func (st signalTransport) RoundTrip(r *http.Request) (*http.Response, error) {
	resp, err := http.DefaultTransport.RoundTrip(r)
	if r.URL.Path == "/api/ps" {
		select {
		case st.polled <- struct{}{}:
		case <-r.Context().Done(): // Run stopped
		}
	}
	return resp, err
}

func TestInventoryRunPollsUntilCancelled(t *testing.T) {
	t.Parallel()
	s := ollamatest.New(t)
	st := signalTransport{polled: make(chan struct{})}
	c, err := target.New(target.Config{URL: s.URL(), HTTP: &http.Client{Transport: st}})
	if err != nil {
		t.Fatal(err)
	}
	inv := target.NewInventory(c, time.Millisecond, nil)
	ctx, cancel := context.WithCancel(t.Context())
	done := make(chan error, 1)
	go func() { done <- inv.Run(ctx) }()
	<-st.polled // the first poll, at once
	<-st.polled // and a second one, on the ticker
	cancel()
	if err := <-done; err != nil {
		t.Fatalf("Run = %v, want nil on cancel", err)
	}
	if !inv.Has("tiny-a") {
		t.Fatal("Run did not fill the inventory")
	}
}

func TestNormalizeMatchesOllamaNames(t *testing.T) {
	for _, name := range []string{"tiny-a", "tiny-a:latest", "TINY-A", "library/tiny-a", "registry.ollama.ai/library/tiny-a:latest"} {
		if got := target.Normalize(name); got != "tiny-a:latest" {
			t.Errorf("Normalize(%q) = %q", name, got)
		}
	}
	if target.Normalize("me/tiny-a:q4") != "me/tiny-a:q4" || target.Normalize("tiny-a:q4") == target.Normalize("tiny-a") {
		t.Error("namespace or tag lost")
	}
}
