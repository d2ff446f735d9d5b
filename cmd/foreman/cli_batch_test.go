package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// foreman batch create --wait, ls, get and output against a daemon: a
// batch that fails validation ends the wait with exit 1 and shows why.
func TestCLIBatch(t *testing.T) {
	_, _, addr := sdkDaemon(t, nil)
	env := map[string]string{"FOREMAN_URL": "http://" + addr, "FOREMAN_TOKEN": "tok"}
	file := filepath.Join(t.TempDir(), "in.jsonl")
	os.WriteFile(file, []byte(`{"custom_id":"a","method":"POST","url":"/v1/completions","body":{"model":"tiny-a","prompt":"hi"}}`+"\n"), 0o600)
	out, stderr, err := runCLI(t, env, "", "batch", "create", file, "--endpoint", "/v1/chat/completions", "--wait", "--metadata", "run=cli")
	if exitCode(err) != ExitError || !strings.Contains(out, "status:   failed") || !strings.Contains(out, "invalid_url") {
		t.Fatalf("create --wait: %v\n%s\n%s", err, out, stderr)
	}
	var list []map[string]any
	runJSON(t, env, &list, "batch", "ls")
	if len(list) != 1 || list[0]["status"] != "failed" || list[0]["metadata"].(map[string]any)["run"] != "cli" {
		t.Fatalf("ls: %v", list)
	}
	id := list[0]["id"].(string)
	var got map[string]any
	runJSON(t, env, &got, "batch", "get", id)
	if got["id"] != id {
		t.Fatalf("get: %v", got)
	}
	if out, _, err := runCLI(t, env, "", "batch", "output", id, "--errors"); err != nil || out != "" {
		t.Fatalf("output of a failed batch: %q %v", out, err)
	}
	if _, _, err := runCLI(t, env, "", "batch", "frobnicate"); exitCode(err) != ExitUsage {
		t.Fatalf("unknown subcommand: %v", err)
	}
}
