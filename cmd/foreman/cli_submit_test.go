package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/foreman-dev/foreman/worker/target/ollamatest"
)

// A generate-shaped request file runs as a generate job without --generate
// (it used to be stored as a chat, end done with no text and print nothing),
// and a file whose shape contradicts --generate is refused before it runs.
func TestCLISubmitFileInfersTheKind(t *testing.T) {
	o := ollamatest.New(t)
	env := cliEnv(t, o)
	file := filepath.Join(t.TempDir(), "gen.json")
	os.WriteFile(file, []byte(`{"model":"tiny-a","prompt":"hi"}`), 0o644)
	out, stderr, err := runCLI(t, env, "", "submit", "--file", file)
	if err != nil {
		t.Fatalf("%v\n%s", err, stderr)
	}
	if want := strings.Join(ollamatest.Answer("tiny-a", "hi", nil), "") + "\n"; out != want {
		t.Fatalf("stdout %q, want %q", out, want)
	}
	if n := o.Requests("/api/generate"); n != 1 {
		t.Fatalf("%d requests to /api/generate, want 1 (chat: %d)", n, o.Requests("/api/chat"))
	}
	chat := filepath.Join(t.TempDir(), "chat.json")
	os.WriteFile(chat, []byte(`{"model":"tiny-a","messages":[{"role":"user","content":"hi"}]}`), 0o644)
	_, _, err = runCLI(t, env, "", "submit", "--generate", "--file", chat)
	if err == nil || !strings.Contains(err.Error(), `"kind" is "generate"`) {
		t.Fatalf("chat file with --generate: %v", err)
	}
}
