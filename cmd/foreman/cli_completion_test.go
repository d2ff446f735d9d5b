package main

import (
	"os/exec"
	"strconv"
	"strings"
	"testing"
)

// complete runs the bash script's function on a command line (the last
// word is the one being completed) and returns its candidates.
func complete(t *testing.T, script, line string) []string {
	t.Helper()
	words := strings.Split(line, " ")
	var arr []string
	for _, w := range words {
		arr = append(arr, "'"+w+"'")
	}
	prog := script + "\nCOMP_WORDS=(" + strings.Join(arr, " ") + ")\nCOMP_CWORD=" + itoa(len(words)-1) + "\n_foreman\necho \"${COMPREPLY[*]}\"\n"
	out, err := exec.Command("bash", "--norc", "--noprofile", "-c", prog).CombinedOutput()
	if err != nil {
		t.Fatalf("bash: %v\n%s", err, out)
	}
	return strings.Fields(string(out))
}

func itoa(n int) string { return strconv.Itoa(n) }

func TestCompletionBash(t *testing.T) {
	if _, err := exec.LookPath("bash"); err != nil {
		t.Skip("no bash")
	}
	script, stderr, err := runCLI(t, nil, "", "completion", "bash")
	if err != nil {
		t.Fatalf("%v\n%s", err, stderr)
	}
	for line, want := range map[string]string{
		"foreman sub":           "submit",
		"foreman log ve":        "verify",
		"foreman log dump --ty": "--type",
		"foreman backup --to":   "--token",
		"foreman webhooks r":    "replay",
		"foreman job --j":       "--json",
		"foreman completion z":  "zsh",
	} {
		if got := complete(t, script, line); len(got) != 1 || got[0] != want {
			t.Errorf("%q completes to %q, want %q", line, got, want)
		}
	}
	if got := complete(t, script, "foreman submit --"); !strings.Contains(strings.Join(got, " "), "--file") || !strings.Contains(strings.Join(got, " "), "--token") {
		t.Errorf("submit flags: %q", got)
	}
	zsh, _, err := runCLI(t, nil, "", "completion", "zsh")
	if err != nil || !strings.HasPrefix(zsh, "#compdef foreman\n") || !strings.Contains(zsh, "bashcompinit") {
		t.Errorf("zsh: %v\n%s", err, zsh)
	}
	if _, _, err := runCLI(t, nil, "", "completion", "fish"); exitCode(err) != ExitUsage {
		t.Errorf("completion fish: %v", err)
	}
}

func TestVersion(t *testing.T) {
	for _, args := range [][]string{{"version"}, {"--version"}} {
		out, _, err := runCLI(t, nil, "", args...)
		if err != nil || !strings.HasPrefix(out, "foreman ") || !strings.Contains(out, "go1.") || strings.Count(out, "\n") != 1 {
			t.Errorf("foreman %v: %v %q", args, err, out)
		}
	}
}
