package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"net/url"
	"os/exec"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/foreman-dev/foreman/worker/target/ollamatest"
)

// The crash harness's short form runs in CI; the long form is e.g.
//
//	go test ./cmd/foreman -run TestCrashHarness -timeout 3h -args -crash.cycles=200 -crash.jobs=40
//
// (the package before the harness's flags: go test stops reading its own
// arguments at the first flag it does not know). `.ci/run` runs it so with
// CI_CRASH_CYCLES=200.
//
// A failure is reproduced with the -crash.seed it logged.
var (
	crashCycles = flag.Int("crash.cycles", 5, "crash harness: kill -9 cycles")
	crashJobs   = flag.Int("crash.jobs", 20, "crash harness: async jobs submitted per cycle")
	crashSeed   = flag.Uint64("crash.seed", 0, "crash harness: RNG seed; 0 picks one from the clock")
)

const crashSecret = "crash-harness-secret"

// TestCrashHarness builds the real binary and kills it with SIGKILL at a
// random moment of each cycle while concurrent clients submit async jobs
// and make sync calls, then restarts it, lets everything drain and checks
// that nothing was lost or broken (issue 6 §1).
func TestCrashHarness(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and kills the real binary; skipped with -short")
	}
	seed := *crashSeed
	if seed == 0 {
		seed = uint64(time.Now().UnixNano())
	}
	t.Logf("seed %d (reproduce with -crash.seed=%d -crash.cycles=%d -crash.jobs=%d)", seed, seed, *crashCycles, *crashJobs)
	rng := rand.New(rand.NewPCG(seed, seed>>1))

	bin := buildForeman(t)
	fake := ollamatest.New(t, ollamatest.WithChunkDelay(2*time.Millisecond), ollamatest.WithLoadDelay(5*time.Millisecond))
	hooks := newHookReceiver(t, crashSecret)
	dir := t.TempDir()
	d := &crashDaemon{t: t, bin: bin, addr: freeAddr(t), env: []string{
		"FOREMAN_DATA_DIR=" + dir, "FOREMAN_OLLAMA_URL=" + fake.URL(), "FOREMAN_WEBHOOK_SECRET=" + crashSecret,
		"FOREMAN_POLL_INTERVAL=1s", "FOREMAN_SHUTDOWN_GRACE=0s", "FOREMAN_DEFAULT_NUM_PREDICT=0", "FOREMAN_LOG_LEVEL=debug",
	}}
	d.env = append(d.env, "FOREMAN_LISTEN="+d.addr)
	t.Cleanup(func() {
		d.kill()
		if t.Failed() {
			out := d.output()
			t.Logf("daemon output (last 8 KiB of %d bytes):\n%s", len(out), out[max(0, len(out)-8<<10):])
		}
	})

	var (
		accepted             []string
		seen                 = map[string]int{} // job id → cycle of its 202
		syncOK, syncErr, cut int
		retried              int
	)
	for cycle := 1; cycle <= *crashCycles; cycle++ {
		d.start()
		if cycle > 1 {
			retried += retryFailed(t, d.URL(), 2)
		}
		// Faults of the target, taken by the next inference requests:
		// a runner crash mid-answer (retried) and an HTTP error (failed).
		switch rng.IntN(3) {
		case 0:
			fake.FailNext(1, ollamatest.ErrorAfter(2))
		case 1:
			fake.FailNext(1, ollamatest.HTTPFault(http.StatusInternalServerError, "crash harness: injected"))
		}
		load := &crashLoad{base: d.URL(), hookURL: hooks.srv.URL + "/hook"}
		const asyncClients, syncClients = 4, 2
		for c := range asyncClients {
			load.wg.Add(1)
			go load.async(c, cycle, (*crashJobs+asyncClients-1)/asyncClients)
		}
		for c := range syncClients {
			load.wg.Add(1)
			go load.sync(c, cycle, 3)
		}
		// The kill is the fault under test: a timer is the point here.
		// One cycle in four dies early, during recovery and the first
		// submissions; the others anywhere in the run.
		delay := 20*time.Millisecond + time.Duration(rng.Int64N(int64(1200*time.Millisecond)))
		if rng.IntN(4) == 0 {
			delay = time.Duration(rng.Int64N(int64(30 * time.Millisecond)))
		}
		<-time.After(delay)
		load.killed.Store(true)
		d.kill()
		load.wg.Wait()
		for _, f := range load.failures {
			t.Errorf("cycle %d: %s", cycle, f)
		}
		for _, id := range load.accepted {
			if c, dup := seen[id]; dup {
				t.Errorf("cycle %d: job id %s answered 202 again (first in cycle %d)", cycle, id, c)
			}
			seen[id] = cycle
		}
		accepted = append(accepted, load.accepted...)
		syncOK, syncErr, cut = syncOK+load.syncOK, syncErr+load.syncErr, cut+load.cut
		t.Logf("cycle %d: kill -9 after %v: %d jobs accepted, %d sync answered, %d sync errors, %d requests cut",
			cycle, delay, len(load.accepted), load.syncOK, load.syncErr, load.cut)
	}
	if t.Failed() {
		return
	}

	// The last start: everything drains.
	d.start()
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	views := waitTerminal(ctx, t, d.URL(), accepted)
	all := listJobs(t, d.URL())
	var others []string
	for _, id := range all {
		if _, ok := views[id]; !ok {
			others = append(others, id) // sync jobs, and async ones whose 202 the kill cut
		}
	}
	for id, v := range waitTerminal(ctx, t, d.URL(), others) {
		views[id] = v
	}
	for _, id := range accepted {
		if !slices.Contains(all, id) {
			t.Errorf("job %s answered 202 but GET /jobs does not list it", id)
		}
	}

	// Each history is a valid state machine and agrees with the view.
	states := map[string]int{}
	events, types := 0, map[string]int{}
	wantHooks, wantAllHooks := map[string][]uint64{}, map[string][]uint64{}
	for id, v := range views {
		hist := jobEvents(t, d.URL(), id)
		events += len(hist)
		for _, e := range hist {
			types[e.Type]++
		}
		c := checkHistory(hist)
		for _, p := range c.problems {
			t.Errorf("job %s: %s", id, p)
		}
		if c.state != v.State {
			t.Errorf("job %s: view says %s, its history %s", id, v.State, c.state)
		}
		if c.attempts != v.Attempts {
			t.Errorf("job %s: view counts %d attempts, its history %d", id, v.Attempts, c.attempts)
		}
		if (v.State == "failed" || v.State == "cancelled") && v.Error == "" {
			t.Errorf("job %s is %s without a reason", id, v.State)
		}
		states[v.State]++
		if hist[0].Payload.WebhookURL != "" {
			wantHooks[id] = c.terminal
			wantAllHooks[id] = c.delivery
		}
	}

	// Every terminal event reached the receiver at least once.
	missing := waitHooks(ctx, hooks, wantHooks)
	for _, m := range missing {
		t.Errorf("terminal event %s never delivered to its webhook", m)
	}
	allMissing, _ := hooks.missing(wantAllHooks)
	hooks.mu.Lock()
	for id, offs := range wantHooks {
		for _, off := range offs {
			if d, ok := hooks.got[id][off]; ok && (!terminal(d.State) || d.Event == "" || d.JobID != id) {
				t.Errorf("terminal event %s@%d delivered as %+v", id, off, d)
			}
		}
	}
	for _, b := range hooks.badSig {
		t.Errorf("webhook delivery refused: %s", b)
	}
	deliveries, hookedEvents := hooks.total, 0
	for _, offs := range hooks.got {
		hookedEvents += len(offs)
	}
	hooks.mu.Unlock()

	d.stop()
	out, err := exec.Command(bin, "log", "verify", "--data-dir", dir, "--json").CombinedOutput()
	if err != nil {
		t.Errorf("foreman log verify: %v\n%s", err, out)
	}
	var rep verifyReport
	if err := json.Unmarshal(out, &rep); err != nil || !rep.OK {
		t.Errorf("foreman log verify report: %v %s", err, out)
	}

	t.Logf("%d kill -9 cycles + 1 drain run; %d async jobs accepted (202), %d jobs in the log (sync and cut ones included), "+
		"%d sync calls answered 200 and %d with an error, %d requests cut by kills, %d manual retries",
		*crashCycles, len(accepted), len(all), syncOK, syncErr, cut, retried)
	t.Logf("final states %v; %d job events checked against the state machine; log verify: %d events, offsets %d..%d, %d state keys",
		states, events, rep.Events, rep.FirstOffset, rep.LastOffset, rep.StateKeys)
	t.Logf("event types: %v", types)
	t.Logf("webhooks: %d deliveries (signatures verified) of %d distinct events; %d jobs with a webhook, every terminal event delivered; %d non-terminal events never delivered",
		deliveries, hookedEvents, len(wantHooks), len(allMissing))
	t.Logf("checked: every 202 job listed and terminal, failed/cancelled with a reason; no id answered 202 twice or submitted twice; " +
		"histories valid (nothing after done, failed/cancelled left only by job.requeued, attempts 1,2,3… as the view counts); " +
		"sync answers exact or Ollama errors; foreman log verify exit 0 after a clean stop")
}

