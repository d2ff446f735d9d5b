//go:build chaos

package chaos

import (
	"bufio"
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/foreman-dev/foreman/worker/target/ollamatest"
)

// The webhook scenarios of issue 12: a receiver that accepts TCP and never
// answers must not hold up a healthy one, and deliveries must not follow a
// redirect off the allowlist. Both run the real binary.
//
//	go test -tags chaos -count=1 -run Webhook -v ./cmd/foreman/chaos/
//
// CHAOS_HANGING_JOBS (default 1000; the figure is 5000) sets the
// jobs sent to the hanging receiver; the test logs goroutines and RSS.

const whToken = "chaos-token"

var (
	whBuildOnce sync.Once
	whBin       string
	whBuildErr  error
)

// whForeman builds the binary once per run.
func whForeman(t *testing.T) string {
	t.Helper()
	whBuildOnce.Do(func() { whBin = duForeman(t) }) // one binary for the suite, in one fixed place
	if whBuildErr != nil {
		t.Fatal(whBuildErr)
	}
	return whBin
}

// whDaemon is one `foreman serve` in front of a fake Ollama.
type whDaemon struct {
	url string
	pid int
	log *bytes.Buffer
}

func startWebhookDaemon(t *testing.T, extra ...string) *whDaemon {
	t.Helper()
	bin := whForeman(t)
	ollama := ollamatest.New(t)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	var logBuf bytes.Buffer
	var logMu sync.Mutex
	cmd := exec.Command(bin, "serve")
	cmd.Env = append([]string{
		"PATH=" + os.Getenv("PATH"),
		"FOREMAN_DATA_DIR=" + t.TempDir(),
		"FOREMAN_LISTEN=" + addr,
		"FOREMAN_OLLAMA_URL=" + ollama.URL(),
		"FOREMAN_TOKEN=" + whToken,
		"FOREMAN_MAX_QUEUE=0",
		"FOREMAN_SHUTDOWN_GRACE=1s",
		"FOREMAN_DEFAULT_NUM_PREDICT=0", // the fake's own short answers
	}, extra...)
	cmd.Stdout, cmd.Stderr = lockedWriter{&logMu, &logBuf}, lockedWriter{&logMu, &logBuf}
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	exited := make(chan struct{})
	go func() { cmd.Wait(); close(exited) }()
	t.Cleanup(func() {
		cmd.Process.Signal(syscall.SIGTERM)
		select {
		case <-exited:
		case <-time.After(10 * time.Second):
			cmd.Process.Kill()
			<-exited
		}
		if t.Failed() {
			logMu.Lock()
			t.Logf("daemon log:\n%s", tail(logBuf.String(), 4000))
			logMu.Unlock()
		}
	})
	d := &whDaemon{url: "http://" + addr, pid: cmd.Process.Pid, log: &logBuf}
	for deadline := time.Now().Add(30 * time.Second); ; {
		if resp, err := http.Get(d.url + "/healthz"); err == nil {
			resp.Body.Close()
			return d
		}
		select {
		case <-exited:
			t.Fatalf("foreman exited at start:\n%s", logBuf.String())
		case <-time.After(50 * time.Millisecond): // polling is how a client learns a daemon is up
		}
		if time.Now().After(deadline) {
			t.Fatal("foreman did not answer /healthz within 30s")
		}
	}
}

type lockedWriter struct {
	mu *sync.Mutex
	w  io.Writer
}

func (l lockedWriter) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.w.Write(p)
}

func tail(s string, n int) string {
	if len(s) > n {
		return "…" + s[len(s)-n:]
	}
	return s
}

func (d *whDaemon) do(method, path, body string) (int, []byte, error) {
	req, err := http.NewRequest(method, d.url+path, strings.NewReader(body))
	if err != nil {
		return 0, nil, err
	}
	req.Header.Set("Authorization", "Bearer "+whToken)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return 0, nil, err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	return resp.StatusCode, b, err
}

