package main

import (
	"bytes"
	"context"
	"errors"
	"flag"
	"log/slog"
	"net"
	"net/http"
	"os"
	"os/signal"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/foreman-dev/foreman/eventlog"
	"github.com/foreman-dev/foreman/projections"
)

// fakeEnv makes the test binary act as `foreman serve`: "ok" serves like
// the daemon does (log, projections, "foreman serving", /healthz), "fail"
// refuses to start.
const fakeEnv = "FOREMAN_BENCH_FAKE_SERVE"

func TestMain(m *testing.M) {
	switch os.Getenv(fakeEnv) {
	case "ok":
		os.Exit(fakeServe())
	case "fail":
		os.Stderr.WriteString("foreman: refusing to start: the event log is corrupt\n")
		os.Exit(1)
	}
	os.Exit(m.Run())
}

func fakeServe() int {
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGTERM)
	defer stop()
	logger := slog.New(slog.NewTextHandler(os.Stderr, nil))
	l, err := eventlog.Open(eventlog.Config{Dir: os.Getenv("FOREMAN_DATA_DIR")})
	if err != nil {
		logger.Error("open", "err", err)
		return 1
	}
	defer l.Close()
	if _, err := projections.Open(ctx, l, l); err != nil {
		logger.Error("projections", "err", err)
		return 1
	}
	ln, err := net.Listen("tcp", os.Getenv("FOREMAN_LISTEN"))
	if err != nil {
		logger.Error("listen", "err", err)
		return 1
	}
	srv := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path != "/healthz" {
			http.NotFound(w, r)
			return
		}
		w.Write([]byte(`{"status":"ok"}`))
	})}
	go srv.Serve(ln)
	logger.Info("foreman serving", "addr", ln.Addr().String(), "data_dir", l.Dir())
	<-ctx.Done()
	srv.Shutdown(context.Background())
	return 0
}

// testBinary is the path to run as a fake foreman.
func testBinary(t *testing.T) string {
	t.Helper()
	exe, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	return exe
}

func run(t *testing.T, args ...string) (string, string, error) {
	t.Helper()
	var stdout, stderr bytes.Buffer
	m := &Main{Stdout: &stdout, Stderr: &stderr}
	err := m.Run(context.Background(), args)
	return stdout.String(), stderr.String(), err
}

func TestAllWithFakeForeman(t *testing.T) {
	t.Setenv(fakeEnv, "ok")
	tmp := t.TempDir()
	out, errOut, err := run(t, "all", "--events", "3000", "--tail", "500", "--restarts", "2", "--foreman", testBinary(t), "--tmp", tmp)
	if err != nil && !errors.Is(err, ErrTargetMissed) {
		t.Fatalf("all: %v\n%s", err, errOut)
	}
	for _, want := range []string{
		"| full rebuild rate | ", "3,000 events in",
		"| restart with checkpoint | ", "median of 2; replayed 500 events",
		"| RSS after start | ", "< 200 MiB",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("report lacks %q:\n%s", want, out)
		}
	}
	if ents, _ := os.ReadDir(tmp); len(ents) != 0 {
		t.Fatalf("all left %d entries in its temp dir", len(ents))
	}
}

func TestStartupLeavesFixtureUnchanged(t *testing.T) {
	t.Setenv(fakeEnv, "ok")
	ctx := context.Background()
	dir := filepath.Join(t.TempDir(), "data")
	f, err := BuildFixture(ctx, FixtureConfig{Dir: dir, Events: 2000, Tail: 300, Seed: 1})
	if err != nil {
		t.Fatal(err)
	}
	if f.Events != 2000 || f.Checkpoint != 1700 || f.Jobs < 400 {
		t.Fatalf("fixture %+v", f)
	}
	for range 2 { // the second time must replay the same tail
		r, err := MeasureStartup(ctx, StartupConfig{Dir: dir, Foreman: testBinary(t), Restarts: 1}, &bytes.Buffer{})
		if err != nil {
			t.Fatal(err)
		}
		if r.Rebuild.Events != 2000 || r.Restart.Replayed != 300 || r.Restart.Jobs != f.Jobs || r.Serve.RSS <= 0 || r.Serve.HWM < r.Serve.RSS {
			t.Fatalf("report %+v", r)
		}
	}
	if _, err := BuildFixture(ctx, FixtureConfig{Dir: dir, Events: 10}); err == nil {
		t.Fatal("fixture into a non-empty dir accepted")
	}
}

