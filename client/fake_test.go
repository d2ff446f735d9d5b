package client

import (
	"bytes"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"
)

// fakeForeman answers POST /jobs and GET /jobs/{id} like the daemon, with
// a job whose state the test sets, and can post webhooks to the URL the
// client passed. Unit tests use it for timing cases the real daemon makes
// hard to pin down; e2e_test.go runs the same calls against the real one.
type fakeForeman struct {
	t      *testing.T
	srv    *httptest.Server
	mu     sync.Mutex
	job    Job
	body   map[string]any // the last POST /jobs body
	gets   int
	posted chan string   // the state_webhook_url of each POST /jobs
	got    chan struct{} // signalled on each GET /jobs/{id}
}

func newFake(t *testing.T) *fakeForeman {
	f := &fakeForeman{t: t, job: Job{JobID: "01JOB", State: StateQueued}, posted: make(chan string, 1), got: make(chan struct{}, 1)}
	mux := http.NewServeMux()
	mux.HandleFunc("POST /jobs", func(w http.ResponseWriter, r *http.Request) {
		var m map[string]any
		json.NewDecoder(r.Body).Decode(&m)
		f.mu.Lock()
		f.body = m
		f.mu.Unlock()
		url, _ := m["state_webhook_url"].(string)
		f.posted <- url
		w.WriteHeader(http.StatusAccepted)
		json.NewEncoder(w).Encode(map[string]string{"job_id": f.job.JobID})
	})
	mux.HandleFunc("GET /jobs/{id}", func(w http.ResponseWriter, r *http.Request) {
		f.mu.Lock()
		defer f.mu.Unlock()
		f.gets++
		json.NewEncoder(w).Encode(f.job)
		select {
		case f.got <- struct{}{}:
		default:
		}
	})
	f.srv = httptest.NewServer(mux)
	t.Cleanup(f.srv.Close)
	return f
}

func (f *fakeForeman) set(state, errMsg string, result string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.job.State, f.job.Error = state, errMsg
	if result != "" {
		f.job.Result = json.RawMessage(result)
	}
}

func (f *fakeForeman) getCount() int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.gets
}

// deliver posts a webhook with the given headers and returns the status.
func (f *fakeForeman) deliver(url string, h http.Header, body []byte) int {
	req, _ := http.NewRequest(http.MethodPost, url, bytes.NewReader(body))
	for k, v := range h {
		req.Header[k] = v
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		f.t.Errorf("deliver webhook: %v", err)
		return 0
	}
	io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	return resp.StatusCode
}
