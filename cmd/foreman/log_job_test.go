package main

import (
	"encoding/json"
	"errors"
	"strings"
	"testing"

	"github.com/oklog/ulid/v2"

	"github.com/foreman-dev/foreman/eventlog"
)

func TestLogJobTimeline(t *testing.T) {
	t.Parallel()
	f := newLogFixture(t)
	out := mustRunLog(t, f.dir, "job", f.a.String())
	lines := strings.Split(out, "\n")
	if !strings.HasPrefix(lines[0], "job "+f.a.String()+": 8 events") {
		t.Fatalf("header: %q", lines[0])
	}
	wantTypes := []eventlog.Type{eventlog.JobSubmitted, eventlog.JobStarted, eventlog.AttemptFailed, eventlog.JobStarted,
		eventlog.ArtifactStored, eventlog.JobSucceeded, eventlog.WebhookAttempted, eventlog.WebhookDelivered}
	for i, typ := range wantTypes {
		if !strings.Contains(lines[1+i], " "+string(typ)+" ") {
			t.Fatalf("timeline line %d is not %s: %q", i+1, typ, lines[1+i])
		}
	}
	if !strings.Contains(lines[1], "+0s") || !strings.Contains(lines[1], "model=tiny-a") {
		t.Fatalf("submission line: %q", lines[1])
	}
	for _, want := range []string{"state:", "done", "model:", "tiny-a", "kind:", "chat",
		"attempts:", "2 started, 2 of 3 counted", "result:", "response", "artifacts:",
		"application/json", "42 bytes", "webhook:", "https://hooks.example/x"} {
		if !strings.Contains(out, want) {
			t.Errorf("job view lacks %q:\n%s", want, out)
		}
	}
	if strings.Contains(out, "s3cret") {
		t.Fatal("job view leaks the webhook token")
	}
	if out := mustRunLog(t, f.dir, "job", f.b.String()); !strings.Contains(out, "failed") ||
		!strings.Contains(out, "model not found (status 404)") {
		t.Fatalf("failed job:\n%s", out)
	}
}

func TestLogJobJSON(t *testing.T) {
	t.Parallel()
	f := newLogFixture(t)
	var rep struct {
		Job    string           `json:"job"`
		Events []map[string]any `json:"events"`
		View   *struct {
			State     string `json:"state"`
			Model     string `json:"model"`
			Attempts  int    `json:"attempts"`
			LastError string `json:"last_error"`
			Artifacts []struct {
				Name string `json:"name"`
				Size int64  `json:"size"`
				Blob string `json:"blob"`
			} `json:"artifacts"`
		} `json:"view"`
		ViewNote string `json:"view_note"`
	}
	// Flags may follow the job id.
	if err := json.Unmarshal([]byte(mustRunLog(t, f.dir, "job", f.a.String(), "--json")), &rep); err != nil {
		t.Fatal(err)
	}
	if rep.Job != f.a.String() || len(rep.Events) != 8 || rep.View == nil || rep.View.State != "done" ||
		rep.View.Attempts != 2 || len(rep.View.Artifacts) != 1 || rep.View.Artifacts[0].Size != 42 ||
		rep.View.Artifacts[0].Blob != "a/"+f.a.String()+"/response" {
		t.Fatalf("job --json: %+v", rep)
	}
	rep.View = nil
	if err := json.Unmarshal([]byte(mustRunLog(t, f.dir, "job", "--json", f.d.String())), &rep); err != nil {
		t.Fatal(err)
	}
	if rep.View != nil || !strings.Contains(rep.ViewNote, "expired") || len(rep.Events) != 2 {
		t.Fatalf("expired job: %+v", rep)
	}
	if err := json.Unmarshal([]byte(mustRunLog(t, f.dir, "job", "--json", f.c.String())), &rep); err != nil {
		t.Fatal(err)
	}
	if rep.View == nil || rep.View.State != "queued" || len(rep.Events) != 2 {
		t.Fatalf("queued job: %+v", rep)
	}
}

func TestLogJobErrors(t *testing.T) {
	t.Parallel()
	f := newLogFixture(t)
	_, _, err := runLog(t, f.dir, "job", "not-a-ulid")
	if exitCode(err) != ExitUsage || !strings.Contains(err.Error(), `"not-a-ulid"`) {
		t.Fatalf("bad id: %v", err)
	}
	unknown := ulid.Make()
	_, _, err = runLog(t, f.dir, "job", unknown.String())
	if !errors.Is(err, eventlog.ErrNotFound) || !strings.Contains(err.Error(), unknown.String()) || exitCode(err) != ExitError {
		t.Fatalf("unknown job: %v", err)
	}
}
