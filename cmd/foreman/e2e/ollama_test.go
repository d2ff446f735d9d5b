//go:build e2e

package e2e

import (
	"bytes"
	"context"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
)

// kit is the real-Ollama kit built by ../shared/real-ollama/setup.sh.
type kit struct {
	bin    string // the ollama binary
	models string // OLLAMA_MODELS
	home   string // HOME for ollama (it keeps ~/.ollama/id_ed25519 there)
}

// findKit locates the kit under REALOLLAMA_ROOT (default
// $HOME/.cache/real-ollama), as setup.sh lays it out.
func findKit() (kit, error) {
	root := os.Getenv("REALOLLAMA_ROOT")
	if root == "" {
		home, err := os.UserHomeDir()
		if err != nil {
			return kit{}, err
		}
		root = filepath.Join(home, ".cache", "real-ollama")
	}
	k := kit{bin: filepath.Join(root, "bin", "ollama"), models: filepath.Join(root, "models"), home: filepath.Join(root, "home")}
	for _, p := range []string{k.bin, k.models, k.home} {
		if _, err := os.Stat(p); err != nil {
			return kit{}, fmt.Errorf("real-ollama kit incomplete: %w (run ../shared/real-ollama/setup.sh)", err)
		}
	}
	return k, nil
}

// freeAddr returns a loopback address nothing listens on right now.
func freeAddr() (string, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return "", err
	}
	defer ln.Close()
	return ln.Addr().String(), nil
}

// ollamaProc is one `ollama serve` this suite started, on its own port,
// serving the kit's models.
type ollamaProc struct {
	k       kit
	addr    string
	env     []string
	logPath string
	cmd     *exec.Cmd
	exited  chan struct{}
}

// startOllama starts `ollama serve` on a free port. maxLoaded > 0 sets
// OLLAMA_MAX_LOADED_MODELS (1 forces a real swap on every model change).
func startOllama(k kit, dir string, maxLoaded int) (*ollamaProc, error) {
	addr, err := freeAddr()
	if err != nil {
		return nil, err
	}
	env := []string{
		"HOME=" + k.home,
		"PATH=" + os.Getenv("PATH"),
		"OLLAMA_HOST=" + addr,
		"OLLAMA_MODELS=" + k.models,
		"OLLAMA_NOPRUNE=1",       // the models dir is shared with the kit's own server
		"OLLAMA_KEEP_ALIVE=10m",  // nothing unloads behind a test's back
		"OLLAMA_LOAD_TIMEOUT=2m", // a loaded 2-core CI box is slow
		"OLLAMA_NUM_PARALLEL=1",  // one slot per runner: the swap test sees plain FIFO
	}
	if maxLoaded > 0 {
		env = append(env, "OLLAMA_MAX_LOADED_MODELS="+strconv.Itoa(maxLoaded))
	}
	o := &ollamaProc{k: k, addr: addr, env: env, logPath: filepath.Join(dir, "ollama-"+strings.ReplaceAll(addr, ":", "_")+".log")}
	return o, o.start()
}

func (o *ollamaProc) start() error {
	logf, err := os.OpenFile(o.logPath, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		return err
	}
	cmd := exec.Command(o.k.bin, "serve")
	cmd.Env = o.env
	cmd.Stdout, cmd.Stderr = logf, logf
	// Its own process group, so that Stop can sweep the runners too; and
	// it dies with the test binary.
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL}
	if err := cmd.Start(); err != nil {
		logf.Close()
		return fmt.Errorf("start ollama serve: %w", err)
	}
	o.cmd, o.exited = cmd, make(chan struct{})
	go func() { cmd.Wait(); logf.Close(); close(o.exited) }()
	deadline := time.Now().Add(30 * time.Second)
	for time.Now().Before(deadline) {
		select {
		case <-o.exited:
			return fmt.Errorf("ollama serve exited at start; log %s:\n%s", o.logPath, o.logTail())
		default:
		}
		if o.up() {
			return nil
		}
		time.Sleep(50 * time.Millisecond)
	}
	o.Stop()
	return fmt.Errorf("ollama serve did not answer within 30s; log %s:\n%s", o.logPath, o.logTail())
}

