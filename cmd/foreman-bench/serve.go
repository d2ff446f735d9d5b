package main

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"
)

// Serve is what a real `foreman serve` on the fixture showed.
type Serve struct {
	Ready time.Duration // process start to the "foreman serving" line
	RSS   int64         // VmRSS once /healthz answered, bytes
	HWM   int64         // VmHWM (peak RSS) at that moment, bytes
}

// ServeConfig says how to run the daemon.
type ServeConfig struct {
	Foreman string        // path of the foreman binary
	Dir     string        // the fixture; the daemon runs on a clone
	Timeout time.Duration // for start-up and for shutdown, each
}

// servingMsg is the daemon's log line once it listens.
const servingMsg = `msg="foreman serving"`

// MeasureServe starts `foreman serve` on a clone of the fixture, waits for
// it to listen and answer GET /healthz, reads its memory from
// /proc/PID/status, then stops it with SIGTERM.
func MeasureServe(ctx context.Context, cfg ServeConfig) (Serve, error) {
	var s Serve
	err := withClone(cfg.Dir, func(clone string) error {
		var err error
		s, err = serve(ctx, cfg, clone)
		return err
	})
	if err != nil {
		return Serve{}, fmt.Errorf("serve: %w", err)
	}
	return s, nil
}

func serve(ctx context.Context, cfg ServeConfig, dir string) (Serve, error) {
	timeout := cfg.Timeout
	if timeout <= 0 {
		timeout = 2 * time.Minute
	}
	cmd := exec.CommandContext(ctx, cfg.Foreman, "serve")
	cmd.Env = append(os.Environ(),
		"FOREMAN_DATA_DIR="+dir,
		"FOREMAN_LISTEN=127.0.0.1:0",
		"FOREMAN_OLLAMA_URL=http://127.0.0.1:1", // nothing listens: no local Ollama takes part
		"FOREMAN_LOG_LEVEL=info",
	)
	stderr, err := cmd.StderrPipe()
	if err != nil {
		return Serve{}, err
	}
	t0 := time.Now()
	if err := cmd.Start(); err != nil {
		return Serve{}, err
	}
	out := &tail{}
	ready := make(chan string, 1)
	eof := make(chan struct{})
	go func() {
		defer close(eof)
		sc := bufio.NewScanner(stderr)
		for sc.Scan() {
			line := sc.Text()
			out.add(line)
			if addr, ok := servingAddr(line); ok {
				select {
				case ready <- addr:
				default:
				}
			}
		}
		io.Copy(io.Discard, stderr)
	}()
	stop := func() error { // SIGTERM, then wait; kill if it hangs
		cmd.Process.Signal(syscall.SIGTERM)
		select {
		case <-eof:
		case <-time.After(timeout):
			cmd.Process.Kill()
			<-eof
		}
		if err := cmd.Wait(); err != nil {
			return fmt.Errorf("foreman exited: %w\n%s", err, out)
		}
		return nil
	}

	var s Serve
	var addr string
	select {
	case addr = <-ready:
		s.Ready = time.Since(t0)
	case <-eof:
		err := cmd.Wait()
		return Serve{}, fmt.Errorf("foreman exited before serving (%v):\n%s", err, out)
	case <-time.After(timeout):
		stop()
		return Serve{}, fmt.Errorf("no %s line within %s:\n%s", servingMsg, timeout, out)
	case <-ctx.Done():
		stop()
		return Serve{}, ctx.Err()
	}
	if err := waitHealthy(ctx, "http://"+addr+"/healthz", timeout); err != nil {
		stop()
		return Serve{}, err
	}
	st, err := procStatus(cmd.Process.Pid)
	if err != nil {
		stop()
		return Serve{}, err
	}
	s.RSS, s.HWM = st["VmRSS"], st["VmHWM"]
	if err := stop(); err != nil {
		return Serve{}, err
	}
	return s, nil
}

// servingAddr returns addr from the "foreman serving" line of slog's text
// handler: ... msg="foreman serving" addr=127.0.0.1:41234 data_dir=...
func servingAddr(line string) (string, bool) {
	i := strings.Index(line, servingMsg)
	if i < 0 {
		return "", false
	}
	_, rest, ok := strings.Cut(line[i:], " addr=")
	if !ok {
		return "", false
	}
	addr, _, _ := strings.Cut(rest, " ")
	addr = strings.Trim(addr, `"`)
	return addr, addr != ""
}

// waitHealthy polls url until it answers 200.
func waitHealthy(ctx context.Context, url string, timeout time.Duration) error {
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	var last error
	for {
		req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
		if err != nil {
			return err
		}
		resp, err := http.DefaultClient.Do(req)
		if err == nil {
			io.Copy(io.Discard, resp.Body)
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return nil
			}
			err = fmt.Errorf("status %s", resp.Status)
		}
		last = err
		select {
		case <-ctx.Done():
			return fmt.Errorf("GET %s: not healthy within %s: %w", url, timeout, last)
		case <-time.After(20 * time.Millisecond):
		}
	}
}

// procStatus reads the kB fields (VmRSS, VmHWM, ...) of /proc/PID/status,
// in bytes.
func procStatus(pid int) (map[string]int64, error) {
	b, err := os.ReadFile(filepath.Join("/proc", strconv.Itoa(pid), "status"))
	if err != nil {
		return nil, fmt.Errorf("read memory of pid %d (Linux only): %w", pid, err)
	}
	return parseStatus(string(b))
}

func parseStatus(s string) (map[string]int64, error) {
	m := map[string]int64{}
	for _, line := range strings.Split(s, "\n") {
		k, v, ok := strings.Cut(line, ":")
		f := strings.Fields(v)
		if !ok || len(f) != 2 || f[1] != "kB" {
			continue
		}
		n, err := strconv.ParseInt(f[0], 10, 64)
		if err != nil {
			return nil, fmt.Errorf("/proc status %s: %w", k, err)
		}
		m[k] = n << 10
	}
	if _, ok := m["VmRSS"]; !ok {
		return nil, errors.New("/proc status has no VmRSS")
	}
	return m, nil
}

// BuildForeman builds ./cmd/foreman into dir (the working directory must
// be inside the module).
func BuildForeman(ctx context.Context, dir string) (string, error) {
	bin := filepath.Join(dir, "foreman")
	out, err := exec.CommandContext(ctx, "go", "build", "-o", bin, "github.com/foreman-dev/foreman/cmd/foreman").CombinedOutput()
	if err != nil {
		return "", fmt.Errorf("go build foreman (or pass --foreman PATH): %w\n%s", err, out)
	}
	return bin, nil
}

// tail keeps the last lines of the daemon's log for error messages.
type tail struct {
	mu    sync.Mutex
	lines []string
}

func (t *tail) add(line string) {
	t.mu.Lock()
	defer t.mu.Unlock()
	if len(t.lines) == 20 {
		t.lines = t.lines[1:]
	}
	t.lines = append(t.lines, line)
}

func (t *tail) String() string {
	t.mu.Lock()
	defer t.mu.Unlock()
	return strings.Join(t.lines, "\n")
}
