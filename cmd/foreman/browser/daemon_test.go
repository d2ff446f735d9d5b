//go:build browser

package browser

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/foreman-dev/foreman/worker/target/ollamatest"
)

// buildForeman builds the real binary once per run, in one fixed place
// rebuilt each run, so that runs leave no binaries behind.
func buildForeman() (string, error) {
	dir := filepath.Join(os.TempDir(), "foreman-browser")
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return "", err
	}
	bin := filepath.Join(dir, "foreman")
	tmp := fmt.Sprintf("%s.%d", bin, os.Getpid()) // renamed into place: a concurrent run keeps its own
	out, err := exec.Command("go", "build", "-o", tmp, "github.com/foreman-dev/foreman/cmd/foreman").CombinedOutput()
	if err != nil {
		return "", fmt.Errorf("go build: %v\n%s", err, out)
	}
	return bin, os.Rename(tmp, bin)
}

// daemon is one `foreman serve` in front of a fake Ollama.
type daemon struct {
	url    string
	token  string
	ollama *ollamatest.Server
	log    *syncBuf
	env    []string
	exited chan struct{} // closed when the running process has ended
	cmd    *exec.Cmd
}

// startDaemon runs the binary with token (empty: auth off) against a
// fresh fake Ollama, and returns once /healthz answers.
func startDaemon(t *testing.T, token string, opts ...ollamatest.Option) *daemon {
	t.Helper()
	return startDaemonEnv(t, token, nil, opts...)
}

// startDaemonEnv is startDaemon with more FOREMAN_* settings.
func startDaemonEnv(t *testing.T, token string, env []string, opts ...ollamatest.Option) *daemon {
	t.Helper()
	ollama := ollamatest.New(t, opts...)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	d := &daemon{url: "http://" + addr, token: token, ollama: ollama, log: &syncBuf{}}
	d.env = append([]string{
		"PATH=" + os.Getenv("PATH"),
		"FOREMAN_DATA_DIR=" + t.TempDir(),
		"FOREMAN_LISTEN=" + addr,
		"FOREMAN_OLLAMA_URL=" + ollama.URL(),
		"FOREMAN_TOKEN=" + token,
		"FOREMAN_SHUTDOWN_GRACE=1s",
		"FOREMAN_MAX_ATTEMPTS=1",
		"FOREMAN_DEFAULT_NUM_PREDICT=0", // the fake's own short answers
	}, env...)
	t.Cleanup(func() {
		d.stop()
		if t.Failed() {
			t.Logf("daemon log (last 4000 bytes):\n%s", tail(d.log.String(), 4000))
		}
	})
	d.start(t)
	return d
}

// start runs the process (again, on the same address and data dir) and
// returns once /healthz answers.
func (d *daemon) start(t *testing.T) {
	t.Helper()
	cmd := exec.Command(foremanBin, "serve")
	cmd.Env = d.env
	cmd.Stdout, cmd.Stderr = d.log, d.log
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	exited := make(chan struct{})
	go func() { cmd.Wait(); close(exited) }()
	d.cmd, d.exited = cmd, exited
	for deadline := time.Now().Add(30 * time.Second); ; {
		if resp, err := http.Get(d.url + "/healthz"); err == nil {
			resp.Body.Close()
			return
		}
		select {
		case <-exited:
			t.Fatalf("foreman exited at start:\n%s", d.log.String())
		case <-time.After(20 * time.Millisecond): // polling is how a client learns a daemon is up
		}
		if time.Now().After(deadline) {
			t.Fatal("foreman did not answer /healthz within 30s")
		}
	}
}

// stop ends the process as a service manager does (SIGTERM, then SIGKILL
// after 10 s) and waits for it.
func (d *daemon) stop() {
	if d.cmd == nil {
		return
	}
	d.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-d.exited:
	case <-time.After(10 * time.Second):
		d.cmd.Process.Kill()
		<-d.exited
	}
	d.cmd = nil
}

// call sends one API request with the daemon's token and decodes a JSON
// answer into out (nil: ignored), failing the test unless status is want.
func (d *daemon) call(t *testing.T, method, path, body string, want int, out any) {
	t.Helper()
	req, err := http.NewRequest(method, d.url+path, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	if d.token != "" {
		req.Header.Set("Authorization", "Bearer "+d.token)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	raw, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != want {
		t.Fatalf("%s %s: %d %s, want %d", method, path, resp.StatusCode, raw, want)
	}
	if out != nil {
		if err := json.Unmarshal(raw, out); err != nil {
			t.Fatalf("%s %s: %v in %s", method, path, err, raw)
		}
	}
}

// submit posts a job and returns its id.
func (d *daemon) submit(t *testing.T, body string) string {
	t.Helper()
	var got struct {
		JobID string `json:"job_id"`
	}
	d.call(t, "POST", "/jobs", body, http.StatusAccepted, &got)
	return got.JobID
}

// chat is a POST /jobs body for one user message; extra is spliced into
// the object (e.g. `"priority":2`).
func chat(model, prompt string, extra ...string) string {
	msg, _ := json.Marshal(prompt)
	body := fmt.Sprintf(`{"model":%q,"messages":[{"role":"user","content":%s}]`, model, msg)
	for _, e := range extra {
		body += "," + e
	}
	return body + "}"
}

// jobState is the job's state as GET /jobs/{id} tells it.
func (d *daemon) jobState(t *testing.T, id string) string {
	t.Helper()
	var v struct {
		State string `json:"state"`
	}
	d.call(t, "GET", "/jobs/"+id, "", http.StatusOK, &v)
	return v.State
}

type syncBuf struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (w *syncBuf) Write(p []byte) (int, error) { w.mu.Lock(); defer w.mu.Unlock(); return w.b.Write(p) }
func (w *syncBuf) String() string              { w.mu.Lock(); defer w.mu.Unlock(); return w.b.String() }

func tail(s string, n int) string {
	if len(s) > n {
		return "…" + s[len(s)-n:]
	}
	return s
}
