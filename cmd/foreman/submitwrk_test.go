package main

import (
	"flag"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"regexp"
	"strconv"
	"testing"
	"time"

	"github.com/foreman-dev/foreman/worker/target/ollamatest"
)

var wrkDuration = flag.Duration("submit.wrk", 3*time.Second, "how long BenchmarkSubmitJobsWrk runs wrk")

// BenchmarkSubmitJobsWrk is BenchmarkSubmitJobs with the 64 clients in wrk
// (Debian's package), a load generator in C, instead of Go's HTTP client in
// the same process: on 2 cores the Go clients take a fifth of the CPU the
// daemon would have. Each of the 64 connections sends POST /jobs again as
// soon as its 202 comes; any other status fails the benchmark. It runs
// once for -submit.wrk whatever b.N is, and is skipped where wrk is not
// installed (.ci/run installs it). It runs at the default log level, a
// line per request in the access log, and at error, without it.
func BenchmarkSubmitJobsWrk(b *testing.B) {
	if _, err := exec.LookPath("wrk"); err != nil {
		b.Skip("wrk is not installed (apt-get install wrk)")
	}
	// info is the default: the access log writes a line per request (to
	// a file here); error is the figure without it.
	for _, level := range []string{"info", "error"} {
		b.Run("log="+level, func(b *testing.B) { submitWrk(b, level) })
	}
}

func submitWrk(b *testing.B, level string) {
	fake := ollamatest.New(b)
	gate := fake.Block("")
	defer gate.Release()
	base := benchDaemon(b, fake, map[string]string{"FOREMAN_MAX_QUEUE": "100000000", "FOREMAN_LOG_LEVEL": level})
	body := `{"model":"tiny-a","messages":[{"role":"user","content":"hello"}]}`
	if err := fetch(http.DefaultClient, "POST", base+"/jobs", []byte(body), http.StatusAccepted); err != nil {
		b.Fatal(err) // also occupies the worker
	}
	script := b.TempDir() + "/post.lua"
	lua := fmt.Sprintf(`wrk.method = "POST"
wrk.body = '%s'
wrk.headers["Content-Type"] = "application/json"
local other = 0
response = function(status, headers, body) if status ~= 202 then other = other + 1 end end
done = function(summary, latency, requests)
  io.write(string.format("RESULT %%d %%d %%d %%d %%d\n", summary.requests, summary.duration, latency:percentile(50), latency:percentile(99), other))
end
`, body)
	if err := os.WriteFile(script, []byte(lua), 0o644); err != nil {
		b.Fatal(err)
	}
	b.ResetTimer()
	cpu0 := processCPU()
	out, err := exec.Command("wrk", "-t1", "-c64", "-d"+wrkDuration.String(), "-s", script, base+"/jobs").CombinedOutput()
	cpu := processCPU() - cpu0
	b.StopTimer()
	if err != nil {
		b.Fatalf("wrk: %v\n%s", err, out)
	}
	m := regexp.MustCompile(`RESULT (\d+) (\d+) (\d+) (\d+) (\d+)`).FindSubmatch(out)
	if m == nil {
		b.Fatalf("wrk printed no result:\n%s", out)
	}
	n := func(i int) float64 { v, _ := strconv.ParseFloat(string(m[i]), 64); return v }
	if n(5) != 0 {
		b.Fatalf("%v of %v answers were not 202", n(5), n(1))
	}
	b.ReportMetric(n(1)/(n(2)/1e6), "jobs/s")
	b.ReportMetric(n(3), "p50-µs")
	b.ReportMetric(n(4), "p99-µs")
	b.ReportMetric(float64(cpu.Microseconds())/n(1), "daemon-cpu-µs/job")
}