func TestServeReportsEarlyExit(t *testing.T) {
	t.Setenv(fakeEnv, "fail")
	dir := filepath.Join(t.TempDir(), "data")
	if _, err := BuildFixture(context.Background(), FixtureConfig{Dir: dir, Events: 10}); err != nil {
		t.Fatal(err)
	}
	_, err := MeasureServe(context.Background(), ServeConfig{Foreman: testBinary(t), Dir: dir})
	if err == nil || !strings.Contains(err.Error(), "refusing to start") {
		t.Fatalf("err = %v, want the daemon's own message", err)
	}
}

func TestUsage(t *testing.T) {
	t.Parallel()
	for _, args := range [][]string{
		nil,
		{"frobnicate"},
		{"fixture"},
		{"fixture", "--dir", "x", "--events", "0"},
		{"fixture", "--dir", "x", "--tail", "-1"},
		{"startup"},
		{"startup", "--dir", "x", "--restarts", "0"},
		{"all", "extra"},
		{"startup", "--nope"},
	} {
		_, _, err := run(t, args...)
		if exitCode(err) != ExitUsage {
			t.Errorf("%q: exit %d (%v), want %d", args, exitCode(err), err, ExitUsage)
		}
	}
	if _, _, err := run(t, "fixture", "-h"); !errors.Is(err, flag.ErrHelp) {
		t.Errorf("-h: %v", err)
	}
}

func TestServingAddr(t *testing.T) {
	t.Parallel()
	for line, want := range map[string]string{
		`time=2025-06-01T00:00:00Z level=INFO msg="foreman serving" addr=127.0.0.1:41234 data_dir=/d offset=3`: "127.0.0.1:41234",
		`level=INFO msg="foreman serving" addr="[::1]:80"`:                                                     "[::1]:80",
		`level=INFO msg="projections ready" offset=3`:                                                          "",
		`level=INFO msg="foreman serving" data_dir=/d`:                                                         "",
	} {
		got, ok := servingAddr(line)
		if got != want || ok != (want != "") {
			t.Errorf("servingAddr(%q) = %q, %v; want %q", line, got, ok, want)
		}
	}
}

func TestParseStatus(t *testing.T) {
	t.Parallel()
	m, err := parseStatus("Name:\tforeman\nVmPeak:\t  900000 kB\nVmHWM:\t   81920 kB\nVmRSS:\t   51200 kB\nThreads:\t9\n")
	if err != nil {
		t.Fatal(err)
	}
	if m["VmRSS"] != 50<<20 || m["VmHWM"] != 80<<20 {
		t.Fatalf("%v", m)
	}
	if _, err := parseStatus("Name:\tx\n"); err == nil {
		t.Fatal("status without VmRSS accepted")
	}
}

func TestReport(t *testing.T) {
	t.Parallel()
	r := Report{
		Dir: "d", Events: 1_000_000,
		Rebuild: Rebuild{Events: 1_000_000, Took: 4_000_000_000},
		Restart: Restart{Runs: []time.Duration{300e6, 100e6, 200e6}, Replayed: 4096},
		Serve:   Serve{RSS: 300 << 20, HWM: 400 << 20},
	}
	if got := r.Restart.Median(); got != 200e6 {
		t.Fatalf("median %s", got)
	}
	if got := strings.Join(r.Missed(), ","); got != "full rebuild rate,RSS after start" {
		t.Fatalf("missed %q", got)
	}
	var b strings.Builder
	r.WriteMarkdown(&b)
	for _, want := range []string{"| full rebuild rate | 250,000 events/s (median of 3; 1,000,000 events in 4.00 s) | ≥ 500,000 events/s | **FAIL** |", "| 200 ms (median of 3", "| ≤ 2.00 s | pass |"} {
		if !strings.Contains(b.String(), want) {
			t.Errorf("report lacks %q:\n%s", want, b.String())
		}
	}
	for n, want := range map[uint64]string{0: "0", 999: "999", 1000: "1,000", 1234567: "1,234,567"} {
		if got := commas(n); got != want {
			t.Errorf("commas(%d) = %q", n, got)
		}
	}
}
