package api

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"

	"github.com/oklog/ulid/v2"

	"github.com/foreman-dev/foreman/eventlog"
	"github.com/foreman-dev/foreman/projections"
)

// Fuzz targets for the request surfaces that take arbitrary bytes from
// callers. Seeds live in testdata/fuzz/<FuzzName>; CI runs each target for
// a few seconds (.ci/run).

// fuzzMaxBody is small so the fuzzer reaches the 413 path.
const fuzzMaxBody = 1 << 10

// notifyLog is the event log with a signal on each append, so a fuzz run
// learns without waiting that a sync call reached the queue.
type notifyLog struct {
	*eventlog.Log
	appended chan struct{}
}

func (n *notifyLog) Append(ctx context.Context, recs ...eventlog.Record) ([]eventlog.Event, error) {
	evs, err := n.Log.Append(ctx, recs...)
	if err == nil {
		select {
		case n.appended <- struct{}{}:
		default:
		}
	}
	return evs, err
}

// setupFuzz is setupJobs for a fuzz target: one store and server shared by
// all the inputs of a run (the fuzz function runs them one at a time).
func setupFuzz(f *testing.F) (*notifyLog, *projections.Projections, *Server) {
	f.Helper()
	l, p := openStore(f)
	nl := &notifyLog{Log: l, appended: make(chan struct{}, 1)}
	srv := New(Config{Log: nl, Jobs: p, MaxBody: fuzzMaxBody,
		Inventory: &fakeInventory{models: map[string]bool{"tiny-a": true, "tiny-b": true}}})
	return nl, p, srv
}

// checkRefusal fails unless w is a 4xx with Ollama's {"error": "..."}
// body, and the store holds nothing new.
func checkRefusal(t *testing.T, w *httptest.ResponseRecorder, l *eventlog.Log, before uint64, input []byte) {
	t.Helper()
	if w.Code < 400 || w.Code >= 500 {
		t.Fatalf("input %q: status %d, want a 4xx refusal: %s", input, w.Code, w.Body.String())
	}
	if ct := w.Header().Get("Content-Type"); !strings.HasPrefix(ct, "application/json") {
		t.Fatalf("input %q: %d with content type %q", input, w.Code, ct)
	}
	var e map[string]any
	if err := json.Unmarshal(w.Body.Bytes(), &e); err != nil || len(e) != 1 {
		t.Fatalf("input %q: %d body is not {\"error\": ...}: %q", input, w.Code, w.Body.String())
	}
	if msg, ok := e["error"].(string); !ok || msg == "" {
		t.Fatalf("input %q: %d body has no error message: %q", input, w.Code, w.Body.String())
	}
	if n := l.LastOffset(); n != before {
		t.Fatalf("input %q refused with %d but the log grew from %d to %d", input, w.Code, before, n)
	}
}

