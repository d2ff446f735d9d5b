package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"

	ollama "github.com/ollama/ollama/api"

	"github.com/foreman-dev/foreman/client"
	"github.com/foreman-dev/foreman/worker/target/ollamatest"
)

// hookReceiver is the webhook endpoint of every async job: it checks each
// delivery's signature and records the deliveries per job and offset.
type hookReceiver struct {
	srv    *httptest.Server
	secret string

	mu      sync.Mutex
	got     map[string]map[uint64]hookDelivery // job id → event offset → last delivery
	total   int
	badSig  []string
	changed chan struct{} // closed and replaced on every delivery
}

type hookDelivery struct {
	Event  string `json:"event"`
	State  string `json:"state"`
	JobID  string `json:"job_id"`
	Offset uint64 `json:"offset"`
	count  int
}

func newHookReceiver(t *testing.T, secret string) *hookReceiver {
	h := &hookReceiver{secret: secret, got: map[string]map[uint64]hookDelivery{}, changed: make(chan struct{})}
	h.srv = httptest.NewServer(http.HandlerFunc(h.serve))
	t.Cleanup(h.srv.Close)
	return h
}

func (h *hookReceiver) serve(w http.ResponseWriter, r *http.Request) {
	body, err := io.ReadAll(r.Body)
	if err != nil {
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	h.mu.Lock()
	defer h.mu.Unlock()
	if err := client.VerifySignature(h.secret, r.Header, body); err != nil {
		h.badSig = append(h.badSig, fmt.Sprintf("%v: %s", err, body))
		http.Error(w, err.Error(), http.StatusUnauthorized)
		return
	}
	var d hookDelivery
	if err := json.Unmarshal(body, &d); err != nil || d.JobID == "" || d.Offset == 0 {
		h.badSig = append(h.badSig, fmt.Sprintf("undecodable delivery (%v): %s", err, body))
		http.Error(w, "bad payload", http.StatusBadRequest)
		return
	}
	if h.got[d.JobID] == nil {
		h.got[d.JobID] = map[uint64]hookDelivery{}
	}
	d.count = h.got[d.JobID][d.Offset].count + 1
	h.got[d.JobID][d.Offset] = d
	h.total++
	close(h.changed)
	h.changed = make(chan struct{})
}

// missing returns the wanted (job, offset) deliveries not received yet and
// a channel closed at the next delivery.
func (h *hookReceiver) missing(want map[string][]uint64) ([]string, <-chan struct{}) {
	h.mu.Lock()
	defer h.mu.Unlock()
	var miss []string
	for job, offs := range want {
		for _, off := range offs {
			if _, ok := h.got[job][off]; !ok {
				miss = append(miss, fmt.Sprintf("%s@%d", job, off))
			}
		}
	}
	return miss, h.changed
}

// crashLoad is the clients of one cycle. killed is set just before the
// SIGKILL, so a transport error after it is the crash and not a failure.
type crashLoad struct {
	base    string
	hookURL string
	killed  atomic.Bool
	wg      sync.WaitGroup

	mu       sync.Mutex
	accepted []string // job ids answered 202, in order
	syncOK   int      // sync calls answered 200 with the expected text
	syncErr  int      // sync calls answered with an Ollama-style error
	cut      int      // requests cut by the kill
	failures []string // answers that break the contract
}

func (l *crashLoad) fail(format string, args ...any) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.failures = append(l.failures, fmt.Sprintf(format, args...))
}

// transportError counts a request cut by the crash, or records a failure
// when the daemon was not killed yet.
func (l *crashLoad) transportError(what string, err error) {
	if l.killed.Load() {
		l.mu.Lock()
		l.cut++
		l.mu.Unlock()
		return
	}
	l.fail("%s before the kill: %v", what, err)
}

var crashModels = []string{"tiny-a", "tiny-b"}

// async submits n jobs through POST /jobs, one after the other, until the
// daemon dies.
func (l *crashLoad) async(client, cycle, n int) {
	defer l.wg.Done()
	for i := range n {
		if l.killed.Load() {
			return
		}
		body := fmt.Sprintf(`{"model":%q,"messages":[{"role":"user","content":"async c%d-%d-%d"}],"stream":false,"state_webhook_url":%q}`,
			crashModels[(client+i)%2], cycle, client, i, l.hookURL)
		resp, err := http.Post(l.base+"/jobs", "application/json", strings.NewReader(body))
		if err != nil {
			l.transportError("POST /jobs", err)
			return
		}
		b, err := io.ReadAll(resp.Body)
		resp.Body.Close()
		if err != nil {
			l.transportError("POST /jobs body", err)
			return
		}
		var got struct {
			JobID string `json:"job_id"`
		}
		if resp.StatusCode != http.StatusAccepted || json.Unmarshal(b, &got) != nil || got.JobID == "" {
			l.fail("POST /jobs: %d %s", resp.StatusCode, b)
			continue
		}
		l.mu.Lock()
		l.accepted = append(l.accepted, got.JobID)
		l.mu.Unlock()
	}
}

// sync makes n /api/chat calls and checks each answer: the fake's exact
// text, or an error in Ollama's shape.
func (l *crashLoad) sync(client, cycle, n int) {
	defer l.wg.Done()
	for i := range n {
		if l.killed.Load() {
			return
		}
		model := crashModels[(client+i)%2]
		msgs := []ollama.Message{{Role: "user", Content: fmt.Sprintf("sync c%d-%d-%d", cycle, client, i)}}
		reqBody, _ := json.Marshal(ollama.ChatRequest{Model: model, Messages: msgs, Stream: new(bool)})
		resp, err := http.Post(l.base+"/api/chat", "application/json", bytes.NewReader(reqBody))
		if err != nil {
			l.transportError("POST /api/chat", err)
			return
		}
		b, err := io.ReadAll(resp.Body)
		resp.Body.Close()
		if err != nil {
			l.transportError("POST /api/chat body", err)
			return
		}
		if resp.StatusCode == http.StatusOK {
			var cr ollama.ChatResponse
			want := strings.Join(ollamatest.ChatAnswer(model, msgs, nil), "")
			if err := json.Unmarshal(b, &cr); err != nil || cr.Message.Content != want || !cr.Done {
				l.fail("/api/chat 200 with the wrong answer: %s (want content %q)", b, want)
				continue
			}
			l.mu.Lock()
			l.syncOK++
			l.mu.Unlock()
			continue
		}
		var e struct {
			Error string `json:"error"`
		}
		if json.Unmarshal(b, &e) != nil || e.Error == "" {
			l.fail("/api/chat %d without an Ollama error body: %q", resp.StatusCode, b)
			continue
		}
		l.mu.Lock()
		l.syncErr++
		l.mu.Unlock()
	}
}
