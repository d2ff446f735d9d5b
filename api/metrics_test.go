package api

import (
	"net/http"
	"testing"
)

func TestMetricsRequiresTheToken(t *testing.T) {
	t.Parallel()
	h := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/plain; version=0.0.4")
		w.Write([]byte("foreman_jobs{state=\"queued\"} 0\n"))
	})
	s := New(Config{Tokens: map[string]string{"ops": "tok-ops"}, Metrics: h})
	if w := do(t, s, "GET", "/metrics", "", ""); w.Code != 401 {
		t.Fatalf("no token: %d %s", w.Code, w.Body.String())
	}
	if w := do(t, s, "GET", "/metrics", "wrong", ""); w.Code != 401 {
		t.Fatalf("bad token: %d %s", w.Code, w.Body.String())
	}
	if w := do(t, s, "GET", "/metrics", "tok-ops", ""); w.Code != 200 || w.Body.String() != "foreman_jobs{state=\"queued\"} 0\n" {
		t.Fatalf("good token: %d %s", w.Code, w.Body.String())
	}
}

func TestMetricsAbsentWithoutAHandler(t *testing.T) {
	t.Parallel()
	s := New(Config{})
	if w := do(t, s, "GET", "/metrics", "", ""); w.Code != 404 {
		t.Fatalf("no metrics handler: %d %s", w.Code, w.Body.String())
	}
}