// crashView is the part of GET /jobs/{id} the harness checks.
type crashView struct {
	ID       string `json:"job_id"`
	State    string `json:"state"`
	Attempts int    `json:"attempts"`
	Error    string `json:"error"`
}

func terminal(state string) bool { return state == "done" || state == "failed" || state == "cancelled" }

func getJSON(t *testing.T, u string, v any) int {
	t.Helper()
	resp, err := http.Get(u)
	if err != nil {
		t.Fatalf("GET %s: %v", u, err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	if resp.StatusCode == http.StatusOK {
		if err := json.Unmarshal(b, v); err != nil {
			t.Fatalf("GET %s: %v: %s", u, err, b)
		}
	}
	return resp.StatusCode
}

// waitTerminal polls GET /jobs/{id} until every job is done, failed or
// cancelled, or ctx ends.
func waitTerminal(ctx context.Context, t *testing.T, base string, ids []string) map[string]crashView {
	t.Helper()
	views := map[string]crashView{}
	pending := slices.Clone(ids)
	tick := time.NewTicker(50 * time.Millisecond)
	defer tick.Stop()
	for {
		var still []string
		for _, id := range pending {
			var v crashView
			if code := getJSON(t, base+"/jobs/"+id, &v); code != http.StatusOK {
				t.Errorf("GET /jobs/%s: %d: a job answered 202 is gone", id, code)
				continue
			}
			views[id] = v
			if !terminal(v.State) {
				still = append(still, id)
			}
		}
		if pending = still; len(pending) == 0 {
			return views
		}
		select {
		case <-ctx.Done():
			for _, id := range pending {
				t.Errorf("job %s still %s when the drain deadline passed", id, views[id].State)
			}
			return views
		case <-tick.C:
		}
	}
}

// listJobs pages through GET /jobs and fails on an id listed twice.
func listJobs(t *testing.T, base string) []string {
	t.Helper()
	var ids []string
	cursor := ""
	for {
		var page struct {
			Jobs []struct {
				ID string `json:"job_id"`
			} `json:"jobs"`
			Next string `json:"next_cursor"`
		}
		if code := getJSON(t, base+"/jobs?limit=500&cursor="+url.QueryEscape(cursor), &page); code != http.StatusOK {
			t.Fatalf("GET /jobs: %d", code)
		}
		for _, j := range page.Jobs {
			if slices.Contains(ids, j.ID) {
				t.Errorf("GET /jobs lists %s twice", j.ID)
			}
			ids = append(ids, j.ID)
		}
		if page.Next == "" || len(page.Jobs) == 0 {
			return ids
		}
		cursor = page.Next
	}
}

func jobEvents(t *testing.T, base, id string) []histEvent {
	t.Helper()
	var h struct {
		Events []histEvent `json:"events"`
	}
	if code := getJSON(t, base+"/jobs/"+id+"/events", &h); code != http.StatusOK || len(h.Events) == 0 {
		t.Fatalf("GET /jobs/%s/events: %d, %d events", id, code, len(h.Events))
	}
	return h.Events
}

// retryFailed requeues up to n failed jobs, so histories also hold
// job.requeued; it returns how many were requeued.
func retryFailed(t *testing.T, base string, n int) int {
	t.Helper()
	var page struct {
		Jobs []struct {
			ID string `json:"job_id"`
		} `json:"jobs"`
	}
	if code := getJSON(t, fmt.Sprintf("%s/jobs?state=failed&limit=%d", base, n), &page); code != http.StatusOK {
		t.Fatalf("GET /jobs?state=failed: %d", code)
	}
	done := 0
	for _, j := range page.Jobs {
		resp, err := http.Post(base+"/jobs/"+j.ID+"/retry", "application/json", strings.NewReader(""))
		if err != nil {
			t.Fatalf("retry %s: %v", j.ID, err)
		}
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != http.StatusAccepted {
			t.Errorf("POST /jobs/%s/retry of a failed job: %d %s", j.ID, resp.StatusCode, b)
			continue
		}
		done++
	}
	return done
}

// waitHooks waits until the receiver has every wanted delivery or ctx
// ends, and returns the ones still missing.
func waitHooks(ctx context.Context, h *hookReceiver, want map[string][]uint64) []string {
	for {
		miss, changed := h.missing(want)
		if len(miss) == 0 {
			return nil
		}
		select {
		case <-ctx.Done():
			return miss
		case <-changed:
		}
	}
}
