package webhook

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"
	"time"

	"github.com/cockroachdb/pebble/v2/vfs"
	"github.com/oklog/ulid/v2"

	"github.com/foreman-dev/foreman/eventlog"
	"github.com/foreman-dev/foreman/projections"
)

// receiver records deliveries; respond decides each answer.
type testReceiver struct {
	*httptest.Server
	mu      sync.Mutex
	got     []http.Header
	bodies  [][]byte
	respond func(n int) int
	arrived chan struct{}
}

func newReceiver(t *testing.T, respond func(n int) int) *testReceiver {
	r := &testReceiver{respond: respond, arrived: make(chan struct{}, 100)}
	r.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		b, _ := io.ReadAll(req.Body)
		r.mu.Lock()
		r.got = append(r.got, req.Header.Clone())
		r.bodies = append(r.bodies, b)
		n := len(r.got)
		r.mu.Unlock()
		w.WriteHeader(r.respond(n))
		r.arrived <- struct{}{}
	}))
	t.Cleanup(r.Close)
	return r
}

func (r *testReceiver) wait(t *testing.T, n int) {
	t.Helper()
	for range n {
		select {
		case <-r.arrived:
		case <-time.After(10 * time.Second):
			t.Fatalf("only %d deliveries arrived", len(r.got))
		}
	}
}

type viewRenderer struct{}

func (viewRenderer) RenderJob(j projections.Job) ([]byte, error) {
	return json.Marshal(map[string]any{"result": map[string]string{"model": j.Model}, "artifacts": []string{}})
}

func openLog(t *testing.T, fs vfs.FS) *eventlog.Log {
	t.Helper()
	l, err := eventlog.Open(eventlog.Config{Dir: "d", FS: fs})
	if err != nil {
		t.Fatal(err)
	}
	return l
}

// runDispatcher starts a dispatcher and returns its stop function.
func runDispatcher(t *testing.T, l *eventlog.Log, mod func(*Config)) func() {
	t.Helper()
	cfg := Config{Log: l, Render: viewRenderer{}, Secret: "s3cret", AfterFunc: soon(nil)}
	if mod != nil {
		mod(&cfg)
	}
	d, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { d.Run(ctx); close(done) }()
	return func() { cancel(); <-done }
}

// soon is an AfterFunc that runs f at once, telling waits the delay it
// was asked for.
func soon(waits chan<- time.Duration) func(time.Duration, func()) func() bool {
	return func(d time.Duration, f func()) func() bool {
		if waits != nil {
			waits <- d
		}
		go f()
		return func() bool { return false }
	}
}

func job(t *testing.T, l *eventlog.Log, url string, sync bool, types ...eventlog.Type) ulid.ULID {
	t.Helper()
	id := ulid.Make()
	recs := []eventlog.Record{{Job: id, Type: eventlog.JobSubmitted, Payload: &eventlog.Submitted{Model: "tiny-a", Kind: "chat", WebhookURL: url, Sync: sync, MaxAttempts: 3}}}
	for _, typ := range types {
		var p any = &struct{}{}
		if typ == eventlog.JobStarted {
			p = &eventlog.Started{Attempt: 1}
		}
		recs = append(recs, eventlog.Record{Job: id, Type: typ, Payload: p})
	}
	if _, err := l.Append(context.Background(), recs...); err != nil {
		t.Fatal(err)
	}
	return id
}

// waitHistory waits until the job's history holds n events of typ.
func waitHistory(t *testing.T, l *eventlog.Log, id ulid.ULID, typ eventlog.Type, n int) {
	t.Helper()
	deadline := time.After(10 * time.Second)
	for {
		ch := l.Changed()
		if history(t, l, id, typ) >= n {
			return
		}
		select {
		case <-ch:
		case <-deadline:
			t.Fatalf("job %s: %d %s records, want %d", id, history(t, l, id, typ), typ, n)
		}
	}
}

func history(t *testing.T, l *eventlog.Log, id ulid.ULID, typ eventlog.Type) int {
	n := 0
	hist, _ := l.JobEvents(id)
	for _, e := range hist {
		if e.Type == typ {
			n++
		}
	}
	return n
}

func TestDeliversEveryTransitionSigned(t *testing.T) {
	l := openLog(t, vfs.NewMem())
	defer l.Close()
	rcv := newReceiver(t, func(int) int { return 200 })
	stop := runDispatcher(t, l, nil)
	defer stop()
	job(t, l, rcv.URL+"/sync", true, eventlog.JobStarted) // synchronous: never
	job(t, l, "", false, eventlog.JobStarted)             // no webhook
	id := job(t, l, rcv.URL+"/hook?token=x", false, eventlog.JobStarted, eventlog.JobSucceeded)
	rcv.wait(t, 3)
	states := map[string]string{}
	key, _ := Key("s3cret")
	for i, b := range rcv.bodies {
		var p Payload
		if err := json.Unmarshal(b, &p); err != nil {
			t.Fatal(err)
		}
		if p.JobID != id.String() {
			t.Fatalf("delivery for another job: %s", b)
		}
		states[p.Event] = p.State
		h := rcv.got[i]
		m := hmac.New(sha256.New, key)
		m.Write(b)
		if h.Get("X-Foreman-Signature") != "sha256="+hex.EncodeToString(m.Sum(nil)) {
			t.Fatal("X-Foreman-Signature does not verify")
		}
		m = hmac.New(sha256.New, key)
		m.Write([]byte(h.Get("webhook-id") + "." + h.Get("webhook-timestamp") + "." + string(b)))
		if h.Get("webhook-signature") != "v1,"+base64.StdEncoding.EncodeToString(m.Sum(nil)) {
			t.Fatal("webhook-signature does not verify")
		}
		if p.Event == "succeeded" && (p.Result == nil || p.Artifacts == nil) {
			t.Fatalf("terminal payload without result: %s", b)
		}
	}
	if states["submitted"] != "queued" || states["started"] != "working" || states["succeeded"] != "done" {
		t.Fatalf("states %v", states)
	}
	waitHistory(t, l, id, eventlog.WebhookDelivered, 3)
}

