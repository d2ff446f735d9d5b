package route

import (
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"
)

// fakeDaemon answers GET /queue?model= with a forecast (eta after now)
// and POST /api/chat with status and body, counting the chats.
type fakeDaemon struct {
	srv   *httptest.Server
	chats atomic.Int32
	auth  atomic.Value // the last Authorization header
}

func newFakeDaemon(t *testing.T, eta time.Duration, status int, body string) *fakeDaemon {
	t.Helper()
	d := &fakeDaemon{}
	mux := http.NewServeMux()
	mux.HandleFunc("GET /queue", func(w http.ResponseWriter, r *http.Request) {
		at := time.Now().Add(eta)
		json.NewEncoder(w).Encode(map[string]any{"waiting": 0, "forecast": map[string]any{
			"model": r.URL.Query().Get("model"), "available": true, "position": 1, "eta": at}})
	})
	mux.HandleFunc("POST /api/chat", func(w http.ResponseWriter, r *http.Request) {
		d.chats.Add(1)
		d.auth.Store(r.Header.Get("Authorization"))
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(status)
		io.WriteString(w, body)
	})
	d.srv = httptest.NewServer(mux)
	t.Cleanup(d.srv.Close)
	return d
}

func chat(t *testing.T, h http.Handler, token string) *httptest.ResponseRecorder {
	t.Helper()
	r := httptest.NewRequest("POST", "/api/chat", strings.NewReader(`{"model":"m","messages":[]}`))
	if token != "" {
		r.Header.Set("Authorization", "Bearer "+token)
	}
	w := httptest.NewRecorder()
	h.ServeHTTP(w, r)
	return w
}

// TestBusyDaemonGivesWay: the daemon with the earliest forecast answers
// 503 (its queue is full, nothing queued): the next one is asked, with
// its own token; the last one's refusal is relayed as it is.
func TestBusyDaemonGivesWay(t *testing.T) {
	full := newFakeDaemon(t, time.Second, http.StatusServiceUnavailable, `{"error":"server busy, please try again.  maximum pending requests exceeded"}`)
	ok := newFakeDaemon(t, time.Minute, http.StatusOK, `{"model":"m","done":true}`)
	rt, err := New(Config{Daemons: []Daemon{{URL: full.srv.URL, Token: "t-full"}, {URL: ok.srv.URL, Token: "t-ok"}},
		Tokens: map[string]string{"app": "caller"}})
	if err != nil {
		t.Fatal(err)
	}
	defer rt.Close()
	w := chat(t, rt, "caller")
	if w.Code != 200 || !strings.Contains(w.Body.String(), `"done":true`) || full.chats.Load() != 1 || ok.chats.Load() != 1 {
		t.Fatalf("%d %s; chats %d %d", w.Code, w.Body.String(), full.chats.Load(), ok.chats.Load())
	}
	if a := ok.auth.Load(); a != "Bearer t-ok" {
		t.Fatalf("the daemon got %q, want its own token", a)
	}
	if w := chat(t, rt, "wrong"); w.Code != 401 {
		t.Fatalf("a wrong token: %d", w.Code)
	}
	alone, err := New(Config{Daemons: []Daemon{{URL: full.srv.URL}}})
	if err != nil {
		t.Fatal(err)
	}
	defer alone.Close()
	if w := chat(t, alone, ""); w.Code != 503 || !strings.Contains(w.Body.String(), "server busy") {
		t.Fatalf("the only daemon busy: %d %s", w.Code, w.Body.String())
	}
}

func TestConfigValidate(t *testing.T) {
	for _, c := range []Config{
		{},
		{Daemons: []Daemon{{URL: "gpu1:8080"}}},
		{Daemons: []Daemon{{URL: "http://a:1"}, {URL: "http://a:1"}}},
		{Daemons: []Daemon{{URL: "http://a:1"}}, Tokens: map[string]string{"x": ""}},
	} {
		if err := c.Validate(); !errors.Is(err, ErrConfig) {
			t.Errorf("%+v: %v", c, err)
		}
	}
}
