package main

import (
	"bytes"
	"context"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"sync"
	"testing"
	"time"
)

// buildForeman compiles the real binary into a temp dir, so the crash
// harness kills a real process and not goroutines.
func buildForeman(t testing.TB) string {
	t.Helper()
	bin := filepath.Join(t.TempDir(), "foreman")
	out, err := exec.Command("go", "build", "-o", bin, "github.com/foreman-dev/foreman/cmd/foreman").CombinedOutput()
	if err != nil {
		t.Fatalf("go build foreman: %v\n%s", err, out)
	}
	return bin
}

// freeAddr picks a loopback port the daemon keeps across restarts.
func freeAddr(t testing.TB) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().String()
}

// crashDaemon is one `foreman serve` process at a time over a fixed data
// dir and address: started, killed with SIGKILL, started again.
type crashDaemon struct {
	t    testing.TB
	bin  string
	addr string
	env  []string

	mu  sync.Mutex
	out bytes.Buffer // every run's stderr, separated by a banner per run

	cmd  *exec.Cmd
	done chan struct{} // closed when cmd has exited
	runs int
}

func (d *crashDaemon) URL() string { return "http://" + d.addr }

func (d *crashDaemon) Write(p []byte) (int, error) {
	d.mu.Lock()
	defer d.mu.Unlock()
	return d.out.Write(p)
}

func (d *crashDaemon) output() string {
	d.mu.Lock()
	defer d.mu.Unlock()
	return d.out.String()
}

// start runs the process and returns once /healthz answers 200; the
// polling is how a client learns a daemon is up.
func (d *crashDaemon) start() {
	d.t.Helper()
	d.runs++
	fmt.Fprintf(d, "==== run %d ====\n", d.runs)
	d.cmd = exec.Command(d.bin, "serve")
	d.cmd.Env = append(os.Environ(), d.env...)
	d.cmd.Stdout, d.cmd.Stderr = d, d
	if err := d.cmd.Start(); err != nil {
		d.t.Fatal(err)
	}
	done := make(chan struct{})
	d.done = done
	go func(cmd *exec.Cmd) { cmd.Wait(); close(done) }(d.cmd)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	tick := time.NewTicker(10 * time.Millisecond)
	defer tick.Stop()
	for {
		req, _ := http.NewRequestWithContext(ctx, "GET", d.URL()+"/healthz", nil)
		if resp, err := http.DefaultClient.Do(req); err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return
			}
		}
		select {
		case <-done:
			d.t.Fatalf("foreman run %d exited before serving:\n%s", d.runs, d.output())
		case <-ctx.Done():
			d.t.Fatalf("foreman run %d did not answer /healthz in 30s:\n%s", d.runs, d.output())
		case <-tick.C:
		}
	}
}

// kill is the crash: SIGKILL, no chance to flush or clean up.
func (d *crashDaemon) kill() {
	if d.cmd == nil {
		return
	}
	d.cmd.Process.Kill()
	<-d.done
	d.cmd = nil
}

// stop is a clean shutdown (SIGTERM); it fails the test if the daemon
// does not exit 0.
func (d *crashDaemon) stop() {
	d.t.Helper()
	if d.cmd == nil {
		return
	}
	d.cmd.Process.Signal(os.Interrupt)
	select {
	case <-d.done:
	case <-time.After(30 * time.Second):
		d.kill()
		d.t.Fatalf("foreman did not stop within 30s of SIGINT")
	}
	if code := d.cmd.ProcessState.ExitCode(); code != 0 {
		d.t.Errorf("foreman exited %d after SIGINT", code)
	}
	d.cmd = nil
}
