package main

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/oklog/ulid/v2"

	"github.com/foreman-dev/foreman/eventlog"
	"github.com/foreman-dev/foreman/worker/target/ollamatest"
)

// endsBundle is a daemon in process in front of a fake Ollama, for the
// waiters' tests.
type endsBundle struct {
	t    *testing.T
	base string
	fake *ollamatest.Server
	seen map[string]bool // jobs already handed out by newestJob
}

func (b *endsBundle) call(ctx context.Context, method, path, body string) (int, string) {
	b.t.Helper()
	req, _ := http.NewRequestWithContext(ctx, method, b.base+path, strings.NewReader(body))
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		b.t.Fatal(err)
	}
	defer resp.Body.Close()
	got, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(got)
}

// newestJob waits for a job of model not seen before to be listed: a sync
// caller learns no id, so this is how the test finds it.
func (b *endsBundle) newestJob(model string) string {
	b.t.Helper()
	for deadline := time.Now().Add(20 * time.Second); time.Now().Before(deadline); time.Sleep(20 * time.Millisecond) { // polling the API, as a client would
		_, body := b.call(context.Background(), "GET", "/jobs?limit=1&model="+model, "")
		var l struct {
			Jobs []struct {
				ID string `json:"job_id"`
			} `json:"jobs"`
		}
		json.Unmarshal([]byte(body), &l)
		if len(l.Jobs) == 1 && !b.seen[l.Jobs[0].ID] {
			b.seen[l.Jobs[0].ID] = true
			return l.Jobs[0].ID
		}
	}
	b.t.Fatal("the job was never listed")
	return ""
}

// waiter is a sync caller or a stream reader, attached to a job.
type waiter struct {
	id    string
	ended chan string // what it received, once its request is over
}

const endsChat = `{"model":"tiny-a","messages":[{"role":"user","content":"hi"}]}`

// syncCaller sends POST /api/chat and returns once its job is listed.
func (b *endsBundle) syncCaller(ctx context.Context) waiter {
	w := waiter{ended: make(chan string, 1)}
	go func() {
		req, _ := http.NewRequestWithContext(ctx, "POST", b.base+"/api/chat", strings.NewReader(endsChat))
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			w.ended <- "error: " + err.Error()
			return
		}
		defer resp.Body.Close()
		body, _ := io.ReadAll(resp.Body)
		w.ended <- fmt.Sprintf("%d %s", resp.StatusCode, body)
	}()
	w.id = b.newestJob("tiny-a")
	return w
}

// streamReader submits an async job and follows GET /jobs/{id}/stream; it
// returns once the stream's headers came (the reader is attached).
func (b *endsBundle) streamReader(ctx context.Context) waiter {
	b.t.Helper()
	status, body := b.call(ctx, "POST", "/jobs", endsChat)
	if status != http.StatusAccepted {
		b.t.Fatalf("POST /jobs: %d %s", status, body)
	}
	var r struct {
		ID string `json:"job_id"`
	}
	json.Unmarshal([]byte(body), &r)
	b.seen[r.ID] = true
	req, _ := http.NewRequestWithContext(ctx, "GET", b.base+"/jobs/"+r.ID+"/stream", nil)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		b.t.Fatal(err)
	}
	w := waiter{id: r.ID, ended: make(chan string, 1)}
	go func() {
		defer resp.Body.Close()
		var last string
		for sc := bufio.NewScanner(resp.Body); sc.Scan(); {
			last = sc.Text()
		}
		w.ended <- "200 " + last
	}()
	return w
}

func (w waiter) wait(t *testing.T) string {
	t.Helper()
	select {
	case got := <-w.ended:
		return got
	case <-time.After(30 * time.Second):
		t.Fatalf("job %s ended, its waiter still waits", w.id)
		return ""
	}
}

