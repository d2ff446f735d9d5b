//go:build e2e

package e2e

import (
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"strings"
	"testing"
	"time"
)

// loadThreshold: a load_duration above it is surely a model load (a swap
// usually costs ~280 ms on the kit, a warm request 1.5-3.5 ms). Some loads
// of the two smallest models take only ~30 ms, so this undercounts; the
// count from ollama's log is the one asserted.
const loadThreshold = 100 * time.Millisecond

// batchRun is one run of the interleaved batch.
type batchRun struct {
	Makespan time.Duration
	Loads    int // results with load_duration > loadThreshold (misses fast loads)
	LogLoads int // runners ollama started, from its log: the real count
	Order    []string
}

func (r batchRun) String() string {
	return fmt.Sprintf("makespan %6.2fs  loads %2d (ollama log; %2d with load_duration>100ms)  order %s",
		r.Makespan.Seconds(), r.LogLoads, r.Loads, strings.Join(r.Order, ","))
}

// The same interleaved batch over tiny-a, tiny-b and tiny-big, with
// OLLAMA_MAX_LOADED_MODELS=1 so that every model change is a real swap:
// once straight to Ollama in submission order (one at a time), once as
// async jobs through foreman (drain-by-model). foreman must load fewer
// times.
func TestRealSwaps(t *testing.T) {
	o := ownOllama(t, 1)
	f := ownForeman(t, o.URL())
	ctx := testCtx(t, 10*time.Minute)
	const rounds = 4
	var batch []string
	for range rounds {
		batch = append(batch, "tiny-a", "tiny-b", "tiny-big")
	}
	body := func(i int, model string) string {
		return fmt.Sprintf(`{"model":%q,"prompt":"request %d","options":{"seed":%d,"temperature":0,"num_predict":8}`, model, i, i)
	}
	loadOf := func(result []byte) (time.Duration, string) {
		var r struct {
			Model        string `json:"model"`
			LoadDuration int64  `json:"load_duration"`
		}
		if err := json.Unmarshal(result, &r); err != nil {
			t.Fatalf("result: %v: %s", err, result)
		}
		return time.Duration(r.LoadDuration), r.Model
	}

	// Straight to Ollama, in submission order.
	o.unloadAll(ctx, t)
	var direct batchRun
	logBefore := o.RunnerStarts()
	t0 := time.Now()
	for i, m := range batch {
		r := raw(t, http.MethodPost, o.URL()+"/api/generate", "", body(i, m)+`,"stream":false}`)
		if r.Status != http.StatusOK {
			t.Fatalf("direct %s: %d %s", m, r.Status, r.Body)
		}
		if d, _ := loadOf(r.Body); d > loadThreshold {
			direct.Loads++
		}
		direct.Order = append(direct.Order, strings.TrimPrefix(m, "tiny-"))
	}
	direct.Makespan = time.Since(t0)
	direct.LogLoads = o.RunnerStarts() - logBefore

	// Through foreman: the whole batch submitted at once, as jobs.
	o.unloadAll(ctx, t)
	waitFor(t, 10*time.Second, "foreman to see nothing loaded", func() bool {
		r := raw(t, http.MethodGet, f.URL()+"/api/ps", token, "")
		return r.Status == http.StatusOK && strings.Contains(string(r.Body), `"models":[]`)
	})
	var via batchRun
	logBefore = o.RunnerStarts()
	t0 = time.Now()
	ids := make([]string, len(batch))
	for i, m := range batch {
		ids[i] = submit(t, f, body(i, m)+`,"kind":"generate"}`)
	}
	type fin struct {
		at    time.Time
		model string
	}
	var fins []fin
	for i, id := range ids {
		j := waitJob(t, f, id, 5*time.Minute)
		if j.State != "done" {
			t.Fatalf("job %d (%s): %+v", i, batch[i], j)
		}
		d, _ := loadOf(j.Result)
		if d > loadThreshold {
			via.Loads++
		}
		fins = append(fins, fin{*j.FinishedAt, strings.TrimPrefix(j.Model, "tiny-")})
		if j.FinishedAt.Sub(t0) > via.Makespan {
			via.Makespan = j.FinishedAt.Sub(t0)
		}
	}
	via.LogLoads = o.RunnerStarts() - logBefore
	for len(fins) > 0 { // the order foreman ran them in
		k := 0
		for i := range fins {
			if fins[i].at.Before(fins[k].at) {
				k = i
			}
		}
		via.Order = append(via.Order, fins[k].model)
		fins = append(fins[:k], fins[k+1:]...)
	}

	report := fmt.Sprintf("real swaps, OLLAMA_MAX_LOADED_MODELS=1, %d requests (tiny-a, tiny-b, tiny-big x %d, num_predict 8):\n  direct to ollama, submission order: %s\n  through foreman (async jobs):       %s\n",
		len(batch), rounds, direct, via)
	t.Log("\n" + report)
	if p := os.Getenv("E2E_REPORT"); p != "" {
		if err := os.WriteFile(p, []byte(report), 0o644); err != nil {
			t.Errorf("E2E_REPORT: %v", err)
		}
	}
	if direct.LogLoads < len(batch)-1 {
		t.Errorf("direct: only %d loads for %d alternating requests: is OLLAMA_MAX_LOADED_MODELS=1 in effect?", direct.LogLoads, len(batch))
	}
	// Drain-by-model needs 3 loads when the whole batch is queued before
	// the first job ends; on a loaded machine the first jobs may run
	// while the rest is still being submitted, so allow some slack.
	if via.LogLoads >= direct.LogLoads || via.LogLoads > len(batch)/2 {
		t.Errorf("foreman loaded %d times, direct %d: drain-by-model should need about 3", via.LogLoads, direct.LogLoads)
	}
}
