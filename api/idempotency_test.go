package api

import (
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"

	"github.com/cockroachdb/pebble/v2/vfs"

	"github.com/foreman-dev/foreman/eventlog"
	"github.com/foreman-dev/foreman/projections"
)

// heldJobs holds the projections back: nothing is applied until release
// is closed, so a submission stays unseen as long as the test wants.
type heldJobs struct {
	*projections.Projections
	entered chan struct{}
	release chan struct{}
}

func (h *heldJobs) WaitFor(ctx context.Context, off uint64) error {
	select {
	case h.entered <- struct{}{}:
	default:
	}
	select {
	case <-h.release:
	case <-ctx.Done():
	}
	if err := ctx.Err(); err != nil { // a caller that left sees nothing applied
		return err
	}
	if err := h.Projections.CatchUp(context.Background(), 0); err != nil {
		return err
	}
	return h.Projections.WaitFor(ctx, off)
}

// TestIdempotencyKeyHeldUntilTheJobIsApplied: a caller that leaves after
// its job is appended but before the projections show it must not free the
// key for a retry, which would then make a second job.
func TestIdempotencyKeyHeldUntilTheJobIsApplied(t *testing.T) {
	l, err := eventlog.Open(eventlog.Config{Dir: "d", FS: vfs.NewMem()})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { l.Close() })
	p, err := projections.Open(context.Background(), l, l)
	if err != nil {
		t.Fatal(err)
	}
	jobs := &heldJobs{Projections: p, entered: make(chan struct{}, 1), release: make(chan struct{})}
	s := New(Config{Log: l, Jobs: jobs, Inventory: &fakeInventory{models: map[string]bool{"tiny-a": true}}})
	post := func(ctx context.Context) *httptest.ResponseRecorder {
		r := httptest.NewRequestWithContext(ctx, "POST", "/jobs", strings.NewReader(chatBody))
		r.Header.Set("Idempotency-Key", "k")
		w := httptest.NewRecorder()
		s.ServeHTTP(w, r)
		return w
	}
	ctx1, leave := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	wg.Add(2)
	go func() { defer wg.Done(); post(ctx1) }()
	<-jobs.entered // appended, not yet applied
	leave()
	var retry *httptest.ResponseRecorder
	go func() { defer wg.Done(); retry = post(context.Background()) }()
	close(jobs.release)
	wg.Wait()
	if err := p.CatchUp(context.Background(), 0); err != nil {
		t.Fatal(err)
	}
	if retry.Code != http.StatusAccepted {
		t.Fatalf("retry: %d %s", retry.Code, retry.Body.String())
	}
	if n := p.Counts()[projections.Queued]; n != 1 {
		t.Fatalf("%d jobs for one key, want 1", n)
	}
	var got struct {
		JobID string `json:"job_id"`
	}
	json.Unmarshal(retry.Body.Bytes(), &got)
	if id, ok, _ := p.Idempotent("", "k"); !ok || id.String() != got.JobID {
		t.Fatalf("retry answered %s, the key holds %s", got.JobID, id)
	}
}

func TestIdempotencyKeyLengthIsCapped(t *testing.T) {
	b := setupJobs(t, nil)
	b.submit(t, chatBody, "Idempotency-Key", strings.Repeat("k", MaxIdempotencyKey))
	w := b.do(t, "POST", "/jobs", chatBody, "Idempotency-Key", strings.Repeat("k", MaxIdempotencyKey+1))
	if w.Code != http.StatusBadRequest || !strings.Contains(errorOf(t, w), "Idempotency-Key is 256 bytes: the limit is 255") {
		t.Fatalf("long key: %d %s", w.Code, w.Body.String())
	}
	if c := b.proj.Counts(); c[projections.Queued] != 1 {
		t.Fatalf("queued %d, want 1", c[projections.Queued])
	}
}

// TestJobByIdempotencyKey: GET /jobs?idempotency_key= finds the caller's
// job under the key, and only the caller's.
func TestJobByIdempotencyKey(t *testing.T) {
	b := setupJobs(t, func(c *Config) { c.Tokens = map[string]string{"ci": "tok-ci", "ops": "tok-ops"} })
	auth := func(tok string) []string { return []string{"Authorization", "Bearer " + tok} }
	id := b.submit(t, chatBody, append(auth("tok-ci"), "Idempotency-Key", "k1")...)
	b.submit(t, chatBody, auth("tok-ci")...)
	list := func(tok, key string) []JobSummary {
		t.Helper()
		w := b.do(t, "GET", "/jobs?idempotency_key="+key, "", auth(tok)...)
		var v struct{ Jobs []JobSummary }
		if w.Code != 200 || json.Unmarshal(w.Body.Bytes(), &v) != nil {
			t.Fatalf("GET: %d %s", w.Code, w.Body.String())
		}
		return v.Jobs
	}
	if got := list("tok-ci", "k1"); len(got) != 1 || got[0].JobID != id {
		t.Fatalf("k1: %+v, want %s", got, id)
	}
	if got := list("tok-ci", "k2"); len(got) != 0 {
		t.Fatalf("unused key: %+v", got)
	}
	if got := list("tok-ops", "k1"); len(got) != 0 {
		t.Fatalf("another caller's key: %+v", got)
	}
	if w := b.do(t, "GET", "/jobs?idempotency_key=", "", auth("tok-ci")...); w.Code != 400 {
		t.Fatalf("empty key: %d", w.Code)
	}
}
