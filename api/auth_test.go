package api

import (
	"bufio"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"
)

func TestBearerSchemeIsCaseInsensitive(t *testing.T) {
	s := New(Config{Tokens: map[string]string{"ci": "tok-ci"}, Health: fakeHealth(false)})
	for _, h := range []string{"Bearer tok-ci", "bearer tok-ci", "BEARER tok-ci", "bEaReR  tok-ci"} {
		r := httptest.NewRequest("GET", "/", nil)
		r.Header.Set("Authorization", h)
		w := httptest.NewRecorder()
		s.ServeHTTP(w, r)
		if w.Code != 200 {
			t.Errorf("%q: %d %s", h, w.Code, w.Body.String())
		}
	}
	for _, h := range []string{"Basic tok-ci", "Bearertok-ci", "Bearer", "tok-ci", "Bearer tok-cx", "Bearer tok-ci2"} {
		r := httptest.NewRequest("GET", "/", nil)
		r.Header.Set("Authorization", h)
		w := httptest.NewRecorder()
		s.ServeHTTP(w, r)
		if w.Code != 401 {
			t.Errorf("%q: %d, want 401", h, w.Code)
		}
	}
}

// rawRequest writes head on a new connection to srv and returns what the
// server answers, up to the server closing the connection; the client
// gives up after five seconds, which only a hung server reaches.
func rawRequest(t *testing.T, srv *httptest.Server, head string) (*http.Response, string) {
	t.Helper()
	c, err := net.Dial("tcp", srv.Listener.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	c.SetDeadline(time.Now().Add(5 * time.Second))
	if _, err := io.WriteString(c, head); err != nil {
		t.Fatal(err)
	}
	br := bufio.NewReader(c)
	resp, err := http.ReadResponse(br, nil)
	if err != nil {
		t.Fatalf("no answer to %q: %v", head, err)
	}
	body, _ := io.ReadAll(resp.Body)
	if _, err := br.ReadByte(); err != io.EOF {
		t.Fatalf("%q: the connection stays open after %d (%v)", head, resp.StatusCode, err)
	}
	return resp, string(body)
}

// TestUnauthorizedBodyIsNotAwaited: a request announcing a body it never
// sends, without a token, is answered 401 at once and its connection
// closed; before, the server waited for the body, forever.
func TestUnauthorizedBodyIsNotAwaited(t *testing.T) {
	s := New(Config{Tokens: map[string]string{"ci": "tok-ci"}, BodyTimeout: time.Hour})
	srv := httptest.NewServer(s)
	defer srv.Close()
	for _, path := range []string{"/jobs", "/api/chat", "/admin/backup", "/no/such/route"} {
		resp, _ := rawRequest(t, srv, "POST "+path+" HTTP/1.1\r\nHost: x\r\nContent-Length: 100\r\n\r\n")
		if resp.StatusCode != 401 && resp.StatusCode != 404 {
			t.Fatalf("%s: %d", path, resp.StatusCode)
		}
	}
}
