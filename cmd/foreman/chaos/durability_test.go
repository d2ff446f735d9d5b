//go:build chaos

package chaos

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/foreman-dev/foreman/worker/target/ollamatest"
)

// The durability scenarios of issue 12, against the real binary:
//
//	go test -tags chaos -count=1 -run 'ChaosWAL|ChaosDisk' -v ./cmd/foreman/chaos/
//
// WAL damage runs anywhere. The disk-full scenarios mount a small tmpfs
// (root, and a kernel that lets this process mount); where mounting is
// not allowed they are skipped with a loud message. The error-injecting
// filesystem (Pebble's vfs/errorfs) needs a hook the production binary does
// not have, so those faults run in process: cmd/foreman
// TestDaemonStopsNonZeroWhenTheLogFails, api TestFailedLogAnswers503WithTheReason,
// eventlog TestFailedCommitIsStickyNotAPanic.

var (
	duBuildOnce sync.Once
	duBin       string
	duBuildErr  error
)

func duForeman(t *testing.T) string {
	t.Helper()
	duBuildOnce.Do(func() {
		// One fixed place, rebuilt each run, so that runs leave no binaries.
		dir := filepath.Join(os.TempDir(), "foreman-chaos-durability")
		if err := os.MkdirAll(dir, 0o700); err != nil {
			duBuildErr = err
			return
		}
		duBin = filepath.Join(dir, "foreman")
		tmp := fmt.Sprintf("%s.%d", duBin, os.Getpid()) // renamed into place: a concurrent run keeps its own
		out, err := exec.Command("go", "build", "-o", tmp, "github.com/foreman-dev/foreman/cmd/foreman").CombinedOutput()
		if err != nil {
			duBuildErr = fmt.Errorf("go build: %v\n%s", err, out)
			return
		}
		duBuildErr = os.Rename(tmp, duBin)
	})
	if duBuildErr != nil {
		t.Fatal(duBuildErr)
	}
	return duBin
}

type duBuf struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (w *duBuf) Write(p []byte) (int, error) { w.mu.Lock(); defer w.mu.Unlock(); return w.b.Write(p) }
func (w *duBuf) String() string              { w.mu.Lock(); defer w.mu.Unlock(); return w.b.String() }

// duDaemon is one `foreman serve` process.
type duDaemon struct {
	url    string
	out    *duBuf
	cmd    *exec.Cmd
	exited chan struct{}
}

func duEnv(dir, ollama string, extra ...string) []string {
	return append([]string{
		"PATH=" + os.Getenv("PATH"),
		"FOREMAN_DATA_DIR=" + dir,
		"FOREMAN_OLLAMA_URL=" + ollama,
		"FOREMAN_MAX_QUEUE=0",
		"FOREMAN_SHUTDOWN_GRACE=1s",
		"FOREMAN_JOB_TTL=0",
	}, extra...)
}

// duStart starts the daemon and waits for /healthz; if it exits first,
// it returns the daemon with exited closed instead.
func duStart(t *testing.T, env []string) *duDaemon {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	d := &duDaemon{url: "http://" + addr, out: &duBuf{}, exited: make(chan struct{})}
	d.cmd = exec.Command(duForeman(t), "serve")
	d.cmd.Env = append(env, "FOREMAN_LISTEN="+addr)
	d.cmd.Stdout, d.cmd.Stderr = d.out, d.out
	d.cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	if err := d.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() { d.cmd.Wait(); close(d.exited) }()
	t.Cleanup(func() {
		d.cmd.Process.Kill()
		<-d.exited
		if t.Failed() {
			t.Logf("daemon %s output:\n%s", addr, d.out.String())
		}
	})
	for deadline := time.Now().Add(30 * time.Second); time.Now().Before(deadline); {
		select {
		case <-d.exited:
			return d
		default:
		}
		if resp, err := http.Get(d.url + "/healthz"); err == nil {
			resp.Body.Close()
			return d
		}
		time.Sleep(20 * time.Millisecond)
	}
	t.Fatalf("daemon did not answer /healthz:\n%s", d.out.String())
	return nil
}