// Issue 12: every end of a job reaches the sync caller and the stream
// reader attached to it.
func TestEveryEndReachesItsWaiters(t *testing.T) {
	fake := ollamatest.New(t)
	addr, stop := startServe(t, map[string]string{"FOREMAN_DATA_DIR": t.TempDir(), "FOREMAN_OLLAMA_URL": fake.URL(),
		"FOREMAN_JOB_TIMEOUT": "3s", "FOREMAN_SHUTDOWN_GRACE": "0s"})
	defer stop()
	b := &endsBundle{t: t, base: "http://" + addr, fake: fake, seen: map[string]bool{}}
	// blocked holds the worker on a job of another model while the
	// waiter attaches to a queued job, then lets it go.
	blocked := func(ctx context.Context, attach func(context.Context) waiter, meanwhile func(waiter)) waiter {
		gate := fake.Block("tiny-b")
		defer gate.Release()
		if status, body := b.call(ctx, "POST", "/jobs", `{"model":"tiny-b","messages":[{"role":"user","content":"hold"}]}`); status != http.StatusAccepted {
			t.Fatalf("POST /jobs: %d %s", status, body)
		}
		<-gate.Arrived()
		w := attach(ctx)
		meanwhile(w)
		return w
	}
	for _, kind := range []struct {
		name   string
		attach func(context.Context) waiter
	}{{"sync", b.syncCaller}, {"stream", b.streamReader}} {
		for _, path := range []struct {
			name string
			run  func(ctx context.Context) waiter
			want string // in what the waiter got
		}{
			{"done", func(ctx context.Context) waiter {
				return blocked(ctx, kind.attach, func(waiter) {})
			}, `"done":true`},
			{"failed", func(ctx context.Context) waiter {
				return blocked(ctx, kind.attach, func(waiter) { fake.FailNext(1, ollamatest.HTTPFault(500, "boom")) })
			}, "boom"},
			{"cancelled queued", func(ctx context.Context) waiter {
				return blocked(ctx, kind.attach, func(w waiter) { b.call(ctx, "DELETE", "/jobs/"+w.id, "") })
			}, "cancel"},
			{"cancelled working", func(ctx context.Context) waiter {
				gate := fake.Block("tiny-a")
				b.t.Cleanup(gate.Release) // held until the waiter has its answer
				w := kind.attach(ctx)
				<-gate.Arrived()
				b.call(ctx, "DELETE", "/jobs/"+w.id, "")
				return w
			}, "cancel"},
			{"timeout", func(ctx context.Context) waiter {
				fake.FailNext(1, ollamatest.Hang())
				return kind.attach(ctx)
			}, "timed out"},
		} {
			t.Run(kind.name+"/"+path.name, func(t *testing.T) {
				b.t = t
				ctx, cancel := context.WithCancel(context.Background())
				defer cancel()
				if got := path.run(ctx).wait(t); !strings.Contains(got, path.want) {
					t.Fatalf("the waiter got %q, want %q in it", got, path.want)
				}
			})
		}
	}
}

// Issue 12: a job whose request the worker cannot read was failed without
// a word to its waiters, which hung. Its end reaches them from the log.
func TestAnUnreadableRequestEndsItsWaiters(t *testing.T) {
	fake := ollamatest.New(t)
	cfg := DefaultConfig()
	cfg.DataDir, cfg.Listen, cfg.OllamaURL, cfg.ShutdownGrace = t.TempDir(), "127.0.0.1:0", fake.URL(), 0
	ctx, cancel := context.WithCancel(context.Background())
	d, err := OpenDaemon(ctx, cfg, slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- d.Run(ctx) }()
	defer func() { cancel(); <-done }()

	// The worker is held on another job while the waiters attach.
	gate := fake.Block("tiny-b")
	defer gate.Release()
	b := &endsBundle{t: t, base: "http://" + d.Addr(), fake: fake, seen: map[string]bool{}}
	if status, body := b.call(ctx, "POST", "/jobs", `{"model":"tiny-b","messages":[{"role":"user","content":"hold"}]}`); status != http.StatusAccepted {
		t.Fatalf("POST /jobs: %d %s", status, body)
	}
	<-gate.Arrived()
	// Submissions whose request blob is missing, as after a damaged store.
	unreadable := func(id ulid.ULID, sync bool) {
		evs, err := d.log.Append(ctx, eventlog.Record{Job: id, Type: eventlog.JobSubmitted, Payload: &eventlog.Submitted{
			Model: "tiny-a", Kind: eventlog.KindChat, Sync: sync, MaxAttempts: 3, RequestBlob: "request/missing"}})
		if err == nil {
			err = d.proj.WaitFor(ctx, evs[0].Offset) // visible to GET, as a 202 would be
		}
		if err != nil {
			t.Fatal(err)
		}
	}
	// A sync caller is a hub subscriber made before its job is appended.
	syncID, asyncID := ulid.Make(), ulid.Make()
	sub := d.hub.Subscribe(syncID)
	defer sub.Close()
	unreadable(syncID, true)
	unreadable(asyncID, false)
	req, _ := http.NewRequestWithContext(ctx, "GET", b.base+"/jobs/"+asyncID.String()+"/stream", nil)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	stream := waiter{id: asyncID.String(), ended: make(chan string, 1)}
	go func() {
		defer resp.Body.Close()
		body, _ := io.ReadAll(resp.Body)
		stream.ended <- string(body)
	}()
	gate.Release()

	if got := stream.wait(t); !strings.Contains(got, "cannot read the request") {
		t.Fatalf("the stream got %q", got)
	}
	for deadline := time.After(30 * time.Second); ; {
		select {
		case <-sub.Ready():
		case <-deadline:
			t.Fatal("the sync caller's subscription never heard of the end")
		}
		msgs, _ := sub.Next()
		if len(msgs) > 0 && msgs[len(msgs)-1].End {
			if m := msgs[len(msgs)-1]; !strings.Contains(m.Err, "cannot read the request") {
				t.Fatalf("end %+v", m)
			}
			return
		}
	}
}
