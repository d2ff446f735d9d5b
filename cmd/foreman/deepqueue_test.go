package main

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"os"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/oklog/ulid/v2"

	"github.com/foreman-dev/foreman/eventlog"
	"github.com/foreman-dev/foreman/worker/target/ollamatest"
)

// A deep queue is a backlog poured into the daemon by a batch: these
// helpers write it straight into the event log, as submissions the API
// accepted earlier, so that a benchmark at 100,000 queued jobs starts in
// seconds instead of filling the queue over HTTP first.

var deepDepths = flag.String("deepqueue.depths", "0,20000,100000", "queue depths BenchmarkDeepQueue measures at")

func depthsFlag(tb testing.TB) []int {
	var out []int
	for _, f := range strings.Split(*deepDepths, ",") {
		n, err := strconv.Atoi(strings.TrimSpace(f))
		if err != nil {
			tb.Fatalf("-deepqueue.depths: %v", err)
		}
		out = append(out, n)
	}
	return out
}

// deepModels are the models a filled queue mixes, as several programs do.
var deepModels = []string{"tiny-a", "tiny-b", "tiny-big"}

// fillQueue appends n chat submissions to the log in dir (the daemon not
// running) and returns their ids in queue order.
func fillQueue(tb testing.TB, dir string, n int) []ulid.ULID {
	tb.Helper()
	if n == 0 {
		return nil
	}
	l, err := eventlog.Open(eventlog.Config{Dir: dir})
	if err != nil {
		tb.Fatal(err)
	}
	defer l.Close()
	ids := make([]ulid.ULID, 0, n)
	const batch = 2000
	for len(ids) < n {
		recs := make([]eventlog.Record, 0, batch)
		for i := 0; i < batch && len(ids) < n; i++ {
			id := ulid.Make()
			model := deepModels[len(ids)%len(deepModels)]
			req := fmt.Appendf(nil, `{"model":%q,"messages":[{"role":"user","content":"document %d"}]}`, model, len(ids))
			sum := sha256.Sum256(req)
			recs = append(recs, eventlog.Record{Job: id, Type: eventlog.JobSubmitted, Payload: &eventlog.Submitted{
				Model: model, Kind: eventlog.KindChat, Request: req, RequestSize: len(req), RequestSHA256: sum[:],
				BodySHA256: sum[:], MaxAttempts: 3,
			}})
			ids = append(ids, id)
		}
		if _, err := l.Append(context.Background(), recs...); err != nil {
			tb.Fatal(err)
		}
	}
	return ids
}

// deepDaemon is the real binary over a filled data dir, in front of a fake
// Ollama whose first job is held, so the queue stays as deep as it was.
type deepDaemon struct {
	*crashDaemon
	ids     []ulid.ULID
	gate    *ollamatest.Gate
	started time.Duration // from exec to /healthz answering
}

func startDeep(tb testing.TB, bin string, depth int, hold bool, env ...string) *deepDaemon {
	tb.Helper()
	dir := tb.TempDir()
	ids := fillQueue(tb, dir, depth)
	fake := ollamatest.New(tb, ollamatest.WithMaxLoaded(3))
	d := &deepDaemon{ids: ids}
	if hold {
		d.gate = fake.Block("")
		tb.Cleanup(d.gate.Release)
	}
	d.crashDaemon = &crashDaemon{t: tb, bin: bin, addr: freeAddr(tb), env: append([]string{
		"FOREMAN_DATA_DIR=" + dir, "FOREMAN_OLLAMA_URL=" + fake.URL(),
		"FOREMAN_LOG_LEVEL=error", "FOREMAN_MAX_QUEUE=100000000", "FOREMAN_SHUTDOWN_GRACE=0s",
		"FOREMAN_DEFAULT_NUM_PREDICT=0", // the fake's own short answers
	}, env...)}
	d.env = append(d.env, "FOREMAN_LISTEN="+d.addr)
	t0 := time.Now()
	d.start()
	d.started = time.Since(t0)
	tb.Cleanup(d.kill)
	d.settle(tb)
	return d
}

// settle waits until the daemon's start-up catch-up is over (the metrics
// collector has folded the whole backlog, and Pebble has no flush or
// compaction running after the rebuild of the backlog's views), so that
// what is measured next is the steady state, not the first seconds after
// a start.
func (d *deepDaemon) settle(tb testing.TB) {
	tb.Helper()
	metric := func(body, name string) string {
		for _, line := range strings.Split(body, "\n") {
			if v, ok := strings.CutPrefix(line, name+" "); ok {
				return v
			}
		}
		return ""
	}
	for deadline := time.Now().Add(2 * time.Minute); time.Now().Before(deadline); time.Sleep(20 * time.Millisecond) {
		resp, err := http.Get(d.URL() + "/metrics")
		if err != nil {
			tb.Fatal(err)
		}
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if last := metric(string(b), "foreman_eventlog_last_offset"); last != "" && last == metric(string(b), "foreman_metrics_offset") &&
			metric(string(b), "foreman_eventlog_compactions_running") == "0" {
			return
		}
	}
	tb.Fatal("the metrics collector did not catch up in 2 minutes")
}

// rssMiB is the daemon's resident set, from /proc.
func (d *deepDaemon) rssMiB(tb testing.TB) float64 {
	tb.Helper()
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", d.cmd.Process.Pid))
	if err != nil {
		tb.Skipf("no /proc: %v", err)
	}
	for _, line := range strings.Split(string(b), "\n") {
		if f := strings.Fields(line); len(f) >= 2 && f[0] == "VmRSS:" {
			kb, _ := strconv.Atoi(f[1])
			return float64(kb) / 1024
		}
	}
	tb.Fatal("no VmRSS")
	return 0
}

