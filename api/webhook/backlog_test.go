package webhook

import (
	"context"
	"errors"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"runtime"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/cockroachdb/pebble/v2/vfs"
	"github.com/oklog/ulid/v2"

	"github.com/foreman-dev/foreman/eventlog"
)

// hangingReceiver accepts connections and never answers, like a receiver
// whose process is wedged.
func hangingReceiver(t *testing.T) (url string, accepted *atomic.Int64) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	accepted = &atomic.Int64{}
	var mu sync.Mutex
	var conns []net.Conn
	done := make(chan struct{})
	go func() {
		defer close(done)
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
		<-done
		mu.Lock()
		for _, c := range conns {
			c.Close()
		}
		mu.Unlock()
	})
	return "http://" + ln.Addr().String() + "/hook", accepted
}

// jobs appends n submitted jobs with a webhook, in groups as the API does.
func jobs(t *testing.T, l *eventlog.Log, url string, n int) []ulid.ULID {
	t.Helper()
	var ids []ulid.ULID
	var recs []eventlog.Record
	for i := range n {
		id := ulid.Make()
		ids = append(ids, id)
		recs = append(recs, eventlog.Record{Job: id, Type: eventlog.JobSubmitted, Payload: &eventlog.Submitted{Model: "tiny-a", Kind: "chat", WebhookURL: url, MaxAttempts: 3}})
		if len(recs) == 500 || i == n-1 {
			if _, err := l.Append(context.Background(), recs...); err != nil {
				t.Fatal(err)
			}
			recs = recs[:0]
		}
	}
	return ids
}

// startDispatcher is runDispatcher that also returns the dispatcher.
func startDispatcher(t *testing.T, l Log, mod func(*Config)) (*Dispatcher, func() error) {
	t.Helper()
	cfg := Config{Log: l, Render: viewRenderer{}, AfterFunc: soon(nil)}
	if mod != nil {
		mod(&cfg)
	}
	d, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	errc := make(chan error, 1)
	go func() { errc <- d.Run(ctx) }()
	return d, func() error { cancel(); return <-errc }
}

func (d *Dispatcher) heldNow() int {
	d.mu.Lock()
	defer d.mu.Unlock()
	return d.held
}

// Issue 12: 5,000 jobs whose receiver never answers took goroutines from
// 23 to 15,089, and a healthy receiver got nothing for minutes.
func TestHangingReceiverDoesNotHoldUpOthers(t *testing.T) {
	l := openLog(t, vfs.NewMem())
	defer l.Close()
	hang, accepted := hangingReceiver(t)
	fast := newReceiver(t, func(int) int { return 200 })
	base := runtime.NumGoroutine()
	d, stop := startDispatcher(t, l, nil)
	defer stop()
	jobs(t, l, hang, 5000)
	id := job(t, l, fast.URL, false)
	fast.wait(t, 1)
	waitHistory(t, l, id, eventlog.WebhookDelivered, 1)
	// Each goroutine of the dispatcher, plus two per connection.
	bound := base + 1 + d.cfg.Concurrency + 2*d.cfg.Concurrency + 8
	if g := runtime.NumGoroutine(); g > bound {
		t.Fatalf("%d goroutines with a backlog of 5,000 (bound %d)", g, bound)
	}
	if h := d.heldNow(); h > d.cfg.Queued {
		t.Fatalf("%d deliveries in memory, bound %d", h, d.cfg.Queued)
	}
	if n := accepted.Load(); n > int64(d.cfg.PerReceiver) {
		t.Fatalf("%d connections to the hanging receiver, bound %d", n, d.cfg.PerReceiver)
	}
}

// A backlog larger than memory allows is read from the log as room frees
// up: every event is delivered exactly once, both receivers get turns,
// and memory never holds more than Queued.
func TestBacklogBeyondMemoryIsDeliveredOnce(t *testing.T) {
	l := openLog(t, vfs.NewMem())
	defer l.Close()
	var d *Dispatcher
	var over atomic.Int64
	counting := func(n *atomic.Int64) *httptest.Server {
		s := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
			if h := d.heldNow(); h > d.cfg.Queued {
				over.Store(int64(h))
			}
			n.Add(1)
		}))
		t.Cleanup(s.Close)
		return s
	}
	var na, nb atomic.Int64
	a, b := counting(&na), counting(&nb)
	ida := jobs(t, l, a.URL, 300)
	idb := jobs(t, l, b.URL, 300)
	d, stop := startDispatcher(t, l, func(c *Config) { c.Concurrency, c.PerReceiver, c.Queued = 3, 2, 10 })
	defer stop()
	waitHistory(t, l, ida[len(ida)-1], eventlog.WebhookDelivered, 1)
	waitHistory(t, l, idb[len(idb)-1], eventlog.WebhookDelivered, 1)
	for _, id := range append(ida, idb...) {
		waitHistory(t, l, id, eventlog.WebhookDelivered, 1)
	}
	if na.Load() != 300 || nb.Load() != 300 {
		t.Fatalf("deliveries %d and %d, want 300 each", na.Load(), nb.Load())
	}
	if over.Load() != 0 {
		t.Fatalf("%d deliveries in memory, bound %d", over.Load(), d.cfg.Queued)
	}
}

