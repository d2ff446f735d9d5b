package eventlog

import (
	"bufio"
	"context"
	"fmt"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"syscall"
	"testing"

	"github.com/oklog/ulid/v2"
)

// TestKill9LosesNoAcknowledgedAppend runs appenders in a child process on
// the real disk, kills it with SIGKILL mid-stream, and checks that every
// offset the child reported as acknowledged is in the reopened log.
func TestKill9LosesNoAcknowledgedAppend(t *testing.T) {
	if dir := os.Getenv("FOREMAN_KILL9_CHILD"); dir != "" {
		kill9Child(dir)
		return
	}
	dir := t.TempDir()
	for cycle := range 3 {
		cmd := exec.Command(os.Args[0], "-test.run=^TestKill9LosesNoAcknowledgedAppend$")
		cmd.Env = append(os.Environ(), "FOREMAN_KILL9_CHILD="+dir)
		out, err := cmd.StdoutPipe()
		if err != nil {
			t.Fatal(err)
		}
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		acked := map[uint64]string{}
		sc := bufio.NewScanner(out)
		for sc.Scan() && len(acked) < 300*(cycle+1) {
			off, job, ok := strings.Cut(sc.Text(), " ")
			if !ok {
				continue
			}
			n, _ := strconv.ParseUint(off, 10, 64)
			acked[n] = job
		}
		cmd.Process.Signal(syscall.SIGKILL)
		cmd.Wait()
		l, err := Open(Config{Dir: dir})
		if err != nil {
			t.Fatalf("cycle %d: reopen after kill -9: %v", cycle, err)
		}
		got := map[uint64]string{}
		if err := l.Scan(context.Background(), 0, 0, func(e Event) error { got[e.Offset] = e.Job.String(); return nil }); err != nil {
			t.Fatalf("cycle %d: scan: %v", cycle, err)
		}
		l.Close()
		for off, job := range acked {
			if got[off] != job {
				t.Fatalf("cycle %d: acknowledged offset %d (job %s) lost", cycle, off, job)
			}
		}
		t.Logf("cycle %d: %d acknowledged appends checked, %d events in the log", cycle, len(acked), len(got))
	}
}

// kill9Child appends from 8 goroutines and prints each acknowledged offset
// until it is killed.
func kill9Child(dir string) {
	l, err := Open(Config{Dir: dir})
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	lines := make(chan string, 1024)
	for range 8 {
		go func() {
			for {
				job := ulid.Make()
				evs, err := l.Append(context.Background(), submit(job, "m"))
				if err != nil {
					os.Exit(1)
				}
				lines <- fmt.Sprintf("%d %s", evs[0].Offset, job)
			}
		}()
	}
	w := bufio.NewWriter(os.Stdout)
	for line := range lines {
		fmt.Fprintln(w, line)
		w.Flush()
	}
}
