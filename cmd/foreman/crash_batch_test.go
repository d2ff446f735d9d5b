package main

import (
	"bufio"
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"math/rand/v2"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/foreman-dev/foreman/client"
	"github.com/foreman-dev/foreman/eventlog"
	"github.com/foreman-dev/foreman/worker/target/ollamatest"
)

var (
	crashBatchLines = flag.Int("crash.batch-lines", 1000, "batch crash test: lines in the batch")
	crashBatchKills = flag.Int("crash.batch-kills", 6, "batch crash test: kill -9 cycles")
)

// TestCrashBatch kills the real daemon with SIGKILL again and again while
// a 1,000-line batch validates, runs and finalizes, restarting it each
// time. At the end every line is answered exactly once (output ∪ error ==
// input), no line job succeeded twice, the counts add up, the batch ended
// once, and `foreman log verify` passes.
func TestCrashBatch(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and kills the real binary; skipped with -short")
	}
	seed := *crashSeed
	if seed == 0 {
		seed = uint64(time.Now().UnixNano())
	}
	t.Logf("seed %d (reproduce with -crash.seed=%d)", seed, seed)
	rng := rand.New(rand.NewPCG(seed, 14))
	bin := buildForeman(t)
	fake := ollamatest.New(t, ollamatest.WithChunkDelay(100*time.Microsecond))
	dir := t.TempDir()
	d := &crashDaemon{t: t, bin: bin, addr: freeAddr(t), env: []string{
		"FOREMAN_DATA_DIR=" + dir, "FOREMAN_OLLAMA_URL=" + fake.URL(), "FOREMAN_POLL_INTERVAL=1s",
		"FOREMAN_SHUTDOWN_GRACE=0s", "FOREMAN_DEFAULT_NUM_PREDICT=0",
	}}
	d.env = append(d.env, "FOREMAN_LISTEN="+d.addr)
	t.Cleanup(func() {
		d.kill()
		if t.Failed() {
			out := d.output()
			t.Logf("daemon output (last 8 KiB):\n%s", out[max(0, len(out)-8<<10):])
		}
	})
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	n := *crashBatchLines
	d.start()
	c := client.New(d.URL(), client.WithPollInterval(20*time.Millisecond)).Batches()
	up, err := c.Upload(ctx, "in.jsonl", strings.NewReader(chatBatch(n, "tiny-a", "tiny-b")))
	if err != nil {
		t.Fatal(err)
	}
	b, err := c.Create(ctx, client.BatchRequest{InputFileID: up.ID, Endpoint: "/v1/chat/completions"})
	if err != nil {
		t.Fatal(err)
	}
	statuses := []string{}
	for kill := range *crashBatchKills {
		// The kill is the fault under test: a timer is the point here.
		// Early kills land in validation and submission, later ones in
		// the run and the assembly.
		delay := time.Duration(rng.Int64N(int64(time.Duration(50+kill*100) * time.Millisecond)))
		<-time.After(delay)
		d.kill()
		d.start()
		if b, err = c.Get(ctx, b.ID); err != nil {
			t.Fatal(err)
		}
		statuses = append(statuses, fmt.Sprintf("%s %d/%d", b.Status, b.RequestCounts.Completed+b.RequestCounts.Failed, b.RequestCounts.Total))
		if b.Done() {
			break
		}
	}
	t.Logf("after each kill -9: %v", statuses)
	b, err = c.Wait(ctx, b.ID, nil)
	if err != nil {
		t.Fatal(err)
	}
	if b.Status != "completed" || b.RequestCounts.Total != n || b.RequestCounts.Completed+b.RequestCounts.Failed != n {
		t.Fatalf("batch %s, counts %+v", b.Status, b.RequestCounts)
	}
	seen := map[string]int{}
	for _, id := range []string{b.OutputFileID, b.ErrorFileID} {
		if id == "" {
			continue
		}
		body, err := c.Content(ctx, id)
		if err != nil {
			t.Fatal(err)
		}
		sc := bufio.NewScanner(body)
		sc.Buffer(nil, 1<<20)
		lines := 0
		for sc.Scan() {
			var l struct {
				CustomID string `json:"custom_id"`
			}
			if err := json.Unmarshal(sc.Bytes(), &l); err != nil {
				t.Fatal(err)
			}
			seen[l.CustomID]++
			lines++
		}
		body.Close()
		if id == b.OutputFileID && lines != b.RequestCounts.Completed {
			t.Errorf("output file has %d lines, completed says %d", lines, b.RequestCounts.Completed)
		}
	}
	for i := range n {
		if c := seen[fmt.Sprintf("req-%d", i)]; c != 1 {
			t.Errorf("req-%d answered %d times", i, c)
		}
	}
	d.stop()
	succeeded, ended := map[string]int{}, 0
	l, err := eventlog.Open(eventlog.Config{Dir: dir, ReadOnly: true})
	if err != nil {
		t.Fatal(err)
	}
	err = l.Scan(ctx, 0, 0, func(e eventlog.Event) error {
		switch e.Type {
		case eventlog.JobSucceeded:
			succeeded[e.Job.String()]++
		case eventlog.BatchEnded:
			ended++
		}
		return nil
	})
	l.Close()
	if err != nil {
		t.Fatal(err)
	}
	for job, k := range succeeded {
		if k > 1 {
			t.Errorf("line job %s succeeded %d times", job, k)
		}
	}
	if ended != 1 {
		t.Errorf("%d batch.ended events, want 1", ended)
	}
	if out, err := exec.Command(bin, "log", "verify", "--data-dir", dir).CombinedOutput(); err != nil {
		t.Errorf("foreman log verify: %v\n%s", err, out)
	}
	out, err := exec.Command(bin, "log", "batch", b.ID, "--data-dir", dir, "--json").Output()
	var rep batchReport
	if err != nil || json.Unmarshal(out, &rep) != nil || rep.Status != "completed" || rep.Lines != n || rep.Settled != n {
		t.Errorf("foreman log batch: %v %+v", err, rep)
	}
	t.Logf("%d lines, %d kill -9 restarts: every line answered once (%d completed, %d failed), %d line jobs succeeded once each, one batch.ended, log verify ok",
		n, d.runs-1, b.RequestCounts.Completed, b.RequestCounts.Failed, len(succeeded))
}
