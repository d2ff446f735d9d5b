package api

import (
	"bytes"
	"log/slog"
	"net/http"
	"strings"
	"sync"
	"testing"
)

var _ http.Flusher = (*statusWriter)(nil) // the streaming routes flush through it

// lockedBuffer is a bytes.Buffer for a logger.
type lockedBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

func TestAccessLogOneLinePerRequest(t *testing.T) {
	var buf lockedBuffer
	b := setupJobs(t, func(c *Config) {
		c.Tokens = map[string]string{"ci": "sekret-token"}
		c.Logger = slog.New(slog.NewTextHandler(&buf, &slog.HandlerOptions{Level: slog.LevelInfo}))
	})
	secretPrompt := "a-prompt-nobody-should-log"
	reqs := []struct {
		method, path, body, token string
		want                      string
	}{
		{"GET", "/jobs?state=queued", "", "wrong", `method=GET path=/jobs status=401`},
		{"POST", "/api/pull", `{"model":"x"}`, "sekret-token", `method=POST path=/api/pull status=501`},
		{"POST", "/jobs", `{"model":"tiny-a","kind":"chat","messages":[{"role":"user","content":"` + secretPrompt + `"}]}`, "sekret-token",
			`method=POST path=/jobs status=202`},
		{"GET", "/nowhere", "", "", `method=GET path=/nowhere status=404`},
		{"GET", "/healthz", "", "", ""}, // polled by monitors: Debug
	}
	for _, r := range reqs {
		hdr := []string{}
		if r.token != "" {
			hdr = []string{"Authorization", "Bearer " + r.token}
		}
		b.do(t, r.method, r.path, r.body, hdr...)
	}
	lines := strings.Split(strings.TrimSpace(buf.String()), "\n")
	var logged []string
	for _, l := range lines {
		if strings.Contains(l, "msg=request") {
			logged = append(logged, l)
		}
	}
	if len(logged) != len(reqs)-1 {
		t.Fatalf("%d request lines, want %d:\n%s", len(logged), len(reqs)-1, buf.String())
	}
	for i, r := range reqs[:len(reqs)-1] {
		if !strings.Contains(logged[i], r.want) || !strings.Contains(logged[i], "duration=") {
			t.Errorf("line %d %q lacks %q", i, logged[i], r.want)
		}
	}
	if !strings.Contains(logged[2], "caller=ci") || !strings.Contains(logged[0], `caller=""`) {
		t.Errorf("callers not logged: %q, %q", logged[0], logged[2])
	}
	for _, secret := range []string{"sekret-token", "wrong", secretPrompt, "state=queued"} {
		if strings.Contains(buf.String(), secret) {
			t.Errorf("the log holds %q:\n%s", secret, buf.String())
		}
	}
}
