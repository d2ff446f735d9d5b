package main

import (
	"bytes"
	"encoding/json"
	"io"
	"net/http"
	"sync"
	"testing"
	"time"
)

// TestCrashAtDepth: a daemon holding 100,000 queued jobs, taking more
// submissions from 16 clients, is killed with SIGKILL; after a restart every
// job it had (the backlog and every 202) is there, queued, in the same
// order. BenchmarkDeepQueue reports how long the restart takes.
func TestCrashAtDepth(t *testing.T) {
	if testing.Short() {
		t.Skip("fills a 100,000-job queue")
	}
	const depth = 100_000
	d := startDeep(t, buildForeman(t), depth, true)
	hc := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: 16}}
	body := []byte(`{"model":"tiny-b","messages":[{"role":"user","content":"late"}]}`)
	var mu sync.Mutex
	var acked []string
	stop := make(chan struct{})
	var wg sync.WaitGroup
	for range 16 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				select {
				case <-stop:
					return
				default:
				}
				resp, err := hc.Post(d.URL()+"/jobs", "application/json", bytes.NewReader(body))
				if err != nil {
					return // killed
				}
				b, _ := io.ReadAll(resp.Body)
				resp.Body.Close()
				var r struct {
					JobID string `json:"job_id"`
				}
				if resp.StatusCode == http.StatusAccepted && json.Unmarshal(b, &r) == nil {
					mu.Lock()
					acked = append(acked, r.JobID)
					mu.Unlock()
				}
			}
		}()
	}
	// Kill once a few hundred submissions were acknowledged on top.
	for deadline := time.Now().Add(time.Minute); ; {
		mu.Lock()
		n := len(acked)
		mu.Unlock()
		if n >= 500 || time.Now().After(deadline) {
			break
		}
		time.Sleep(5 * time.Millisecond) // polling the clients' count, not waiting for the daemon
	}
	d.kill()
	close(stop)
	wg.Wait()
	if len(acked) < 500 {
		t.Fatalf("only %d submissions acknowledged in a minute", len(acked))
	}
	t0 := time.Now()
	d.start()
	t.Logf("restart with %d queued: %v", depth+len(acked), time.Since(t0))
	// Every job is queued again but the one working (it was requeued).
	// Submissions cut by the kill after their commit are there too, up to
	// one per client, though no 202 reached their caller.
	if got, want := waiting(t, hc, d.URL()), depth+len(acked); got < want-1 || got > want+16 {
		t.Fatalf("after the crash %d jobs wait, want %d (+ up to 16 unacknowledged, - 1 running)", got, want)
	}
	for _, id := range append(acked, d.ids[len(d.ids)-1].String(), d.ids[depth/2].String()) {
		var v struct {
			State    string `json:"state"`
			Position *int   `json:"position"`
		}
		if code := getJSON(t, d.URL()+"/jobs/"+id, &v); code != http.StatusOK || (v.State != "queued" && v.State != "working") {
			t.Fatalf("job %s after the crash: %d %+v", id, code, v)
		}
	}
}