func TestRetriesThenDelivers(t *testing.T) {
	l := openLog(t, vfs.NewMem())
	defer l.Close()
	rcv := newReceiver(t, func(n int) int {
		if n == 1 {
			return 500
		}
		return 200
	})
	waits := make(chan time.Duration, 10)
	stop := runDispatcher(t, l, func(c *Config) { c.AfterFunc = soon(waits) })
	defer stop()
	id := job(t, l, rcv.URL, false)
	rcv.wait(t, 2)
	waitHistory(t, l, id, eventlog.WebhookDelivered, 1)
	if history(t, l, id, eventlog.WebhookAttempted) != 1 {
		t.Fatal("failed attempt not recorded")
	}
	if len(waits) != 1 || <-waits != time.Second {
		t.Fatal("the first retry did not wait the first backoff step")
	}
	if rcv.got[0].Get("webhook-id") != rcv.got[1].Get("webhook-id") {
		t.Fatal("webhook-id changed across retries")
	}
}

func TestGoneStopsAndRetryAfterIsHonoured(t *testing.T) {
	l := openLog(t, vfs.NewMem())
	defer l.Close()
	gone := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) { w.WriteHeader(410) }))
	defer gone.Close()
	later := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Retry-After", "7")
		w.WriteHeader(503)
	}))
	defer later.Close()
	waits := make(chan time.Duration, 10)
	stop := runDispatcher(t, l, func(c *Config) {
		c.Backoff = []time.Duration{time.Second}
		c.AfterFunc = soon(waits)
	})
	defer stop()
	g := job(t, l, gone.URL, false)
	r := job(t, l, later.URL, false)
	waitHistory(t, l, g, eventlog.WebhookGaveUp, 1)
	waitHistory(t, l, r, eventlog.WebhookGaveUp, 1)
	if history(t, l, g, eventlog.WebhookAttempted) != 0 {
		t.Fatal("410 was retried")
	}
	if w := <-waits; w != 7*time.Second {
		t.Fatalf("Retry-After ignored: waited %v", w)
	}
}

func TestPendingDeliveryIsMadeAfterRestart(t *testing.T) {
	fs := vfs.NewMem()
	l := openLog(t, fs)
	// The receiver is down: its port refuses connections.
	down := httptest.NewServer(http.NotFoundHandler())
	url := down.URL
	down.Close()
	blocked := make(chan struct{})
	stop := runDispatcher(t, l, func(c *Config) {
		c.AfterFunc = func(time.Duration, func()) func() bool { close(blocked); return func() bool { return true } }
	})
	id := job(t, l, url+"/hook", false)
	<-blocked // first attempt failed and was recorded; the daemon "stops"
	stop()
	l.Close()

	l = openLog(t, fs)
	defer l.Close()
	var mu sync.Mutex
	var got []string
	rcv := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		got = append(got, r.Header.Get("webhook-id"))
		mu.Unlock()
	}))
	ln, err := netListen(url)
	if err != nil {
		t.Skipf("port reuse failed: %v", err)
	}
	rcv.Listener = ln
	rcv.Start()
	defer rcv.Close()
	stop = runDispatcher(t, l, nil)
	defer stop()
	waitHistory(t, l, id, eventlog.WebhookDelivered, 1)
	if history(t, l, id, eventlog.WebhookAttempted) != 1 {
		t.Fatal("the attempt before the restart is not in the history")
	}
	var delivered eventlog.WebhookAttempt
	hist, _ := l.JobEvents(id)
	hist[len(hist)-1].Decode(&delivered)
	if delivered.Attempt != 2 {
		t.Fatalf("attempt count after restart: %d", delivered.Attempt)
	}
}

func TestReplayRedeliversWithTheSameID(t *testing.T) {
	l := openLog(t, vfs.NewMem())
	defer l.Close()
	rcv := newReceiver(t, func(int) int { return 200 })
	stop := runDispatcher(t, l, nil)
	defer stop()
	id := job(t, l, rcv.URL, false, eventlog.JobStarted)
	rcv.wait(t, 2)
	hist, _ := l.JobEvents(id)
	if _, err := l.Append(context.Background(), eventlog.Record{Type: eventlog.WebhookReplay, Payload: &eventlog.Replay{From: hist[1].Offset}}); err != nil {
		t.Fatal(err)
	}
	rcv.wait(t, 1)
	rcv.mu.Lock()
	defer rcv.mu.Unlock()
	first := map[string]bool{rcv.got[0].Get("webhook-id"): true, rcv.got[1].Get("webhook-id"): true}
	if len(rcv.got) != 3 || rcv.got[2].Get("webhook-id") != ID(hist[1]) || !first[ID(hist[1])] {
		t.Fatalf("replay of offset %d came with id %q", hist[1].Offset, rcv.got[2].Get("webhook-id"))
	}
}

func TestSlowReceiverDoesNotHoldUpOthers(t *testing.T) {
	l := openLog(t, vfs.NewMem())
	defer l.Close()
	release := make(chan struct{})
	slow := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		select {
		case <-release:
		case <-r.Context().Done():
		}
	}))
	defer slow.Close()
	defer close(release)
	fast := newReceiver(t, func(int) int { return 200 })
	stop := runDispatcher(t, l, nil)
	defer stop()
	job(t, l, slow.URL, false)
	job(t, l, fast.URL, false)
	fast.wait(t, 1)
}
