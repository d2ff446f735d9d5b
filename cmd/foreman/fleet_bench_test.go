package main

import (
	"context"
	"encoding/json"
	"slices"
	"testing"
	"time"

	"github.com/foreman-dev/foreman/client"
	"github.com/foreman-dev/foreman/worker/target/ollamatest"
)

// BenchmarkFleetSubmit measures what routing adds to a submission (POST
// /jobs, durable) with three daemons: straight to one daemon, through a
// client.Fleet (which asks the three forecasts concurrently, then
// submits), and through `foreman route` (the same, one hop more). The
// daemons run in this process, each before its own fake Ollama held on a
// first job, so queues grow as the benchmark runs, as a batch's would.
// One op is one submission by each path.
func BenchmarkFleetSubmit(b *testing.B) {
	var urls []string
	for range 3 {
		fake := ollamatest.New(b)
		gate := fake.Block("")
		b.Cleanup(gate.Release)
		urls = append(urls, benchDaemon(b, fake, map[string]string{"FOREMAN_MAX_QUEUE": "100000000"}))
	}
	rt := startRouteB(b, map[string]string{"FOREMAN_ROUTE_DAEMONS": urls[0] + "," + urls[1] + "," + urls[2],
		"FOREMAN_ROUTE_LISTEN": "127.0.0.1:0", "FOREMAN_SHUTDOWN_GRACE": "0s", "FOREMAN_LOG_LEVEL": "error"})
	req := client.Request{Body: json.RawMessage(`{"model":"tiny-a","messages":[{"role":"user","content":"hello"}]}`)}
	ctx := context.Background()
	paths := []struct {
		name    string
		enqueue func(context.Context, client.Request) (string, error)
	}{
		{"direct", client.New(urls[0]).Enqueue},
		{"fleet", client.NewFleet(urls).Enqueue},
		{"route", client.New(rt).Enqueue},
	}
	for _, p := range paths { // warm up
		if _, err := p.enqueue(ctx, req); err != nil {
			b.Fatal(err)
		}
	}
	// The three paths take turns, in rotating order, so that the load
	// the machine is under weighs on each alike.
	lat := make([][]time.Duration, len(paths))
	b.ResetTimer()
	for i := range b.N {
		for k := range paths {
			p := (i + k) % len(paths)
			t0 := time.Now()
			if _, err := paths[p].enqueue(ctx, req); err != nil {
				b.Fatal(err)
			}
			lat[p] = append(lat[p], time.Since(t0))
		}
	}
	b.StopTimer()
	pct := func(d []time.Duration, q int) float64 {
		d = slices.Clone(d)
		slices.Sort(d)
		return float64(d[len(d)*q/100].Microseconds())
	}
	for p := range paths {
		b.ReportMetric(pct(lat[p], 50), paths[p].name+"-p50-µs")
		b.ReportMetric(pct(lat[p], 99), paths[p].name+"-p99-µs")
	}
	b.ReportMetric(pct(lat[1], 99)-pct(lat[0], 99), "fleet-adds-p99-µs")
	b.ReportMetric(pct(lat[2], 99)-pct(lat[0], 99), "route-adds-p99-µs")
}

// startRouteB runs foreman route in process for a benchmark.
func startRouteB(b *testing.B, env map[string]string) string {
	b.Helper()
	m, out := testMain(env)
	ctx, cancel := context.WithCancel(context.Background())
	ready := make(chan string, 1)
	errc := make(chan error, 1)
	go func() { errc <- (&RouteCommand{m: m, ready: ready}).Run(ctx, nil) }()
	select {
	case addr := <-ready:
		b.Cleanup(func() { cancel(); <-errc })
		return "http://" + addr
	case err := <-errc:
		cancel()
		b.Fatalf("route: %v\n%s", err, out)
	}
	return ""
}
