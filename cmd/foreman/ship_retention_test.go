package main

import (
	"context"
	"fmt"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/foreman-dev/foreman/eventlog"
	"github.com/foreman-dev/foreman/eventlog/ship/natstest"
)

// TestRetentionWaitsForTheShipperOnlyWhenShipping runs retention over 300
// finished jobs past their TTL, with NATS unreachable: with shipping on,
// retention expires the jobs but deletes nothing (no event is in the
// stream yet); with shipping off, the same sweep deletes the expired
// history. The kill -9 test (ship_crash_test.go) checks the same watermark
// while shipping runs.
func TestRetentionWaitsForTheShipperOnlyWhenShipping(t *testing.T) {
	const jobs = 300
	dead := fmt.Sprintf("nats://127.0.0.1:%d", natstest.FreePort(t)) // nothing listens
	for _, c := range []struct {
		name    string
		env     map[string]string
		deletes bool
	}{
		{"shipping on, NATS down", map[string]string{"FOREMAN_NATS_URL": dead, "FOREMAN_NODE": "n1"}, false},
		{"shipping off", map[string]string{}, true},
	} {
		t.Run(c.name, func(t *testing.T) {
			dir := filepath.Join(t.TempDir(), "data")
			seedFinishedJobs(t, dir, jobs)
			env := map[string]string{"FOREMAN_DATA_DIR": dir, "FOREMAN_JOB_TTL": "1ns", "FOREMAN_SHUTDOWN_GRACE": "0s"}
			for k, v := range c.env {
				env[k] = v
			}
			env["FOREMAN_LISTEN"] = "127.0.0.1:0"
			env["FOREMAN_OLLAMA_URL"] = "http://127.0.0.1:1" // nothing listens
			m, out := testMain(env)
			ctx, cancel := context.WithCancel(context.Background())
			errc := make(chan error, 1)
			go func() { errc <- (&ServeCommand{m: m}).Run(ctx, nil) }()
			// The sweep's summary line is logged when the pass ends.
			deadline := time.Now().Add(30 * time.Second)
			for !strings.Contains(out.String(), "msg=retention") {
				if time.Now().After(deadline) {
					cancel()
					t.Fatalf("no retention pass in 30s:\n%s", out)
				}
				time.Sleep(10 * time.Millisecond) // polling the log output is how an operator learns
			}
			cancel()
			if err := <-errc; err != nil {
				t.Fatal(err)
			}
			l, err := eventlog.Open(eventlog.Config{Dir: dir, ReadOnly: true})
			if err != nil {
				t.Fatal(err)
			}
			defer l.Close()
			if got := l.LastOffset(); got != 4*jobs {
				t.Errorf("last offset %d, want %d (every job expired)", got, 4*jobs)
			}
			if low := l.LowWatermark(); (low > 1) != c.deletes {
				t.Errorf("low watermark %d: retention deleted=%v, want %v\n%s", low, low > 1, c.deletes, out)
			}
		})
	}
}