// A replay from offset 1 of a log larger than memory allows is read in
// pieces, and reaches every event.
func TestReplayFromTheStartIsReadInPieces(t *testing.T) {
	l := openLog(t, vfs.NewMem())
	defer l.Close()
	var n atomic.Int64
	rcv := httptest.NewServer(http.HandlerFunc(func(http.ResponseWriter, *http.Request) { n.Add(1) }))
	defer rcv.Close()
	ids := jobs(t, l, rcv.URL, 200)
	d, stop := startDispatcher(t, l, func(c *Config) { c.Concurrency, c.PerReceiver, c.Queued = 2, 1, 4 })
	defer stop()
	for _, id := range ids {
		waitHistory(t, l, id, eventlog.WebhookDelivered, 1)
	}
	if _, err := l.Append(context.Background(), eventlog.Record{Type: eventlog.WebhookReplay, Payload: &eventlog.Replay{From: 1}}); err != nil {
		t.Fatal(err)
	}
	for _, id := range ids {
		waitHistory(t, l, id, eventlog.WebhookDelivered, 2)
	}
	if n.Load() != 400 {
		t.Fatalf("%d deliveries, want 400", n.Load())
	}
	if h := d.heldNow(); h > d.cfg.Queued {
		t.Fatalf("%d held", h)
	}
}

// failingScans fails every bounded scan (a replay's range) the way a
// damaged store does.
type failingScans struct{ *eventlog.Log }

var errDamaged = errors.New("store damaged")

func (f failingScans) Scan(ctx context.Context, from, to uint64, fn func(eventlog.Event) error) error {
	if to != 0 {
		return errDamaged
	}
	return f.Log.Scan(ctx, from, to, fn)
}

func TestReplayScanErrorStopsTheDispatcher(t *testing.T) {
	l := openLog(t, vfs.NewMem())
	defer l.Close()
	rcv := newReceiver(t, func(int) int { return 200 })
	job(t, l, rcv.URL, false)
	d, err := New(Config{Log: failingScans{l}, Render: viewRenderer{}})
	if err != nil {
		t.Fatal(err)
	}
	errc := make(chan error, 1)
	go func() { errc <- d.Run(context.Background()) }()
	rcv.wait(t, 1)
	if _, err := l.Append(context.Background(), eventlog.Record{Type: eventlog.WebhookReplay, Payload: &eventlog.Replay{From: 1}}); err != nil {
		t.Fatal(err)
	}
	select {
	case err := <-errc:
		if !errors.Is(err, errDamaged) {
			t.Fatalf("Run: %v", err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("the replay's scan error was dropped: Run goes on")
	}
}

func TestAttemptIsBoundedByTimeout(t *testing.T) {
	l := openLog(t, vfs.NewMem())
	defer l.Close()
	hang, _ := hangingReceiver(t)
	_, stop := startDispatcher(t, l, func(c *Config) { c.Timeout, c.Backoff = 50*time.Millisecond, []time.Duration{} })
	defer stop()
	id := job(t, l, hang, false)
	waitHistory(t, l, id, eventlog.WebhookGaveUp, 1)
}

// What was held, behind or not yet read when the daemon stopped is
// delivered after the restart, each event once: the cursor never passes
// a backlog left in the log.
func TestBacklogLeftInTheLogIsDeliveredAfterRestart(t *testing.T) {
	fs := vfs.NewMem()
	l := openLog(t, fs)
	release, arrived := make(chan struct{}), make(chan struct{}, 100)
	stuck := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		arrived <- struct{}{}
		select {
		case <-release:
		case <-r.Context().Done():
		}
	}))
	defer stuck.Close()
	defer close(release)
	ids := jobs(t, l, stuck.URL, 60)
	_, stop := startDispatcher(t, l, func(c *Config) { c.Concurrency, c.PerReceiver, c.Queued = 2, 1, 4 })
	<-arrived // the first attempt is in flight, the rest held or in the log
	stop()
	l.Close()

	l = openLog(t, fs)
	defer l.Close()
	var n atomic.Int64
	rcv := httptest.NewServer(http.HandlerFunc(func(http.ResponseWriter, *http.Request) { n.Add(1) }))
	defer rcv.Close()
	_, stop = startDispatcher(t, l, func(c *Config) {
		c.Concurrency, c.PerReceiver, c.Queued = 2, 1, 4
		c.Client = &http.Client{Transport: redirectTo(rcv.URL)}
	})
	defer stop()
	deadline := time.After(10 * time.Second)
	for undelivered := slices.Clone(ids); len(undelivered) > 0; {
		ch := l.Changed()
		undelivered = slices.DeleteFunc(undelivered, func(id ulid.ULID) bool { return history(t, l, id, eventlog.WebhookDelivered) > 0 })
		if len(undelivered) == 0 {
			break
		}
		select {
		case <-ch:
		case <-deadline:
			c, _ := l.Cursor(CursorName)
			for _, id := range undelivered {
				hist, _ := l.JobEvents(id)
				t.Logf("job %s (offset %d) undelivered; cursor %d", id, hist[0].Offset, c)
			}
			t.Fatalf("%d jobs never delivered", len(undelivered))
		}
	}
	for _, id := range ids {
		if k := history(t, l, id, eventlog.WebhookDelivered); k != 1 {
			t.Fatalf("job %s delivered %d times", id, k)
		}
	}
}

// redirectTo sends every request to base instead, as if the receiver had
// come back at another address.
type redirectTo string

func (r redirectTo) RoundTrip(req *http.Request) (*http.Response, error) {
	u, _ := url.Parse(string(r))
	req = req.Clone(req.Context())
	req.URL.Scheme, req.URL.Host = u.Scheme, u.Host
	return http.DefaultTransport.RoundTrip(req)
}