// wait waits for the process to exit and returns its exit code.
func (d *duDaemon) wait(t *testing.T, within time.Duration) int {
	t.Helper()
	select {
	case <-d.exited:
	case <-time.After(within):
		t.Fatalf("daemon still running after %s:\n%s", within, d.out.String())
	}
	return d.cmd.ProcessState.ExitCode()
}

// stop sends SIGTERM and returns the exit code.
func (d *duDaemon) stop(t *testing.T) int {
	t.Helper()
	d.cmd.Process.Signal(syscall.SIGTERM)
	return d.wait(t, 30*time.Second)
}

func (d *duDaemon) do(method, path, body string) (int, string, error) {
	req, _ := http.NewRequest(method, d.url+path, strings.NewReader(body))
	req.Header.Set("Content-Type", "application/json")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return 0, "", err
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b), nil
}

// submit posts one async job; id is set on 202.
func (d *duDaemon) submit(prompt string) (code int, id, body string, err error) {
	b, _ := json.Marshal(map[string]any{"model": "tiny-a", "prompt": prompt})
	code, body, err = d.do("POST", "/jobs", string(b))
	if code == http.StatusAccepted {
		var r struct {
			JobID string `json:"job_id"`
		}
		json.Unmarshal([]byte(body), &r)
		id = r.JobID
	}
	return code, id, body, err
}

// duRun runs a foreman command to completion.
func duRun(t *testing.T, env []string, args ...string) (int, string) {
	t.Helper()
	cmd := exec.Command(duForeman(t), args...)
	cmd.Env = env
	out, err := cmd.CombinedOutput()
	var ee *exec.ExitError
	if err != nil && !errors.As(err, &ee) {
		t.Fatal(err)
	}
	return cmd.ProcessState.ExitCode(), string(out)
}

// TestChaosWALDamage: acknowledged jobs, a clean stop, 64 bytes flipped in
// the middle of the newest WAL. The daemon refuses to start (exit 3,
// naming the range), log verify fails (exit 3), log repair --accept-loss
// records the range, and the daemon starts again with the rest.
func TestChaosWALDamage(t *testing.T) {
	for _, mode := range []string{"flip", "truncate"} {
		t.Run(mode, func(t *testing.T) {
			dir := t.TempDir()
			ollama := ollamatest.New(t)
			env := duEnv(dir, ollama.URL())
			d := duStart(t, env)
			var ids []string
			var mu sync.Mutex
			var wg sync.WaitGroup
			for w := range 8 {
				wg.Add(1)
				go func() {
					defer wg.Done()
					for i := range 40 {
						code, id, body, err := d.submit(fmt.Sprintf("job %d/%d", w, i))
						if err != nil || code != http.StatusAccepted {
							t.Errorf("submit: %d %s %v", code, body, err)
							return
						}
						mu.Lock()
						ids = append(ids, id)
						mu.Unlock()
					}
				}()
			}
			wg.Wait()
			if code := d.stop(t); code != 0 {
				t.Fatalf("clean stop exited %d", code)
			}

			wals, _ := filepath.Glob(filepath.Join(dir, "*.log"))
			slices.Sort(wals)
			wal := wals[len(wals)-1]
			b, err := os.ReadFile(wal)
			if err != nil {
				t.Fatal(err)
			}
			if mode == "flip" {
				for i := len(b) / 2; i < len(b)/2+64; i++ {
					b[i] ^= 0xff
				}
			} else {
				b = b[:len(b)/2]
			}
			if err := os.WriteFile(wal, b, 0o644); err != nil {
				t.Fatal(err)
			}

			d = duStart(t, env)
			code := d.wait(t, 30*time.Second)
			out := d.out.String()
			if code != 3 || !strings.Contains(out, "refusing to start") || !strings.Contains(out, "log repair --accept-loss") {
				t.Fatalf("start on a damaged WAL: exit %d\n%s", code, out)
			}
			t.Logf("start refused: %s", strings.TrimSpace(out[strings.LastIndex(out, "foreman:"):]))
			if code, out := duRun(t, env, "log", "verify"); code != 3 || !strings.Contains(out, "ack record:  FAILED") {
				t.Fatalf("log verify on a damaged WAL: exit %d\n%s", code, out)
			}
			if code, out := duRun(t, env, "log", "repair", "--accept-loss"); code != 0 || !strings.Contains(out, "as lost") {
				t.Fatalf("log repair: exit %d\n%s", code, out)
			} else {
				t.Logf("repair: %s", strings.TrimSpace(out))
			}
			d = duStart(t, env)
			found, lost := 0, 0
			for _, id := range ids {
				switch code, body, err := d.do("GET", "/jobs/"+id, ""); {
				case err != nil:
					t.Fatal(err)
				case code == 200:
					found++
				case code == 404:
					lost++
				default:
					t.Fatalf("GET /jobs/%s: %d %s", id, code, body)
				}
			}
			t.Logf("%d acknowledged jobs: %d still there, %d lost with the WAL and recorded as log.lost", len(ids), found, lost)
			if code, _, body, _ := d.submit("after the repair"); code != http.StatusAccepted {
				t.Fatalf("submit after the repair: %d %s", code, body)
			}
			if code := d.stop(t); code != 0 {
				t.Fatalf("stop after the repair exited %d", code)
			}
			if code, out := duRun(t, env, "log", "verify"); code != 0 {
				t.Fatalf("log verify after the repair: exit %d\n%s", code, out)
			}
		})
	}
}

