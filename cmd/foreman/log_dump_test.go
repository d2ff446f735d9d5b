package main

import (
	"fmt"
	"strings"
	"testing"
	"time"
)

func dumpLines(out string) []string {
	return strings.Split(strings.TrimSuffix(out, "\n"), "\n")
}

func TestLogDump(t *testing.T) {
	t.Parallel()
	f := newLogFixture(t)
	lines := dumpLines(mustRunLog(t, f.dir, "dump"))
	if uint64(len(lines)) != f.last {
		t.Fatalf("%d lines, want %d", len(lines), f.last)
	}
	for i, line := range lines {
		parts := strings.Fields(line)
		if len(parts) < 4 || parts[0] != fmt.Sprint(i+1) {
			t.Fatalf("line %d: %q", i+1, line)
		}
		if _, err := time.Parse(time.RFC3339Nano, parts[1]); err != nil {
			t.Fatalf("line %d time: %v", i+1, err)
		}
	}
	sub := lines[f.offs["a.submitted"]-1]
	for _, want := range []string{f.a.String(), "job.submitted", "model=tiny-a", "kind=chat",
		fmt.Sprintf("request=%dB", len(fixtureRequest)), "webhook_url=https://hooks.example/x", "submitter=alice"} {
		if !strings.Contains(sub, want) {
			t.Errorf("submitted line lacks %q: %s", want, sub)
		}
	}
	if strings.Contains(sub, "tiny-a\",") || strings.Contains(sub, "messages") || strings.Contains(sub, "request_encoding") {
		t.Errorf("dump shows the request body: %s", sub)
	}
	if fail := lines[f.offs["b.failed"]-1]; !strings.Contains(fail, `error="model not found" status=404`) {
		t.Errorf("failed line: %s", fail)
	}
	if fut := lines[f.offs["c.future"]-1]; !strings.Contains(fut, "job.future_thing foo=bar n=3 nested=") {
		t.Errorf("unknown type line: %s", fut)
	}
	if retry := lines[f.offs["a.attempt_failed"]-1]; !strings.Contains(retry, "retry_at=2023-11-14T22:13:20Z") {
		t.Errorf("retry_at not rendered as a time: %s", retry)
	}
	all := strings.Join(lines, "\n")
	for _, secret := range []string{"s3cret", "hunter2", "token="} {
		if strings.Contains(all, secret) {
			t.Fatalf("dump leaks %q", secret)
		}
	}
}

func TestLogDumpFilters(t *testing.T) {
	t.Parallel()
	f := newLogFixture(t)
	lines := dumpLines(mustRunLog(t, f.dir, "dump", "--job", f.a.String()))
	if len(lines) != 8 {
		t.Fatalf("--job: %d lines, want 8:\n%s", len(lines), strings.Join(lines, "\n"))
	}
	for _, l := range lines {
		if !strings.Contains(l, f.a.String()) {
			t.Fatalf("--job shows another job: %s", l)
		}
	}
	lines = dumpLines(mustRunLog(t, f.dir, "dump", "--type", "job.failed,job.expired"))
	if len(lines) != 2 || !strings.Contains(lines[0], f.b.String()) || !strings.Contains(lines[1], f.d.String()) {
		t.Fatalf("--type: %q", lines)
	}
	lines = dumpLines(mustRunLog(t, f.dir, "dump", "--from", "2", "--to", "4"))
	if len(lines) != 3 || !strings.HasPrefix(lines[0], "2 ") || !strings.HasPrefix(lines[2], "4 ") {
		t.Fatalf("--from/--to: %q", lines)
	}
	lines = dumpLines(mustRunLog(t, f.dir, "dump", "--job", f.a.String(), "--from", "4", "--type", "job.started"))
	if len(lines) != 1 || !strings.HasPrefix(lines[0], fmt.Sprintf("%d ", f.offs["a.started2"])) {
		t.Fatalf("combined filters: %q", lines)
	}
}

func TestLogDumpJSONMatchesExport(t *testing.T) {
	t.Parallel()
	f := newLogFixture(t)
	dump := mustRunLog(t, f.dir, "dump", "--json")
	export := mustRunLog(t, f.dir, "export")
	if dump != export {
		t.Fatalf("dump --json and export differ:\n%s\n---\n%s", dump, export)
	}
	recs := parseJSONLines(t, mustRunLog(t, f.dir, "dump", "--json", "--job", f.b.String()))
	if len(recs) != 3 || recs[2]["type"] != "job.failed" {
		t.Fatalf("dump --json --job: %v", recs)
	}
}
