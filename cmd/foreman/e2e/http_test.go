//go:build e2e

package e2e

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"
)

// response is a raw HTTP answer.
type response struct {
	Status      int
	ContentType string
	Header      http.Header
	Body        []byte
}

// raw sends one request as is (tok "" sends no Authorization).
func raw(t *testing.T, method, url, tok, body string) response {
	t.Helper()
	r, err := rawErr(method, url, tok, body)
	if err != nil {
		t.Fatalf("%s %s: %v", method, url, err)
	}
	return r
}

func rawErr(method, url, tok, body string) (response, error) {
	var rd io.Reader
	if body != "" {
		rd = strings.NewReader(body)
	}
	req, err := http.NewRequest(method, url, rd)
	if err != nil {
		return response{}, err
	}
	if body != "" {
		req.Header.Set("Content-Type", "application/json")
	}
	if tok != "" {
		req.Header.Set("Authorization", "Bearer "+tok)
	}
	c := http.Client{Timeout: 5 * time.Minute}
	resp, err := c.Do(req)
	if err != nil {
		return response{}, err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		return response{}, err
	}
	return response{Status: resp.StatusCode, ContentType: resp.Header.Get("Content-Type"), Header: resp.Header, Body: b}, nil
}

// waitFor polls cond until it holds or timeout passes.
func waitFor(t *testing.T, timeout time.Duration, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out after %s waiting for %s", timeout, what)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// jobView is the part of GET /jobs/{id} the suite reads.
type jobView struct {
	JobID      string          `json:"job_id"`
	State      string          `json:"state"`
	Model      string          `json:"model"`
	Kind       string          `json:"kind"`
	Attempts   int             `json:"attempts"`
	Error      string          `json:"error"`
	Status     int             `json:"status"`
	Result     json.RawMessage `json:"result"`
	CreatedAt  time.Time       `json:"created_at"`
	StartedAt  *time.Time      `json:"started_at"`
	FinishedAt *time.Time      `json:"finished_at"`
}

func terminal(state string) bool {
	return state == "done" || state == "failed" || state == "cancelled"
}

// submit posts an async job (the Ollama body plus foreman's fields) and
// returns its id.
func submit(t *testing.T, f *foremanProc, body string) string {
	t.Helper()
	r := raw(t, http.MethodPost, f.URL()+"/jobs", token, body)
	if r.Status != http.StatusAccepted {
		t.Fatalf("POST /jobs: %d %s", r.Status, r.Body)
	}
	var v struct {
		JobID string `json:"job_id"`
	}
	if err := json.Unmarshal(r.Body, &v); err != nil || v.JobID == "" {
		t.Fatalf("POST /jobs: %v %s", err, r.Body)
	}
	return v.JobID
}

// getJob reads GET /jobs/{id}.
func getJob(t *testing.T, f *foremanProc, id string) jobView {
	t.Helper()
	v, err := getJobErr(f, id)
	if err != nil {
		t.Fatal(err)
	}
	return v
}

func getJobErr(f *foremanProc, id string) (jobView, error) {
	r, err := rawErr(http.MethodGet, f.URL()+"/jobs/"+id, token, "")
	if err != nil {
		return jobView{}, err
	}
	if r.Status != http.StatusOK {
		return jobView{}, fmt.Errorf("GET /jobs/%s: %d %s", id, r.Status, r.Body)
	}
	var v jobView
	if err := json.Unmarshal(r.Body, &v); err != nil {
		return v, fmt.Errorf("GET /jobs/%s: %w", id, err)
	}
	return v, nil
}

// waitJob polls GET /jobs/{id} until the job is terminal.
func waitJob(t *testing.T, f *foremanProc, id string, timeout time.Duration) jobView {
	t.Helper()
	var v jobView
	waitFor(t, timeout, "job "+id+" to finish", func() bool {
		var err error
		v, err = getJobErr(f, id)
		return err == nil && terminal(v.State)
	})
	return v
}

// compact re-encodes JSON without insignificant space, for messages.
func compact(b []byte) string {
	var buf bytes.Buffer
	if json.Compact(&buf, b) != nil {
		return string(b)
	}
	return buf.String()
}
