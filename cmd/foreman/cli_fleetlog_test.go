package main

import (
	"context"
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/oklog/ulid/v2"

	"github.com/foreman-dev/foreman/eventlog"
	"github.com/foreman-dev/foreman/eventlog/ship"
	"github.com/foreman-dev/foreman/eventlog/ship/natstest"
)

// shipLog appends recs to a new log and ships it as node, returning once
// everything is in the stream.
func shipLog(t *testing.T, url, node string, recs ...eventlog.Record) {
	t.Helper()
	l, err := eventlog.Open(eventlog.Config{Dir: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	evs, err := l.Append(context.Background(), recs...)
	if err != nil {
		t.Fatal(err)
	}
	s, err := ship.New(l, ship.Config{URL: url, Node: node})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	done := make(chan error, 1)
	go func() { done <- s.Run(ctx) }()
	err = s.WaitShipped(ctx, evs[len(evs)-1].Offset)
	cancel()
	<-done
	if err != nil {
		t.Fatal(err)
	}
}

func TestFleetLogSummarisesNodesAndFollowsAJob(t *testing.T) {
	srv := natstest.Start(t)
	done, failed, queued := ulid.Make(), ulid.Make(), ulid.Make()
	sub := func(id ulid.ULID, model string) eventlog.Record {
		return eventlog.Record{Job: id, Type: eventlog.JobSubmitted, Payload: &eventlog.Submitted{Model: model, Kind: eventlog.KindChat, Request: []byte(`{}`)}}
	}
	shipLog(t, srv.URL(), "gpu1",
		sub(done, "llama"),
		eventlog.Record{Job: done, Type: eventlog.JobStarted, Payload: &eventlog.Started{Attempt: 1}},
		eventlog.Record{Job: done, Type: eventlog.JobSucceeded, Payload: &eventlog.Succeeded{Attempt: 1}},
		sub(queued, "llama"))
	shipLog(t, srv.URL(), "gpu2",
		sub(failed, "qwen"),
		eventlog.Record{Job: failed, Type: eventlog.JobStarted, Payload: &eventlog.Started{Attempt: 1}},
		eventlog.Record{Job: failed, Type: eventlog.JobFailed, Payload: &eventlog.Failure{Attempt: 1, Error: "model not found", Status: 404}})

	out, _, err := runCLI(t, map[string]string{"FOREMAN_NATS_URL": srv.URL()}, "", "fleet", "log")
	if err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(strings.TrimSpace(out), "\n")
	if len(lines) != 3 || !strings.HasPrefix(lines[0], "NODE") {
		t.Fatalf("want a header and two nodes:\n%s", out)
	}
	// NODE EVENTS OFFSETS MISSING DUPLICATES UNORDERED FIRST LAST QUEUED RUNNING DONE FAILED CANCELLED EXPIRED
	g1, g2 := strings.Fields(lines[1]), strings.Fields(lines[2])
	if g1[0] != "gpu1" || g1[1] != "4" || g1[2] != "1..4" || g1[3] != "0" || g1[8] != "1" || g1[10] != "1" || g1[11] != "0" {
		t.Errorf("gpu1 row %q", lines[1])
	}
	if g2[0] != "gpu2" || g2[1] != "3" || g2[11] != "1" || g2[10] != "0" {
		t.Errorf("gpu2 row %q", lines[2])
	}

	out, _, err = runCLI(t, nil, "", "fleet", "log", "--nats", srv.URL(), "--job", failed.String())
	if err != nil {
		t.Fatal(err)
	}
	if n := strings.Count(out, "gpu2"); n != 3 || !strings.Contains(out, "job.failed") || !strings.Contains(out, "error=model not found") || strings.Contains(out, "gpu1") {
		t.Errorf("timeline of the failed job:\n%s", out)
	}

	out, _, err = runCLI(t, nil, "", "fleet", "log", "--nats", srv.URL(), "--node", "gpu1", "--json")
	if err != nil {
		t.Fatal(err)
	}
	var sum struct {
		Nodes []nodeSummary `json:"nodes"`
	}
	if err := json.Unmarshal([]byte(out), &sum); err != nil {
		t.Fatalf("%v:\n%s", err, out)
	}
	if len(sum.Nodes) != 1 || sum.Nodes[0].Node != "gpu1" || sum.Nodes[0].Jobs["queued"] != 1 || sum.Nodes[0].Jobs["done"] != 1 {
		t.Errorf("--node gpu1 --json: %s", out)
	}

	// --events --json: every selected event, one record per line.
	out, _, err = runCLI(t, nil, "", "fleet", "log", "--nats", srv.URL(), "--node", "gpu2", "--events", "--json")
	if err != nil {
		t.Fatal(err)
	}
	var types []string
	for _, line := range strings.Split(strings.TrimSpace(out), "\n") {
		var r ship.Record
		if err := json.Unmarshal([]byte(line), &r); err != nil || r.Node != "gpu2" {
			t.Fatalf("line %q: %v", line, err)
		}
		types = append(types, r.Event.Type)
	}
	if strings.Join(types, " ") != "job.submitted job.started job.failed" {
		t.Errorf("--node gpu2 --events: %v", types)
	}

	// --from selects by the time the stream stored a message.
	out, _, err = runCLI(t, nil, "", "fleet", "log", "--nats", srv.URL(), "--from", "1h")
	if err != nil || strings.Count(out, "\n") != 3 {
		t.Errorf("--from 1h: %v\n%s", err, out)
	}
	out, _, err = runCLI(t, nil, "", "fleet", "log", "--nats", srv.URL(), "--from", time.Now().Add(time.Hour).Format(time.RFC3339))
	if err != nil || !strings.Contains(out, "holds no foreman events") {
		t.Errorf("--from an hour ahead: %v\n%s", err, out)
	}

	// Bad usage says what is wrong.
	for _, args := range [][]string{{"fleet"}, {"fleet", "log"}, {"fleet", "log", "--nats", srv.URL(), "--from", "yesterday"}} {
		if _, _, err := runCLI(t, nil, "", args...); exitCode(err) != ExitUsage {
			t.Errorf("%q: %v, want a usage error", args, err)
		}
	}
	if _, _, err := runCLI(t, nil, "", "fleet", "log", "--nats", srv.URL(), "--job", ulid.Make().String()); err == nil || !strings.Contains(err.Error(), "no events") {
		t.Errorf("unknown job: %v", err)
	}
}
