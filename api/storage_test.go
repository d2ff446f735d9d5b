package api

import (
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/cockroachdb/pebble/v2/vfs"
	"github.com/cockroachdb/pebble/v2/vfs/errorfs"
	"github.com/oklog/ulid/v2"

	"github.com/foreman-dev/foreman/eventlog"
	"github.com/foreman-dev/foreman/projections"
)

// setupStorage is setupJobs on a filesystem of the test's choosing.
func setupStorage(t *testing.T, fs vfs.FS, mod func(*Config)) *testBundle {
	t.Helper()
	l, err := eventlog.Open(eventlog.Config{Dir: "d", FS: fs})
	if err != nil {
		t.Fatal(err)
	}
	p, err := projections.Open(context.Background(), l, l)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { p.Run(ctx); close(done) }()
	t.Cleanup(func() { cancel(); <-done; l.Close() })
	cfg := Config{Log: l, Jobs: p, Inventory: &fakeInventory{models: map[string]bool{"tiny-a": true}}}
	if mod != nil {
		mod(&cfg)
	}
	return &testBundle{log: l, proj: p, srv: New(cfg)}
}

type healthBody struct {
	Status   string   `json:"status"`
	Degraded bool     `json:"degraded"`
	Reasons  []string `json:"reasons"`
}

func (b *testBundle) health(t *testing.T) (int, healthBody) {
	t.Helper()
	w := b.do(t, "GET", "/healthz", "")
	var h healthBody
	if err := json.Unmarshal(w.Body.Bytes(), &h); err != nil {
		t.Fatalf("healthz body %q: %v", w.Body.String(), err)
	}
	return w.Code, h
}

// Below FOREMAN_MIN_FREE_DISK new jobs get 507 with the reason and
// /healthz is degraded saying why; jobs already accepted can still be
// read and cancelled; with space back, submissions go through again.
func TestLowDiskRefusesNewJobsWith507(t *testing.T) {
	fs := vfs.NewMem()
	fs.TestingSetDiskUsage(vfs.DiskUsage{AvailBytes: 1 << 30, TotalBytes: 2 << 30})
	b := setupStorage(t, fs, func(c *Config) { c.MinFreeDisk = 100 << 20 })
	id := b.submit(t, chatBody)
	if code, h := b.health(t); code != 200 || h.Degraded {
		t.Fatalf("healthz with room: %d %+v", code, h)
	}

	fs.TestingSetDiskUsage(vfs.DiskUsage{AvailBytes: 10 << 20, TotalBytes: 2 << 30})
	for _, path := range []string{"/jobs", "/api/chat"} {
		w := b.do(t, "POST", path, chatBody)
		if w.Code != http.StatusInsufficientStorage || !strings.Contains(w.Body.String(), "FOREMAN_MIN_FREE_DISK") {
			t.Fatalf("POST %s on a low disk: %d %s", path, w.Code, w.Body.String())
		}
	}
	code, h := b.health(t)
	if code != 200 || !h.Degraded || len(h.Reasons) != 1 || !strings.Contains(h.Reasons[0], "10.0 MiB free") {
		t.Fatalf("healthz on a low disk: %d %+v", code, h)
	}
	if v := b.get(t, id); v.State != "queued" {
		t.Fatalf("accepted job: %+v", v)
	}
	if w := b.do(t, "DELETE", "/jobs/"+id, ""); w.Code >= 300 {
		t.Fatalf("cancel on a low disk: %d %s", w.Code, w.Body.String())
	}

	fs.TestingSetDiskUsage(vfs.DiskUsage{AvailBytes: 1 << 30, TotalBytes: 2 << 30})
	b.submit(t, chatBody)
}

