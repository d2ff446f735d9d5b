package api

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/cockroachdb/pebble/v2/vfs"
	"github.com/oklog/ulid/v2"

	"github.com/foreman-dev/foreman/eventlog"
	"github.com/foreman-dev/foreman/projections"
)

type testBundle struct {
	log  *eventlog.Log
	proj *projections.Projections
	srv  *Server
}

// openStore is an in-memory log with projections following it until the
// test ends.
func openStore(tb testing.TB) (*eventlog.Log, *projections.Projections) {
	tb.Helper()
	l, err := eventlog.Open(eventlog.Config{Dir: "d", FS: vfs.NewMem()})
	if err != nil {
		tb.Fatal(err)
	}
	p, err := projections.Open(context.Background(), l, l)
	if err != nil {
		tb.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { p.Run(ctx); close(done) }()
	tb.Cleanup(func() { cancel(); <-done; l.Close() })
	return l, p
}

// allowHosts is a HostPolicy listing names.
type allowHosts map[string]bool

func (a allowHosts) AllowsHost(h string) bool { return a[h] }

func setupJobs(t *testing.T, mod func(*Config)) *testBundle {
	t.Helper()
	l, p := openStore(t)
	cfg := Config{Log: l, Jobs: p, Inventory: &fakeInventory{models: map[string]bool{"tiny-a": true, "tiny-b": true}}}
	if mod != nil {
		mod(&cfg)
	}
	return &testBundle{log: l, proj: p, srv: New(cfg)}
}

func (b *testBundle) do(t *testing.T, method, path, body string, hdr ...string) *httptest.ResponseRecorder {
	t.Helper()
	r := httptest.NewRequest(method, path, strings.NewReader(body))
	for i := 0; i+1 < len(hdr); i += 2 {
		r.Header.Set(hdr[i], hdr[i+1])
	}
	w := httptest.NewRecorder()
	b.srv.ServeHTTP(w, r)
	return w
}

func (b *testBundle) submit(t *testing.T, body string, hdr ...string) string {
	t.Helper()
	w := b.do(t, "POST", "/jobs", body, hdr...)
	if w.Code != http.StatusAccepted {
		t.Fatalf("POST /jobs: %d %s", w.Code, w.Body.String())
	}
	var got struct {
		JobID string `json:"job_id"`
	}
	json.Unmarshal(w.Body.Bytes(), &got)
	return got.JobID
}

func (b *testBundle) get(t *testing.T, id string) JobView {
	t.Helper()
	w := b.do(t, "GET", "/jobs/"+id, "")
	if w.Code != 200 {
		t.Fatalf("GET /jobs/%s: %d %s", id, w.Code, w.Body.String())
	}
	var v JobView
	if err := json.Unmarshal(w.Body.Bytes(), &v); err != nil {
		t.Fatal(err)
	}
	return v
}

const chatBody = `{"model":"tiny-a","messages":[{"role":"user","content":"hi"}],"options":{"seed":1},"x_future":true}`

func TestSubmitThenGetIsConsistent(t *testing.T) {
	b := setupJobs(t, nil)
	id := b.submit(t, `{"model":"tiny-a","messages":[],"priority":3,"kind":"chat","state_webhook_url":"https://hooks.example/x"}`)
	v := b.get(t, id) // no waiting: the 202 came after the projections had it
	if v.State != "queued" || v.Model != "tiny-a" || v.Priority != 3 || v.Position == nil || *v.Position != 1 {
		t.Fatalf("view %+v", v)
	}
	// foreman's fields are not part of the stored request.
	hist, _ := b.log.JobEvents(ulid.MustParse(id))
	var sub eventlog.Submitted
	hist[0].Decode(&sub)
	if bytes.Contains(sub.Request, []byte("priority")) || bytes.Contains(sub.Request, []byte("state_webhook_url")) || sub.WebhookURL != "https://hooks.example/x" {
		t.Fatalf("stored request %s", sub.Request)
	}
	id2 := b.submit(t, chatBody)
	if v := b.get(t, id2); *v.Position != 2 {
		t.Fatalf("second job position %d", *v.Position)
	}
	hist, _ = b.log.JobEvents(ulid.MustParse(id2))
	hist[0].Decode(&sub)
	if !bytes.Contains(sub.Request, []byte(`"x_future":true`)) {
		t.Fatalf("unknown field dropped: %s", sub.Request)
	}
}

func TestSubmitRefusals(t *testing.T) {
	b := setupJobs(t, func(c *Config) { c.MaxBody = 1 << 10; c.WebhookHosts = allowHosts{"hooks.example": true} })
	for _, tc := range []struct {
		name, body string
		status     int
		msg        string
	}{
		{"malformed", `{"model":`, 400, "invalid JSON"},
		{"empty", ``, 400, "missing request body"},
		{"not an object", `[1]`, 400, "invalid JSON"},
		{"missing model", `{"messages":[]}`, 400, "model is required"},
		{"generate without model", `{"kind":"generate","prompt":"x"}`, 404, "model '' not found"},
		{"invalid model name", `{"model":"bad name!!","messages":[]}`, 400, "model is required"},
		{"generate invalid model name", `{"kind":"generate","model":"bad name!!"}`, 404, "model 'bad name!!' not found"},
		{"unknown model", `{"model":"nope","messages":[]}`, 404, "model 'nope' not found"},
		{"bad kind", `{"model":"tiny-a","kind":"embed"}`, 400, `"kind"`},
		{"bad priority", `{"model":"tiny-a","priority":"high"}`, 400, `"priority"`},
		{"bad field type", `{"model":"tiny-a","messages":"hi"}`, 400, "cannot unmarshal"},
		{"relative webhook", `{"model":"tiny-a","messages":[],"state_webhook_url":"/x"}`, 400, "state_webhook_url"},
		{"webhook not allowed", `{"model":"tiny-a","messages":[],"state_webhook_url":"http://169.254.169.254/x"}`, 400, "FOREMAN_WEBHOOK_ALLOW"},
		{"too large", `{"model":"tiny-a","prompt":"` + strings.Repeat("x", 2000) + `"}`, 413, "FOREMAN_MAX_BODY"},
	} {
		w := b.do(t, "POST", "/jobs", tc.body)
		if w.Code != tc.status || !strings.Contains(errorOf(t, w), tc.msg) {
			t.Errorf("%s: %d %s", tc.name, w.Code, w.Body.String())
		}
	}
	if n := b.log.LastOffset(); n != 0 {
		t.Fatalf("refused submissions appended %d events", n)
	}
}

func TestIdempotencyKey(t *testing.T) {
	b := setupJobs(t, nil)
	a := b.submit(t, chatBody, "Idempotency-Key", "k1")
	if again := b.submit(t, chatBody, "Idempotency-Key", "k1"); again != a {
		t.Fatalf("same key and body: %s, want %s", again, a)
	}
	if w := b.do(t, "POST", "/jobs", `{"model":"tiny-b","messages":[]}`, "Idempotency-Key", "k1"); w.Code != 409 {
		t.Fatalf("same key, other body: %d %s", w.Code, w.Body.String())
	}
	if other := b.submit(t, chatBody, "Idempotency-Key", "k2"); other == a {
		t.Fatal("another key gave the same job")
	}
	if c := b.proj.Counts(); c[projections.Queued] != 2 {
		t.Fatalf("queued %d, want 2", c[projections.Queued])
	}
}

func TestQueueCapAnswers429(t *testing.T) {
	b := setupJobs(t, func(c *Config) { c.MaxQueue = 2 })
	b.submit(t, chatBody)
	b.submit(t, chatBody)
	w := b.do(t, "POST", "/jobs", chatBody)
	if w.Code != 429 || w.Header().Get("Retry-After") == "" {
		t.Fatalf("at the cap: %d %v", w.Code, w.Header())
	}
	// The synchronous routes answer as Ollama does when its queue is full.
	w = b.do(t, "POST", "/api/chat", chatBody)
	if w.Code != 503 || w.Header().Get("Retry-After") == "" || !strings.Contains(w.Body.String(), `"error":"server busy`) {
		t.Fatalf("sync at the cap: %d %v %s", w.Code, w.Header(), w.Body.String())
	}
	if n := b.log.LastOffset(); n != 2 {
		t.Fatalf("refused calls appended events: last offset %d", n)
	}
}

func TestJobIDsAndArtifacts(t *testing.T) {
	b := setupJobs(t, nil)
	if w := b.do(t, "GET", "/jobs/not-a-ulid", ""); w.Code != 400 {
		t.Fatalf("bad id: %d", w.Code)
	}
	if w := b.do(t, "GET", "/jobs/"+ulid.Make().String(), ""); w.Code != 404 {
		t.Fatalf("unknown id: %d", w.Code)
	}
	id := ulid.MustParse(b.submit(t, chatBody))
	small := bytes.Repeat([]byte("a"), InlineArtifactMax)
	big := bytes.Repeat([]byte("b"), InlineArtifactMax+1)
	art := func(name string, data []byte) eventlog.Record {
		key := eventlog.ArtifactBlob(id, name)
		sum := sha256.Sum256(data)
		return eventlog.Record{Job: id, Type: eventlog.ArtifactStored, Blobs: []eventlog.Blob{{Key: key, Data: data}},
			Payload: &eventlog.Artifact{Name: name, ContentType: "text/plain", Size: int64(len(data)), SHA256: sum[:], Blob: key}}
	}
	evs, err := b.log.Append(context.Background(), art("small.txt", small), art("big.txt", big))
	if err != nil {
		t.Fatal(err)
	}
	b.proj.WaitFor(context.Background(), evs[1].Offset)
	v := b.get(t, id.String())
	if len(v.Artifacts) != 2 || !bytes.Equal(v.Artifacts[0].Data, small) || v.Artifacts[0].URL != "" {
		t.Fatalf("256 KiB artifact not inline: %+v", v.Artifacts[0].URL)
	}
	if v.Artifacts[1].Data != nil || v.Artifacts[1].URL != "http://example.com/jobs/"+id.String()+"/artifacts/big.txt" {
		t.Fatalf("256 KiB + 1 artifact: url %q", v.Artifacts[1].URL)
	}
	w := b.do(t, "GET", "/jobs/"+id.String()+"/artifacts/big.txt", "")
	if w.Code != 200 || !bytes.Equal(w.Body.Bytes(), big) || w.Header().Get("Content-Type") != "text/plain" {
		t.Fatalf("artifact bytes: %d %s", w.Code, w.Header())
	}
	for _, bad := range []string{"..", "a%2Fb", "a%5Cb", "x%00y", "%0a"} {
		if w := b.do(t, "GET", "/jobs/"+id.String()+"/artifacts/"+bad, ""); w.Code != 400 {
			t.Errorf("artifact name %q: %d", bad, w.Code)
		}
	}
	if w := b.do(t, "GET", "/jobs/"+id.String()+"/artifacts/missing", ""); w.Code != 404 {
		t.Fatalf("missing artifact: %d", w.Code)
	}
}

func TestCancelAndRetryStates(t *testing.T) {
	b := setupJobs(t, nil)
	id := b.submit(t, chatBody)
	if w := b.do(t, "POST", "/jobs/"+id+"/retry", ""); w.Code != 409 {
		t.Fatalf("retry of a queued job: %d", w.Code)
	}
	if w := b.do(t, "DELETE", "/jobs/"+id, ""); w.Code != 202 {
		t.Fatalf("cancel queued: %d %s", w.Code, w.Body.String())
	}
	jid := ulid.MustParse(id)
	// The worker turns the request into job.cancelled; do it here.
	evs, _ := b.log.Append(context.Background(), eventlog.Record{Job: jid, Type: eventlog.JobCancelled, Payload: &eventlog.Cancellation{Reason: "cancelled"}})
	b.proj.WaitFor(context.Background(), evs[0].Offset)
	if w := b.do(t, "DELETE", "/jobs/"+id, ""); w.Code != 409 {
		t.Fatalf("cancel of a cancelled job: %d", w.Code)
	}
	if w := b.do(t, "POST", "/jobs/"+id+"/retry", ""); w.Code != 202 {
		t.Fatalf("retry of a cancelled job: %d %s", w.Code, w.Body.String())
	}
	if v := b.get(t, id); v.State != "queued" {
		t.Fatalf("after retry: %s", v.State)
	}
}

func TestWriteAcceptedIsWriteJSON(t *testing.T) {
	id := ulid.Make()
	a, b := httptest.NewRecorder(), httptest.NewRecorder()
	writeAccepted(a, id)
	writeJSON(b, http.StatusAccepted, map[string]string{"job_id": id.String()})
	if a.Code != b.Code || a.Body.String() != b.Body.String() || a.Header().Get("Content-Type") != b.Header().Get("Content-Type") {
		t.Fatalf("writeAccepted: %d %q %q; writeJSON: %d %q %q", a.Code, a.Header(), a.Body, b.Code, b.Header(), b.Body)
	}
}