// duTmpfs mounts a tmpfs of size bytes, or skips loudly.
func duTmpfs(t *testing.T, size int64) string {
	t.Helper()
	dir := t.TempDir()
	if err := syscall.Mount("tmpfs", dir, "tmpfs", 0, fmt.Sprintf("size=%d", size)); err != nil {
		t.Skipf("!!!!!!!! SKIPPING the disk-full scenario: cannot mount a tmpfs here (%v); run as root where mount is allowed !!!!!!!!", err)
	}
	t.Cleanup(func() {
		if err := syscall.Unmount(dir, syscall.MNT_DETACH); err != nil {
			t.Errorf("unmount %s: %v", dir, err)
		}
	})
	return dir
}

func duFree(t *testing.T, dir string) int64 {
	t.Helper()
	var st syscall.Statfs_t
	if err := syscall.Statfs(dir, &st); err != nil {
		t.Fatal(err)
	}
	return int64(st.Bavail) * st.Bsize
}

// duFill writes a filler file in dir until free space is at most leave
// bytes (0: until ENOSPC), and returns its path.
func duFill(t *testing.T, dir string, leave int64) string {
	t.Helper()
	path := filepath.Join(dir, "filler")
	f, err := os.OpenFile(path, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o600)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	chunk := make([]byte, 64<<10)
	for {
		free := duFree(t, dir)
		if free <= leave {
			return path
		}
		n := min(int64(len(chunk)), max(free-leave, 4096))
		if _, err := f.Write(chunk[:n]); err != nil {
			if errors.Is(err, syscall.ENOSPC) {
				return path
			}
			t.Fatal(err)
		}
	}
}