// Once the log failed, /healthz answers 503 with the reason and every
// write 503 with it; reads still answer.
func TestFailedLogAnswers503WithTheReason(t *testing.T) {
	on := &errorfs.Toggle{Injector: errorfs.InjectorFunc(func(op errorfs.Op) error {
		if strings.HasSuffix(op.Path, ".log") && op.Kind.ReadOrWrite() == errorfs.OpIsWrite {
			return syscall.EIO
		}
		return nil
	})}
	b := setupStorage(t, errorfs.Wrap(vfs.NewMem(), on), nil)
	id := b.submit(t, chatBody)
	// The 202 comes once the job is durable; the views include it a
	// moment later, and they stop at the failure (their flush fails).
	if err := b.proj.WaitFor(context.Background(), b.log.LastOffset()); err != nil {
		t.Fatal(err)
	}
	on.On()
	if _, err := b.log.Append(context.Background(), eventlog.Record{Job: ulid.Make(), Type: eventlog.JobExpired, Payload: &eventlog.Expiry{}}); err == nil {
		t.Fatal("append on a failing WAL succeeded")
	}
	on.Off()
	code, h := b.health(t)
	if code != http.StatusServiceUnavailable || h.Status != "failed" || len(h.Reasons) != 1 || !strings.Contains(h.Reasons[0], "input/output error") {
		t.Fatalf("healthz of a failed log: %d %+v", code, h)
	}
	for _, rq := range []struct{ method, path, body string }{
		{"POST", "/jobs", chatBody}, {"POST", "/api/chat", chatBody}, {"POST", "/api/generate", `{"model":"tiny-a","prompt":"x"}`},
		{"DELETE", "/jobs/" + id, ""}, {"POST", "/jobs/" + id + "/retry", ""}, {"POST", "/webhooks/replay", `{"from":1}`},
	} {
		w := b.do(t, rq.method, rq.path, rq.body)
		if w.Code != http.StatusServiceUnavailable || !strings.Contains(w.Body.String(), "the event log failed") {
			t.Errorf("%s %s on a failed log: %d %s", rq.method, rq.path, w.Code, w.Body.String())
		}
	}
	if v := b.get(t, id); v.State != "queued" {
		t.Fatalf("read after the failure: %+v", v)
	}
}

// Once the projections have stopped (the log failed, or the daemon is
// stopping) a read answers from what they hold instead of waiting for
// events they will never apply: GET /jobs/{id} after a failed commit hung
// so until the caller gave up.
func TestReadsAnswerOnceTheProjectionsStopped(t *testing.T) {
	l, err := eventlog.Open(eventlog.Config{Dir: "d", FS: vfs.NewMem()})
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	p, err := projections.Open(context.Background(), l, l)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	ran := make(chan struct{})
	go func() { p.Run(ctx); close(ran) }()
	b := &testBundle{log: l, proj: p, srv: New(Config{Log: l, Jobs: p, Inventory: &fakeInventory{models: map[string]bool{"tiny-a": true}}})}
	id := b.submit(t, chatBody)
	if err := p.WaitFor(context.Background(), 1); err != nil {
		t.Fatal(err)
	}
	cancel()
	<-ran
	late := ulid.Make()
	if _, err := l.Append(context.Background(), eventlog.Record{Job: late, Type: eventlog.JobSubmitted,
		Payload: &eventlog.Submitted{Model: "tiny-a", Kind: eventlog.KindChat}}); err != nil {
		t.Fatal(err)
	}
	// A job in the log but not in the views is not "not found".
	if w := b.do(t, "GET", "/jobs/"+late.String(), ""); w.Code != http.StatusServiceUnavailable || !strings.Contains(w.Body.String(), "stopped short") {
		t.Fatalf("GET of a job the stopped views lack: %d %s", w.Code, w.Body.String())
	}
	for _, path := range []string{"/jobs/" + id, "/jobs", "/queue"} {
		answered := make(chan *httptest.ResponseRecorder, 1)
		go func() { answered <- b.do(t, "GET", path, "") }()
		select {
		case w := <-answered:
			if w.Code != http.StatusOK || !json.Valid(w.Body.Bytes()) || w.Body.Len() == 0 {
				t.Fatalf("GET %s: %d %q", path, w.Code, w.Body.String())
			}
		case <-time.After(10 * time.Second): // a bound on a hang, not a wait for a signal
			t.Fatalf("GET %s with the projections stopped: no answer", path)
		}
	}
}
