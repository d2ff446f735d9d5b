//go:build e2e

// Package e2e runs the real foreman binary in front of a real Ollama
// (v0.17.4, built by ../shared/real-ollama/setup.sh, serving tiny
// random-weight models) and checks it on the wire with the official
// client github.com/ollama/ollama/api.
//
//	../shared/real-ollama/setup.sh
//	go test -tags e2e -race -count=1 -timeout 20m ./cmd/foreman/e2e/
//
// Every test starts its own `ollama serve` (or shares one started here)
// on a free loopback port and its own foreman; the kit's own server on
// 11555 is not used. Without the kit every test is skipped, loudly.
package e2e

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"sync"
	"testing"
	"time"
)

var (
	suiteDir   string // temp dir of the whole run
	foremanBin string // built in TestMain
	theKit     kit
	kitErr     error

	sharedOnce    sync.Once
	sharedOllama  *ollamaProc
	sharedForeman *foremanProc
	sharedErr     error
)

func TestMain(m *testing.M) {
	os.Exit(run(m))
}

func run(m *testing.M) int {
	theKit, kitErr = findKit()
	if kitErr != nil {
		fmt.Fprintf(os.Stderr, "\n!!!!!!!! e2e: SKIPPING EVERY TEST: %v !!!!!!!!\n\n", kitErr)
		return m.Run() // each test skips
	}
	dir, err := os.MkdirTemp("", "foreman-e2e-")
	if err != nil {
		fmt.Fprintln(os.Stderr, "e2e:", err)
		return 1
	}
	suiteDir = dir
	foremanBin = filepath.Join(dir, "foreman")
	args := []string{"build", "-o", foremanBin}
	if raceEnabled { // the daemon runs under the race detector too
		args = append(args, "-race")
	}
	build := exec.Command("go", append(args, "github.com/foreman-dev/foreman/cmd/foreman")...)
	build.Stdout, build.Stderr = os.Stderr, os.Stderr
	t0 := time.Now()
	if err := build.Run(); err != nil {
		fmt.Fprintln(os.Stderr, "e2e: go build foreman:", err)
		return 1
	}
	fmt.Fprintf(os.Stderr, "e2e: built foreman (race=%v) in %s; kit %s; %d CPUs; logs in %s\n",
		raceEnabled, time.Since(t0).Round(time.Millisecond), theKit.bin, runtime.NumCPU(), dir)
	code := m.Run()
	if sharedForeman != nil {
		if err := sharedForeman.Stop(); err != nil {
			fmt.Fprintln(os.Stderr, "e2e: shared foreman:", err)
			code = 1
		}
		if sharedForeman.RaceReports() {
			fmt.Fprintln(os.Stderr, "e2e: the shared foreman reported a DATA RACE; log:", sharedForeman.logPath)
			code = 1
		}
	}
	if sharedOllama != nil {
		sharedOllama.Stop()
	}
	if code == 0 && os.Getenv("E2E_KEEP") == "" {
		os.RemoveAll(dir)
	} else {
		fmt.Fprintln(os.Stderr, "e2e: logs kept in", dir)
	}
	return code
}

// needKit skips the test, loudly, when the kit is not built.
func needKit(t *testing.T) {
	t.Helper()
	if kitErr != nil {
		t.Skipf("!!! SKIPPED: no real Ollama kit: %v", kitErr)
	}
}

// shared returns the Ollama (default residency) and the foreman in front
// of it that the read-mostly tests share.
func shared(t *testing.T) (*ollamaProc, *foremanProc) {
	t.Helper()
	needKit(t)
	sharedOnce.Do(func() {
		sharedOllama, sharedErr = startOllama(theKit, suiteDir, 0)
		if sharedErr != nil {
			return
		}
		sharedForeman, sharedErr = startForeman(foremanBin, suiteDir, sharedOllama.URL())
	})
	if sharedErr != nil {
		t.Fatalf("shared servers: %v", sharedErr)
	}
	return sharedOllama, sharedForeman
}

// ownOllama starts an Ollama for this test only.
func ownOllama(t *testing.T, maxLoaded int) *ollamaProc {
	t.Helper()
	needKit(t)
	o, err := startOllama(theKit, suiteDir, maxLoaded)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if t.Failed() {
			t.Logf("ollama log %s (tail):\n%s", o.logPath, o.logTail())
		}
		o.Stop()
	})
	return o
}

// ownForeman starts a foreman for this test only.
func ownForeman(t *testing.T, ollamaURL string, extra ...string) *foremanProc {
	t.Helper()
	f, err := startForeman(foremanBin, suiteDir, ollamaURL, extra...)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := f.Stop(); err != nil {
			t.Errorf("foreman: %v", err)
		}
		if f.RaceReports() {
			t.Errorf("foreman reported a DATA RACE; log %s", f.logPath)
		}
		if t.Failed() {
			t.Logf("foreman log: %s", f.logPath)
		}
	})
	return f
}

// testCtx is a context bounded by the test's deadline (minus a margin).
func testCtx(t *testing.T, d time.Duration) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), d)
	t.Cleanup(cancel)
	return ctx
}
