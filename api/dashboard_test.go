package api

import (
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/oklog/ulid/v2"

	"github.com/foreman-dev/foreman/api/ui"
	"github.com/foreman-dev/foreman/eventlog"
)

// TestDashboardLoadsWithoutATokenAndRootStaysOllama: the page's files
// need no token (they hold no data) and carry the CSP; every API route
// still does; GET / keeps answering as Ollama.
func TestDashboardLoadsWithoutATokenAndRootStaysOllama(t *testing.T) {
	s := New(Config{Tokens: map[string]string{"ci": "tok-ci"}, Health: fakeHealth(false)})
	get := func(path, token string) *httptest.ResponseRecorder {
		r := httptest.NewRequest("GET", path, nil)
		if token != "" {
			r.Header.Set("Authorization", "Bearer "+token)
		}
		w := httptest.NewRecorder()
		s.ServeHTTP(w, r)
		return w
	}
	for _, p := range []string{"/ui/", "/ui/app.js", "/ui/style.css"} {
		w := get(p, "")
		if w.Code != http.StatusOK || w.Header().Get("Content-Security-Policy") != ui.CSP {
			t.Fatalf("GET %s without a token: %d, CSP %q", p, w.Code, w.Header().Get("Content-Security-Policy"))
		}
	}
	if w := get("/ui/", ""); !strings.Contains(w.Body.String(), `name="token"`) {
		t.Fatal("the page has no token input")
	}
	if w := get("/ui", ""); w.Code != http.StatusMovedPermanently || w.Header().Get("Location") != "/ui/" {
		t.Fatalf("GET /ui: %d → %q", w.Code, w.Header().Get("Location"))
	}
	for _, p := range []string{"/queue", "/jobs", "/events", "/"} {
		if w := get(p, ""); w.Code != http.StatusUnauthorized {
			t.Fatalf("GET %s without a token: %d, want 401", p, w.Code)
		}
	}
	if w := get("/", "tok-ci"); w.Code != 200 || w.Body.String() != "Ollama is running" {
		t.Fatalf("GET /: %d %q", w.Code, w.Body.String())
	}
	if w := get("/", ""); w.Header().Get("Content-Security-Policy") != "" {
		t.Fatal("the CSP leaked onto the Ollama routes")
	}
}

// TestQueueOffsetCoversItsView: a reader that follows /events from
// offset+1 misses nothing the view does not include.
func TestQueueOffsetCoversItsView(t *testing.T) {
	b := setupJobs(t, nil)
	var before QueueView
	json.Unmarshal(b.do(t, "GET", "/queue", "").Body.Bytes(), &before)
	if before.Offset != 0 || before.Waiting != 0 {
		t.Fatalf("empty log: %+v", before)
	}
	b.submit(t, chatBody)
	b.submit(t, chatBody)
	var v QueueView
	json.Unmarshal(b.do(t, "GET", "/queue", "").Body.Bytes(), &v)
	if v.Offset != b.log.LastOffset() || v.Waiting != 2 {
		t.Fatalf("after two jobs: offset %d waiting %d, want %d and 2", v.Offset, v.Waiting, b.log.LastOffset())
	}
}

// TestListCarriesPositionAndETA: queued rows of GET /jobs say where they
// stand, as GET /jobs/{id} does; finished ones do not.
func TestListCarriesPositionAndETA(t *testing.T) {
	b := setupJobs(t, nil)
	first := b.submit(t, chatBody)
	second := b.submit(t, chatBody)
	var out struct {
		Jobs []JobSummary `json:"jobs"`
	}
	json.Unmarshal(b.do(t, "GET", "/jobs?state=queued", "").Body.Bytes(), &out)
	if len(out.Jobs) != 2 {
		t.Fatalf("jobs %+v", out.Jobs)
	}
	for _, sm := range out.Jobs {
		v := b.get(t, sm.JobID)
		if sm.Position == nil || v.Position == nil || *sm.Position != *v.Position || sm.ETASeconds == nil || *sm.ETASeconds != *v.ETASeconds {
			t.Fatalf("row %s: position %v eta %v, view position %v eta %v", sm.JobID, sm.Position, sm.ETASeconds, v.Position, v.ETASeconds)
		}
	}
	if *out.Jobs[1].Position != 1 || out.Jobs[1].JobID != first || out.Jobs[0].JobID != second {
		t.Fatalf("order or positions: %+v", out.Jobs)
	}
	// The worker's answer to a cancel request, appended by hand here.
	evs, err := b.log.Append(context.Background(), eventlog.Record{Job: ulid.MustParse(second), Type: eventlog.JobCancelled, Payload: &eventlog.Cancellation{Reason: "test"}})
	if err != nil {
		t.Fatal(err)
	}
	b.proj.WaitFor(context.Background(), evs[0].Offset)
	w := b.do(t, "GET", "/jobs?state=cancelled", "")
	if !strings.Contains(w.Body.String(), second) || strings.Contains(w.Body.String(), "position") || strings.Contains(w.Body.String(), "eta") {
		t.Fatalf("the cancelled row: %s", w.Body.String())
	}
}