// submit sends an async job with a webhook and returns its id.
func (d *whDaemon) submit(hook string) (string, error) {
	body := fmt.Sprintf(`{"model":"tiny-a","messages":[{"role":"user","content":"hi"}],"state_webhook_url":%q}`, hook)
	status, b, err := d.do(http.MethodPost, "/jobs", body)
	if err != nil {
		return "", err
	}
	if status != http.StatusAccepted {
		return "", fmt.Errorf("POST /jobs: %d %s", status, b)
	}
	var r struct {
		JobID string `json:"job_id"`
	}
	return r.JobID, json.Unmarshal(b, &r)
}

// metric reads one unlabelled sample from /metrics.
func (d *whDaemon) metric(name string) float64 {
	_, b, err := d.do(http.MethodGet, "/metrics", "")
	if err != nil {
		return -1
	}
	sc := bufio.NewScanner(bytes.NewReader(b))
	for sc.Scan() {
		if v, ok := strings.CutPrefix(sc.Text(), name+" "); ok {
			f, _ := strconv.ParseFloat(v, 64)
			return f
		}
	}
	return -1
}

// hangingReceiver accepts connections and never answers.
func hangingReceiver(t *testing.T) (url string, accepted *atomic.Int64) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	accepted = &atomic.Int64{}
	var mu sync.Mutex
	var conns []net.Conn
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			accepted.Add(1)
			mu.Lock()
			conns = append(conns, c)
			mu.Unlock()
		}
	}()
	t.Cleanup(func() {
		ln.Close()
		mu.Lock()
		for _, c := range conns {
			c.Close()
		}
		mu.Unlock()
	})
	return "http://" + ln.Addr().String() + "/hook", accepted
}

func TestWebhookHangingReceiverDoesNotHoldUpOthers(t *testing.T) {
	n := 1000
	if v := os.Getenv("CHAOS_HANGING_JOBS"); v != "" {
		n, _ = strconv.Atoi(v)
	}
	d := startWebhookDaemon(t)
	hang, accepted := hangingReceiver(t)
	before := d.metric("go_goroutines")

	var wg sync.WaitGroup
	var failed atomic.Int64
	next := make(chan struct{}, n)
	for range n {
		next <- struct{}{}
	}
	close(next)
	for range 16 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for range next {
				if _, err := d.submit(hang); err != nil {
					if failed.Add(1) == 1 {
						t.Error(err)
					}
				}
			}
		}()
	}
	wg.Wait()
	if failed.Load() > 0 {
		t.Fatalf("%d submissions failed", failed.Load())
	}

	// The healthy receiver notes when each job's submission arrives.
	var mu sync.Mutex
	arrivals := map[string]time.Time{}
	notify := make(chan struct{})
	healthy := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var p struct {
			JobID string `json:"job_id"`
		}
		json.NewDecoder(r.Body).Decode(&p)
		w.WriteHeader(http.StatusNoContent)
		if r.Header.Get("X-Foreman-Event") != "job.submitted" {
			return
		}
		mu.Lock()
		if _, ok := arrivals[p.JobID]; !ok {
			arrivals[p.JobID] = time.Now()
		}
		close(notify)
		notify = make(chan struct{})
		mu.Unlock()
	}))
	defer healthy.Close()
	// healthyJob submits a job to the healthy receiver and returns how
	// long its first delivery took (-1: none within a minute).
	healthyJob := func() time.Duration {
		sent := time.Now()
		id, err := d.submit(healthy.URL + "/hook")
		if err != nil {
			t.Fatal(err)
		}
		timeout := time.After(60 * time.Second)
		for {
			mu.Lock()
			at, ok := arrivals[id]
			ch := notify
			mu.Unlock()
			if ok {
				return at.Sub(sent)
			}
			select {
			case <-ch:
			case <-timeout:
				t.Errorf("the healthy receiver got nothing within 60s")
				return -1
			}
		}
	}
	took := healthyJob()
	// Watch the daemon for a while: goroutines and RSS must stay flat.
	watch := 10 * time.Second
	if v := os.Getenv("CHAOS_WEBHOOK_WATCH"); v != "" {
		watch, _ = time.ParseDuration(v)
	}
	sample := func() (maxG, maxRSS float64) {
		for end := time.Now().Add(watch); time.Now().Before(end); time.Sleep(500 * time.Millisecond) { // sampling, not synchronisation
			maxG = max(maxG, d.metric("go_goroutines"))
			maxRSS = max(maxRSS, d.metric("process_resident_memory_bytes"))
		}
		return maxG, maxRSS
	}
	maxG, maxRSS := sample()
	t.Logf("%d jobs to a hanging receiver: goroutines %.0f before, max %.0f over %s; max RSS %.1f MiB; %d connections accepted; healthy delivery after %s",
		n, before, maxG, watch, maxRSS/(1<<20), accepted.Load(), took.Round(time.Millisecond))
	if maxG > before+200 {
		t.Errorf("goroutines grew from %.0f to %.0f with the backlog", before, maxG)
	}
	// A replay of the whole log on top of it.
	if status, b, err := d.do(http.MethodPost, "/webhooks/replay", `{"from_offset":1}`); err != nil || status != http.StatusAccepted {
		t.Fatalf("replay: %d %s %v", status, b, err)
	}
	took = healthyJob()
	maxG, maxRSS = sample()
	t.Logf("replay from offset 1: goroutines max %.0f over %s; max RSS %.1f MiB; healthy delivery after %s",
		maxG, watch, maxRSS/(1<<20), took.Round(time.Millisecond))
	if maxG > before+200 {
		t.Errorf("goroutines grew from %.0f to %.0f with the replay", before, maxG)
	}
}