// URL is the server's base URL.
func (o *ollamaProc) URL() string { return "http://" + o.addr }

func (o *ollamaProc) up() bool {
	c := http.Client{Timeout: 2 * time.Second}
	resp, err := c.Get(o.URL() + "/api/version")
	if err != nil {
		return false
	}
	resp.Body.Close()
	return resp.StatusCode == http.StatusOK
}

// Stop ends the server with SIGTERM (it stops its runners), then sweeps
// its process group.
func (o *ollamaProc) Stop() {
	if o.cmd == nil {
		return
	}
	pid := o.cmd.Process.Pid
	o.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-o.exited:
	case <-time.After(10 * time.Second):
		o.cmd.Process.Kill()
		<-o.exited
	}
	syscall.Kill(-pid, syscall.SIGKILL) // leftover runners of this server only
	o.cmd = nil
}

// Restart starts the server again on the same address.
func (o *ollamaProc) Restart() error {
	o.Stop()
	return o.start()
}

// Runners lists the pids of this server's model runners: children
// `ollama runner --model ...`.
func (o *ollamaProc) Runners() []int {
	if o.cmd == nil {
		return nil
	}
	parent := o.cmd.Process.Pid
	ents, _ := os.ReadDir("/proc")
	var pids []int
	for _, e := range ents {
		pid, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		stat, err := os.ReadFile(filepath.Join("/proc", e.Name(), "stat"))
		if err != nil {
			continue
		}
		// pid (comm) state ppid ...; comm may hold spaces, so cut at the last ')'.
		i := bytes.LastIndexByte(stat, ')')
		if i < 0 {
			continue
		}
		f := strings.Fields(string(stat[i+1:]))
		if len(f) < 2 || f[1] != strconv.Itoa(parent) {
			continue
		}
		cmdline, _ := os.ReadFile(filepath.Join("/proc", e.Name(), "cmdline"))
		args := strings.Split(string(cmdline), "\x00")
		if len(args) > 2 && args[1] == "runner" && strings.Contains(string(cmdline), "\x00--model\x00") {
			pids = append(pids, pid)
		}
	}
	return pids
}

// RunnerStarts counts the model runners the server started, from its log
// (`msg="starting runner" cmd="... runner --model ..."`): one per real
// model load. ("llama runner started in" is logged twice per load, and the
// GPU discovery at boot starts runners without --model.)
func (o *ollamaProc) RunnerStarts() int {
	b, _ := os.ReadFile(o.logPath)
	n := 0
	for _, l := range bytes.Split(b, []byte("\n")) {
		if bytes.Contains(l, []byte(`msg="starting runner"`)) && bytes.Contains(l, []byte(" --model ")) {
			n++
		}
	}
	return n
}

func (o *ollamaProc) log() string {
	b, _ := os.ReadFile(o.logPath)
	return string(b)
}

func (o *ollamaProc) logTail() string {
	b, _ := os.ReadFile(o.logPath)
	if len(b) > 4000 {
		b = b[len(b)-4000:]
	}
	return string(b)
}

// unloadAll asks the server to unload every loaded model and waits until
// /api/ps is empty, so that a measurement starts cold.
func (o *ollamaProc) unloadAll(ctx context.Context, t *testing.T) {
	t.Helper()
	c := directClient(o.URL())
	ps, err := c.ListRunning(ctx)
	if err != nil {
		t.Fatalf("ps: %v", err)
	}
	for _, m := range ps.Models {
		raw(t, http.MethodPost, o.URL()+"/api/generate", "", fmt.Sprintf(`{"model":%q,"keep_alive":0}`, m.Name))
	}
	waitFor(t, 30*time.Second, "ollama /api/ps empty", func() bool {
		ps, err := c.ListRunning(ctx)
		return err == nil && len(ps.Models) == 0
	})
}
