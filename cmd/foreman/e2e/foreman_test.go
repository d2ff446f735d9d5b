//go:build e2e

package e2e

import (
	"bytes"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"syscall"
	"time"

	"github.com/ollama/ollama/api"
)

// Credentials every foreman of the suite runs with.
const (
	token = "e2e-token"
	// webhookSecret is in the Standard Webhooks form: the HMAC key is the
	// base64-decoded part ("foreman-e2e-secret").
	webhookSecret = "whsec_Zm9yZW1hbi1lMmUtc2VjcmV0"
	webhookKey    = "foreman-e2e-secret"
)

// foremanProc is one real `foreman serve` this suite started.
type foremanProc struct {
	bin     string
	dataDir string
	addr    string
	env     []string
	logPath string
	cmd     *exec.Cmd
	exited  chan struct{}
}

// startForeman runs the foreman binary in front of ollamaURL with its own
// data dir under dir; extra are more FOREMAN_* settings.
func startForeman(bin, dir, ollamaURL string, extra ...string) (*foremanProc, error) {
	addr, err := freeAddr()
	if err != nil {
		return nil, err
	}
	data, err := os.MkdirTemp(dir, "foreman-data-")
	if err != nil {
		return nil, err
	}
	env := append([]string{
		"PATH=" + os.Getenv("PATH"),
		"HOME=" + dir,
		"FOREMAN_DATA_DIR=" + data,
		"FOREMAN_LISTEN=" + addr,
		"FOREMAN_OLLAMA_URL=" + ollamaURL,
		"FOREMAN_TOKEN=" + token,
		"FOREMAN_WEBHOOK_SECRET=" + webhookSecret,
		"FOREMAN_POLL_INTERVAL=1s",
		"FOREMAN_LOG_LEVEL=debug",
		"FOREMAN_SHUTDOWN_GRACE=2s",
	}, extra...)
	f := &foremanProc{bin: bin, dataDir: data, addr: addr, env: env, logPath: data + ".log"}
	return f, f.start()
}

func (f *foremanProc) start() error {
	logf, err := os.OpenFile(f.logPath, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		return err
	}
	cmd := exec.Command(f.bin, "serve")
	cmd.Env = f.env
	cmd.Stdout, cmd.Stderr = logf, logf
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	if err := cmd.Start(); err != nil {
		logf.Close()
		return fmt.Errorf("start foreman: %w", err)
	}
	f.cmd, f.exited = cmd, make(chan struct{})
	go func() { cmd.Wait(); logf.Close(); close(f.exited) }()
	deadline := time.Now().Add(30 * time.Second)
	for time.Now().Before(deadline) {
		select {
		case <-f.exited:
			return fmt.Errorf("foreman exited at start (%v); log %s:\n%s", cmd.ProcessState, f.logPath, f.Log())
		default:
		}
		if _, err := f.Health(); err == nil {
			return nil
		}
		time.Sleep(50 * time.Millisecond)
	}
	f.Kill()
	return fmt.Errorf("foreman did not answer /healthz within 30s; log %s:\n%s", f.logPath, f.Log())
}

// URL is the daemon's base URL.
func (f *foremanProc) URL() string { return "http://" + f.addr }

// Health reads GET /healthz (no token needed).
func (f *foremanProc) Health() (degraded bool, err error) {
	c := http.Client{Timeout: 2 * time.Second}
	resp, err := c.Get(f.URL() + "/healthz")
	if err != nil {
		return false, err
	}
	defer resp.Body.Close()
	var h struct {
		Status   string `json:"status"`
		Degraded bool   `json:"degraded"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&h); err != nil || resp.StatusCode != http.StatusOK || h.Status != "ok" {
		return false, fmt.Errorf("healthz: %d %v %+v", resp.StatusCode, err, h)
	}
	return h.Degraded, nil
}

// Stop ends the daemon with SIGTERM and reports its exit.
func (f *foremanProc) Stop() error {
	if f.cmd == nil {
		return nil
	}
	f.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-f.exited:
	case <-time.After(30 * time.Second):
		f.cmd.Process.Kill()
		<-f.exited
		f.cmd = nil
		return fmt.Errorf("foreman did not stop within 30s of SIGTERM")
	}
	st := f.cmd.ProcessState
	f.cmd = nil
	if !st.Success() {
		return fmt.Errorf("foreman exited with %v", st)
	}
	return nil
}

// Kill ends the daemon with SIGKILL, as a crash would.
func (f *foremanProc) Kill() {
	if f.cmd == nil {
		return
	}
	f.cmd.Process.Kill()
	<-f.exited
	f.cmd = nil
}

// Restart starts the daemon again on the same data dir and address.
func (f *foremanProc) Restart() error {
	f.Kill()
	return f.start()
}

// Log is the daemon's stderr so far.
func (f *foremanProc) Log() string {
	b, _ := os.ReadFile(f.logPath)
	return string(b)
}

// RaceReports tells whether a race-built daemon reported a data race.
func (f *foremanProc) RaceReports() bool {
	b, _ := os.ReadFile(f.logPath)
	return bytes.Contains(b, []byte("WARNING: DATA RACE"))
}

// bearer adds foreman's token to every request of the official client.
type bearer struct {
	token string
	base  http.RoundTripper
}

func (b bearer) RoundTrip(r *http.Request) (*http.Response, error) {
	r = r.Clone(r.Context())
	r.Header.Set("Authorization", "Bearer "+b.token)
	return b.base.RoundTrip(r)
}

// Client is the official Ollama client pointed at foreman, with the token.
func (f *foremanProc) Client() *api.Client {
	u, _ := url.Parse(f.URL())
	return api.NewClient(u, &http.Client{Transport: bearer{token: token, base: http.DefaultTransport}})
}

// directClient is the official Ollama client pointed at Ollama itself.
func directClient(base string) *api.Client {
	u, _ := url.Parse(base)
	return api.NewClient(u, &http.Client{})
}
