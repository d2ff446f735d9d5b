package client

import (
	"errors"
	"net/http"
	"net/http/httptest"
	"testing"
)

func newServer(t *testing.T, h http.Handler) string {
	srv := httptest.NewServer(h)
	t.Cleanup(srv.Close)
	return srv.URL
}

func TestAPIErrorCarriesStatusAndMessage(t *testing.T) {
	url := newServer(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Header.Get("Authorization") != "Bearer good" {
			w.WriteHeader(http.StatusUnauthorized)
			w.Write([]byte(`{"error":"unauthorized: invalid bearer token"}`))
			return
		}
		w.WriteHeader(http.StatusNotFound)
		w.Write([]byte(`{"error":"job 01X not found"}`))
	}))
	_, err := New(url, WithToken("bad")).Get(t.Context(), "01X")
	var ae *APIError
	if !errors.As(err, &ae) || ae.Status != 401 || ae.Message != "unauthorized: invalid bearer token" || !errors.Is(err, ErrUnauthorized) {
		t.Fatalf("err = %#v", err)
	}
	_, err = New(url, WithToken("good")).Get(t.Context(), "01X")
	if !errors.As(err, &ae) || ae.Status != 404 || !errors.Is(err, ErrNotFound) || errors.Is(err, ErrUnauthorized) {
		t.Fatalf("err = %#v", err)
	}
}

func TestUnreachableDaemon(t *testing.T) {
	// A closed server: the address now refuses connections.
	closed := httptest.NewServer(http.NotFoundHandler())
	closed.Close()
	c := New(closed.URL)
	_, err := c.List(t.Context(), ListOptions{})
	var ue *UnreachableError
	if !errors.As(err, &ue) || ue.URL != closed.URL {
		t.Fatalf("err = %v, want *UnreachableError", err)
	}
}