// FuzzJobsBody sends arbitrary POST /jobs bodies through the real handler:
// never a panic or a 5xx; a 4xx is a JSON {"error"} and appends nothing;
// a 202 appends exactly the job's submission and the job can be read back.
func FuzzJobsBody(f *testing.F) {
	for _, s := range []string{
		`{"model":"tiny-a","messages":[{"role":"user","content":"hi"}]}`,
		`{"model":"tiny-b","kind":"generate","prompt":"x","priority":-3,"state_webhook_url":"https://hooks.example/x?t=1"}`,
		`{"model":"tiny-a","kind":"embed"}`,
		`{"model":"tiny-a","priority":1e40}`,
		`{"model":"tiny-a","state_webhook_url":"ftp://x"}`,
		`{"model":"nope"}`, `{"model":""}`, `{"kind":"generate"}`, `{"model":"tiny-a","messages":"x"}`,
		`[1]`, `null`, `"x"`, ``, ` `, `{`, `{"model":"tiny-a"} trailing`, `{"model":"tiny-a","model":7}`,
		"\xff\xfe", strings.Repeat(" ", fuzzMaxBody+1),
	} {
		f.Add([]byte(s))
	}
	l, p, srv := setupFuzz(f)
	f.Fuzz(func(t *testing.T, body []byte) {
		before := l.LastOffset()
		r := httptest.NewRequest("POST", "/jobs", bytes.NewReader(body))
		w := httptest.NewRecorder()
		srv.ServeHTTP(w, r)
		if w.Code != http.StatusAccepted {
			checkRefusal(t, w, l.Log, before, body)
			return
		}
		var got struct {
			JobID string `json:"job_id"`
		}
		if err := json.Unmarshal(w.Body.Bytes(), &got); err != nil {
			t.Fatalf("input %q: 202 body %q", body, w.Body.String())
		}
		id, err := ulid.Parse(got.JobID)
		if err != nil {
			t.Fatalf("input %q: 202 with job id %q", body, got.JobID)
		}
		if n := l.LastOffset(); n != before+1 {
			t.Fatalf("input %q: 202 but the log grew from %d to %d", body, before, n)
		}
		hist, err := l.JobEvents(id)
		if err != nil || len(hist) != 1 || hist[0].Type != eventlog.JobSubmitted {
			t.Fatalf("input %q: history %v %v", body, hist, err)
		}
		var sub eventlog.Submitted
		if err := hist[0].Decode(&sub); err != nil {
			t.Fatalf("input %q: submission does not decode: %v", body, err)
		}
		if sum := sha256.Sum256(body); !bytes.Equal(sub.BodySHA256, sum[:]) || !json.Valid(sub.Request) {
			t.Fatalf("input %q: stored request %q", body, sub.Request)
		}
		// Read back as a client does, right after the 202.
		gw := httptest.NewRecorder()
		srv.ServeHTTP(gw, httptest.NewRequest("GET", "/jobs/"+id.String(), nil))
		var v struct {
			State string `json:"state"`
		}
		if gw.Code != http.StatusOK || json.Unmarshal(gw.Body.Bytes(), &v) != nil || v.State != "queued" {
			t.Fatalf("input %q: GET /jobs/%s after the 202: %d %s", body, id, gw.Code, gw.Body.String())
		}
		if j, err := p.Job(id); err != nil || j.State != projections.Queued { // applied by then
			t.Fatalf("input %q: job %s after the GET: %+v %v", body, id, j, err)
		}
	})
}

// FuzzChatBody sends arbitrary POST /api/chat bodies: never a panic or a
// 5xx; a refusal is Ollama's 4xx {"error"} and appends nothing; a body
// taken is queued as one sync job, cancelled when the caller leaves.
func FuzzChatBody(f *testing.F) {
	for _, s := range []string{
		`{"model":"tiny-a","messages":[{"role":"user","content":"hi"}]}`,
		`{"model":"tiny-b","messages":[],"stream":false,"options":{"seed":3}}`,
		`{"model":"tiny-a","messages":[{"role":"user","content":"hi"}],"think":"high"}`,
		`{"model":"tiny-a","messages":[{"role":7}]}`,
		`{"model":"tiny-a","options":"x"}`, `{"model":"tiny-a","keep_alive":"forever"}`,
		`{"model":"nope","messages":[]}`, `{"messages":[]}`, `{"model":""}`,
		`[]`, `null`, `1`, ``, "\n", `{"model":`, `{"model":"tiny-a"}{"model":"nope"}`,
		"\xff", strings.Repeat("a", fuzzMaxBody+1),
	} {
		f.Add([]byte(s))
	}
	l, _, srv := setupFuzz(f)
	f.Fuzz(func(t *testing.T, body []byte) {
		before := l.LastOffset()
		select { // a signal left over from an earlier input
		case <-l.appended:
		default:
		}
		ctx, cancel := context.WithCancel(context.Background())
		defer cancel()
		r := httptest.NewRequest("POST", "/api/chat", bytes.NewReader(body)).WithContext(ctx)
		w := httptest.NewRecorder()
		served := make(chan struct{})
		go func() { srv.ServeHTTP(w, r); close(served) }()
		select {
		case <-served:
			checkRefusal(t, w, l.Log, before, body)
			return
		case <-l.appended: // queued: no worker runs it, so the caller leaves
			cancel()
			<-served
		}
		var evs []eventlog.Event
		if err := l.Scan(context.Background(), before+1, l.LastOffset(), func(e eventlog.Event) error {
			evs = append(evs, e)
			return nil
		}); err != nil {
			t.Fatal(err)
		}
		if len(evs) != 2 || evs[0].Type != eventlog.JobSubmitted || evs[1].Type != eventlog.CancelRequested || evs[0].Job != evs[1].Job {
			t.Fatalf("input %q: appended %v, want the submission and the caller's cancel", body, evs)
		}
		var sub eventlog.Submitted
		if err := evs[0].Decode(&sub); err != nil || !sub.Sync || !bytes.Equal(sub.Request, body) {
			t.Fatalf("input %q: submission %+v %v", body, sub, err)
		}
	})
}

