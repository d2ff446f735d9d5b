package main

import (
	"context"
	"flag"
	"fmt"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"syscall"
	"testing"
	"time"

	ollama "github.com/ollama/ollama/api"

	"github.com/foreman-dev/foreman/worker/target/ollamatest"
)

// benchDaemon runs foreman on a disk-backed data dir in front of fake. The
// log level is error unless env sets one; with one set, the daemon's log
// goes to a file, as a service's goes to the journal, so that the access
// log's line per request costs what it costs there.
func benchDaemon(b *testing.B, fake *ollamatest.Server, env map[string]string) string {
	b.Helper()
	if env["FOREMAN_DATA_DIR"] == "" {
		env["FOREMAN_DATA_DIR"] = b.TempDir()
	}
	env["FOREMAN_OLLAMA_URL"] = fake.URL()
	env["FOREMAN_LISTEN"] = "127.0.0.1:0"
	env["FOREMAN_SHUTDOWN_GRACE"] = "0s"
	logged := env["FOREMAN_LOG_LEVEL"] != ""
	if !logged {
		env["FOREMAN_LOG_LEVEL"] = "error"
	}
	env["FOREMAN_DEFAULT_NUM_PREDICT"] = "0" // the fake's own 8-token answers, as measured before the cap
	m, out := testMain(env)
	if logged {
		f, err := os.Create(filepath.Join(b.TempDir(), "foreman.log"))
		if err != nil {
			b.Fatal(err)
		}
		b.Cleanup(func() { f.Close() })
		m.Stderr = f
	}
	ctx, cancel := context.WithCancel(context.Background())
	ready := make(chan string, 1)
	errc := make(chan error, 1)
	go func() { errc <- (&ServeCommand{m: m, ready: ready}).Run(ctx, nil) }()
	select {
	case addr := <-ready:
		b.Cleanup(func() { cancel(); <-errc })
		return "http://" + addr
	case err := <-errc:
		cancel()
		b.Fatalf("serve: %v\n%s", err, out)
	}
	return ""
}

var submitDepth = flag.Int("submit.depth", 0, "jobs queued before BenchmarkSubmitJobs starts")

// BenchmarkSubmitJobs measures POST /jobs over loopback HTTP: each 202 is a
// durable (fsynced) submission. The worker is held on a first job, so the
// figures are the API and the log, not the target. FOREMAN_MAX_QUEUE is
// raised as a batch user does (admission runs); -submit.depth queues jobs
// first. It runs in process, for `go test -cpuprofile`; BenchmarkDeepQueue
// measures the real binary.
func BenchmarkSubmitJobs(b *testing.B) {
	for _, clients := range []int{1, 16, 64} {
		b.Run(fmt.Sprintf("clients=%d", clients), func(b *testing.B) {
			fake := ollamatest.New(b)
			gate := fake.Block("")
			defer gate.Release()
			dir := b.TempDir()
			fillQueue(b, dir, *submitDepth)
			base := benchDaemon(b, fake, map[string]string{"FOREMAN_MAX_QUEUE": "100000000", "FOREMAN_DATA_DIR": dir})
			body := []byte(`{"model":"tiny-a","messages":[{"role":"user","content":"hello"}]}`)
			hc := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: clients}}
			post := func(int) error { return fetch(hc, "POST", base+"/jobs", body, http.StatusAccepted) }
			if err := post(0); err != nil { // warm up; also occupies the worker
				b.Fatal(err)
			}
			cpu0 := processCPU()
			latencies(b, clients, "jobs/s", post)
			b.ReportMetric(float64((processCPU()-cpu0).Microseconds())/float64(b.N), "cpu-µs/job")
		})
	}
}

// processCPU is the user and system CPU time this process has used. In
// BenchmarkSubmitJobs it holds the clients too; it varies less than a rate
// when other work shares the machine.
func processCPU() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// BenchmarkSyncChat compares one non-streamed chat through foreman (a
// durable job, the queue, the worker, the result artifact) with the same
// call straight to the target. The difference is foreman's overhead.
func BenchmarkSyncChat(b *testing.B) {
	fake := ollamatest.New(b, ollamatest.WithMaxLoaded(4))
	base := benchDaemon(b, fake, map[string]string{})
	stream := false
	req := &ollama.ChatRequest{Model: "tiny-a", Stream: &stream, Messages: []ollama.Message{{Role: "user", Content: "hi"}}}
	for _, tc := range []struct{ name, url string }{{"direct", fake.URL()}, {"foreman", base}} {
		b.Run(tc.name, func(b *testing.B) {
			u, _ := url.Parse(tc.url)
			c := ollama.NewClient(u, http.DefaultClient)
			ctx := context.Background()
			for b.Loop() {
				if err := c.Chat(ctx, req, func(ollama.ChatResponse) error { return nil }); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