// Issue 12: with FOREMAN_WEBHOOK_ALLOW=127.0.0.1, a receiver answering 307
// to http://localhost:… made the daemon POST every signed payload there.
func TestWebhookRedirectIsNotFollowed(t *testing.T) {
	d := startWebhookDaemon(t, "FOREMAN_WEBHOOK_ALLOW=127.0.0.1", "FOREMAN_WEBHOOK_BACKOFF=10ms")
	var stolen atomic.Int64
	elsewhere := httptest.NewServer(http.HandlerFunc(func(http.ResponseWriter, *http.Request) { stolen.Add(1) }))
	defer elsewhere.Close()
	target := strings.Replace(elsewhere.URL, "127.0.0.1", "localhost", 1) + "/steal"
	redirect := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		http.Redirect(w, r, target, http.StatusTemporaryRedirect)
	}))
	defer redirect.Close()
	id, err := d.submit(redirect.URL + "/hook")
	if err != nil {
		t.Fatal(err)
	}
	// Wait until the submission's delivery has given up after its retry.
	for deadline := time.Now().Add(30 * time.Second); ; time.Sleep(100 * time.Millisecond) { // polling the API as a client would
		_, b, err := d.do(http.MethodGet, "/jobs/"+id+"/events", "")
		if err != nil {
			t.Fatal(err)
		}
		if bytes.Contains(b, []byte("webhook.gave_up")) {
			if !bytes.Contains(b, []byte("not followed")) {
				t.Fatalf("history: %s", b)
			}
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("no webhook.gave_up within 30s: %s", b)
		}
	}
	if stolen.Load() != 0 {
		t.Fatalf("the redirect was followed %d times", stolen.Load())
	}
	for _, hook := range []string{"http://169.254.169.254/latest/meta-data/", "http://localhost:1/", "http://0x7f000001/"} {
		if _, err := d.submit(hook); err == nil || !strings.Contains(err.Error(), "400") {
			t.Errorf("%s: %v, want 400", hook, err)
		}
	}
}
