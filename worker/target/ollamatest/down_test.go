package ollamatest

import (
	"errors"
	"net/http"
	"strings"
	"syscall"
	"testing"
)

func TestSetDownRefusesAndComesBackOnSameURL(t *testing.T) {
	t.Parallel()
	s := New(t)
	url := s.URL()
	get(t, s, "/api/version", http.StatusOK)
	s.SetDown(true)
	if !s.Down() {
		t.Fatal("Down() = false")
	}
	_, err := http.Get(url + "/api/version")
	if !errors.Is(err, syscall.ECONNREFUSED) {
		t.Fatalf("err = %v, want connection refused", err)
	}
	s.SetDown(false)
	if s.URL() != url {
		t.Fatalf("URL changed: %s, was %s", s.URL(), url)
	}
	get(t, s, "/api/version", http.StatusOK)
}

func TestSetDownCutsRequestsInFlight(t *testing.T) {
	t.Parallel()
	s := New(t)
	g := s.Block("")
	defer g.Release()
	done := make(chan error, 1)
	go func() {
		resp, err := http.Post(s.URL()+"/api/chat", "application/json", strings.NewReader(`{"model":"tiny-b","messages":[{"role":"user","content":"x"}]}`))
		if err == nil {
			resp.Body.Close()
		}
		done <- err
	}()
	<-g.Arrived()
	s.SetDown(true)
	if err := <-done; err == nil {
		t.Fatal("request in flight survived SetDown")
	}
}