// waiting is the queue depth as GET /queue reports it.
func waiting(tb testing.TB, hc *http.Client, base string) int {
	tb.Helper()
	resp, err := hc.Get(base + "/queue")
	if err != nil {
		tb.Fatal(err)
	}
	defer resp.Body.Close()
	var q struct {
		Waiting int `json:"waiting"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&q); err != nil {
		tb.Fatal(err)
	}
	return q.Waiting
}

// latencies runs fn b.N times over clients goroutines and reports the
// rate (in unit) and the p50 and p99 latency.
func latencies(b *testing.B, clients int, unit string, fn func(i int) error) {
	lat := make([][]time.Duration, clients)
	var next atomic.Int64
	var wg sync.WaitGroup
	var failed error
	var once sync.Once
	b.ResetTimer()
	for c := range clients {
		n := b.N / clients
		if c < b.N%clients {
			n++
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			for range n {
				t0 := time.Now()
				if err := fn(int(next.Add(1) - 1)); err != nil {
					once.Do(func() { failed = err })
					return
				}
				lat[c] = append(lat[c], time.Since(t0))
			}
		}()
	}
	wg.Wait()
	b.StopTimer()
	if failed != nil {
		b.Fatal(failed)
	}
	all := slices.Concat(lat...)
	slices.Sort(all)
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), unit)
	if len(all) > 0 {
		b.ReportMetric(float64(all[len(all)/2].Microseconds()), "p50-µs")
		b.ReportMetric(float64(all[len(all)*99/100].Microseconds()), "p99-µs")
	}
}

func fetch(hc *http.Client, method, url string, body []byte, want int) error {
	var r io.Reader
	if body != nil {
		r = bytes.NewReader(body)
	}
	req, err := http.NewRequest(method, url, r)
	if err != nil {
		return err
	}
	resp, err := hc.Do(req)
	if err != nil {
		return err
	}
	io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	if resp.StatusCode != want {
		return fmt.Errorf("%s %s: status %d", method, url, resp.StatusCode)
	}
	return nil
}

// BenchmarkDeepQueue measures the real daemon with a backlog of queued
// jobs (-deepqueue.depths; the worker held on the first, FOREMAN_MAX_QUEUE
// raised so admission runs): start-up, POST /jobs from 1 and 64 clients,
// GET /jobs/{id} of a queued job, GET /queue, and the daemon's RSS.
// docs/benchmarks.md has the figures.
func BenchmarkDeepQueue(b *testing.B) {
	bin := buildForeman(b)
	for _, depth := range depthsFlag(b) {
		b.Run(fmt.Sprintf("depth=%d", depth), func(b *testing.B) {
			d := startDeep(b, bin, depth, true)
			base := d.URL()
			b.Run("start", func(b *testing.B) {
				b.ReportMetric(float64(d.started.Milliseconds()), "start-ms")
				b.ReportMetric(d.rssMiB(b), "rss-MiB")
			})
			body := []byte(`{"model":"tiny-a","messages":[{"role":"user","content":"hello"}]}`)
			for _, clients := range []int{1, 64} {
				b.Run(fmt.Sprintf("post/clients=%d", clients), func(b *testing.B) {
					hc := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: clients}}
					latencies(b, clients, "req/s", func(int) error { return fetch(hc, "POST", base+"/jobs", body, http.StatusAccepted) })
				})
			}
			if len(d.ids) > 1 {
				b.Run("get-job", func(b *testing.B) {
					hc := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: 4}}
					rng := rand.New(rand.NewPCG(uint64(b.N), 1))
					ids := make([]string, b.N)
					for i := range ids {
						ids[i] = d.ids[1+rng.IntN(len(d.ids)-1)].String()
					}
					latencies(b, 4, "req/s", func(i int) error { return fetch(hc, "GET", base+"/jobs/"+ids[i], nil, http.StatusOK) })
				})
			}
			b.Run("get-queue", func(b *testing.B) {
				hc := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: 4}}
				latencies(b, 4, "req/s", func(int) error { return fetch(hc, "GET", base+"/queue", nil, http.StatusOK) })
			})
			b.Run("end", func(b *testing.B) {
				b.ReportMetric(float64(waiting(b, http.DefaultClient, base)), "queued")
				b.ReportMetric(d.rssMiB(b), "rss-MiB")
			})
		})
	}
}

// BenchmarkWorkerDrain measures the worker running jobs back to back
// against a fake Ollama that answers at once: the first 2,000 jobs of a
// backlog of 2,000 and of 20,000. In process, for -cpuprofile.
func BenchmarkWorkerDrain(b *testing.B) {
	for _, depth := range []int{2000, 20000} {
		b.Run(fmt.Sprintf("depth=%d", depth), func(b *testing.B) {
			const measure = 2000
			dir := b.TempDir()
			fillQueue(b, dir, depth)
			fake := ollamatest.New(b, ollamatest.WithMaxLoaded(3))
			gate := fake.Block("") // held until the daemon is up and the clock starts
			base := benchDaemon(b, fake, map[string]string{"FOREMAN_DATA_DIR": dir, "FOREMAN_MAX_QUEUE": "100000000"})
			hc := &http.Client{}
			tick := time.NewTicker(5 * time.Millisecond)
			defer tick.Stop()
			b.ResetTimer()
			t0 := time.Now()
			gate.Release()
			for range tick.C {
				if w := waiting(b, hc, base); depth-w >= measure {
					break
				}
				if time.Since(t0) > 5*time.Minute {
					b.Fatal("drain took over 5 minutes")
				}
			}
			b.StopTimer()
			b.ReportMetric(float64(measure)/time.Since(t0).Seconds(), "jobs/s")
		})
	}
}
