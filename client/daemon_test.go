package client_test

import (
	"bytes"
	"context"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"go.uber.org/goleak"
)

// foremanBin is the foreman binary, built once, on first use, for the
// end-to-end tests: the client is tested against the real daemon, in its
// own process, so a restart is a real restart. Lazily, so that unit tests
// and fuzz workers do not pay for the build.
var (
	foremanBin      string
	foremanBuild    sync.Once
	foremanBuildErr error
	binDir          string
)

func buildForeman() (string, error) {
	foremanBuild.Do(func() {
		bin := filepath.Join(binDir, "foreman")
		out, err := exec.Command("go", "build", "-o", bin, "github.com/foreman-dev/foreman/cmd/foreman").CombinedOutput()
		if err != nil {
			foremanBuildErr = fmt.Errorf("build foreman: %v\n%s", err, out)
			return
		}
		foremanBin = bin
	})
	return foremanBin, foremanBuildErr
}

func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "foreman-client-test")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	binDir = dir
	code := 0
	defer func() { os.RemoveAll(dir); os.Exit(code) }()
	code = m.Run()
	if code == 0 {
		http.DefaultClient.CloseIdleConnections() // keep-alives are not leaks
		if err := goleak.Find(); err != nil {
			fmt.Fprintln(os.Stderr, "goleak:", err)
			code = 1
		}
	}
}

// daemon is a foreman process with its own data dir and a fixed port, so
// it can be stopped and started again at the same address.
type daemon struct {
	t    *testing.T
	env  []string
	addr string
	mu   sync.Mutex
	out  bytes.Buffer
	cmd  *exec.Cmd
	done chan struct{}
}

const testToken = "e2e-token"

// startDaemon runs foreman serve in front of the Ollama at ollamaURL;
// extra are FOREMAN_* settings.
func startDaemon(t *testing.T, ollamaURL string, extra ...string) *daemon {
	t.Helper()
	if _, err := buildForeman(); err != nil {
		t.Fatal(err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	d := &daemon{t: t, addr: addr, env: append([]string{
		"FOREMAN_DATA_DIR=" + t.TempDir(), "FOREMAN_LISTEN=" + addr, "FOREMAN_OLLAMA_URL=" + ollamaURL,
		"FOREMAN_TOKEN=" + testToken, "FOREMAN_SHUTDOWN_GRACE=0s", "FOREMAN_LOG_LEVEL=debug",
		"FOREMAN_DEFAULT_NUM_PREDICT=0", // the fake's own 8-token answers, which the tests compare
	}, extra...)}
	d.start()
	t.Cleanup(func() {
		d.stop()
		if t.Failed() {
			t.Logf("daemon output:\n%s", d.output())
		}
	})
	return d
}

func (d *daemon) URL() string { return "http://" + d.addr }

func (d *daemon) Write(p []byte) (int, error) {
	d.mu.Lock()
	defer d.mu.Unlock()
	return d.out.Write(p)
}

func (d *daemon) output() string {
	d.mu.Lock()
	defer d.mu.Unlock()
	return d.out.String()
}

// start runs the process and waits until /healthz answers.
func (d *daemon) start() {
	d.t.Helper()
	d.cmd = exec.Command(foremanBin, "serve")
	d.cmd.Env = append(os.Environ(), d.env...)
	d.cmd.Stdout, d.cmd.Stderr = d, d
	if err := d.cmd.Start(); err != nil {
		d.t.Fatal(err)
	}
	d.done = make(chan struct{})
	go func(cmd *exec.Cmd, done chan struct{}) { cmd.Wait(); close(done) }(d.cmd, d.done)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	tick := time.NewTicker(20 * time.Millisecond)
	defer tick.Stop()
	for {
		resp, err := http.Get(d.URL() + "/healthz")
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return
			}
		}
		select {
		case <-d.done:
			d.t.Fatalf("foreman exited before serving:\n%s", d.output())
		case <-ctx.Done():
			d.t.Fatalf("foreman did not answer /healthz in 30s:\n%s", d.output())
		case <-tick.C:
		}
	}
}

// stop ends the process with SIGTERM and waits for it.
func (d *daemon) stop() {
	if d.cmd == nil {
		return
	}
	d.cmd.Process.Signal(os.Interrupt)
	<-d.done
	d.cmd = nil
}

// kill ends the process with SIGKILL: a crash.
func (d *daemon) kill() {
	d.cmd.Process.Kill()
	<-d.done
	d.cmd = nil
}

func (d *daemon) logHas(s string) bool { return strings.Contains(d.output(), s) }
