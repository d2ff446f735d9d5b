package main

import (
	"context"
	"fmt"
	"net/http"
	"os"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/foreman-dev/foreman/client"
	"github.com/foreman-dev/foreman/worker/target/ollamatest"
)

// BenchmarkBatchCreate measures creating a 50,000-line batch against the
// fake with the real binary: from POST /v1/batches to every line durably
// queued (validation and the grouped appends), the upload excluded. Each
// model is held at the fake, so no line runs (the first may start and
// wait). rss-MiB is the daemon process's peak resident set (VmHWM) from
// its start to the end of the create.
func BenchmarkBatchCreate(b *testing.B) {
	const lines = 50_000
	input := chatBatch(lines, "tiny-a", "tiny-b", "tiny-big")
	bin := buildForeman(b)
	for b.Loop() {
		b.StopTimer()
		fake := ollamatest.New(b)
		gates := []*ollamatest.Gate{fake.Block("tiny-a"), fake.Block("tiny-b"), fake.Block("tiny-big")}
		d := &crashDaemon{t: b, bin: bin, addr: freeAddr(b), env: []string{"FOREMAN_DATA_DIR=" + b.TempDir(),
			"FOREMAN_OLLAMA_URL=" + fake.URL(), "FOREMAN_MAX_QUEUE=1000000", "FOREMAN_LOG_LEVEL=error", "FOREMAN_SHUTDOWN_GRACE=0s"}}
		d.env = append(d.env, "FOREMAN_LISTEN="+d.addr)
		d.start()
		c := client.New(d.URL()).Batches()
		ctx := context.Background()
		up, err := c.Upload(ctx, "in.jsonl", strings.NewReader(input))
		if err != nil {
			b.Fatal(err)
		}
		hc := &http.Client{}
		tick := time.NewTicker(2 * time.Millisecond)
		b.StartTimer()
		t0 := time.Now()
		if _, err := c.Create(ctx, client.BatchRequest{InputFileID: up.ID, Endpoint: "/v1/chat/completions"}); err != nil {
			b.Fatal(err)
		}
		for range tick.C {
			if waiting(b, hc, d.URL()) >= lines-1 {
				break
			}
			if time.Since(t0) > 2*time.Minute {
				b.Fatal("lines not queued after 2 minutes")
			}
		}
		b.StopTimer()
		tick.Stop()
		b.ReportMetric(time.Since(t0).Seconds(), "s/batch")
		b.ReportMetric(peakRSSMiB(d.cmd.Process.Pid), "rss-MiB")
		for _, g := range gates {
			g.Release()
		}
		d.kill()
		b.StartTimer()
	}
}

// BenchmarkBatchLines runs a batch's lines back to back against the fake
// answering at once: ns/line is foreman's cost per line, everything
// included (the job's events, the relay, the batch's counts, the output
// file), to compare with WorkerDrain's cost per plain job.
func BenchmarkBatchLines(b *testing.B) {
	const lines = 2000
	input := chatBatch(lines, "tiny-a")
	fake := ollamatest.New(b)
	base := benchDaemon(b, fake, map[string]string{"FOREMAN_MAX_QUEUE": "1000000"})
	c := client.New(base, client.WithPollInterval(5*time.Millisecond)).Batches()
	ctx := context.Background()
	for b.Loop() {
		up, err := c.Upload(ctx, "in.jsonl", strings.NewReader(input))
		if err != nil {
			b.Fatal(err)
		}
		bt, err := c.Create(ctx, client.BatchRequest{InputFileID: up.ID, Endpoint: "/v1/chat/completions"})
		if err != nil {
			b.Fatal(err)
		}
		if bt, err = c.Wait(ctx, bt.ID, nil); err != nil || bt.RequestCounts.Completed != lines {
			b.Fatalf("batch %+v: %v", bt, err)
		}
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*lines), "ns/line")
}

// peakRSSMiB is a process's peak resident set (VmHWM), from /proc.
func peakRSSMiB(pid int) float64 {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return 0
	}
	for _, line := range strings.Split(string(b), "\n") {
		if f := strings.Fields(line); len(f) >= 2 && f[0] == "VmHWM:" {
			kb, _ := strconv.Atoi(f[1])
			return float64(kb) / 1024
		}
	}
	return 0
}
