package main

import (
	"fmt"
	"io"
	"os"
	"runtime"
	"strconv"
	"strings"
	"time"
)

// The targets from the start-up performance issue.
const (
	TargetRebuildRate = 500_000         // events/s, at least
	TargetRestart     = 2 * time.Second // at most
	TargetRSS         = 200 << 20       // bytes, below
)

// Report is one startup measurement.
type Report struct {
	Dir     string
	Events  uint64
	Rebuild Rebuild
	Restart Restart
	Serve   Serve
}

// Missed lists the metrics whose target was missed.
func (r Report) Missed() []string {
	var out []string
	for _, row := range r.rows() {
		if !row.pass {
			out = append(out, row.metric)
		}
	}
	return out
}

type row struct {
	metric, value, target string
	pass                  bool
}

func (r Report) rows() []row {
	return []row{
		{
			"full rebuild rate",
			fmt.Sprintf("%s events/s (median of %d; %s events in %s)", commas(uint64(r.Rebuild.Rate())), rebuildRuns, commas(r.Rebuild.Events), secs(r.Rebuild.Took)),
			fmt.Sprintf("≥ %s events/s", commas(TargetRebuildRate)),
			r.Rebuild.Rate() >= TargetRebuildRate,
		},
		{
			"restart with checkpoint",
			fmt.Sprintf("%s (median of %d; replayed %s events, %s active jobs loaded)",
				secs(r.Restart.Median()), len(r.Restart.Runs), commas(r.Restart.Replayed), commas(uint64(r.Restart.Active))),
			"≤ " + secs(TargetRestart),
			r.Restart.Median() <= TargetRestart,
		},
		{
			"RSS after start",
			fmt.Sprintf("%.1f MiB (peak VmHWM %.1f MiB; serving %s after exec)", mib(r.Serve.RSS), mib(r.Serve.HWM), secs(r.Serve.Ready)),
			fmt.Sprintf("< %.0f MiB", mib(TargetRSS)),
			r.Serve.RSS < TargetRSS,
		},
	}
}

// WriteMarkdown writes the report as a Markdown table and a line naming
// the fixture and the machine.
func (r Report) WriteMarkdown(w io.Writer) error {
	var b strings.Builder
	fmt.Fprintf(&b, "Fixture %s: %s events, %s jobs. %s, %s, GOMAXPROCS=%d.\n\n",
		r.Dir, commas(r.Events), commas(uint64(r.Restart.Jobs)), cpuModel(), runtime.Version(), runtime.GOMAXPROCS(0))
	b.WriteString("| metric | value | target | result |\n|---|---|---|---|\n")
	for _, row := range r.rows() {
		res := "pass"
		if !row.pass {
			res = "**FAIL**"
		}
		fmt.Fprintf(&b, "| %s | %s | %s | %s |\n", row.metric, row.value, row.target, res)
	}
	_, err := io.WriteString(w, b.String())
	return err
}

// cpuModel is the CPU's name and count, as far as Linux tells.
func cpuModel() string {
	name := runtime.GOARCH
	if b, err := os.ReadFile("/proc/cpuinfo"); err == nil {
		for _, line := range strings.Split(string(b), "\n") {
			if k, v, ok := strings.Cut(line, ":"); ok && strings.TrimSpace(k) == "model name" {
				name = strings.TrimSpace(v)
				break
			}
		}
	}
	return fmt.Sprintf("%d × %s", runtime.NumCPU(), name)
}

// commas formats n with thousands separators.
func commas(n uint64) string {
	s := strconv.FormatUint(n, 10)
	var b strings.Builder
	for i, c := range s {
		if i > 0 && (len(s)-i)%3 == 0 {
			b.WriteByte(',')
		}
		b.WriteRune(c)
	}
	return b.String()
}

func mib(n int64) float64 { return float64(n) / (1 << 20) }

// secs formats d as ms below a second, else as seconds.
func secs(d time.Duration) string {
	if d < time.Second {
		return fmt.Sprintf("%d ms", d.Milliseconds())
	}
	return fmt.Sprintf("%.2f s", d.Seconds())
}
