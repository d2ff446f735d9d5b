package main

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/oklog/ulid/v2"

	"github.com/foreman-dev/foreman/client"
	"github.com/foreman-dev/foreman/worker/target/ollamatest"
)

// runMain runs a command as main does and returns what it printed on
// stderr and its exit code.
func runMain(t *testing.T, env map[string]string, args ...string) (stdout, stderr string, code int) {
	t.Helper()
	out, errb := &syncBuffer{}, &syncBuffer{}
	m := &Main{Stdin: strings.NewReader(""), Stdout: out, Stderr: errb, Getenv: func(k string) string { return env[k] }}
	code = m.Main(t.Context(), args)
	return out.String(), errb.String(), code
}

func TestCLIErrorsOneLineOnePrefix(t *testing.T) {
	o := ollamatest.New(t)
	env := cliEnv(t, o)
	missing := filepath.Join(t.TempDir(), "missing.json")
	for _, c := range []struct {
		args  []string
		code  int
		usage bool
	}{
		{[]string{"job", ulid.Make().String()}, ExitError, false}, // 404
		{[]string{"submit", "--file", missing}, ExitError, false},
		{[]string{"log", "--bogus"}, ExitUsage, true},
		{[]string{"log"}, ExitUsage, true},
		{[]string{"webhooks"}, ExitUsage, true},
		{[]string{"job"}, ExitUsage, true},
		{[]string{"bogus"}, ExitUsage, true},
	} {
		_, stderr, code := runMain(t, env, c.args...)
		if code != c.code || strings.Contains(stderr, "foreman: foreman") || strings.Contains(stderr, "Usage:") != c.usage {
			t.Errorf("foreman %q: exit %d (want %d), usage printed %v (want %v):\n%s", c.args, code, c.code,
				strings.Contains(stderr, "Usage:"), c.usage, stderr)
		}
	}
	// A 400: the line is the daemon's message after one prefix.
	bad := filepath.Join(t.TempDir(), "bad.json")
	os.WriteFile(bad, []byte(`{"messages":[{"role":"user","content":"x"}]}`), 0o644)
	_, stderr, code := runMain(t, env, "submit", "--file", bad)
	if code != ExitError || !strings.HasPrefix(stderr, "foreman: 400 Bad Request: ") || strings.Count(stderr, "\n") != 1 {
		t.Errorf("a 400: exit %d, stderr %q", code, stderr)
	}
}

func TestBackupTakesURLAndTokenWithHints(t *testing.T) {
	dir, bk := t.TempDir(), filepath.Join(t.TempDir(), "backups")
	addr, stop := startServe(t, map[string]string{"FOREMAN_DATA_DIR": dir, "FOREMAN_BACKUP_DIR": bk, "FOREMAN_TOKEN": cliToken, "FOREMAN_SHUTDOWN_GRACE": "0s"})
	t.Cleanup(func() { stop() })
	env := map[string]string{"FOREMAN_DATA_DIR": dir} // no FOREMAN_URL, no FOREMAN_TOKEN: flags only
	url := "http://" + addr
	dest := filepath.Join(bk, "b")
	_, _, err := runCLI(t, env, "", "backup", "--url", url, dest)
	if !errors.Is(err, client.ErrUnauthorized) || !strings.Contains(err.Error(), "set FOREMAN_TOKEN (or --token)") {
		t.Fatalf("no token: %v", err)
	}
	_, _, err = runCLI(t, env, "", "backup", "--url", url, "--token", "wrong", dest)
	if !errors.Is(err, client.ErrUnauthorized) || !strings.Contains(err.Error(), "refused the token") {
		t.Fatalf("wrong token: %v", err)
	}
	_, _, err = runCLI(t, env, "", "backup", "--url", "http://127.0.0.1:1", dest)
	if err == nil || !strings.Contains(err.Error(), "cannot reach the foreman daemon") {
		t.Fatalf("unreachable: %v", err)
	}
	out, stderr, err := runCLI(t, env, "", "backup", dest, "--url", url, "--token", cliToken)
	if err != nil || !strings.Contains(out, dest) {
		t.Fatalf("backup: %v\n%s%s", err, out, stderr)
	}
	if out, _, err := runCLI(t, nil, "", "log", "stats", "--data-dir", dest); err != nil {
		t.Fatalf("stats of the backup: %v\n%s", err, out)
	}
	// A bare name goes into the daemon's FOREMAN_BACKUP_DIR; a path
	// elsewhere is refused, naming the setting.
	out, stderr, err = runCLI(t, env, "", "backup", "--url", url, "--token", cliToken, "nightly")
	if err != nil || !strings.Contains(out, filepath.Join(bk, "nightly")) {
		t.Fatalf("backup by name: %v\n%s%s", err, out, stderr)
	}
	elsewhere := filepath.Join(t.TempDir(), "b")
	_, _, err = runCLI(t, env, "", "backup", "--url", url, "--token", cliToken, elsewhere)
	if err == nil || !strings.Contains(err.Error(), "FOREMAN_BACKUP_DIR") {
		t.Fatalf("backup elsewhere: %v", err)
	}
	if _, err := os.Stat(elsewhere); !os.IsNotExist(err) {
		t.Fatalf("a backup was written outside FOREMAN_BACKUP_DIR: %v", err)
	}
}

// foreman log reads only: pointed at a directory that is not a store it
// says so and leaves it as it was; pointed at a file it says that.
func TestLogWritesNothingAndSaysWhatIsWrong(t *testing.T) {
	dir := t.TempDir()
	os.WriteFile(filepath.Join(dir, "notes.txt"), []byte("hi"), 0o644)
	for _, cmd := range []string{"dump", "stats", "verify", "export", "job"} {
		args := []string{cmd}
		if cmd == "job" {
			args = append(args, ulid.Make().String())
		}
		_, _, err := runLog(t, dir, args...)
		if err == nil || !strings.Contains(err.Error(), "holds no foreman store") || exitCode(err) != ExitError {
			t.Errorf("log %s of a plain dir: %v", cmd, err)
		}
	}
	if ents, _ := os.ReadDir(dir); len(ents) != 1 {
		t.Fatalf("foreman log wrote into %s: %v", dir, ents)
	}
	file := filepath.Join(dir, "notes.txt")
	_, _, err := runLog(t, file, "stats")
	if err == nil || !strings.Contains(err.Error(), "is a file, not a data dir") || strings.Contains(err.Error(), "in use") {
		t.Fatalf("log stats of a file: %v", err)
	}
}
