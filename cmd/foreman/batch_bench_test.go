package main

import (
	"context"
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
// fake: from POST /v1/batches to every line durably queued (validation
// and the grouped appends), the upload excluded. The fake is held so no
// line runs. rss-MiB is the process's peak resident set after it.
func BenchmarkBatchCreate(b *testing.B) {
	const lines = 50_000
	input := chatBatch(lines, "tiny-a", "tiny-b", "tiny-big")
	for b.Loop() {
		b.StopTimer()
		fake := ollamatest.New(b)
		gate := fake.Block("")
		base := benchDaemon(b, fake, map[string]string{"FOREMAN_MAX_QUEUE": "1000000"})
		c := client.New(base).Batches()
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
			if waiting(b, hc, base) >= lines {
				break
			}
			if time.Since(t0) > 2*time.Minute {
				b.Fatal("lines not queued after 2 minutes")
			}
		}
		b.StopTimer()
		tick.Stop()
		b.ReportMetric(time.Since(t0).Seconds(), "s/batch")
		b.ReportMetric(peakRSSMiB(), "rss-MiB")
		gate.Release()
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

// peakRSSMiB is this process's peak resident set (VmHWM): the daemon,
// the client and the benchmark's own input together, an upper bound.
func peakRSSMiB() float64 {
	b, err := os.ReadFile("/proc/self/status")
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