// TestChaosDiskHeadroom: below FOREMAN_MIN_FREE_DISK new jobs get 507 and
// /healthz is degraded with the reason; with space back they are accepted.
func TestChaosDiskHeadroom(t *testing.T) {
	mnt := duTmpfs(t, 96<<20)
	dir := filepath.Join(mnt, "data")
	ollama := ollamatest.New(t)
	env := duEnv(dir, ollama.URL(), "FOREMAN_MIN_FREE_DISK=32MiB")
	d := duStart(t, env)
	if code, _, body, _ := d.submit("with room"); code != http.StatusAccepted {
		t.Fatalf("submit with room: %d %s", code, body)
	}
	filler := duFill(t, mnt, 24<<20)
	code, _, body, err := d.submit("on a low disk")
	if err != nil || code != http.StatusInsufficientStorage || !strings.Contains(body, "FOREMAN_MIN_FREE_DISK") {
		t.Fatalf("submit on a low disk: %d %s %v", code, body, err)
	}
	t.Logf("low disk: %d %s", code, strings.TrimSpace(body))
	hc, hb, _ := d.do("GET", "/healthz", "")
	if hc != 200 || !strings.Contains(hb, `"degraded":true`) || !strings.Contains(hb, "FOREMAN_MIN_FREE_DISK") {
		t.Fatalf("healthz on a low disk: %d %s", hc, hb)
	}
	os.Remove(filler)
	if code, _, body, _ := d.submit("space is back"); code != http.StatusAccepted {
		t.Fatalf("submit with space back: %d %s", code, body)
	}
	t0 := time.Now()
	if code := d.stop(t); code != 0 {
		t.Fatalf("stop exited %d", code)
	}
	t.Logf("stop took %s", time.Since(t0))
}

// TestChaosDiskFull: with the guard off, a tmpfs filled to the brim. The
// request whose commit fails is answered (503, saying why), the daemon
// logs one line and exits non-zero; after space is freed and a restart,
// every acknowledged job is there.
func TestChaosDiskFull(t *testing.T) {
	mnt := duTmpfs(t, 96<<20)
	dir := filepath.Join(mnt, "data")
	ollama := ollamatest.New(t)
	env := duEnv(dir, ollama.URL(), "FOREMAN_MIN_FREE_DISK=0")
	d := duStart(t, env)
	var acked []string
	prompt := strings.Repeat("x", 200<<10) // stored as a blob beside the event
	if code, id, body, _ := d.submit(prompt); code != http.StatusAccepted {
		t.Fatalf("submit with room: %d %s", code, body)
	} else {
		acked = append(acked, id)
	}
	filler := duFill(t, mnt, 0)
	var lastCode int
	var lastBody string
	for i := 0; i < 2000; i++ {
		code, id, body, err := d.submit(prompt)
		if err != nil {
			t.Fatalf("submit %d on a full disk: no answer (%v)", i, err)
		}
		if code == http.StatusAccepted {
			acked = append(acked, id)
			continue
		}
		lastCode, lastBody = code, body
		break
	}
	if lastCode != http.StatusServiceUnavailable || !strings.Contains(lastBody, "no space left on device") {
		t.Fatalf("the request that hit the full disk: %d %s", lastCode, lastBody)
	}
	t.Logf("full disk after %d acknowledged jobs: %d %s", len(acked), lastCode, strings.TrimSpace(lastBody))
	code := d.wait(t, 30*time.Second)
	out := d.out.String()
	if code == 0 || !strings.Contains(out, "the event log failed") || strings.Contains(out, "goroutine ") {
		t.Fatalf("daemon after a failed commit: exit %d\n%s", code, out)
	}
	t.Logf("daemon exited %d; its log:\n%s", code, out)

	os.Remove(filler)
	d = duStart(t, env)
	for _, id := range acked {
		if code, body, err := d.do("GET", "/jobs/"+id, ""); err != nil || code != 200 {
			t.Fatalf("acknowledged job %s after the restart: %d %s %v", id, code, body, err)
		}
	}
	t.Logf("after freeing space and a restart: all %d acknowledged jobs are there", len(acked))
	t0 := time.Now()
	if code := d.stop(t); code != 0 {
		t.Fatalf("stop exited %d", code)
	}
	t.Logf("stop took %s", time.Since(t0))
}