// FuzzArtifactName asks GET /jobs/{id}/artifacts/{name} for arbitrary
// names: path tricks never reach another job's artifact or any other
// blob; a name refused is 400 and an unknown one 404, each with a JSON
// error; a 200 is exactly the named artifact of that job.
func FuzzArtifactName(f *testing.F) {
	for _, s := range []string{
		"result.json", "notes.txt", "secret.txt", "", ".", "..", "../", "./result.json", "result.json/",
		"../../" + "x/artifacts/secret.txt", "%2e%2e%2fsecret.txt", "a%2Fb", "a%5Cb", `a\b`, "x%00y", "%0a",
		"%ff", "r%C3%A9sum%C3%A9.txt", "result.json%00", "result.json?x=1", "result.json#frag", "//etc/passwd",
		strings.Repeat("a", 256),
	} {
		f.Add(s)
	}
	l, p, srv := setupFuzz(f)
	own, other := ulid.Make(), ulid.Make()
	arts := map[string][]byte{"result.json": []byte(`{"done":true}`), "notes.txt": []byte("notes"), "résumé.txt": []byte("cv")}
	var recs []eventlog.Record
	art := func(id ulid.ULID, name string, data []byte) eventlog.Record {
		key := eventlog.ArtifactBlob(id, name)
		sum := sha256.Sum256(data)
		return eventlog.Record{Job: id, Type: eventlog.ArtifactStored, Blobs: []eventlog.Blob{{Key: key, Data: data}},
			Payload: &eventlog.Artifact{Name: name, ContentType: "text/plain", Size: int64(len(data)), SHA256: sum[:], Blob: key}}
	}
	for _, id := range []ulid.ULID{own, other} {
		recs = append(recs, eventlog.Record{Job: id, Type: eventlog.JobSubmitted, Payload: &eventlog.Submitted{Model: "tiny-a", MaxAttempts: 1}})
	}
	for name, data := range arts {
		recs = append(recs, art(own, name, data))
	}
	secret := []byte("another job's secret")
	recs = append(recs, art(other, "secret.txt", secret))
	evs, err := l.Append(context.Background(), recs...)
	if err != nil {
		f.Fatal(err)
	}
	if err := p.WaitFor(context.Background(), evs[len(evs)-1].Offset); err != nil {
		f.Fatal(err)
	}
	prefix := "/jobs/" + own.String() + "/artifacts/"
	f.Fuzz(func(t *testing.T, name string) {
		u, err := url.Parse(prefix + name)
		if err != nil || !strings.HasPrefix(u.Path, prefix) {
			return // no such request line reaches the handler: net/http refuses it
		}
		r := httptest.NewRequest("GET", "/", nil)
		r.URL, r.RequestURI = u, u.RequestURI()
		w := httptest.NewRecorder()
		srv.ServeHTTP(w, r)
		got := strings.TrimPrefix(u.Path, prefix)
		switch w.Code {
		case http.StatusOK:
			want, ok := arts[got]
			if !ok || !bytes.Equal(w.Body.Bytes(), want) {
				t.Fatalf("name %q (path %q): 200 with %q, not an artifact of job %s", name, u.Path, w.Body.Bytes(), own)
			}
		case http.StatusBadRequest, http.StatusNotFound:
			if _, ok := arts[got]; ok {
				t.Fatalf("name %q: %d for an artifact the job has", name, w.Code)
			}
			var e struct {
				Error string `json:"error"`
			}
			if err := json.Unmarshal(w.Body.Bytes(), &e); err != nil || e.Error == "" {
				t.Fatalf("name %q: %d without a JSON error: %q", name, w.Code, w.Body.String())
			}
		default:
			t.Fatalf("name %q (path %q): status %d %q", name, u.Path, w.Code, w.Body.String())
		}
		if bytes.Contains(w.Body.Bytes(), secret) {
			t.Fatalf("name %q: answer holds another job's artifact", name)
		}
	})
}
