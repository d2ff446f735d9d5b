package main

import (
	"bufio"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/foreman-dev/foreman/eventlog"
)

// parseJSONLines decodes every line of out as one JSON object.
func parseJSONLines(t *testing.T, out string) []map[string]any {
	t.Helper()
	var recs []map[string]any
	sc := bufio.NewScanner(strings.NewReader(out))
	sc.Buffer(nil, 1<<20)
	for sc.Scan() {
		var m map[string]any
		if err := json.Unmarshal(sc.Bytes(), &m); err != nil {
			t.Fatalf("line %d is not a JSON object: %v\n%s", len(recs)+1, err, sc.Text())
		}
		recs = append(recs, m)
	}
	return recs
}

// byOffset indexes export records by offset.
func byOffset(recs []map[string]any) map[uint64]map[string]any {
	m := map[uint64]map[string]any{}
	for _, r := range recs {
		m[uint64(r["offset"].(float64))] = r
	}
	return m
}

func TestLogExport(t *testing.T) {
	t.Parallel()
	f := newLogFixture(t)
	out := mustRunLog(t, f.dir, "export", "--format", "jsonl")
	recs := parseJSONLines(t, out)
	if uint64(len(recs)) != f.last {
		t.Fatalf("%d lines, want %d", len(recs), f.last)
	}
	for i, r := range recs {
		if got := uint64(r["offset"].(float64)); got != uint64(i+1) {
			t.Fatalf("line %d has offset %d", i+1, got)
		}
		if _, err := time.Parse(time.RFC3339Nano, r["time"].(string)); err != nil {
			t.Fatalf("line %d time: %v", i+1, err)
		}
		if r["version"].(float64) != 1 || r["type"] == "" || len(r["job"].(string)) != 26 {
			t.Fatalf("line %d: %v", i+1, r)
		}
		if _, ok := r["payload"].(map[string]any); !ok {
			t.Fatalf("line %d payload: %v", i+1, r["payload"])
		}
	}
	for _, secret := range []string{"s3cret", "hunter2", "token", "frag"} {
		if strings.Contains(out, secret) {
			t.Fatalf("export leaks %q", secret)
		}
	}
	at := byOffset(recs)

	a := at[f.offs["a.submitted"]]
	if a["job"] != f.a.String() || a["type"] != string(eventlog.JobSubmitted) {
		t.Fatalf("a.submitted: %v", a)
	}
	ap := a["payload"].(map[string]any)
	req, ok := ap["request"].(map[string]any)
	if !ok || req["model"] != "tiny-a" || ap["request_encoding"] != "json" {
		t.Fatalf("inline JSON request not embedded: %v", ap)
	}
	if ap["webhook_url"] != "https://hooks.example/x" || ap["submitter"] != "alice" || ap["max_attempts"].(float64) != 3 {
		t.Fatalf("a.submitted payload: %v", ap)
	}
	if h := ap["request_sha256"].(string); len(h) != 64 {
		t.Fatalf("sha256 not hex: %q", h)
	} else if _, err := hex.DecodeString(h); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(out, `"content":"<hi>"`) {
		t.Fatal("embedded request is HTML-escaped or not compact")
	}

	bp := at[f.offs["b.submitted"]]["payload"].(map[string]any)
	if bp["request"] != base64.StdEncoding.EncodeToString([]byte{0xff, 0, 1}) || bp["request_encoding"] != "base64" {
		t.Fatalf("binary request: %v", bp)
	}
	if w := at[f.offs["b.started"]]["payload"].(map[string]any); w["attempt"].(float64) != 1 || w["worker"] != "gpu0" {
		t.Fatalf("a field added by a newer foreman is lost: %v", w)
	}

	cp := at[f.offs["c.submitted"]]["payload"].(map[string]any)
	if cp["request"] != nil || cp["request_encoding"] != "none" || cp["request_blob"] != "r/"+f.c.String() {
		t.Fatalf("blob request: %v", cp)
	}
	fut := at[f.offs["c.future"]]
	if fut["type"] != "job.future_thing" {
		t.Fatalf("unknown type: %v", fut)
	}
	fp := fut["payload"].(map[string]any)
	if fp["foo"] != "bar" || fp["n"].(float64) != 3 || fp["nested"].(map[string]any)["bin"] != base64.StdEncoding.EncodeToString([]byte{1, 2}) {
		t.Fatalf("unknown type payload: %v", fp)
	}

	art := at[f.offs["a.artifact"]]["payload"].(map[string]any)
	if art["blob"] != "a/"+f.a.String()+"/response" || art["size"].(float64) != 42 || len(art["sha256"].(string)) != 64 {
		t.Fatalf("artifact: %v", art)
	}
	fail := at[f.offs["a.attempt_failed"]]["payload"].(map[string]any)
	if fail["retry_at"] != "2023-11-14T22:13:20Z" || fail["retryable"] != true || fail["error"] != "connection refused" {
		t.Fatalf("attempt_failed: %v", fail)
	}
	if a := at[f.offs["a.started1"]]["payload"].(map[string]any); len(a) != 1 || a["attempt"].(float64) != 1 {
		t.Fatalf("started: %v", a)
	}
	if p := at[f.offs["b.failed"]]["payload"].(map[string]any); p["status"].(float64) != 404 {
		t.Fatalf("failed: %v", p)
	}
	hook := at[f.offs["a.webhook_delivered"]]["payload"].(map[string]any)
	if uint64(hook["event"].(float64)) != f.offs["a.succeeded"] || hook["status"].(float64) != 200 {
		t.Fatalf("webhook: %v", hook)
	}
}

func TestLogExportRange(t *testing.T) {
	t.Parallel()
	f := newLogFixture(t)
	recs := parseJSONLines(t, mustRunLog(t, f.dir, "export", "--from", "3", "--to", "5"))
	if len(recs) != 3 || recs[0]["offset"].(float64) != 3 || recs[2]["offset"].(float64) != 5 {
		t.Fatalf("export 3..5: %v", recs)
	}
	if recs := parseJSONLines(t, mustRunLog(t, f.dir, "export", "--from", "100")); len(recs) != 0 {
		t.Fatalf("export past the end: %v", recs)
	}
}

func TestLogExportStopsAtACorruptPayload(t *testing.T) {
	t.Parallel()
	f := newLogFixture(t)
	// A well-formed envelope whose job.started payload is a string.
	e := eventlog.Event{Offset: 3, Time: time.Now(), Job: f.a, Type: eventlog.JobStarted, Version: 1, Payload: []byte{0xa1, 'x'}}
	overwrite(t, f.dir, eventKeyOf(3), encodeTestEvent(t, e))
	out, _, err := runLog(t, f.dir, "export")
	if err == nil || !strings.Contains(err.Error(), "offset 3") {
		t.Fatalf("export of a corrupt payload: %v", err)
	}
	if recs := parseJSONLines(t, out); len(recs) != 2 {
		t.Fatalf("%d lines before the corrupt event, want 2", len(recs))
	}
	// dump shows it and goes on.
	out = mustRunLog(t, f.dir, "dump")
	if n := strings.Count(out, "\n"); uint64(n) != f.last || !strings.Contains(out, "PAYLOAD UNREADABLE") {
		t.Fatalf("dump of a corrupt payload:\n%s", out)
	}
}
