package main

import (
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/foreman-dev/foreman/worker/target/ollamatest"
)

// healthcheck runs `foreman healthcheck args...` with env (no token in it)
// and returns its exit code and output.
func healthcheck(t *testing.T, env map[string]string, args ...string) (int, string, string) {
	t.Helper()
	out, stderr, err := runCLI(t, env, "", append([]string{"healthcheck"}, args...)...)
	if err != nil {
		stderr += errorLine(err)
	}
	return exitCode(err), out, stderr
}

// A healthy daemon that requires a token: the probe needs none, and finds
// the daemon from FOREMAN_LISTEN as well as from --url.
func TestHealthcheckHealthyDaemonWithAuth(t *testing.T) {
	o := ollamatest.New(t)
	addr, stop := startServe(t, map[string]string{"FOREMAN_DATA_DIR": t.TempDir(), "FOREMAN_OLLAMA_URL": o.URL(),
		"FOREMAN_TOKEN": "s3cret", "FOREMAN_SHUTDOWN_GRACE": "0s"})
	defer stop()
	if code, _ := getBody(t, "http://"+addr+"/api/tags"); code != http.StatusUnauthorized {
		t.Fatalf("GET /api/tags without a token: %d, want 401 (auth is on)", code)
	}
	for _, run := range []struct {
		env  map[string]string
		args []string
	}{{map[string]string{"FOREMAN_LISTEN": addr}, nil}, {nil, []string{"--url", "http://" + addr}}} {
		if code, out, stderr := healthcheck(t, run.env, run.args...); code != ExitOK || out != "ok\n" {
			t.Errorf("healthcheck %v %v: exit %d, stdout %q, stderr %q", run.env, run.args, code, out, stderr)
		}
	}
}

// A daemon whose Ollama is unreachable is degraded: healthy by default
// (restarting it would not help), unhealthy with --strict; the reason is
// printed both ways.
func TestHealthcheckDegradedDaemon(t *testing.T) {
	addr, stop := startServe(t, map[string]string{"FOREMAN_DATA_DIR": t.TempDir(), "FOREMAN_SHUTDOWN_GRACE": "0s"})
	defer stop()
	getBody(t, "http://"+addr+"/api/tags") // polls the unreachable target: degraded from here on
	if _, body := getBody(t, "http://"+addr+"/healthz"); !strings.Contains(string(body), `"degraded":true`) {
		t.Fatalf("/healthz is not degraded: %s", body)
	}
	env := map[string]string{"FOREMAN_LISTEN": addr}
	const why = "degraded: the Ollama target is unreachable"
	if code, out, stderr := healthcheck(t, env); code != ExitOK || out != why+"\n" {
		t.Errorf("healthcheck: exit %d, stdout %q, stderr %q; want 0 and %q", code, out, stderr, why)
	}
	if code, out, stderr := healthcheck(t, env, "--strict"); code != ExitError || out != "" || !strings.Contains(stderr, why) {
		t.Errorf("healthcheck --strict: exit %d, stdout %q, stderr %q; want 1 saying %q", code, out, stderr, why)
	}
}

// Down, hung, failed, or not foreman at all: exit 1, saying which.
func TestHealthcheckUnhealthy(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	down := ln.Addr().String()
	ln.Close()

	hung, err := net.Listen("tcp", "127.0.0.1:0") // accepts (the kernel does), never answers
	if err != nil {
		t.Fatal(err)
	}
	defer hung.Close()

	failed := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		// api/health.go's answer once the event log failed.
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(http.StatusServiceUnavailable)
		io.WriteString(w, `{"degraded":true,"reasons":["the event log failed: no space left on device"],"status":"failed"}`)
	}))
	defer failed.Close()

	ollama := ollamatest.New(t) // someone pointed the probe at Ollama itself

	for _, c := range []struct {
		name, url, want string
	}{
		{"down", "http://" + down, "no answer"},
		{"hung", "http://" + hung.Addr().String(), "deadline exceeded"},
		{"failed", failed.URL, "unhealthy: status 503, failed: the event log failed: no space left on device"},
		{"not foreman", ollama.URL(), "not foreman's /healthz answer"},
	} {
		code, out, stderr := healthcheck(t, nil, "--url", c.url, "--timeout", "500ms")
		if code != ExitError || out != "" || !strings.Contains(stderr, c.want) {
			t.Errorf("%s: exit %d, stdout %q, stderr %q; want 1 saying %q", c.name, code, out, stderr, c.want)
		}
	}
}

func TestHealthcheckUsage(t *testing.T) {
	for _, c := range []struct {
		env  map[string]string
		args []string
	}{
		{nil, []string{"--bogus"}},
		{nil, []string{"extra"}},
		{nil, []string{"--timeout", "0s"}},
		{map[string]string{"FOREMAN_LISTEN": "127.0.0.1:0"}, nil}, // no fixed port to ask
		{map[string]string{"FOREMAN_LISTEN": "8080"}, nil},
	} {
		if code, _, stderr := healthcheck(t, c.env, c.args...); code != ExitUsage {
			t.Errorf("healthcheck %v %v: exit %d, want 2\n%s", c.env, c.args, code, stderr)
		}
	}
}

func TestHealthURLAsksWildcardsOnLoopback(t *testing.T) {
	for listen, want := range map[string]string{
		"":               "http://127.0.0.1:8080", // the default FOREMAN_LISTEN
		"0.0.0.0:8080":   "http://127.0.0.1:8080", // the container's
		":9000":          "http://127.0.0.1:9000",
		"[::]:8080":      "http://[::1]:8080",
		"10.0.0.7:8080":  "http://10.0.0.7:8080",
		"localhost:8081": "http://localhost:8081",
	} {
		if got, err := healthURL(listen); err != nil || got != want {
			t.Errorf("healthURL(%q) = %q, %v; want %q", listen, got, err, want)
		}
	}
}
